//! The interactive shell driven through a pseudo-terminal, against a lab
//! started with `crossforest up`: prompt, tab completion from Get-Command,
//! continuation lines on `>> `, syntax errors, history.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::{up, EXE};

/// Types `text` (the pty's input is buffered until flushed).
fn keys(p: &mut rexpect::session::PtySession, text: &str) {
    p.send(text).unwrap();
    p.flush().unwrap();
}

#[test]
fn the_interactive_shell_completes_continues_and_keeps_history() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let _up = up(&lab, &[]);
    let mut shell = Command::new(EXE);
    shell
        .args(["shell", "--as", "contoso\\Administrator", "--lab"])
        .arg(&lab);
    let mut p = rexpect::session::spawn_command(shell, Some(60_000)).unwrap();
    p.exp_string("PS contoso\\Administrator> ").unwrap();

    // Tab completes the cmdlet and the parameter (the line would fail otherwise).
    keys(&mut p, "Get-Comm\t -Nou\t RoleGroupMember\r");
    p.exp_regex("Cmdlet +Add-RoleGroupMember").unwrap();
    p.exp_regex("Cmdlet +Get-RoleGroupMember").unwrap();

    // A trailing `|` continues on a `>> ` prompt.
    keys(&mut p, "Get-RoleGroup |\r");
    p.exp_string(">> ").unwrap();
    keys(
        &mut p,
        "Where-Object Name -eq 'organization management' | Format-List Name\r",
    );
    p.exp_regex("Name : Organization Management").unwrap();

    // A syntax error points at its column.
    keys(&mut p, "Get-Mailbox -Identity:\r");
    p.exp_string("needs a value after the colon").unwrap();

    keys(&mut p, "exit\r");
    p.exp_eof().unwrap();

    let history = std::fs::read_to_string(lab.join(".crossforest_history")).unwrap();
    assert!(
        history.contains("Get-Command -Noun RoleGroupMember"),
        "{history}"
    );
    assert!(
        history.contains("Get-RoleGroup | Where-Object Name -eq"),
        "{history}"
    );
}
