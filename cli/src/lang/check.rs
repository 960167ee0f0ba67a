//! What is checked before a script runs, so that a mistake is reported once,
//! at its column, and nothing has run: every command is a cmdlet of the
//! shell or of the resource forest (or PowerShell's, which this shell says
//! it does not support), the shell's cmdlets get parameters they have, and
//! every script block that runs here parses. Script blocks given to the
//! resource forest's cmdlets are its OPATH filters: it checks them.

use resource_forest::cmdlets::registry;
use resource_forest::rbac::compare::Operator;

use super::ast::{Arg, Command, Expr, ExprKind, Part, Pipeline, Script, Stage, Statement};
use super::cmdlets::{self, shell_cmdlet};
use super::parser::{err, unsupported, ParseError};
use crate::parse::ErrorAction;

/// Checks `script`.
///
/// # Errors
///
/// The first problem found, at its column.
pub fn check(script: &Script) -> Result<(), ParseError> {
    script.statements.iter().try_for_each(statement)
}

fn statement(s: &Statement) -> Result<(), ParseError> {
    match s {
        Statement::Pipeline(p) | Statement::Assign { value: p, .. } => pipeline(p),
        Statement::If {
            branches,
            otherwise,
        } => {
            for (condition, body) in branches {
                pipeline(condition)?;
                check(body)?;
            }
            otherwise.as_ref().map_or(Ok(()), check)
        }
        Statement::Foreach {
            collection, body, ..
        } => {
            pipeline(collection)?;
            check(body)
        }
        Statement::Exit(e) => e.as_ref().map_or(Ok(()), expr),
    }
}

fn pipeline(p: &Pipeline) -> Result<(), ParseError> {
    for (i, stage) in p.stages.iter().enumerate() {
        match stage {
            Stage::Command(c) => command(c, i == 0)?,
            Stage::Expr(e) => expr(e)?,
        }
    }
    Ok(())
}

fn expr(e: &Expr) -> Result<(), ParseError> {
    match &e.kind {
        ExprKind::Expandable(parts) => parts.iter().try_for_each(|p| match p {
            Part::Expr(e) => expr(e),
            Part::Text(_) => Ok(()),
        }),
        ExprKind::Member(e, _) | ExprKind::Not(e) | ExprKind::Neg(e) => expr(e),
        ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
            expr(a)?;
            expr(b)
        }
        ExprKind::Array(s) | ExprKind::Sub(s) => check(s),
        ExprKind::Paren(p) => pipeline(p),
        ExprKind::Hash(pairs) => pairs.iter().try_for_each(|(_, v)| expr(v)),
        ExprKind::List(items) => items.iter().try_for_each(expr),
        ExprKind::Block(b) => match &b.body {
            Ok(body) => check(body),
            Err(e) => Err(e.clone()),
        },
        ExprKind::Str(_)
        | ExprKind::Bare(_)
        | ExprKind::Int(_)
        | ExprKind::Num(_)
        | ExprKind::Var(_) => Ok(()),
    }
}

/// An argument's value, except a script block given to the resource forest.
fn argument(e: &Expr, server: bool) -> Result<(), ParseError> {
    match &e.kind {
        ExprKind::Block(_) if server => Ok(()),
        _ => expr(e),
    }
}

fn literal(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Str(s) | ExprKind::Bare(s) => Some(s),
        _ => None,
    }
}

