//! The default views of the main cmdlets as text, at fixed widths, against
//! the expected output in `tests/golden/` (issue 18 item 4): the columns
//! are the registry's, a CJK name takes two columns a character, a cell is
//! cut with `...` only when the width leaves no room.
//!
//! `UPDATE_GOLDEN=1 cargo test -p crossforest-cli --test output_golden`
//! rewrites the files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossforest_cli::output::{record, render_at, CmdletView, Format, View};
use crossforest_shared::proto::management::v1 as pb;
use resource_forest::cmdlets::registry;

fn view(cmdlet: &str) -> View {
    let c = registry::find(cmdlet).unwrap();
    View::Cmdlet(CmdletView {
        columns: c.default_columns.iter().map(|&s| s.to_owned()).collect(),
        list: c.list_view,
        group_by: None,
    })
}

fn mailboxes() -> Vec<pb::Record> {
    vec![
        record(&[
            ("Name", "山田太郎"),
            ("RecipientType", "UserMailbox"),
            ("Alias", "yamada"),
            ("ServerName", "ex01"),
            ("ProhibitSendQuota", "Unlimited"),
        ]),
        record(&[
            ("Name", "Administrator"),
            ("RecipientType", "UserMailbox"),
            ("Alias", "Administrator"),
            ("ServerName", "ex01"),
            ("ProhibitSendQuota", "49.5 GB (53,150,220,288 bytes)"),
        ]),
    ]
}

fn role_groups() -> Vec<pb::Record> {
    vec![record(&[
        ("Name", "Organization Management"),
        ("RoleGroupType", "Standard"),
        ("Roles", "Address Lists, Audit Logs, Distribution Groups, E-Mail Address Policies, Mail Recipients, Mail Recipient Creation, Organization Configuration, Recipient Policies, Role Management, Security Group Creation and Membership, View-Only Configuration, View-Only Recipients"),
        ("RoleAssignments", "Address Lists-Organization Management, Audit Logs-Organization Management, Distribution Groups-Organization Management, Role Management-Organization Management"),
        ("ManagedBy", "Organization Management"),
    ])]
}

fn golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(actual, expected, "{path}");
}

#[test]
fn default_views_at_100_and_200_columns() {
    let cases: [(&str, &str, Vec<pb::Record>); 2] = [
        ("get_mailbox", "Get-Mailbox", mailboxes()),
        ("get_rolegroup", "Get-RoleGroup", role_groups()),
    ];
    for (file, cmdlet, records) in cases {
        for width in [100, 200] {
            let text = render_at(&records, Format::Text, &view(cmdlet), width);
            for line in text.lines() {
                let columns = unicode_width::UnicodeWidthStr::width(line);
                assert!(columns <= usize::from(width), "{cmdlet} at {width}: {line}");
            }
            golden(&format!("{file}_{width}"), &text);
        }
    }
}

#[test]
fn one_object_of_a_table_type_is_a_one_row_table_and_a_singleton_a_list() {
    let one = render_at(&mailboxes()[..1], Format::Text, &view("Get-Mailbox"), 100);
    golden("get_mailbox_one", &one);
    let config = record(&[("AdminAuditLogEnabled", "True"), ("LogLevel", "None")]);
    let listed = render_at(
        &[config],
        Format::Text,
        &view("Get-AdminAuditLogConfig"),
        100,
    );
    assert_eq!(
        listed,
        "AdminAuditLogEnabled : True\nLogLevel             : None\n"
    );
}
