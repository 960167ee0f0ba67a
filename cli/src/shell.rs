//! `crossforest shell`: run Exchange Management Shell lines against a lab's
//! resource forest as one principal.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use crate::lab::Lab;
use crate::output::{render, Format};
use crate::parse::parse;
use crate::session::{Session, SessionError};

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
    /// Standard input, with a prompt when it is a terminal.
    Stdin,
}

fn report(line: &str, error: &SessionError) -> u8 {
    match error {
        SessionError::Parse(p) => eprintln!("{}", p.pointer(line)),
        e if e.is_denied() => eprintln!("DENIED: {e}"),
        e => eprintln!("ERROR: {e}"),
    }
    if error.is_denied() {
        EXIT_DENIED
    } else {
        EXIT_ERROR
    }
}

async fn run_line(session: &mut Session, line: &str, format: Format) -> Result<(), u8> {
    if let Err(e) = parse(line) {
        return Err(report(line, &SessionError::Parse(e)));
    }
    match session.run(line).await {
        Ok(response) => {
            for warning in &response.warnings {
                eprintln!("WARNING: {warning}");
            }
            print!("{}", render(&response.records, format));
            Ok(())
        }
        Err(e) => Err(report(line, &e)),
    }
}

/// Runs the shell; returns the process exit code.
pub async fn run(lab: PathBuf, identity: &str, input: Input, format: Format) -> anyhow::Result<u8> {
    let lab = Lab::open(&lab)?;
    let mut session = lab.session(identity).await?;
    match input {
        Input::Command(line) => Ok(run_line(&mut session, &line, format)
            .await
            .err()
            .unwrap_or(0)),
        Input::File(path) => {
            let text = std::fs::read_to_string(&path)?;
            for (number, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Err(code) = run_line(&mut session, line, format).await {
                    eprintln!("{}:{}: the script stops here", path.display(), number + 1);
                    return Ok(code);
                }
            }
            Ok(0)
        }
        Input::Stdin => {
            let interactive = std::io::stdin().is_terminal();
            let mut last = 0;
            let stdin = std::io::stdin();
            loop {
                if interactive {
                    print!("PS {}> ", session.identity());
                    std::io::stdout().flush()?;
                }
                let mut line = String::new();
                if stdin.lock().read_line(&mut line)? == 0 {
                    break;
                }
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if line.eq_ignore_ascii_case("exit") {
                    break;
                }
                last = run_line(&mut session, line, format)
                    .await
                    .err()
                    .unwrap_or(0);
            }
            Ok(last)
        }
    }
}
