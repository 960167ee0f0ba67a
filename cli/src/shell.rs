//! `crossforest shell`: run Exchange Management Shell scripts against a lab's
//! resource forest as one principal: one line (`-c`), a script (`--file` or
//! piped standard input) or, on a terminal, the interactive shell
//! ([`crate::repl`]). The language is [`crate::lang`]. Each top-level
//! statement is one statement of the resource forest too: authorised against
//! the permissions the caller held when it began (R-SESSION-1).
//!
//! A script is read and checked whole before anything runs. It stops at the
//! first failing statement (exit code 3 when RBAC denied it, 1 for any other
//! error) unless that statement says `-ErrorAction Continue` (or
//! `SilentlyContinue`), or `$ErrorActionPreference = 'Continue'` came before.
//!
//! The terminal side ([`crate::host`]): only the interactive shell asks for
//! confirmation; Ctrl-C stops a statement at its next record boundary
//! (exit code 130); a long pipeline shows progress when standard error is a
//! terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::host::{Reader, EXIT_INTERRUPTED};
use crate::lab::Lab;
use crate::lang::ast::Statement;
use crate::lang::display::render;
use crate::lang::eval::{Frame, Halt, Runtime};
use crate::output::{Format, View};
use crate::parse::join_lines;
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

/// A shell over one session: the output format, variables and
/// `$ErrorActionPreference`.
#[derive(Debug)]
pub struct Shell {
    session: Session,
    runtime: Runtime,
    format: Format,
}

/// The 1-based line of `text` that `column` (a character offset) is on.
fn line_number(text: &str, column: usize) -> usize {
    text.chars()
        .take(column.saturating_sub(1))
        .filter(|c| *c == '\n')
        .count()
        + 1
}

impl Shell {
    /// A shell writing `format`.
    pub fn new(session: Session, format: Format) -> Self {
        Self {
            session,
            runtime: Runtime::default(),
            format,
        }
    }

    /// The session.
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Asks for confirmation before a change, reading answers from `reader`
    /// (the interactive shell reads the terminal); without one, a cmdlet
    /// that would ask is refused.
    pub fn answer_with(&mut self, reader: Reader) {
        self.runtime.host.reader = Some(reader);
    }

    /// Shows a progress line on standard error for long pipelines.
    pub fn show_progress(&mut self, on: bool) {
        self.runtime.host.progress = on;
    }

    /// The Ctrl-C counter: pressing Ctrl-C adds one; the running statement
    /// stops at its next record boundary. Each script and line starts at 0.
    pub fn interrupts(&self) -> Arc<AtomicUsize> {
        self.runtime.host.interrupts.clone()
    }

    /// Ctrl-C stops the running statement, not the process.
    pub fn stop_on_ctrl_c(&mut self) {
        self.runtime.host.counts_ctrl_c.0 = true;
    }

    fn start(&mut self) {
        self.runtime.host.count_ctrl_c();
        self.runtime.host.interrupts.store(0, Ordering::SeqCst);
    }

    /// Runs one top-level statement of `text`: one statement is one
    /// pipeline run (with whatever its blocks run), from its first cmdlet
    /// to its output. Returns how it ended, and `Some(code)` on `exit`.
    async fn run_statement(
        &mut self,
        text: &str,
        statement: &Statement,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> std::io::Result<(Ended, Option<u8>)> {
        let mut frame = Frame {
            rt: &mut self.runtime,
            session: Some(&mut self.session),
            text,
            out,
            err,
            ended: Ended::Succeeded,
            view: View::Auto,
            opened_statement: false,
        };
        let result = if frame.rt.host.interrupted() {
            // Ctrl-C between two statements of a line or script.
            Err(Halt::Interrupted(None))
        } else {
            frame.statement(statement).await
        };
        let (mut ended, view, opened) = (frame.ended, frame.view, frame.opened_statement);
        if opened {
            // A statement the node ended on its own (it said so in a
            // warning) or a lost connection leaves nothing to close: the
            // node drops idle statements itself.
            let _ = self.session.close_statement().await;
        }
        let (values, exit) = match result {
            Ok(values) => (values, None),
            Err(Halt::Io(e)) => return Err(e),
            Err(Halt::Exit(code)) => (Vec::new(), Some(code)),
            Err(Halt::Stop(_) | Halt::Pipeline) => (Vec::new(), None),
            Err(Halt::Interrupted(counts)) => {
                match counts {
                    Some((done, total)) => {
                        writeln!(err, "Stopped: {done} of {total} records processed.")?
                    }
                    None => writeln!(err, "Stopped.")?,
                }
                ended = Ended::Failed {
                    code: EXIT_INTERRUPTED,
                    goes_on: false,
                };
                (Vec::new(), None)
            }
        };
        if !values.is_empty() || self.format == Format::Json {
            out.write_all(render(&values, self.format, view).as_bytes())?;
        }
        Ok((ended, exit))
    }

    /// Runs `text` (one or more statements; continuation lines already
    /// joined or not): output to `out`, warnings and errors to `err`. A
    /// syntax error or unsupported construct is reported before anything
    /// runs.
    pub async fn statement(
        &mut self,
        text: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> std::io::Result<Ended> {
        self.start();
        let stopped = Ended::Failed {
            code: EXIT_ERROR,
            goes_on: false,
        };
        let script = match crate::lang::compile(text) {
            Ok(script) => script,
            Err(e) => {
                writeln!(err, "{}", e.pointer(text))?;
                return Ok(stopped);
            }
        };
        let mut last = Ended::Succeeded;
        for statement in &script.statements {
            let (ended, exit) = self.run_statement(text, statement, out, err).await?;
            if ended != Ended::Succeeded {
                last = ended;
            }
            if exit.is_some() || matches!(ended, Ended::Failed { goes_on: false, .. }) {
                break;
            }
        }
        Ok(last)
    }

    /// Runs a script: read whole, checked, then run statement by statement;
    /// `exit` ends it. Returns the exit code: that of the statement the
    /// script stopped at, else 0 (failures of statements that said
    /// `-ErrorAction Continue` are reported, and tolerated).
    pub async fn script(
        &mut self,
        lines: impl Iterator<Item = std::io::Result<String>>,
        origin: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> std::io::Result<u8> {
        self.start();
        let mut text = String::new();
        for line in lines {
            text.push_str(&line?);
            text.push('\n');
        }
        let script = match crate::lang::compile(&text) {
            Ok(script) => script,
            Err(e) => {
                writeln!(err, "{}", e.pointer(&text))?;
                writeln!(
                    err,
                    "{origin}:{}: the script stops here",
                    line_number(&text, e.column)
                )?;
                return Ok(EXIT_ERROR);
            }
        };
        for statement in &script.statements {
            let (ended, exit) = self.run_statement(&text, statement, out, err).await?;
            if let Some(code) = exit {
                return Ok(code);
            }
            if let Ended::Failed {
                code,
                goes_on: false,
            } = ended
            {
                writeln!(
                    err,
                    "{origin}:{}: the script stops here",
                    line_number(&text, statement.column())
                )?;
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
    shell.stop_on_ctrl_c();
    shell.show_progress(err.is_terminal());
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
            shell.answer_with(crate::host::stdin_reader());
            crate::repl::run(&mut shell, &lab_dir).await?
        }
        Input::Stdin => {
            shell
                .script(std::io::stdin().lines(), "<stdin>", &mut out, &mut err)
                .await?
        }
    })
}
