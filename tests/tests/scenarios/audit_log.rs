//! The admin audit log through `Search-AdminAuditLog` (R-AUDIT-1, R-AUDIT-2):
//! allowed and denied requests, with Exchange's filters.

use super::common::{federation, ok, property, refused};

#[tokio::test]
async fn search_admin_audit_log_filters_by_cmdlet_caller_success_and_date() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana -Password \"P@ssw0rd!\"").await;
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    ok(&mut bob, "Set-Mailbox dana -Office \"Floor 2\"").await;
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    refused(&mut carol, "Set-Mailbox dana -Office \"Floor 3\"").await;

    let bobs = ok(
        &mut admin,
        "Search-AdminAuditLog -Cmdlets Set-Mailbox -UserIds fabrikam\\bob",
    )
    .await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(property(&bobs, "ObjectModified").as_deref(), Some("dana"));
    assert!(property(&bobs, "CmdletParameters")
        .unwrap()
        .contains("-Office Floor 2"));

    let failed = ok(&mut admin, "Search-AdminAuditLog -IsSuccess $false").await;
    assert_eq!(
        property(&failed, "Caller").as_deref(),
        Some("tailspin\\carol")
    );
    assert_eq!(property(&failed, "Decision").as_deref(), Some("Denied"));

    // A local caller is named by the organization, not by its SID; so is
    // WhoAmI's answer.
    let created_by = ok(&mut admin, "Search-AdminAuditLog -Cmdlets New-Mailbox").await;
    assert_eq!(
        property(&created_by, "Caller").as_deref(),
        Some("contoso\\Administrator")
    );
    let mut dana = f.local_session("dana").await.unwrap();
    assert_eq!(dana.who_am_i().await.unwrap().user_name, "contoso\\dana");

    // Secrets never reach the log.
    let created = ok(
        &mut admin,
        "Search-AdminAuditLog -Cmdlets New-Mailbox -Parameters Password",
    )
    .await;
    let parameters = property(&created, "CmdletParameters").unwrap();
    assert!(
        parameters.contains("********") && !parameters.contains("P@ss"),
        "{parameters}"
    );

    let none = ok(&mut admin, "Search-AdminAuditLog -StartDate 2999-01-01").await;
    assert!(none.is_empty());
    let (_, why) = refused(&mut admin, "Search-AdminAuditLog -StartDate yesterday").await;
    assert!(why.contains("isn't a date"), "{why}");
    // Reading the log needs an audit-log role.
    let (denied, _) = refused(&mut carol, "Search-AdminAuditLog").await;
    assert!(denied);
}
