//! What the shell asks of the terminal it runs on, as PowerShell's host
//! does: confirming a change before it is made (`ShouldProcess`), Ctrl-C
//! stopping the running statement at the next record boundary, and a
//! progress line for a long pipeline (`Write-Progress`).
//!
//! Only the interactive shell asks for confirmation; a script (`--file`,
//! `-c`, piped standard input) can't answer, so a cmdlet that would ask is
//! refused there unless the script says `-Confirm:$false`.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An answer being read.
pub type Reading = Pin<Box<dyn Future<Output = Option<String>>>>;

/// Reads one answer to a confirmation prompt (`None`: no more input).
pub type Reader = Box<dyn FnMut() -> Reading>;

/// The exit code of a statement stopped by Ctrl-C, as a shell's (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// The fewest piped records a progress line is shown for.
pub const PROGRESS_FROM: usize = 200;

/// How often the progress line is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);

/// The terminal side of a shell.
#[derive(Default)]
pub struct Host {
    /// Where answers to confirmation prompts come from; `None` when nobody
    /// can answer (a script).
    pub reader: Option<Reader>,
    /// Ctrl-C presses since the running script began.
    pub interrupts: Arc<AtomicUsize>,
    /// Whether Ctrl-C is to be counted (the process's own shell), and
    /// whether it is yet.
    pub counts_ctrl_c: (bool, bool),
    /// Whether progress lines are shown (standard error is a terminal).
    pub progress: bool,
    /// The progress line shown now, if any.
    pub shown: Option<Progress>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("asks", &self.reader.is_some())
            .field("interrupts", &self.interrupts.load(Ordering::SeqCst))
            .field("progress", &self.progress)
            .finish()
    }
}

impl Host {
    /// Whether Ctrl-C was pressed since the running script began.
    pub fn interrupted(&self) -> bool {
        self.interrupts.load(Ordering::SeqCst) > 0
    }

    /// Starts counting Ctrl-C, if asked to and not yet: when the first
    /// statement starts, after the interactive shell's line editor has set
    /// up the terminal (and its own SIGINT handler, which would otherwise
    /// replace this one).
    pub fn count_ctrl_c(&mut self) {
        if self.counts_ctrl_c == (true, false) {
            count_interrupts(self.interrupts.clone());
            self.counts_ctrl_c.1 = true;
        }
    }

    /// Clears the progress line, if one is shown, so that a message starts
    /// on a clean line.
    pub fn clear_progress(&mut self, err: &mut dyn Write) -> std::io::Result<()> {
        if let Some(progress) = &mut self.shown {
            progress.clear(err)?;
        }
        Ok(())
    }
}

/// Counts Ctrl-C presses into `interrupts` for the life of the process: a
/// statement stops at its next record boundary; a second press while one
/// is stopping ends the process at once (a call in flight still completes
/// or fails whole on the resource forest).
pub fn count_interrupts(interrupts: Arc<AtomicUsize>) {
    let Ok(mut signals) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    else {
        return;
    };
    tokio::spawn(async move {
        while signals.recv().await.is_some() {
            if interrupts.fetch_add(1, Ordering::SeqCst) > 0 {
                eprintln!("\nStopped.");
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
}

/// A Reader of standard input, for the interactive shell: the line is read
/// on a blocking thread, so that Ctrl-C is counted while the prompt waits.
pub fn stdin_reader() -> Reader {
    Box::new(|| {
        Box::pin(async {
            tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                match std::io::stdin().read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(line),
                }
            })
            .await
            .ok()
            .flatten()
        })
    })
}

/// The answer to a confirmation prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `[Y] Yes`: this one.
    Yes,
    /// `[A] Yes to All`: this one and the rest of the command's.
    YesToAll,
    /// `[N] No`: not this one.
    No,
    /// `[L] No to All`: none of the command's.
    NoToAll,
}

const CHOICES: &str =
    "[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is \"Y\"): ";

const HELP: &str = "Y - Continue with only the next step of the operation.
A - Continue with all the steps of the operation.
N - Skip this operation and proceed with the next operation.
L - Skip this operation and all subsequent operations.";

