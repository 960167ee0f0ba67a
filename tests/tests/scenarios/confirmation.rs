//! The shell asks before a change as PowerShell does (issue 18 item 2): a
//! cmdlet of high confirm impact prompts where someone can answer, and is
//! refused in a script unless it says `-Confirm:$false` (or
//! `$ConfirmPreference` says otherwise); `-WhatIf` names each target. Ctrl-C
//! (issue 18 item 3) stops a statement at the next record boundary and
//! says how many records were processed: no record is half-applied, and
//! every change made is audited (R-AUDIT-3).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::Ordering;

use crossforest_cli::host::EXIT_INTERRUPTED;
use crossforest_cli::output::Format;
use crossforest_cli::shell::{Ended, Shell};
use crossforest_tests::Session;

use super::common::{audit, federation, ok};

/// Runs `line`; returns how it ended and what it wrote to standard error.
async fn run(shell: &mut Shell, line: &str) -> (Ended, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let ended = shell.statement(line, &mut out, &mut err).await.unwrap();
    (ended, String::from_utf8(err).unwrap())
}

/// A shell whose confirmation prompts are answered with `answers`, one per
/// prompt; returns it and how many prompts were answered.
fn answering(session: &Session, answers: &[&str]) -> (Shell, Rc<Cell<usize>>) {
    let mut shell = Shell::new(session.clone().into(), Format::Text);
    let answers: Vec<String> = answers.iter().map(|a| format!("{a}\n")).collect();
    let asked = Rc::new(Cell::new(0));
    let count = asked.clone();
    shell.answer_with(Box::new(move || {
        let n = count.get();
        count.set(n + 1);
        Box::pin(std::future::ready(answers.get(n).cloned()))
    }));
    (shell, asked)
}

async fn names(admin: &mut Session) -> Vec<String> {
    ok(admin, "Get-Mailbox")
        .await
        .iter()
        .filter_map(|r| r.get("Name").map(str::to_owned))
        .collect()
}

async fn mailboxes(admin: &mut Session, names: &[&str]) {
    for name in names {
        ok(admin, &format!("New-Mailbox -Name {name}")).await;
    }
}

#[tokio::test]
async fn confirmation_a_high_impact_cmdlet_asks_and_each_answer_is_kept() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    mailboxes(&mut admin, &["a1", "a2", "a3", "b1", "b2", "c1"]).await;

    // No: nothing removed. PowerShell's prompt, word for word.
    let (mut shell, asked) = answering(&admin, &["n"]);
    let (ended, err) = run(&mut shell, "Remove-Mailbox c1").await;
    assert_eq!(ended, Ended::Succeeded, "{err}");
    assert_eq!(
        err,
        "\nConfirm\nAre you sure you want to perform this action?\nRemoving mailbox \"c1\".\n[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is \"Y\"): "
    );
    assert_eq!(asked.get(), 1);
    assert!(names(&mut admin).await.contains(&"c1".to_owned()));

    // Yes, No, then No to All: one removed, the third never asked again.
    let (mut shell, asked) = answering(&admin, &["y", "n", "l"]);
    let (ended, err) = run(&mut shell, "'a1','a2','a3','c1' | Remove-Mailbox").await;
    assert_eq!(ended, Ended::Succeeded, "{err}");
    assert_eq!(asked.get(), 3, "{err}");
    for (name, prompted) in [("a1", true), ("a2", true), ("a3", true), ("c1", false)] {
        let text = format!("Removing mailbox \"{name}\".");
        assert_eq!(err.contains(&text), prompted, "{name}: {err}");
    }
    let left = names(&mut admin).await;
    assert!(!left.contains(&"a1".to_owned()), "{left:?}");
    for kept in ["a2", "a3", "c1"] {
        assert!(left.contains(&kept.to_owned()), "{kept}: {left:?}");
    }

    // Yes to All: asked once for the whole pipeline.
    let (mut shell, asked) = answering(&admin, &["a"]);
    let (ended, err) = run(&mut shell, "'b1','b2' | Remove-Mailbox").await;
    assert_eq!(ended, Ended::Succeeded, "{err}");
    assert_eq!(asked.get(), 1);
    let left = names(&mut admin).await;
    assert!(!left.iter().any(|n| n.starts_with('b')), "{left:?}");

    // -Confirm asks for a cmdlet of lower impact too; -Confirm:$false and
    // $ConfirmPreference = 'None' don't ask.
    let (mut shell, asked) = answering(&admin, &["n"]);
    run(&mut shell, "Set-Mailbox c1 -Office Floor2 -Confirm").await;
    assert_eq!(asked.get(), 1);
    run(&mut shell, "Set-Mailbox c1 -Office Floor3").await;
    run(&mut shell, "Remove-Mailbox a2 -Confirm:$false").await;
    run(&mut shell, "$ConfirmPreference = 'None'; Remove-Mailbox a3").await;
    assert_eq!(asked.get(), 1, "nothing more was asked");
    let c1 = ok(&mut admin, "Get-Mailbox c1").await;
    assert_eq!(c1[0].get("Office"), Some("Floor3"));
    let left = names(&mut admin).await;
    assert!(!left.contains(&"a2".to_owned()) && !left.contains(&"a3".to_owned()));
    // $ConfirmPreference = 'Medium': Set-Mailbox asks too.
    run(&mut shell, "$ConfirmPreference = 'Medium'").await;
    run(&mut shell, "Set-Mailbox c1 -Office Floor4").await;
    assert_eq!(asked.get(), 2);
    let (ended, err) = run(&mut shell, "$ConfirmPreference = 'Sometimes'").await;
    assert!(matches!(ended, Ended::Failed { .. }));
    assert!(err.contains("None, Low, Medium or High"), "{err}");
}

