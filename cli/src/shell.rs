//! `crossforest shell`: run Exchange Management Shell lines against a lab's
//! resource forest as one principal: one line (`-c`), a script (`--file` or
//! piped standard input) or, on a terminal, the interactive shell
//! ([`crate::repl`]). Each statement (a line, continuation lines joined) is
//! one statement of the resource forest too: authorised against the
//! permissions the caller held when it started (R-SESSION-1).
//!
//! A script stops at its first failing line (exit code 3 when RBAC denied it,
//! 1 for any other error) unless that line says `-ErrorAction Continue` (or
//! `SilentlyContinue`), or `$ErrorActionPreference = 'Continue'` came before.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::lab::Lab;
use crate::output::{render_view, Format};
use crate::parse::{incomplete, join_lines, parse_statement, ErrorAction, ParseError, Statement};
use crate::pipeline::{self, StageError};
use crate::session::Session;

/// Exit code when RBAC denied a command.
pub const EXIT_DENIED: u8 = 3;
/// Exit code for any other error.
pub const EXIT_ERROR: u8 = 1;

/// Where the lines come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// One line (`-c`).
    Command(String),
    /// A script file, one command per line; `#` starts a comment.
    File(PathBuf),
    /// Standard input: the interactive shell on a terminal, else a script.
    Stdin,
}

/// How one statement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every call succeeded (or failed silently).
    Succeeded,
    /// Something failed and was reported: the exit code, and whether a
    /// script goes on (`-ErrorAction Continue`).
    Failed {
        /// 3 when RBAC denied a call, else 1.
        code: u8,
        /// Whether a script goes on after this line.
        goes_on: bool,
    },
}

/// A shell over one session: the output format and `$ErrorActionPreference`.
#[derive(Debug)]
pub struct Shell {
    session: Session,
    format: Format,
    preference: Option<ErrorAction>,
}

/// `line` with a caret under `column` and `message` after it.
fn pointer(line: &str, column: usize, message: &str) -> String {
    ParseError {
        column,
        message: message.to_owned(),
    }
    .pointer(line)
}

impl Shell {
    /// A shell writing `format`.
    pub fn new(session: Session, format: Format) -> Self {
        Self {
            session,
            format,
            preference: None,
        }
    }

    /// The session.
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    fn report(line: &str, e: &StageError, err: &mut dyn Write) -> std::io::Result<()> {
        let kind = if e.error.is_denied() {
            "DENIED"
        } else {
            "ERROR"
        };
        let message = match &e.item {
            Some(item) => format!("{kind} ({item}): {}", e.error),
            None => format!("{kind}: {}", e.error),
        };
        if e.column > 1 {
            writeln!(err, "{}", pointer(line, e.column, &message))
        } else {
            writeln!(err, "{message}")
        }
    }

    /// Runs one statement (continuation lines already joined): records to
    /// `out`, warnings and errors to `err`.
    pub async fn statement(
        &mut self,
        line: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> std::io::Result<Ended> {
        let pipeline = match parse_statement(line) {
            Ok(Statement::Preference(action)) => {
                self.preference = Some(action);
                return Ok(Ended::Succeeded);
            }
            Ok(Statement::Pipeline(p)) => p,
            Err(e) => {
                writeln!(err, "{}", e.pointer(line))?;
                return Ok(Ended::Failed {
                    code: EXIT_ERROR,
                    goes_on: false,
                });
            }
        };
        let outcome = pipeline::run(&mut self.session, &pipeline).await;
        let colour = std::io::stderr().is_terminal();
        for warning in &outcome.warnings {
            write!(err, "{}", crate::output::warning(warning, colour))?;
        }
        out.write_all(render_view(&outcome.records, self.format, outcome.view).as_bytes())?;
        let mut ended = Ended::Succeeded;
        for e in &outcome.errors {
            let action = e.action.or(self.preference);
            if !action.is_none_or(ErrorAction::reports) {
                continue;
            }
            Self::report(line, e, err)?;
            let code = if e.error.is_denied() {
                EXIT_DENIED
            } else {
                EXIT_ERROR
            };
            let goes_on = action.is_some_and(ErrorAction::goes_on)
                && !matches!(ended, Ended::Failed { goes_on: false, .. });
            ended = Ended::Failed { code, goes_on };
        }
        Ok(ended)
    }

    /// Runs a script read line by line: continuation lines (trailing `|` or
    /// backtick, open quote or script block) are joined; `#` lines and blank
    /// lines are skipped; `exit` ends it. Returns the exit code: that of the
    /// line the script stopped at, else 0 (failures on lines that said
    /// `-ErrorAction Continue` are reported, and tolerated).
    pub async fn script(
        &mut self,
        lines: impl Iterator<Item = std::io::Result<String>>,
        origin: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> std::io::Result<u8> {
        let mut buffer = String::new();
        let mut first_line = 0;
        let mut lines = lines.enumerate().peekable();
        while let Some((number, line)) = lines.next() {
            let line = line?;
            if buffer.is_empty() {
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                if trimmed.eq_ignore_ascii_case("exit") {
                    break;
                }
                first_line = number + 1;
                buffer = trimmed.to_owned();
            } else {
                buffer.push('\n');
                buffer.push_str(line.trim_end());
            }
            if incomplete(&buffer) && lines.peek().is_some() {
                continue;
            }
            let statement = join_lines(&std::mem::take(&mut buffer));
            if let Ended::Failed {
                code,
                goes_on: false,
            } = self.statement(&statement, out, err).await?
            {
                writeln!(err, "{origin}:{first_line}: the script stops here")?;
                return Ok(code);
            }
        }
        Ok(0)
    }
}

/// Runs the shell; returns the process exit code.
pub async fn run(lab: PathBuf, identity: &str, input: Input, format: Format) -> anyhow::Result<u8> {
    let lab_dir = lab;
    let lab = Lab::open(&lab_dir)?;
    let session = lab.session(identity).await?;
    let mut shell = Shell::new(session, format);
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    Ok(match input {
        Input::Command(line) => match shell
            .statement(&join_lines(&line), &mut out, &mut err)
            .await?
        {
            Ended::Succeeded => 0,
            Ended::Failed { code, .. } => code,
        },
        Input::File(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            let lines = text.lines().map(|l| Ok(l.to_owned()));
            shell
                .script(lines, &path.display().to_string(), &mut out, &mut err)
                .await?
        }
        Input::Stdin if std::io::stdin().is_terminal() => {
            crate::repl::run(&mut shell, &lab_dir.join(".crossforest_history")).await?
        }
        Input::Stdin => {
            shell
                .script(std::io::stdin().lines(), "<stdin>", &mut out, &mut err)
                .await?
        }
    })
}
