//! A lab installed with Active Directory split permissions from the command
//! line (`up` and `demo --active-directory-split-permissions`), and setup's
//! preparation of the forest against it (R-SPLIT-3; `/PrepareAD`,
//! `/PrepareAllDomains`, `/PrepareDomain`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

use common::{up, EXE};

fn crossforest(args: &[&str], lab: &std::path::Path) -> Output {
    Command::new(EXE).args(args).arg(lab).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn r_split_3_up_installs_a_new_lab_with_active_directory_split_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let running = up(&lab, &[], &["--active-directory-split-permissions"]);
    assert!(
        running
            .stderr
            .iter()
            .any(|l| l.contains("with Active Directory split permissions")),
        "{:?}",
        running.stderr
    );

    // The creation cmdlets are unavailable, with the reason.
    let denied = crossforest(
        &[
            "shell",
            "--as",
            "contoso\\Administrator",
            "-c",
            "New-Mailbox -Name Ann",
            "--lab",
        ],
        &lab,
    );
    assert_eq!(
        denied.status.code(),
        Some(i32::from(crossforest_cli::shell::EXIT_DENIED))
    );
    assert!(
        text(&denied.stderr).contains("Active Directory split permissions"),
        "{}",
        text(&denied.stderr)
    );

    // Setup reports the directory as AD split left it.
    let state = crossforest(&["setup", "--prepare-ad", "--lab"], &lab);
    assert!(state.status.success(), "{}", text(&state.stderr));
    let out = text(&state.stdout);
    assert!(
        out.contains("Microsoft Exchange Protected Groups")
            && out.contains("the Exchange Trusted Subsystem is not a member of it")
            && out.contains("doesn't grant the rights of Exchange Windows Permissions"),
        "{out}"
    );
    let domains = crossforest(&["setup", "--prepare-all-domains", "--lab"], &lab);
    assert!(domains.status.success(), "{}", text(&domains.stderr));
    assert!(
        text(&domains.stdout).contains("domain contoso.com is already prepared"),
        "{}",
        text(&domains.stdout)
    );
    let unknown = crossforest(
        &["setup", "--prepare-domain", "sales.fabrikam.com", "--lab"],
        &lab,
    );
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr)
            .contains("`sales.fabrikam.com` is not a domain of the contoso.com forest"),
        "{}",
        text(&unknown.stderr)
    );

    // The what-if of switching back prints the change table and changes nothing.
    let what_if = crossforest(
        &[
            "setup",
            "--prepare-ad",
            "--active-directory-split-permissions",
            "false",
            "--what-if",
            "--lab",
        ],
        &lab,
    );
    let out = text(&what_if.stdout);
    assert!(
        out.contains("What if: nothing was changed.")
            && out.contains("added the Exchange Trusted Subsystem to Exchange Windows Permissions")
            && out.contains(
                "removed the organizational unit contoso.com/Microsoft Exchange Protected Groups"
            ),
        "{out}"
    );
    let again = crossforest(&["setup", "--prepare-ad", "--lab"], &lab);
    assert!(
        text(&again.stdout).contains("already uses Active Directory split permissions"),
        "{}",
        text(&again.stdout)
    );
    drop(running);

    // An existing lab isn't reinstalled: setup switches it.
    let refused = Command::new(EXE)
        .args(["up", "--active-directory-split-permissions", "--dir"])
        .arg(&lab)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--prepare-ad --active-directory-split-permissions true"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn r_split_3_the_demo_under_ad_split_creates_users_with_the_directory_tool() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let demo = crossforest(
        &["demo", "--active-directory-split-permissions", "--dir"],
        &lab,
    );
    let out = text(&demo.stdout);
    assert!(demo.status.success(), "{out}\n{}", text(&demo.stderr));
    // The step's command line, then its answer up to the blank line.
    let denied = out
        .split("PS fabrikam\\alice> New-Mailbox")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_default();
    assert!(
        denied.contains("DENIED")
            && denied.contains("Active Directory split permissions")
            && denied.contains("Enable-Mailbox"),
        "{out}"
    );
    assert!(
        out.contains("PS contoso\\Administrator> New-ADUser"),
        "{out}"
    );
    assert!(
        out.contains("PS fabrikam\\alice> Enable-Mailbox dana"),
        "{out}"
    );
    assert!(
        out.contains("PS fabrikam\\alice> Get-Mailbox dana"),
        "{out}"
    );
}