fn command(c: &Command, first: bool) -> Result<(), ParseError> {
    let spec = shell_cmdlet(&c.name);
    let server = spec.is_none();
    if server && registry::find(&c.name).is_none() {
        if cmdlets::POWERSHELL_ONLY
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&c.name))
        {
            return Err(err(c.column, unsupported(&c.name)));
        }
        return Err(err(
            c.column,
            format!("the term `{}` is not recognized as the name of a cmdlet; Get-Command lists the cmdlets you may run", c.name),
        ));
    }
    if let Some(spec) = spec {
        if spec.needs_input && first {
            return Err(err(
                c.column,
                format!(
                    "`{}` needs input: put a cmdlet before it, as in `Get-Mailbox | {} …`",
                    c.name, c.name
                ),
            ));
        }
        if spec.name == "Where-Object" && c.args.is_empty() {
            return Err(err(
                c.column,
                format!("`{}` needs a condition, as in `{0} {{ $_.Office -eq 'Floor 2' }}` or `{0} Office -eq 'Floor 2'`", c.name),
            ));
        }
    }
    for arg in &c.args {
        let (name, column, value) = match arg {
            Arg::Positional(e) => {
                argument(e, server)?;
                continue;
            }
            Arg::Splat { .. } => continue,
            Arg::Named {
                name,
                column,
                value,
            } => (name, *column, value),
        };
        if let Some(v) = value {
            argument(v, server)?;
        }
        match cmdlets::shell_common(name) {
            Some(action @ ("ErrorAction" | "WarningAction")) => {
                let given = value.as_ref().and_then(literal);
                if value.is_none() {
                    return Err(err(
                        column,
                        format!("`-{name}` takes {}", ErrorAction::NAMES),
                    ));
                }
                if let Some(Err(m)) = given.map(ErrorAction::from_value) {
                    return Err(err(column, format!("`-{action}`: {m}")));
                }
                continue;
            }
            Some(_) if value.is_none() => {
                return Err(err(column, format!("`-{name}` needs a variable name")));
            }
            Some(_) => continue,
            None => {}
        }
        let Some(spec) = spec else { continue };
        match cmdlets::common_switch(name) {
            Some("Verbose" | "Debug") => continue,
            Some(other) => {
                return Err(err(
                    column,
                    format!(
                        "`-{other}` on `{}` is not supported by this shell",
                        spec.name
                    ),
                ));
            }
            None => {}
        }
        if spec.name == "Where-Object" && Operator::parse(name).is_some() {
            if value.is_none() {
                return Err(err(column, "the operator needs a value to compare with"));
            }
            continue;
        }
        if cmdlets::parameter_of(spec, name).is_none() {
            return Err(err(
                column,
                format!(
                    "`{}` takes -{}; got `-{name}`",
                    spec.name,
                    spec.parameters.join(", -")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parser::parse_script;

    fn checked(text: &str) -> Result<(), ParseError> {
        check(&parse_script(text)?)
    }

    #[test]
    fn mistakes_are_found_before_anything_runs() {
        let cases = [
            ("Get-Mailbox | Sort-Thing Name", 15, "is not recognized"),
            (
                "Get-Mailbox | Compare-Object",
                15,
                "`Compare-Object` is not supported by this shell",
            ),
            ("Get-Mailbox; gci", 14, "not supported"),
            ("Where-Object Name -eq a", 1, "needs input"),
            ("Get-Mailbox | Where-Object", 15, "needs a condition"),
            ("Get-Mailbox | Where-Object Name -like", 33, "needs a value"),
            ("Get-Mailbox | Select-Object -Bogus", 29, "takes -Property"),
            ("Get-Mailbox | Format-List -First 2", 27, "takes -Property"),
            ("Set-Mailbox x -ErrorAction Maybe", 15, "Stop, Continue"),
            ("Get-Mailbox | Out-File x -WhatIf", 26, "not supported"),
            ("Get-Mailbox | % { $_ | Sort-Thing }", 24, "not recognized"),
            ("if ($true) { Get-Thing }", 14, "not recognized"),
            ("Get-Mailbox | ? { $_.Name -eq }", 27, "needs a value"),
        ];
        crate::lang::parser::expect_errors(checked, &cases);
    }

    #[test]
    fn filters_given_to_the_resource_forest_are_its_to_check() {
        checked("New-ManagementScope -Name x -RecipientRestrictionFilter {City -eq 'a' -and (Department -like 'S{x}*')}").unwrap();
        checked("Get-Mailbox -ea 0 -ErrorVariable e -OutVariable +o -Verbose | Sort-Object Name -desc | select -f 2").unwrap();
        checked("Get-Mailbox | Where-Object Office -notin 'a','b' | ft -AutoSize -Wrap").unwrap();
    }
}
