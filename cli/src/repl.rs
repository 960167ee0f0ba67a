//! The interactive shell on a terminal: a `PS DOMAIN\user> ` prompt, history
//! (kept in the lab for each identity, lines that look like they hold secrets
//! left out), tab completion of the cmdlets and parameters the caller may use
//! (fetched once with `Get-Command`, offered in case-insensitive order), and
//! statements continued on further lines after an open quote or script
//! block, a trailing backtick or a trailing `|` (the editor's validator keeps
//! the statement open; a blank line ends it, as in PowerShell).

use std::path::{Path, PathBuf};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Config, Context, Editor, Helper};

use crate::parse::{incomplete, join_lines, Value, SHELL_CMDLETS};
use crate::shell::{Ended, Shell};

/// Common parameters every cmdlet takes.
const COMMON: &[&str] = &["ErrorAction", "WhatIf", "Confirm", "Verbose"];

const ERROR_ACTIONS: &[&str] = &["Stop", "Continue", "SilentlyContinue", "Ignore"];

/// Completion and line handling for the editor.
#[derive(Debug, Clone, Default)]
pub struct ShellHelper {
    /// Cmdlets the caller may run, each with the parameters it may use.
    commands: Vec<(String, Vec<String>)>,
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

impl ShellHelper {
    /// A helper completing `commands` (name, parameters).
    pub fn new(commands: Vec<(String, Vec<String>)>) -> Self {
        Self { commands }
    }

    fn parameters_of(&self, cmdlet: &str) -> Vec<&str> {
        let own = self
            .commands
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(cmdlet))
            .map(|(_, p)| p.iter().map(String::as_str).collect::<Vec<_>>());
        if let Some(mut own) = own {
            own.extend(COMMON);
            return own;
        }
        crate::parse::shell_cmdlet(cmdlet)
            .map(|c| c.parameters.to_vec())
            .unwrap_or_default()
    }

