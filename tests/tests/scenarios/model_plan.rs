//! `crossforest model plan|apply` against a running lab (issue 19): the
//! objects a model changes and who gains or loses which cmdlets, each change
//! authorised as its cmdlet for the caller (R-ASG-1), the lockout rules
//! checked (R-LOCK-1..4), applied as one audited change (R-AUDIT-3) or
//! refused whole.

use std::path::{Path, PathBuf};

use super::common::ok;
use crossforest_cli::model::{run, ModelCommand};
use crossforest_cli::model_plan::{planned_lines, request, Mode};
use crossforest_shared::proto::management::v1 as pb;
use crossforest_tests::Federation;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models")
        .join(name)
}

async fn mailboxes(f: &Federation, names: &[&str]) {
    let mut admin = f.administrator().await.unwrap();
    for n in names {
        ok(&mut admin, &format!("New-Mailbox -Name {n}")).await;
    }
}

async fn plan(f: &Federation, model: &Path) -> pb::ApplyPermissionModelResponse {
    request(f.dir(), None, model, Mode::Plan)
        .await
        .unwrap_or_else(|e| panic!("plan of {} failed: {e:#}", model.display()))
}

async fn export(f: &Federation) -> PathBuf {
    let path = f.dir().join("exported.toml");
    let code = run(ModelCommand::Export {
        lab: f.dir().to_owned(),
        identity: None,
        output: Some(path.clone()),
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    path
}

fn lines(r: &pb::ApplyPermissionModelResponse) -> Vec<&str> {
    r.changes.iter().map(|c| c.line.as_str()).collect()
}

/// Successful `Import-PermissionModel` records that changed something (no
/// `-WhatIf`).
async fn applied_records(f: &Federation) -> usize {
    let mut admin = f.administrator().await.unwrap();
    let all = ok(
        &mut admin,
        "Search-AdminAuditLog -Cmdlets Import-PermissionModel -IsSuccess $true",
    )
    .await;
    let what_if = ok(
        &mut admin,
        "Search-AdminAuditLog -Cmdlets Import-PermissionModel -IsSuccess $true -Parameters WhatIf",
    )
    .await;
    all.len() - what_if.len()
}

#[tokio::test]
async fn model_plan_of_an_exported_lab_shows_no_change() {
    let f = Federation::builder()
        .resource("contoso.com")
        .account("fabrikam.com")
        .start()
        .await
        .unwrap();
    mailboxes(&f, &["Dana"]).await;
    f.add_group("fabrikam.com", "Exchange Admins")
        .await
        .unwrap();
    f.link_role_group(
        "fabrikam.com",
        "Fabrikam Admins",
        "Exchange Admins",
        &["Mail Recipients"],
    )
    .await
    .unwrap();
    let mut admin = f.administrator().await.unwrap();
    ok(
        &mut admin,
        "New-RoleGroup -Name Helpdesk -Roles \"Mail Recipients\" -Members Dana",
    )
    .await;
    ok(
        &mut admin,
        "New-ManagementRole -Name \"Seattle Mail\" -Parent \"Mail Recipients\"",
    )
    .await;
    let model = export(&f).await;
    let plan = plan(&f, &model).await;
    assert!(plan.changes.is_empty(), "{:?}", lines(&plan));
    assert!(plan.principals.is_empty(), "{:?}", plan.principals);
    // A change made since shows up, named as the cmdlet that reverts it.
    ok(&mut admin, "Remove-RoleGroupMember Helpdesk -Member Dana").await;
    let plan = self::plan(&f, &model).await;
    assert_eq!(
        lines(&plan),
        ["~ RoleGroup \"Helpdesk\": Members +contoso\\Dana"],
        "{plan:?}"
    );
    assert_eq!(
        plan.changes[0].cmdlets,
        ["Add-RoleGroupMember -Identity Helpdesk -Member contoso\\Dana -BypassSecurityGroupManagerCheck"]
    );
    // A foreign group is named `forest\name`.
    let assigned = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -RoleAssignee \"Fabrikam Admins\"",
    )
    .await;
    let name = super::common::property(&assigned, "Name").expect("an assignment");
    ok(
        &mut admin,
        &format!("Remove-ManagementRoleAssignment \"{name}\""),
    )
    .await;
    let plan = self::plan(&f, &model).await;
    let foreign = plan
        .principals
        .iter()
        .find(|p| {
            p.principal
                .eq_ignore_ascii_case("fabrikam\\Exchange Admins")
        })
        .unwrap_or_else(|| panic!("{:?}", plan.principals));
    assert!(
        foreign.gains.iter().any(|c| c == "Enable-Mailbox"),
        "{foreign:?}"
    );
}

#[tokio::test]
async fn model_apply_of_rbac_split_is_one_audited_change_and_replans_clean() {
    let f = Federation::builder().start().await.unwrap();
    mailboxes(&f, &["Dana", "Erin"]).await;
    let model = example("rbac-split.toml");
    let planned = plan(&f, &model).await;
    let shown = lines(&planned);
    for removed in [
        "- ManagementRoleAssignment \"Mail Recipient Creation-Organization Management\"",
        "- ManagementRoleAssignment \"Security Group Creation and Membership-Organization Management-Delegating\"",
        "+ RoleGroup \"Active Directory Administrators\"",
    ] {
        assert!(shown.contains(&removed), "{removed} not in {shown:#?}");
    }
    let loses_new_mailbox: Vec<&str> = planned
        .principals
        .iter()
        .filter(|p| p.loses.iter().any(|c| c == "New-Mailbox"))
        .map(|p| p.principal.as_str())
        .collect();
    assert!(
        loses_new_mailbox
            .iter()
            .any(|p| p.eq_ignore_ascii_case("contoso\\Administrator")),
        "{loses_new_mailbox:?}"
    );
    let dana = planned
        .principals
        .iter()
        .find(|p| p.principal.eq_ignore_ascii_case("contoso\\Dana"))
        .expect("Dana gains");
    assert!(dana.gains.iter().any(|c| c == "New-Mailbox"), "{dana:?}");
    // The plan changed nothing.
    assert_eq!(plan(&f, &model).await.revision, planned.revision);
    assert_eq!(applied_records(&f).await, 0);

    let applied = request(f.dir(), None, &model, Mode::Apply).await.unwrap();
    assert!(applied.applied);
    assert_eq!(applied.revision, planned.revision + 1, "one revision");
    assert_eq!(applied_records(&f).await, 1, "one audit record");
    let mut admin = f.administrator().await.unwrap();
    let members = ok(
        &mut admin,
        "Get-RoleGroupMember \"Active Directory Administrators\"",
    )
    .await;
    assert_eq!(members.len(), 1);
    let replanned = plan(&f, &model).await;
    assert!(replanned.changes.is_empty(), "{:?}", lines(&replanned));
}

#[tokio::test]
async fn r_asg_1_model_apply_without_a_delegating_assignment_is_refused_whole() {
    let f = Federation::builder().start().await.unwrap();
    mailboxes(&f, &["Dana", "Erin", "Katie"]).await;
    let mut admin = f.administrator().await.unwrap();
    // Katie may run the role cmdlets (Role Management) but holds no
    // delegating assignment of Mail Recipient Creation.
    ok(
        &mut admin,
        "New-RoleGroup -Name \"Role Admins\" -Roles \"Role Management\" -Members Katie",
    )
    .await;
    f.local_session("Katie").await.unwrap();
    let model = example("rbac-split.toml");
    let before = plan(&f, &model).await;
    let error = request(f.dir(), Some("contoso\\Katie".into()), &model, Mode::Apply)
        .await
        .expect_err("Katie can't unassign Mail Recipient Creation");
    let error = format!("{error:#}");
    assert!(error.contains("R-ASG-1"), "{error}");
    assert!(error.contains("ManagementRoleAssignment"), "{error}");
    // Nothing of it happened: not even the role group it creates first.
    let after = plan(&f, &model).await;
    assert_eq!(lines(&after), lines(&before));
    assert_eq!(after.revision, before.revision);
    super::common::refused(
        &mut admin,
        "Get-RoleGroup \"Active Directory Administrators\"",
    )
    .await;
    let refusals = ok(
        &mut admin,
        "Search-AdminAuditLog -Cmdlets Import-PermissionModel -IsSuccess $false",
    )
    .await;
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(refusals[0]
        .get("Caller")
        .is_some_and(|c| c.to_ascii_lowercase().contains("katie")));
}

#[tokio::test]
async fn r_lock_model_removing_organization_managements_role_management_is_refused_whole() {
    let f = Federation::builder().start().await.unwrap();
    let model = f.dir().join("lockout.toml");
    std::fs::write(
        &model,
        "[Model]\nOrganization = \"contoso.com\"\nBase = \"exchange-2013\"\nRemovedAssignments = [\n  \"Role Management-Organization Management\",\n  \"Role Management-Organization Management-Delegating\",\n]\n",
    )
    .unwrap();
    let before = plan(&f, &export(&f).await).await.revision;
    let error = format!(
        "{:#}",
        request(f.dir(), None, &model, Mode::Plan)
            .await
            .expect_err("the plan says it is refused")
    );
    assert!(error.contains("R-LOCK"), "{error}");
    let error = format!(
        "{:#}",
        request(f.dir(), None, &model, Mode::Apply)
            .await
            .expect_err("the apply is refused")
    );
    assert!(error.contains("R-LOCK"), "{error}");
    let mut admin = f.administrator().await.unwrap();
    ok(
        &mut admin,
        "Get-ManagementRoleAssignment \"Role Management-Organization Management-Delegating\"",
    )
    .await;
    let replanned = plan(&f, &export(&f).await).await;
    assert!(replanned.changes.is_empty());
    assert_eq!(replanned.revision, before);
    assert_eq!(applied_records(&f).await, 0);
}

#[tokio::test]
async fn model_apply_applies_only_the_change_its_plan_showed() {
    let f = Federation::builder().start().await.unwrap();
    mailboxes(&f, &["Dana", "Erin"]).await;
    let model = example("rbac-split.toml");
    let shown = plan(&f, &model).await;
    // Someone changes the organization between the plan and the "yes".
    let mut admin = f.administrator().await.unwrap();
    ok(
        &mut admin,
        "Remove-ManagementRoleAssignment \"Mail Recipient Creation-Recipient Management\"",
    )
    .await;
    let before = plan(&f, &model).await;
    assert_ne!(planned_lines(&before), planned_lines(&shown));
    let error = request(
        f.dir(),
        None,
        &model,
        Mode::AsPlanned(planned_lines(&shown)),
    )
    .await
    .expect_err("a stale plan is not applied");
    assert!(
        format!("{error:#}").contains("since the plan you were shown"),
        "{error:#}"
    );
    assert_eq!(
        plan(&f, &model).await.revision,
        before.revision,
        "nothing changed"
    );
    assert_eq!(applied_records(&f).await, 0);
    // The plan of now is applied as shown.
    let applied = request(
        f.dir(),
        None,
        &model,
        Mode::AsPlanned(planned_lines(&before)),
    )
    .await
    .unwrap();
    assert!(applied.applied);
    assert_eq!(applied.revision, before.revision + 1);
    assert!(plan(&f, &model).await.changes.is_empty());
}