#[tokio::test]
async fn confirmation_a_script_is_refused_a_cmdlet_that_would_ask_unless_it_says_confirm_false() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    mailboxes(&mut admin, &["hank", "ivy"]).await;
    let session = admin.clone();
    let script = |text: &str| {
        let text = text.to_owned();
        let session = session.clone();
        async move {
            let mut shell = Shell::new(session.into(), Format::Text);
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let lines = text.lines().map(|l| Ok(l.to_owned()));
            let code = shell
                .script(lines, "cleanup.ps1", &mut out, &mut err)
                .await
                .unwrap();
            (code, String::from_utf8(err).unwrap())
        }
    };

    // Refused before anything in the pipeline ran: no mailbox created,
    // none removed.
    let (code, err) = script("New-Mailbox -Name jo | Remove-Mailbox").await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("`Remove-Mailbox` asks for confirmation"),
        "{err}"
    );
    assert!(err.contains("add `-Confirm:$false`"), "{err}");
    assert!(
        err.contains("cleanup.ps1:1: the script stops here"),
        "{err}"
    );
    let left = names(&mut admin).await;
    assert!(left.contains(&"hank".to_owned()) && !left.contains(&"jo".to_owned()));
    let (code, err) = script("Set-Mailbox ivy -Office x -Confirm").await;
    assert_eq!(code, 1);
    assert!(err.contains("leave out `-Confirm`"), "{err}");

    // Said as the documentation's scripts say it, it runs.
    let (code, err) = script("Remove-Mailbox hank -Confirm:$false").await;
    assert_eq!(code, 0, "{err}");
    let (code, err) = script("$ConfirmPreference = 'None'\nRemove-Mailbox ivy").await;
    assert_eq!(code, 0, "{err}");
    let left = names(&mut admin).await;
    assert!(!left.contains(&"hank".to_owned()) && !left.contains(&"ivy".to_owned()));
}

#[tokio::test]
async fn confirmation_what_if_names_each_target_as_powershell_does() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    mailboxes(&mut admin, &["hank", "ivy"]).await;
    // -WhatIf doesn't ask, even in a script, and changes nothing.
    let mut shell = Shell::new(admin.clone().into(), Format::Text);
    let (ended, err) = run(&mut shell, "'hank','ivy' | Remove-Mailbox -WhatIf").await;
    assert_eq!(ended, Ended::Succeeded, "{err}");
    for name in ["hank", "ivy"] {
        let line = format!("What if: Removing mailbox \"contoso.com/Users/{name}\".\n");
        assert!(err.contains(&line), "{err}");
    }
    assert!(!err.contains("WARNING: What if"), "{err}");
    assert_eq!(names(&mut admin).await.len(), 2);
    let (_, err) = run(
        &mut shell,
        "Set-Mailbox hank -Office x -WhatIf; Remove-ManagementRoleAssignment \"Mail Recipients_fabrikam Recipient Admins\" -WhatIf",
    )
    .await;
    assert!(
        err.contains("What if: Setting mailbox \"contoso.com/Users/hank\".\n"),
        "{err}"
    );
    assert!(
        err.contains("What if: Removing management role assignment \"Mail Recipients_fabrikam Recipient Admins\".\n"),
        "{err}"
    );
}

#[tokio::test]
async fn ctrl_c_stops_a_statement_at_a_record_boundary_and_reports_how_many_were_processed() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    let all: Vec<String> = (1..=8).map(|i| format!("m{i}")).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    mailboxes(&mut admin, &all).await;
    let total = names(&mut admin).await.len();

    for (line, office) in [
        (
            "Get-Mailbox | Set-Mailbox -Office Floor9 -Confirm",
            "Floor9",
        ),
        (
            "foreach ($m in Get-Mailbox) { Set-Mailbox $m.Name -Office Floor7 -Confirm }",
            "Floor7",
        ),
    ] {
        // Ctrl-C is pressed while the fourth change is being confirmed: the
        // fourth is not made, the three before it are, whole.
        let mut shell = Shell::new(admin.clone().into(), Format::Text);
        let interrupts = shell.interrupts();
        let asked = Rc::new(Cell::new(0));
        let count = asked.clone();
        shell.answer_with(Box::new(move || {
            count.set(count.get() + 1);
            if count.get() == 4 {
                interrupts.fetch_add(1, Ordering::SeqCst);
            }
            Box::pin(std::future::ready(Some("y\n".to_owned())))
        }));
        let before = audit(&f).len();
        let (ended, err) = run(&mut shell, line).await;
        assert_eq!(
            ended,
            Ended::Failed {
                code: EXIT_INTERRUPTED,
                goes_on: false
            },
            "{err}"
        );
        assert!(
            err.ends_with(&format!("Stopped: 3 of {total} records processed.\n")),
            "{line}: {err}"
        );
        assert_eq!(asked.get(), 4);
        let changed = ok(&mut admin, "Get-Mailbox")
            .await
            .iter()
            .filter(|r| r.get("Office") == Some(office))
            .count();
        assert_eq!(changed, 3, "{line}");
        let audited = audit(&f)[before..]
            .iter()
            .filter(|r| r.cmdlet_name == "Set-Mailbox" && r.succeeded)
            .count();
        assert_eq!(audited, 3, "{line}");
        // The next line starts afresh.
        let (ended, err) = run(&mut shell, "Get-Mailbox m1").await;
        assert_eq!(ended, Ended::Succeeded, "{err}");
    }
}