    /// Completions for the text before the cursor: where the word being
    /// completed starts, and the candidates.
    pub fn candidates(&self, before: &str) -> (usize, Vec<String>) {
        let start = before
            .rfind(|c: char| c.is_whitespace() || c == '|')
            .map_or(0, |i| i + 1);
        let word = &before[start..];
        let segment = before[..start].rsplit('|').next().unwrap_or_default();
        let mut words = segment.split_whitespace();
        let cmdlet = words.next();
        let previous = segment.split_whitespace().last();
        let mut out: Vec<String> = match (cmdlet, word.strip_prefix('-')) {
            (None, _) => self
                .commands
                .iter()
                .map(|(n, _)| n.as_str())
                .chain(SHELL_CMDLETS.iter().map(|c| c.name))
                .filter(|n| starts_with_ignore_case(n, word))
                .map(str::to_owned)
                .collect(),
            (Some(cmdlet), Some(prefix)) => self
                .parameters_of(cmdlet)
                .into_iter()
                .filter(|p| starts_with_ignore_case(p, prefix))
                .map(|p| format!("-{p}"))
                .collect(),
            (Some(_), None)
                if previous.is_some_and(|p| {
                    p.eq_ignore_ascii_case("-ErrorAction") || p.eq_ignore_ascii_case("-EA")
                }) =>
            {
                ERROR_ACTIONS
                    .iter()
                    .filter(|a| starts_with_ignore_case(a, word))
                    .map(|a| (*a).to_owned())
                    .collect()
            }
            (Some(_), None) => Vec::new(),
        };
        out.sort_by_key(|w| w.to_lowercase());
        out.dedup();
        (start, out)
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = self.candidates(line.get(..pos).unwrap_or(line));
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

/// A statement goes on while it is [`incomplete`], until a blank line ends
/// it (it then runs, and what is missing is reported as a syntax error).
impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if continues(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

/// Whether the text typed so far continues on another line: it is
/// [`incomplete`] and its last line is not blank.
pub fn continues(input: &str) -> bool {
    let blank_last_line = input.contains('\n')
        && input
            .rsplit('\n')
            .next()
            .is_some_and(|line| line.trim().is_empty());
    incomplete(input) && !blank_last_line
}

/// The history file of `identity` in the lab `lab`:
/// `<lab>/.crossforest_history.d/<domain>_<user>` (in lower case, as an
/// identity is named in any case).
pub fn history_file(lab: &Path, identity: &str) -> PathBuf {
    let name: String = identity
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    lab.join(".crossforest_history.d").join(name)
}

impl Helper for ShellHelper {}

/// Whether a line may go to the history file: not when it looks like it
/// carries a secret (as PSReadLine does).
pub fn keep_in_history(line: &str) -> bool {
    let lower = line.to_lowercase();
    ![
        "password",
        "secret",
        "credential",
        "token",
        "apikey",
        "asplaintext",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// The cmdlets and parameters the caller may use, from `Get-Command`.
async fn catalogue(shell: &mut Shell) -> Vec<(String, Vec<String>)> {
    let Ok(response) = shell
        .session()
        .invoke("Get-Command", Vec::<(String, Value)>::new())
        .await
    else {
        return Vec::new();
    };
    response
        .records
        .iter()
        .filter_map(|r| {
            let get = |name: &str| {
                r.properties
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| p.value.clone())
            };
            let parameters = get("Parameters")
                .map(|p| {
                    p.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Some((get("Name")?, parameters))
        })
        .collect()
}

/// Reads one statement, continued over as many lines as it takes.
fn read_statement(
    editor: &mut Editor<ShellHelper, DefaultHistory>,
    prompt: &str,
) -> Result<Option<String>, ReadlineError> {
    match editor.readline(prompt) {
        // Run as typed, line breaks kept (a `foreach` over several lines).
        Ok(text) => Ok(Some(text.trim_end().to_owned())),
        // Ctrl-C abandons the statement, as PowerShell does.
        Err(ReadlineError::Interrupted) => Ok(Some(String::new())),
        Err(ReadlineError::Eof) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs the interactive shell for the lab in `lab` until `exit` or end of
/// input; returns the exit code of the last statement.
pub async fn run(shell: &mut Shell, lab: &Path) -> anyhow::Result<u8> {
    let history = &history_file(lab, shell.session().identity());
    if let Some(dir) = history.parent() {
        // Without it the history is not saved, which is said at the end.
        let _ = crossforest_shared::private::dir(dir);
    }
    let helper = ShellHelper::new(catalogue(shell).await);
    let config = Config::builder()
        .auto_add_history(false)
        .max_history_size(1000)?
        .history_ignore_dups(true)?
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(helper));
    // No history yet is fine.
    let _ = editor.load_history(history);
    let prompt = format!("PS {}> ", shell.session().identity());
    let mut last = 0;
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        // The editor blocks on the terminal: on a blocking thread, handed
        // back after each statement.
        let prompt_now = prompt.clone();
        let (returned, read) = tokio::task::spawn_blocking(move || {
            let read = read_statement(&mut editor, &prompt_now);
            (editor, read)
        })
        .await?;
        editor = returned;
        let Some(statement) = read? else { break };
        let trimmed = statement.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if keep_in_history(trimmed) {
            // One line in the history; run as typed (line breaks separate
            // statements in a block).
            editor.add_history_entry(join_lines(trimmed))?;
        }
        if trimmed.eq_ignore_ascii_case("exit") {
            break;
        }
        last = match shell.statement(trimmed, &mut out, &mut err).await? {
            Ended::Succeeded => 0,
            Ended::Failed { code, .. } => code,
        };
    }
    if let Err(e) = editor.save_history(history) {
        eprintln!(
            "WARNING: the history could not be saved to {}: {e}",
            history.display()
        );
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ShellHelper {
        ShellHelper::new(vec![
            (
                "Get-Mailbox".into(),
                vec!["Identity".into(), "OrganizationalUnit".into()],
            ),
            ("Get-MailboxDatabase".into(), vec!["Identity".into()]),
            (
                "Set-Mailbox".into(),
                vec![
                    "Identity".into(),
                    "Office".into(),
                    "CustomAttribute1".into(),
                ],
            ),
        ])
    }

    #[test]
    fn completes_cmdlets_the_caller_may_run() {
        let (start, words) = helper().candidates("get-mai");
        assert_eq!(start, 0);
        assert_eq!(words, ["Get-Mailbox", "Get-MailboxDatabase"]);
        // Nothing the caller may not run.
        assert!(helper().candidates("New-").1.is_empty());
        let (start, words) = helper().candidates("Get-Mailbox | Wh");
        assert_eq!(start, 14);
        assert_eq!(words, ["Where-Object"]);
        let (_, words) = helper().candidates("Get-Mailbox |Se");
        assert_eq!(words, ["Select-Object", "Set-Mailbox"]);
    }

    #[test]
    fn completes_parameters_of_the_segment_cmdlet() {
        let (start, words) = helper().candidates("Get-Mailbox -Org");
        assert_eq!((start, words), (12, vec!["-OrganizationalUnit".to_owned()]));
        let (_, words) =
            helper().candidates("Get-Mailbox -OrganizationalUnit Sales | Set-Mailbox -c");
        assert_eq!(words, ["-Confirm", "-CustomAttribute1"]);
        let (_, words) = helper().candidates("Get-Mailbox | Format-List -");
        assert_eq!(words, ["-Property"]);
        let (_, words) = helper().candidates("Set-Mailbox x -ErrorAction s");
        assert_eq!(words, ["SilentlyContinue", "Stop"]);
        // A value is not completed.
        assert!(helper()
            .candidates("Set-Mailbox x -Office Flo")
            .1
            .is_empty());
    }

    #[test]
    fn candidates_come_in_case_insensitive_order() {
        let helper = ShellHelper::new(vec![
            ("Get-MailContact".into(), Vec::new()),
            ("Get-MailUser".into(), Vec::new()),
            ("Get-Mailbox".into(), Vec::new()),
        ]);
        assert_eq!(
            helper.candidates("get-mail").1,
            ["Get-Mailbox", "Get-MailContact", "Get-MailUser"]
        );
    }

    #[test]
    fn a_blank_line_ends_a_continued_statement() {
        assert!(continues("Get-RoleGroup |"));
        assert!(continues("Get-RoleGroup |\nWhere-Object {"));
        assert!(continues("Set-Mailbox dana `"));
        assert!(!continues("Get-RoleGroup |\n"));
        assert!(!continues("Get-RoleGroup |\nWhere-Object {\n  "));
        assert!(!continues("Get-RoleGroup"));
    }

    #[test]
    fn each_identity_has_a_history_file_of_its_own() {
        let lab = Path::new("lab");
        let contoso = history_file(lab, "contoso\\Administrator");
        assert_eq!(contoso, history_file(lab, "CONTOSO\\administrator"));
        assert_ne!(contoso, history_file(lab, "fabrikam\\Administrator"));
        assert!(contoso.starts_with(lab));
    }

    #[test]
    fn secrets_stay_out_of_the_history() {
        assert!(!keep_in_history("New-Mailbox -Name dana -Password 'P@ss'"));
        assert!(keep_in_history("Get-Mailbox | Format-List"));
    }
}
