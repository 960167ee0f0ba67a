//! Output as the Exchange Management Shell prints it (issue 18 item 4): each
//! cmdlet's default columns from the registry (one row for one object),
//! typed JSON, and Exchange's warning when a read stops at the default
//! `-ResultSize` of 1000.

use crossforest_cli::output::Format;
use crossforest_cli::shell::{Ended, Shell};
use crossforest_tests::{Federation, Session};
use resource_forest::cmdlets::RESULT_SIZE_WARNING;

use super::common::ok;

/// Runs one statement in a shell printing `format`: its output and messages.
async fn run(session: &Session, format: Format, line: &str) -> (String, String) {
    let mut shell = Shell::new(session.clone().into(), format);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let ended = shell.statement(line, &mut out, &mut err).await.unwrap();
    let err = String::from_utf8(err).unwrap();
    assert_eq!(ended, Ended::Succeeded, "{line}: {err}");
    (String::from_utf8(out).unwrap(), err)
}

async fn administrator() -> (Federation, Session) {
    let federation = Federation::builder().start().await.unwrap();
    let admin = federation.administrator().await.unwrap();
    (federation, admin)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_mailbox_prints_as_a_one_row_table_of_the_ems_columns() {
    let (_federation, mut admin) = administrator().await;
    ok(&mut admin, "New-Mailbox -Name 山田太郎 -Alias yamada").await;
    let (out, _) = run(&admin, Format::Text, "Get-Mailbox -Identity yamada").await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["Name", "Alias", "ServerName", "ProhibitSendQuota"]);
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["----", "-----", "----------", "-----------------"]
    );
    assert!(lines[2].starts_with("山田太郎 yamada"), "{out}");
    assert!(lines[2].ends_with("Unlimited"), "{out}");
    // Format-List still lists.
    let (listed, _) = run(
        &admin,
        Format::Text,
        "Get-Mailbox -Identity yamada | Format-List",
    )
    .await;
    assert!(listed.contains("ProhibitSendQuota"), "{listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("Alias ") && l.ends_with(": yamada")),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_keeps_numbers_booleans_lists_and_nulls() {
    let (_federation, mut admin) = administrator().await;
    ok(&mut admin, "New-Mailbox -Name dana").await;
    ok(
        &mut admin,
        "Set-Mailbox -Identity dana -HiddenFromAddressListsEnabled $true -Languages en-US,fr-FR",
    )
    .await;
    let (out, _) = run(&admin, Format::Json, "Get-Mailbox -Identity dana").await;
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let dana = &json[0];
    assert_eq!(
        dana["HiddenFromAddressListsEnabled"],
        serde_json::json!(true)
    );
    assert_eq!(dana["Languages"], serde_json::json!(["en-US", "fr-FR"]));
    assert_eq!(dana["Database"], serde_json::Value::Null, "{out}");
    assert_eq!(dana["ServerName"], serde_json::Value::Null, "{out}");
    assert_eq!(dana["ProhibitSendQuota"], "Unlimited");
    let (scopes, _) = run(
        &admin,
        Format::Jsonl,
        "New-ManagementScope -Name Sales -RecipientRestrictionFilter \"Department -eq 'Sales'\"",
    )
    .await;
    let scope: serde_json::Value = serde_json::from_str(scopes.lines().next().unwrap()).unwrap();
    assert_eq!(scope["Assignments"], serde_json::json!(0), "{scopes}");
    assert_eq!(scope["Exclusive"], serde_json::json!(false), "{scopes}");
}

#[tokio::test(flavor = "multi_thread")]
async fn get_mailbox_stops_at_1000_with_the_ems_warning() {
    let (_federation, mut admin) = administrator().await;
    for i in 0..1001 {
        ok(&mut admin, &format!("New-Mailbox -Name bulk{i:04}")).await;
    }
    let first = ok(&mut admin, "Get-Mailbox").await;
    assert_eq!(first.len(), 1000);
    assert_eq!(first.warnings(), [RESULT_SIZE_WARNING.to_owned()]);
    let (_, err) = run(&admin, Format::Text, "Get-Mailbox").await;
    assert!(
        err.contains(&format!("WARNING: {RESULT_SIZE_WARNING}")),
        "{err}"
    );
    let all = ok(&mut admin, "Get-Mailbox -ResultSize Unlimited").await;
    assert!(all.len() > 1000);
    assert!(all.warnings().is_empty(), "{:?}", all.warnings());
    // A size the caller asked for cuts without a warning.
    let ten = ok(&mut admin, "Get-Mailbox -ResultSize 10").await;
    assert_eq!((ten.len(), ten.warnings().len()), (10, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cmdlet_view_survives_sorting_and_format_table_and_shell_objects_show_as_themselves() {
    let (_federation, mut admin) = administrator().await;
    for name in ["Dana Smith", "Hank Hill"] {
        ok(&mut admin, &format!("New-Mailbox -Name \"{name}\"")).await;
    }
    let (plain, _) = run(&admin, Format::Text, "Get-Mailbox").await;
    let (sorted, _) = run(
        &admin,
        Format::Text,
        "Get-Mailbox | Sort-Object Name | ft -AutoSize",
    )
    .await;
    assert_eq!(
        plain, sorted,
        "Format-Table alone keeps the default columns"
    );
    let (first, _) = run(&admin, Format::Text, "Get-Mailbox | Select-Object -First 1").await;
    assert!(first.starts_with("Name "), "{first}");
    assert!(first.contains("ProhibitSendQuota"), "{first}");
    // Objects the shell makes are not shown in the cmdlet's columns.
    let (measured, _) = run(&admin, Format::Text, "Get-Mailbox | Measure-Object").await;
    assert!(measured.contains("Count    : 2"), "{measured}");
    assert!(!measured.contains("ProhibitSendQuota"), "{measured}");
    let (grouped, _) = run(
        &admin,
        Format::Text,
        "Get-Mailbox | Group-Object RecipientType",
    )
    .await;
    assert!(
        grouped.contains("Group : Dana Smith, Hank Hill"),
        "{grouped}"
    );
}
