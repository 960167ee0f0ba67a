//! The interactive shell on a pseudo-terminal (issue 18 items 2, 3, 6): a
//! progress line for a long pipeline, PowerShell's confirmation prompt
//! before a removal, and Ctrl-C stopping a statement at a record boundary,
//! the count it reports matching what changed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::{up, EXE};
use rexpect::reader::{ReadUntil, Regex};

/// N of `Stopped: N of M records processed.`, if that is what `text` is.
fn stopped_after(text: &str) -> Option<usize> {
    text.strip_prefix("Stopped: ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

fn keys(p: &mut rexpect::session::PtySession, text: &str) {
    p.send(text).unwrap();
    p.flush().unwrap();
}

const PROMPT: &str = "PS contoso\\Administrator> ";

#[test]
fn a_terminal_shows_progress_asks_before_removing_and_ctrl_c_stops_at_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let _up = up(&lab, &[], &[]);
    let csv = dir.path().join("people.csv");
    let mut rows = String::from("Name\n");
    for i in 1..=300 {
        rows.push_str(&format!("m{i:03}\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    let mut shell = Command::new(EXE);
    shell
        .args(["shell", "--as", "contoso\\Administrator", "--lab"])
        .arg(&lab);
    let mut p = rexpect::session::spawn_command(shell, Some(120_000)).unwrap();
    p.exp_string(PROMPT).unwrap();

    // Progress: 300 piped records show done / total and a rate.
    keys(
        &mut p,
        &format!(
            "Import-Csv '{}' | New-Mailbox | Measure-Object | Select-Object -ExpandProperty Count\r",
            csv.display()
        ),
    );
    p.exp_regex(r"New-Mailbox: \d+/300 \(\d+/s\)").unwrap();
    p.exp_string("300").unwrap();
    p.exp_string(PROMPT).unwrap();

    // Confirmation: PowerShell's prompt; No keeps the mailbox.
    keys(&mut p, "Remove-Mailbox m001\r");
    p.exp_string("Confirm").unwrap();
    p.exp_string("Are you sure you want to perform this action?")
        .unwrap();
    p.exp_string("Removing mailbox \"m001\".").unwrap();
    p.exp_string("[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is \"Y\"): ")
        .unwrap();
    keys(&mut p, "n\r");
    p.exp_string(PROMPT).unwrap();
    keys(
        &mut p,
        "Get-Mailbox m001 | Select-Object -ExpandProperty Alias\r",
    );
    p.exp_regex(r"(\n|\x1b\[K)m001\r\n").unwrap();
    p.exp_string(PROMPT).unwrap();

    // Ctrl-C at a confirmation prompt: the change asked about is not made
    // (or, if Enter got there first, the next one is asked about), the
    // statement stops and says how many records it processed: exactly
    // those changed.
    keys(
        &mut p,
        "Get-Mailbox -ResultSize Unlimited | Set-Mailbox -Office Floor9 -Confirm\r",
    );
    for _ in 0..3 {
        p.exp_string("(default is \"Y\"): ").unwrap();
        keys(&mut p, "y\r");
    }
    p.exp_string("(default is \"Y\"): ").unwrap();
    p.send_control('c').unwrap();
    keys(&mut p, "\r");
    let stopped = Regex::new(r"Stopped: \d+ of \d+ records processed\.").unwrap();
    let done = loop {
        let (_, found) = p
            .exp_any(vec![
                ReadUntil::Regex(stopped.clone()),
                ReadUntil::String("(default is \"Y\"): ".into()),
            ])
            .unwrap();
        match stopped_after(&found) {
            Some(done) => break done,
            None => keys(&mut p, "\r"),
        }
    };
    assert!(done >= 3, "{done}");
    p.exp_string(PROMPT).unwrap();
    keys(
        &mut p,
        "(Get-Mailbox -ResultSize Unlimited | Where-Object Office -eq Floor9 | Measure-Object).Count\r",
    );
    // The count follows the line typed, or the progress line cleared.
    p.exp_regex(&format!(r"(\n|\x1b\[K){done}\r\n")).unwrap();
    p.exp_string(PROMPT).unwrap();

    // Ctrl-C while records are being changed (row i of the CSV sets
    // CustomAttribute1 to i, 20,000 rows): the statement stops at the next
    // row; the last row applied is the count it reports.
    let changes = dir.path().join("changes.csv");
    let mut rows = String::from("Identity,CustomAttribute1\n");
    for i in 1..=20_000 {
        rows.push_str(&format!("m{:03},{i}\n", 2 + i % 299));
    }
    std::fs::write(&changes, rows).unwrap();
    keys(
        &mut p,
        &format!("Import-Csv '{}' | Set-Mailbox\r", changes.display()),
    );
    p.exp_regex(r"Set-Mailbox: [1-9]\d*/20000").unwrap();
    p.send_control('c').unwrap();
    let (_, found) = p
        .exp_regex(r"Stopped: \d+ of 20000 records processed\.")
        .unwrap();
    let done = stopped_after(&found).unwrap();
    assert!(done > 0 && done < 20_000, "{found}");
    p.exp_string(PROMPT).unwrap();
    keys(
        &mut p,
        "(Get-Mailbox -ResultSize Unlimited | Where-Object CustomAttribute1 -ne '' | Measure-Object -Property CustomAttribute1 -Maximum).Maximum\r",
    );
    // The count follows the line typed, or the progress line cleared.
    p.exp_regex(&format!(r"(\n|\x1b\[K){done}\r\n")).unwrap();
    p.exp_string(PROMPT).unwrap();

    keys(&mut p, "exit\r");
    p.exp_eof().unwrap();
}
