//! The interactive shell driven through a pseudo-terminal, against a lab
//! started with `crossforest up`: prompt, tab completion from Get-Command,
//! statements continued over several lines and ended by a blank line,
//! syntax errors, a history for each identity.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::{up, EXE};

/// Types `text` (the pty's input is buffered until flushed).
fn keys(p: &mut rexpect::session::PtySession, text: &str) {
    p.send(text).unwrap();
    p.flush().unwrap();
}

fn interactive(lab: &std::path::Path, identity: &str) -> rexpect::session::PtySession {
    let mut shell = Command::new(EXE);
    shell.args(["shell", "--as", identity, "--lab"]).arg(lab);
    let mut p = rexpect::session::spawn_command(shell, Some(60_000)).unwrap();
    p.exp_string(&format!("PS {identity}> ")).unwrap();
    p
}

#[test]
fn the_interactive_shell_completes_continues_and_keeps_history() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let _up = up(&lab, &[], &[]);
    let mut p = interactive(&lab, "contoso\\Administrator");

    // Tab completes the cmdlet and the parameter (the line would fail otherwise).
    keys(&mut p, "Get-Comm\t -Nou\t RoleGroupMember\r");
    p.exp_regex("Cmdlet +Add-RoleGroupMember").unwrap();
    p.exp_regex("Cmdlet +Get-RoleGroupMember").unwrap();

    // Candidates come in case-insensitive order: Get-Mailbox before
    // Get-MailContact (byte order would put `C` before `b`).
    keys(&mut p, "Get-Mail\t");
    let (_, first) = p.exp_regex("> Get-Mail[A-Za-z]+").unwrap();
    assert_eq!(first, "> Get-Mailbox");
    keys(&mut p, "\r");
    p.exp_string("PS contoso\\Administrator> ").unwrap();

    // A trailing `|` continues the statement on the next line.
    keys(&mut p, "Get-RoleGroup |\r");
    keys(
        &mut p,
        "Where-Object Name -eq 'organization management' | Format-List Name\r",
    );
    p.exp_regex("Name : Organization Management").unwrap();

    // A blank line ends a continued statement, which then runs (here: a
    // syntax error, as in PowerShell).
    keys(&mut p, "Get-RoleGroup |\r");
    keys(&mut p, "\r");
    p.exp_string("an empty pipe element is not allowed")
        .unwrap();
    p.exp_string("PS contoso\\Administrator> ").unwrap();

    // A syntax error points at its column.
    keys(&mut p, "Get-Mailbox -Identity:\r");
    p.exp_string("needs a value after the colon").unwrap();

    keys(&mut p, "exit\r");
    p.exp_eof().unwrap();

    // Another identity of the same lab keeps a history of its own.
    let mut p = interactive(&lab, "fabrikam\\Administrator");
    keys(&mut p, "Get-Command -Noun User\r");
    p.exp_string("PS fabrikam\\Administrator> ").unwrap();
    keys(&mut p, "exit\r");
    p.exp_eof().unwrap();

    let history_of = |identity: &str| {
        let file = crossforest_cli::repl::history_file(&lab, identity);
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    };
    let contoso = history_of("contoso\\Administrator");
    assert!(
        contoso.contains("Get-Command -Noun RoleGroupMember"),
        "{contoso}"
    );
    assert!(
        contoso.contains("Get-RoleGroup | Where-Object Name -eq"),
        "{contoso}"
    );
    let fabrikam = history_of("fabrikam\\Administrator");
    assert!(fabrikam.contains("Get-Command -Noun User"), "{fabrikam}");
    assert!(!fabrikam.contains("RoleGroupMember"), "{fabrikam}");
    assert!(!contoso.contains("-Noun User"), "{contoso}");
}