/// Asks, as PowerShell does, whether to perform `action`
/// (`Removing mailbox "hank"`), until answered; no more input is No to All.
pub async fn confirm(
    reader: &mut Reader,
    action: &str,
    err: &mut dyn Write,
) -> std::io::Result<Answer> {
    writeln!(
        err,
        "\nConfirm\nAre you sure you want to perform this action?\n{action}."
    )?;
    loop {
        write!(err, "{CHOICES}")?;
        err.flush()?;
        let Some(line) = reader().await else {
            writeln!(err)?;
            return Ok(Answer::NoToAll);
        };
        match line.trim().to_ascii_lowercase().as_str() {
            "" | "y" | "yes" => return Ok(Answer::Yes),
            "a" | "yes to all" => return Ok(Answer::YesToAll),
            "n" | "no" => return Ok(Answer::No),
            "l" | "no to all" => return Ok(Answer::NoToAll),
            "?" => writeln!(err, "{HELP}")?,
            _ => {}
        }
    }
}

/// A progress line, as `Write-Progress` shows one:
/// `Set-Mailbox: 312/1008 (41/s)`.
#[derive(Debug)]
pub struct Progress {
    label: String,
    total: usize,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    /// A progress line for `total` records through `label`.
    pub fn new(label: &str, total: usize) -> Self {
        Self {
            label: label.to_owned(),
            total,
            started: Instant::now(),
            drawn: None,
        }
    }

    /// The line for `done` records so far.
    pub fn line(&self, done: usize) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            (done as f64 / seconds).round() as u64
        } else {
            0
        };
        format!("{}: {done}/{} ({rate}/s)", self.label, self.total)
    }

    /// Shows `done` records so far: at once the first time, then at most
    /// every [`REDRAW`].
    pub fn tick(&mut self, done: usize, err: &mut dyn Write) -> std::io::Result<()> {
        if self.drawn.is_some_and(|at| at.elapsed() < REDRAW) {
            return Ok(());
        }
        self.drawn = Some(Instant::now());
        write!(err, "\r{}\x1b[K", self.line(done))?;
        err.flush()
    }

    /// Removes the line; the next tick draws it again.
    pub fn clear(&mut self, err: &mut dyn Write) -> std::io::Result<()> {
        if self.drawn.take().is_some() {
            write!(err, "\r\x1b[K")?;
            err.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(lines: &[&str]) -> Reader {
        let mut lines: Vec<String> = lines.iter().rev().map(|l| format!("{l}\n")).collect();
        Box::new(move || Box::pin(std::future::ready(lines.pop())))
    }

    #[tokio::test]
    async fn the_prompt_is_powershells_and_help_asks_again() {
        let mut err = Vec::new();
        let mut reader = answers(&["?", "x", "a"]);
        let answer = confirm(&mut reader, "Removing mailbox \"hank\"", &mut err)
            .await
            .unwrap();
        assert_eq!(answer, Answer::YesToAll);
        let text = String::from_utf8(err).unwrap();
        assert!(text.starts_with(
            "\nConfirm\nAre you sure you want to perform this action?\nRemoving mailbox \"hank\".\n[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is \"Y\"): "
        ), "{text}");
        assert!(text.contains("L - Skip this operation and all subsequent operations."));
        assert_eq!(text.matches("[?] Help").count(), 3, "{text}");
        for (typed, expected) in [
            ("", Answer::Yes),
            ("Y", Answer::Yes),
            ("n", Answer::No),
            ("L", Answer::NoToAll),
        ] {
            let mut reader = answers(&[typed]);
            assert_eq!(
                confirm(&mut reader, "x", &mut Vec::new()).await.unwrap(),
                expected
            );
        }
        let mut closed = answers(&[]);
        assert_eq!(
            confirm(&mut closed, "x", &mut Vec::new()).await.unwrap(),
            Answer::NoToAll
        );
    }

    #[test]
    fn a_progress_line_shows_done_of_total_and_is_cleared() {
        let mut progress = Progress::new("Set-Mailbox", 1008);
        let mut err = Vec::new();
        progress.tick(0, &mut err).unwrap();
        progress.clear(&mut err).unwrap();
        progress.clear(&mut err).unwrap();
        let text = String::from_utf8(err).unwrap();
        assert_eq!(text, "\rSet-Mailbox: 0/1008 (0/s)\x1b[K\r\x1b[K");
        assert!(progress.line(312).starts_with("Set-Mailbox: 312/1008 ("));
    }
}
