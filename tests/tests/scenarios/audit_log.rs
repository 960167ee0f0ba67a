//! The admin audit log through `Search-AdminAuditLog` (R-AUDIT-1, R-AUDIT-2):
//! allowed and denied requests, with Exchange's filters.

use super::common::{audit, federation, ok, property, refused};

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

/// The records of `cmdlet` in the resource forest's log, as (decision, object).
fn logged(f: &crossforest_tests::Federation, cmdlet: &str) -> Vec<(String, String)> {
    audit(f)
        .into_iter()
        .filter(|r| r.cmdlet_name == cmdlet)
        .map(|r| (r.decision, r.object_modified))
        .collect()
}

#[tokio::test]
async fn r_audit_2_reads_are_not_logged_by_default() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana -Password \"P@ssw0rd!\"").await;
    ok(&mut admin, "Get-Mailbox dana").await;
    ok(&mut admin, "Get-RoleGroup").await;
    ok(&mut admin, "Search-AdminAuditLog -Cmdlets New-Mailbox").await;
    // A read that fails is no more logged than one that succeeds.
    refused(&mut admin, "Get-Mailbox nobody").await;
    let reads: Vec<String> = audit(&f)
        .into_iter()
        .map(|r| r.cmdlet_name)
        .filter(|c| c.starts_with("Get-") || c.starts_with("Search-"))
        .collect();
    assert!(reads.is_empty(), "reads were logged: {reads:?}");
    assert_eq!(
        logged(&f, "New-Mailbox"),
        [("Allowed".into(), "dana".into())]
    );
    // Test-* cmdlets are logged only when TestCmdletLoggingEnabled says so.
    ok(&mut admin, "Test-CmdletPermission -Cmdlet Set-Mailbox").await;
    assert!(logged(&f, "Test-CmdletPermission").is_empty());
    ok(
        &mut admin,
        "Set-AdminAuditLogConfig -TestCmdletLoggingEnabled $true",
    )
    .await;
    ok(&mut admin, "Test-CmdletPermission -Cmdlet Set-Mailbox").await;
    assert_eq!(logged(&f, "Test-CmdletPermission").len(), 1);
}

#[tokio::test]
async fn r_audit_2_denials_are_logged_whatever_the_configuration() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana -Password \"P@ssw0rd!\"").await;
    ok(
        &mut admin,
        "Set-AdminAuditLogConfig -AdminAuditLogEnabled $false -AdminAuditLogCmdlets New-Mailbox -AdminAuditLogExcludedCmdlets Set-Mailbox,Get-*",
    )
    .await;
    // carol (View-Only Recipients) may read recipients, nothing else.
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    let (denied, _) = refused(&mut carol, "Set-Mailbox dana -Office \"Floor 3\"").await;
    assert!(denied);
    let (denied, _) = refused(&mut carol, "Get-RoleGroup").await;
    assert!(denied);
    ok(&mut carol, "Get-Mailbox dana").await;
    assert_eq!(
        logged(&f, "Set-Mailbox"),
        [("Denied".into(), String::new())]
    );
    assert_eq!(
        logged(&f, "Get-RoleGroup"),
        [("Denied".into(), String::new())]
    );
    assert!(logged(&f, "Get-Mailbox").is_empty());
    // And refusals of the audit configuration itself.
    let (denied, _) = refused(
        &mut carol,
        "Set-AdminAuditLogConfig -AdminAuditLogEnabled $true",
    )
    .await;
    assert!(denied);
    let (denied, _) = refused(&mut carol, "Get-AdminAuditLogConfig").await;
    assert!(denied);
    assert_eq!(
        logged(&f, "Get-AdminAuditLogConfig"),
        [("Denied".into(), String::new())]
    );
}

#[tokio::test]
async fn r_audit_2_set_admin_audit_log_config_is_always_logged() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    let shown = ok(&mut admin, "Get-AdminAuditLogConfig").await;
    for (property_name, value) in [
        ("AdminAuditLogEnabled", "True"),
        ("LogLevel", "None"),
        ("TestCmdletLoggingEnabled", "False"),
        ("AdminAuditLogCmdlets", "*"),
        ("AdminAuditLogParameters", "*"),
        ("AdminAuditLogExcludedCmdlets", ""),
        ("AdminAuditLogAgeLimit", "90.00:00:00"),
    ] {
        assert_eq!(
            property(&shown, property_name).as_deref(),
            Some(value),
            "{property_name}"
        );
    }
    ok(
        &mut admin,
        "Set-AdminAuditLogConfig -AdminAuditLogEnabled $false -AdminAuditLogExcludedCmdlets Set-AdminAuditLogConfig -AdminAuditLogAgeLimit 30.00:00:00",
    )
    .await;
    ok(
        &mut admin,
        "Set-AdminAuditLogConfig -AdminAuditLogParameters Office",
    )
    .await;
    // A refused value is logged too, and changes nothing.
    let (_, why) = refused(
        &mut admin,
        "Set-AdminAuditLogConfig -AdminAuditLogAgeLimit soon",
    )
    .await;
    assert!(
        why.contains("-AdminAuditLogAgeLimit") && why.contains("90.00:00:00"),
        "{why}"
    );
    let (_, why) = refused(&mut admin, "Set-AdminAuditLogConfig -LogLevel Verbose").await;
    assert!(why.contains("-LogLevel"), "{why}");
    let decisions: Vec<String> = logged(&f, "Set-AdminAuditLogConfig")
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert_eq!(decisions, ["Allowed", "Allowed", "Failed", "Failed"]);
    let shown = ok(&mut admin, "Get-AdminAuditLogConfig").await;
    assert_eq!(
        property(&shown, "AdminAuditLogEnabled").as_deref(),
        Some("False")
    );
    assert_eq!(
        property(&shown, "AdminAuditLogAgeLimit").as_deref(),
        Some("30.00:00:00")
    );
    assert_eq!(
        property(&shown, "AdminAuditLogParameters").as_deref(),
        Some("Office")
    );
    assert_eq!(
        property(&shown, "AdminAuditLogExcludedCmdlets").as_deref(),
        Some("Set-AdminAuditLogConfig")
    );
}

#[tokio::test]
async fn r_audit_3_a_change_keeps_its_record_when_the_configuration_excludes_its_cmdlet() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana -Password \"P@ssw0rd!\"").await;
    // Before the exclusion, a failed change is logged.
    refused(&mut admin, "Set-Mailbox nobody -Office \"Floor 1\"").await;
    assert_eq!(
        logged(&f, "Set-Mailbox"),
        [("Failed".into(), String::new())]
    );
    ok(
        &mut admin,
        "Set-AdminAuditLogConfig -AdminAuditLogExcludedCmdlets Set-Mailbox",
    )
    .await;
    // Excluded: the failure that changed nothing is not logged, the change is.
    refused(&mut admin, "Set-Mailbox nobody -Office \"Floor 1\"").await;
    ok(&mut admin, "Set-Mailbox dana -Office \"Floor 2\"").await;
    assert_eq!(
        logged(&f, "Set-Mailbox"),
        [
            ("Failed".into(), String::new()),
            ("Allowed".into(), "dana".into())
        ]
    );
    let change = audit(&f)
        .into_iter()
        .rfind(|r| r.cmdlet_name == "Set-Mailbox")
        .unwrap();
    assert!(change.revision.is_some());
}
