//! The management shell against a real federation (issue 5): Get-Command and
//! Get-Help list only what the caller's roles grant (R-ROLE-1), pipelines run
//! each right-hand call through RBAC on its own, scripts stop at the first
//! failing line unless told to continue, errors point at the token.

use crossforest_cli::output::Format;
use crossforest_cli::shell::{Ended, Shell};
use crossforest_tests::Session;

use super::common::{federation, ok, property, refused};

/// Runs one statement; returns how it ended, its output and its messages.
async fn run(shell: &mut Shell, line: &str) -> (Ended, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let ended = shell.statement(line, &mut out, &mut err).await.unwrap();
    (
        ended,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// Runs `line` as JSON lines; returns the `property` of every record.
async fn values(session: &Session, line: &str, property: &str) -> Vec<String> {
    let mut shell = Shell::new(session.clone().into(), Format::Jsonl);
    let (ended, out, err) = run(&mut shell, line).await;
    assert_eq!(ended, Ended::Succeeded, "{line}: {err}");
    out.lines()
        .map(|l| {
            let record: serde_json::Value = serde_json::from_str(l).unwrap();
            record[property].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

async fn script(session: &Session, text: &str) -> (u8, String) {
    let mut shell = Shell::new(session.clone().into(), Format::Text);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let code = shell
        .script(lines, "setup.ps1", &mut out, &mut err)
        .await
        .unwrap();
    (code, String::from_utf8(err).unwrap())
}

#[tokio::test]
async fn get_command_and_get_help_list_only_what_the_callers_roles_grant() {
    let f = federation().await;
    let admin = f.administrator().await.unwrap();
    let carol = f.session("tailspin\\carol").await.unwrap();
    let bob = f.session("fabrikam\\bob").await.unwrap();

    let all = values(&admin, "Get-Command", "Name").await;
    let view_only = values(&carol, "Get-Command", "Name").await;
    let recipients = values(&bob, "Get-Command", "Name").await;
    for name in ["Set-Mailbox", "New-RoleGroup", "Get-Command", "Get-Help"] {
        assert!(all.iter().any(|n| n == name), "{name}: {all:?}");
    }
    // View-Only Recipients: reading, not writing.
    assert!(
        view_only.iter().any(|n| n == "Get-Mailbox"),
        "{view_only:?}"
    );
    assert!(view_only.iter().any(|n| n == "Get-Help"), "{view_only:?}");
    assert!(
        !view_only.iter().any(|n| n == "Set-Mailbox"),
        "{view_only:?}"
    );
    // Mail Recipients: Set-Mailbox, but no role groups.
    assert!(recipients.iter().any(|n| n == "Set-Mailbox"));
    assert!(!recipients.iter().any(|n| n == "New-RoleGroup"));
    assert!(view_only.len() < recipients.len() && recipients.len() < all.len());
    assert!(values(&carol, "Get-Command -Verb Set", "Name")
        .await
        .is_empty());
    assert_eq!(
        values(
            &admin,
            "Get-Command -Noun RoleGroupMember -Verb Get",
            "Name"
        )
        .await,
        ["Get-RoleGroupMember"]
    );

    // What you may not run does not exist for you, as in Exchange.
    let mut carol_session = carol.clone();
    let (denied, why) = refused(&mut carol_session, "Get-Help Set-Mailbox").await;
    assert!(
        !denied && why.contains("`Set-Mailbox` is not recognized"),
        "{why}"
    );
    let (_, why) = refused(&mut carol_session, "Get-Command Set-Mailbox").await;
    assert!(why.contains("is not recognized"), "{why}");

    let mut admin_session = admin.clone();
    let help = ok(&mut admin_session, "Get-Help Set-Mailbox").await;
    let syntax = property(&help, "Syntax").unwrap();
    assert!(
        syntax.starts_with("Set-Mailbox [-Identity] <MailboxIdParameter>")
            && syntax.contains("[-CustomAttribute1 <String>]")
            && syntax.ends_with("[-WhatIf] [<CommonParameters>]"),
        "{syntax}"
    );
    assert_eq!(
        property(&help, "Synopsis").as_deref(),
        Some("Changes the properties of a mailbox.")
    );
    let custom = ok(
        &mut admin_session,
        "Get-Help Set-Mailbox -Parameter Custom*",
    )
    .await;
    assert_eq!(custom.len(), 15);
    assert_eq!(property(&custom, "Type").as_deref(), Some("String"));
    assert_eq!(property(&custom, "Position").as_deref(), Some("Named"));
}

/// R-ROLE-1: `Get-Help -Examples`, `-Detailed` and `-Full` answer for a
/// cmdlet the caller's roles grant, with the parameters they grant, and for
/// no other.
#[tokio::test]
async fn get_help_examples_detailed_and_full_show_only_what_the_callers_roles_grant() {
    let f = federation().await;
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    let mut carol = f.session("tailspin\\carol").await.unwrap();

    let examples = ok(&mut bob, "Get-Help Set-Mailbox -Examples").await;
    assert_eq!(property(&examples, "Syntax"), None);
    let text = property(&examples, "Examples").unwrap();
    assert!(
        text.contains("Example 1") && text.contains("Set-Mailbox -Identity dana -Office Seattle"),
        "{text}"
    );
    let detailed = ok(&mut bob, "Get-Help Set-Mailbox -Detailed").await;
    let parameters = property(&detailed, "Parameters").unwrap();
    assert!(
        parameters.contains("-Identity <MailboxIdParameter>")
            && parameters.contains("-Office <String>"),
        "{parameters}"
    );
    let full = ok(&mut bob, "Get-Help Set-Mailbox -Full").await;
    let parameters = property(&full, "Parameters").unwrap();
    assert!(
        parameters.contains("Required? true  Position? 0"),
        "{parameters}"
    );
    assert_eq!(property(&full, "ConfirmImpact").as_deref(), Some("Medium"));

    // View-Only Recipients: Set-Mailbox does not exist, at any depth.
    for depth in ["-Examples", "-Detailed", "-Full"] {
        let (denied, why) = refused(&mut carol, &format!("Get-Help Set-Mailbox {depth}")).await;
        assert!(
            !denied && why.contains("`Set-Mailbox` is not recognized"),
            "{depth}: {why}"
        );
    }
}

#[tokio::test]
async fn a_pipeline_changes_exactly_the_mailboxes_it_is_given() {
    let f = federation().await;
    let admin = f.administrator().await.unwrap();
    let mut a = admin.clone();
    for (name, ou) in [("dana", "Sales"), ("erin", "Sales"), ("frank", "Seattle")] {
        ok(
            &mut a,
            &format!("New-Mailbox -Name {name} -OrganizationalUnit contoso.com/{ou}"),
        )
        .await;
    }
    let mut shell = Shell::new(admin.clone().into(), Format::Text);
    let (ended, _, err) = run(
        &mut shell,
        "Get-Mailbox -OrganizationalUnit contoso.com/Sales | Set-Mailbox -CustomAttribute1 Sales",
    )
    .await;
    assert_eq!(ended, Ended::Succeeded, "{err}");

    let mut tagged = values(
        &admin,
        "Get-Mailbox | Where-Object CustomAttribute1 -eq 'sales'",
        "Name",
    )
    .await;
    tagged.sort();
    assert_eq!(tagged, ["dana", "erin"]);
    let untagged = values(
        &admin,
        "Get-Mailbox | Where-Object { $_.CustomAttribute1 -ne 'Sales' -and $_.Name -like 'f*' } | Select-Object Name",
        "Name",
    )
    .await;
    assert_eq!(untagged, ["frank"]);

    // Format-List of chosen properties.
    let (_, out, _) = run(
        &mut shell,
        "Get-Mailbox dana | Format-List Name,CustomAttribute1",
    )
    .await;
    assert_eq!(out, "Name             : dana\nCustomAttribute1 : Sales\n");

    // Get-RoleGroup | Get-RoleGroupMember binds each group's Name.
    let members = values(
        &admin,
        "Get-RoleGroup | Where-Object Name -like 'organization man*' | Get-RoleGroupMember",
        "Name",
    )
    .await;
    assert_eq!(members, ["Administrator"]);

    // Each right-hand call was its own request: the audit log, as JSON lines.
    let audited = values(
        &admin,
        "Search-AdminAuditLog -Cmdlets Set-Mailbox",
        "ObjectModified",
    )
    .await;
    let mut audited = audited;
    audited.sort();
    assert_eq!(audited, ["dana", "erin"]);
}

#[tokio::test]
async fn a_denied_item_in_a_pipeline_is_reported_and_the_others_still_run() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    for (name, ou) in [
        ("dana", "Sales"),
        ("erin", "Sales"),
        ("frank", "Seattle"),
        ("Katie", "Seattle"),
    ] {
        ok(
            &mut admin,
            &format!("New-Mailbox -Name {name} -OrganizationalUnit contoso.com/{ou}"),
        )
        .await;
    }
    ok(
        &mut admin,
        "New-RoleGroup -Name \"Sales Recipient Admins\" -Roles \"Mail Recipients\" -RecipientOrganizationalUnitScope contoso.com/Sales -Members Katie",
    )
    .await;
    let katie = f.local_session("Katie").await.unwrap();
    let mut shell = Shell::new(katie.into(), Format::Text);
    let (ended, _, err) = run(&mut shell, "Get-Mailbox | Set-Mailbox -Office 'Floor 9'").await;
    assert_eq!(
        ended,
        Ended::Failed {
            code: 3,
            goes_on: false
        },
        "{err}"
    );
    // Frank is outside her write scope; her own mailbox is hers to change
    // (MyBaseOptions, implicit write scope Self).
    assert!(err.contains("DENIED (frank): "), "{err}");
    assert!(err.contains("R-ASG-3"), "{err}");
    assert_eq!(err.matches("DENIED").count(), 1, "{err}");
    let offices = values(
        &admin,
        "Get-Mailbox | Where-Object Office -eq 'Floor 9'",
        "Name",
    )
    .await;
    assert_eq!(offices, ["dana", "erin", "Katie"]);

    // -ErrorAction Stop ends the pipeline at the first error.
    let (ended, _, err) = run(
        &mut shell,
        "Get-Mailbox | Set-Mailbox -Office 'Floor 8' -ErrorAction Stop",
    )
    .await;
    assert!(matches!(ended, Ended::Failed { code: 3, .. }), "{err}");
    assert_eq!(err.matches("DENIED").count(), 1, "{err}");
    // Mailboxes come in name order: dana, erin, frank (denied), Katie (not tried).
    let floor_8 = values(
        &admin,
        "Get-Mailbox | Where-Object Office -eq 'Floor 8'",
        "Name",
    )
    .await;
    assert_eq!(floor_8, ["dana", "erin"]);
    let katie = values(&admin, "Get-Mailbox Katie", "Office").await;
    assert_eq!(katie, ["Floor 9"]);

    // A cmdlet the caller's roles don't grant is denied once, not per item:
    // the denial is the same for every object.
    let carol = f.session("tailspin\\carol").await.unwrap();
    let mut shell = Shell::new(carol.into(), Format::Text);
    let (ended, _, err) = run(&mut shell, "Get-Mailbox | Set-Mailbox -Office x").await;
    assert!(matches!(ended, Ended::Failed { code: 3, .. }), "{err}");
    assert_eq!(err.matches("DENIED").count(), 1, "{err}");
    assert!(err.contains("R-ROLE-1"), "{err}");
}

#[tokio::test]
async fn a_script_stops_at_the_first_failing_line_unless_told_to_continue() {
    let f = federation().await;
    let admin = f.administrator().await.unwrap();
    let (code, err) = script(
        &admin,
        "# stops at line 3\nNew-Mailbox -Name dana\nSet-Mailbox nobody -Office A\nNew-Mailbox -Name erin\n",
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("setup.ps1:3: the script stops here"), "{err}");
    let mut a = admin.clone();
    refused(&mut a, "Get-Mailbox erin").await;

    let (code, err) = script(
        &admin,
        "Set-Mailbox nobody -Office A -ErrorAction Continue\nNew-Mailbox -Name erin\n",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("ERROR: ") && err.contains("nobody"), "{err}");
    ok(&mut a, "Get-Mailbox erin").await;

    let (code, err) = script(
        &admin,
        "$ErrorActionPreference = 'SilentlyContinue'\nSet-Mailbox nobody -Office A\nNew-Mailbox -Name frank\n",
    )
    .await;
    assert_eq!((code, err.as_str()), (0, ""));
    ok(&mut a, "Get-Mailbox frank").await;

    // Lines continue after a trailing `|` or backtick, as in PowerShell.
    let (code, err) = script(
        &admin,
        "Get-Mailbox |\n  Where-Object { $_.Name -eq 'dana' } |\n  Set-Mailbox -Office `\n  \"Floor 2\"\nSet-Mailbox erin -Office x -Bogus\n",
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("setup.ps1:5: the script stops here"), "{err}");
    let dana = ok(&mut a, "Get-Mailbox dana").await;
    assert_eq!(property(&dana, "Office").as_deref(), Some("Floor 2"));
}

#[tokio::test]
async fn errors_point_at_the_token_that_was_wrong() {
    let f = federation().await;
    let mut a = f.administrator().await.unwrap();
    ok(&mut a, "New-Mailbox -Name dana").await;
    ok(&mut a, "New-Mailbox -Name erin").await;
    let mut shell = Shell::new(a.into(), Format::Text);

    let line = "New-ManagementRole -Name Scripts -UnScopedTopLevel";
    let (ended, _, err) = run(&mut shell, line).await;
    assert!(matches!(ended, Ended::Failed { code: 3, .. }));
    assert!(
        err.starts_with(&format!("{line}\n{}^ DENIED: ", " ".repeat(33))),
        "{err}"
    );

    // A binding error ends the pipeline: reported once, not once per item,
    // and not blamed on the first item (issue 18).
    let line = "Get-Mailbox | Set-Mailbox -Ofice x";
    let (ended, _, err) = run(&mut shell, line).await;
    assert!(matches!(ended, Ended::Failed { code: 1, .. }));
    assert!(
        err.starts_with(&format!("{line}\n{}^ ERROR: ", " ".repeat(26))),
        "{err}"
    );
    assert_eq!(err.matches("ERROR").count(), 1, "{err}");

    let line = "Get-Mailbox | Where-Object Name -like";
    let (_, _, err) = run(&mut shell, line).await;
    assert!(
        err.starts_with(&format!("{line}\n{}^ ", " ".repeat(32))),
        "{err}"
    );
}

#[tokio::test]
async fn get_command_leaves_out_what_the_permission_model_makes_unavailable() {
    let f = crossforest_tests::Federation::builder()
        .active_directory_split_permissions()
        .start()
        .await
        .unwrap();
    let admin = f.administrator().await.unwrap();
    let names = values(&admin, "Get-Command -Noun Mailbox", "Name").await;
    assert!(names.iter().any(|n| n == "Enable-Mailbox"), "{names:?}");
    assert!(!names.iter().any(|n| n == "New-Mailbox"), "{names:?}");
    let mut a = admin.clone();
    let (_, why) = refused(&mut a, "Get-Help New-Mailbox").await;
    assert!(why.contains("`New-Mailbox` is not recognized"), "{why}");
}

#[tokio::test]
async fn a_role_group_manager_sees_what_managed_by_lets_them_run() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    for name in ["Brian", "Nora"] {
        ok(&mut admin, &format!("New-Mailbox -Name {name}")).await;
    }
    ok(&mut admin, "New-RoleGroup -Name Helpdesk -ManagedBy Brian").await;
    let brian = f.local_session("Brian").await.unwrap();
    let nora = f.local_session("Nora").await.unwrap();
    let managed = values(&brian, "Get-Command *-RoleGroup*", "Name").await;
    assert!(
        managed.iter().any(|n| n == "Add-RoleGroupMember"),
        "{managed:?}"
    );
    assert!(!managed.iter().any(|n| n == "New-RoleGroup"), "{managed:?}");
    assert!(values(&nora, "Get-Command *-RoleGroup*", "Name")
        .await
        .iter()
        .all(|n| n != "Add-RoleGroupMember"));
    // What it lists works.
    let mut b = brian.clone();
    ok(&mut b, "Add-RoleGroupMember Helpdesk -Member Nora").await;
}

#[tokio::test]
async fn an_admin_script_uses_variables_sorting_selection_and_csv_rows_as_parameters() {
    // Issue 18: the everyday idioms of an Exchange administrator's script.
    let f = federation().await;
    let admin = f.administrator().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("new-users.csv");
    std::fs::write(
        &csv,
        "Name,Alias,OrganizationalUnit,Notes\n\"Dana Smith\",dana,contoso.com/Sales,first\nerin,erin,contoso.com/Sales,\nfrank,frank,contoso.com/Seattle,x\n",
    )
    .unwrap();
    let mut shell = Shell::new(admin.clone().into(), Format::Jsonl);

    // Import-Csv | New-Mailbox binds each column to the parameter of the
    // same name (Notes is no parameter of New-Mailbox: not bound).
    let (ended, out, err) = run(
        &mut shell,
        &format!("Import-Csv '{}' | New-Mailbox", csv.display()),
    )
    .await;
    assert_eq!(ended, Ended::Succeeded, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    let mut a = admin.clone();
    let dana = ok(&mut a, "Get-Mailbox dana").await;
    assert_eq!(property(&dana, "Name").as_deref(), Some("Dana Smith"));
    assert_eq!(
        property(&dana, "OrganizationalUnit").as_deref(),
        Some("contoso.com/Sales")
    );

    // Variables hold results; `;` separates statements.
    let (ended, out, err) = run(&mut shell, "$x = Get-Mailbox; $x.Count; $x[0].Name; (Get-Mailbox -OrganizationalUnit contoso.com/Sales).Count").await;
    assert_eq!(ended, Ended::Succeeded, "{err}");
    assert_eq!(out, "3\n\"Dana Smith\"\n2\n");

    let (ended, out, err) = run(
        &mut shell,
        "Get-Mailbox | Sort-Object Name -Descending | Select-Object -First 2 -ExpandProperty Name",
    )
    .await;
    assert_eq!(ended, Ended::Succeeded, "{err}");
    assert_eq!(out, "\"frank\"\n\"erin\"\n");

    // Wildcard identities, ForEach-Object with $_, Group-Object, Measure-Object.
    let (_, out, err) = run(&mut shell, "Get-Mailbox d* | % { $_.Alias }; Get-Mailbox | Group-Object OrganizationalUnit -NoElement | % { \"$($_.Name)=$($_.Count)\" }; (Get-Mailbox | Measure-Object).Count").await;
    assert_eq!(
        out, "\"dana\"\n\"contoso.com/Sales=2\"\n\"contoso.com/Seattle=1\"\n3\n",
        "{err}"
    );
}

#[tokio::test]
async fn out_and_error_variables_collect_a_pipelines_results_and_failures() {
    let f = federation().await;
    let admin = f.administrator().await.unwrap();
    let mut a = admin.clone();
    for name in ["dana", "erin"] {
        ok(&mut a, &format!("New-Mailbox -Name {name}")).await;
    }
    let mut shell = Shell::new(admin.into(), Format::Jsonl);
    // -ea 0 silences the failure; -ErrorVariable keeps it; -OutVariable
    // keeps what succeeded.
    let (ended, out, err) = run(
        &mut shell,
        "'dana', 'nobody', 'erin' | Set-Mailbox -Office 'Floor 2' -ea 0 -ErrorVariable failed; $failed.Count; $failed[0] -like '*nobody*'; $null = Get-Mailbox -OutVariable all; $all.Name",
    )
    .await;
    assert_eq!(ended, Ended::Succeeded, "{err}");
    assert_eq!(err, "");
    assert_eq!(out, "1\ntrue\n\"dana\"\n\"erin\"\n");
    let offices = values(
        &a,
        "Get-Mailbox | Where-Object Office -eq 'Floor 2'",
        "Name",
    )
    .await;
    assert_eq!(offices, ["dana", "erin"]);
}

#[tokio::test]
async fn an_unsupported_cmdlet_is_reported_once_at_its_column_before_anything_runs() {
    let f = federation().await;
    let admin = f.administrator().await.unwrap();
    let mut a = admin.clone();
    ok(&mut a, "New-Mailbox -Name dana").await;
    let mut shell = Shell::new(admin.into(), Format::Text);
    let line = "Get-Mailbox | Set-Mailbox -Office x | Compare-Object changes";
    let (ended, out, err) = run(&mut shell, line).await;
    assert!(
        matches!(
            ended,
            Ended::Failed {
                code: 1,
                goes_on: false
            }
        ),
        "{err}"
    );
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "{line}\n{}^ `Compare-Object` is not supported by this shell\n",
            " ".repeat(38)
        )
    );
    // Nothing ran: dana's office is unchanged.
    let dana = ok(&mut a, "Get-Mailbox dana").await;
    assert_ne!(property(&dana, "Office").as_deref(), Some("x"));
}
