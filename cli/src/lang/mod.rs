//! The shell's language: the part of PowerShell an Exchange administrator's
//! script uses. Text is read by [`lexer`] and [`parser`] into an [`ast`],
//! checked by [`check`] before anything runs, and evaluated by [`eval`] (and
//! [`crate::pipeline`]) over [`values`]. The utility cmdlets the shell runs
//! itself are in [`cmdlets`]; [`display`] shows a statement's output.

pub mod ast;
pub mod check;
pub mod cmdlets;
pub mod display;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod values;

pub use parser::{parse_script, ParseError};

/// Parses and checks a script.
///
/// # Errors
///
/// The first syntax error or unsupported construct, at its column.
pub fn compile(text: &str) -> Result<ast::Script, ParseError> {
    let script = parse_script(text)?;
    check::check(&script)?;
    Ok(script)
}
#[cfg(test)]
mod tests;
