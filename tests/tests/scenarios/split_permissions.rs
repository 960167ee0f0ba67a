//! Permission models (SPEC §6): shared by default (R-SPLIT-1), Active
//! Directory split switched on and off by setup (R-SPLIT-3, R-SPLIT-4).

use super::common::{dora_and_rick, federation, ok, property, rbac_split, refused};
use crossforest_tests::Session;

async fn regular_holders(admin: &mut Session, role: &str) -> Vec<String> {
    let r = ok(
        admin,
        &format!("Get-ManagementRoleAssignment -Role \"{role}\" -Delegating $false"),
    )
    .await;
    let mut names: Vec<String> = r
        .iter()
        .filter_map(|rec| rec.get("RoleAssigneeName"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn active_directory_split_removes_creation_and_switching_back_recreates_nothing() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    // R-SPLIT-1: the shared model's assignments (plus the linked group's).
    assert_eq!(
        regular_holders(&mut admin, "Mail Recipient Creation").await,
        [
            "Organization Management",
            "Recipient Management",
            "fabrikam Recipient Admins"
        ]
    );
    assert_eq!(
        regular_holders(&mut admin, "Security Group Creation and Membership").await,
        ["Organization Management"]
    );
    ok(&mut admin, "New-Mailbox -Name Erin").await;
    ok(&mut admin, "Disable-Mailbox Erin").await;
    ok(&mut admin, "New-DistributionGroup -Name Sales").await;
    // A customised delegating assignment, made before the switch.
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -SecurityGroup \"fabrikam Recipient Admins\" -Delegating",
    )
    .await;

    // The what-if first: who would lose what; nothing changes.
    let what_if = admin.prepare_ad(Some(true), true).await.unwrap();
    let text = what_if.changes.join("\n");
    assert!(text.starts_with("What if: nothing was changed."), "{text}");
    assert!(
        text.contains("fabrikam\\Exchange Admins loses") && text.contains("New-Mailbox"),
        "{text}"
    );
    assert_eq!(
        regular_holders(&mut admin, "Mail Recipient Creation")
            .await
            .len(),
        3
    );

    // R-SPLIT-3: setup /PrepareAD /ActiveDirectorySplitPermissions:true.
    let changed = admin.prepare_ad(Some(true), false).await.unwrap();
    let text = changed.changes.join("\n");
    for removed in [
        "Mail Recipient Creation-Organization Management",
        "Mail Recipient Creation-Recipient Management",
        "Mail Recipient Creation_fabrikam Recipient Admins",
        "Security Group Creation and Membership-Organization Management",
    ] {
        assert!(text.contains(&format!("`{removed}`")), "{text}");
    }
    assert!(regular_holders(&mut admin, "Mail Recipient Creation")
        .await
        .is_empty());
    // Delegating assignments stay (R-LOCK-1 holds through setup too).
    let delegating = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -Delegating $true",
    )
    .await;
    assert_eq!(delegating.len(), 2);

    // The eight cmdlets are unavailable to everyone, even after re-assigning.
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -User Administrator",
    )
    .await;
    let (denied, why) = refused(&mut admin, "New-Mailbox -Name Finn").await;
    assert!(denied && why.contains("R-SPLIT-3"), "{why}");
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    let (denied, _) = refused(
        &mut bob,
        "New-MailContact -Name Gil -ExternalEmailAddress gil@example.org",
    )
    .await;
    assert!(denied);
    // Group cmdlets are reachable but fail on creation and membership.
    let (denied, why) = refused(&mut admin, "New-DistributionGroup -Name Legal").await;
    assert!(!denied && why.contains("R-SPLIT-3"), "{why}");
    let (_, why) = refused(
        &mut admin,
        "Update-DistributionGroupMember Sales -Members Erin",
    )
    .await;
    assert!(why.contains("R-SPLIT-3"), "{why}");
    let (_, why) = refused(
        &mut admin,
        "Add-DistributionGroupMember Sales -Member Administrator",
    )
    .await;
    assert!(why.contains("R-SPLIT-3"), "{why}");
    ok(&mut admin, "Get-DistributionGroup Sales").await;
    // Exchange attributes are still managed, and users made with directory
    // tools are mail-enabled.
    let enabled = ok(&mut bob, "Enable-Mailbox Erin").await;
    assert_eq!(
        property(&enabled, "RecipientType").as_deref(),
        Some("UserMailbox")
    );
    ok(&mut bob, "Set-Mailbox Erin -Office \"Building 9\"").await;

    // Running setup again with the same model changes nothing.
    let again = admin.prepare_ad(Some(true), false).await.unwrap();
    assert!(
        again.changes[0].contains("nothing changed"),
        "{:?}",
        again.changes
    );

    // R-SPLIT-4: switching back recreates nothing.
    let back = admin.prepare_ad(Some(false), false).await.unwrap();
    assert!(back
        .changes
        .join("\n")
        .contains("no assignment was recreated"));
    assert_eq!(
        regular_holders(&mut admin, "Mail Recipient Creation").await,
        ["Administrator"]
    );
    ok(&mut admin, "New-Mailbox -Name Finn").await;
    // The customised delegating assignment is intact.
    let delegating = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -Delegating $true",
    )
    .await;
    assert_eq!(delegating.len(), 2);
    let (denied, _) = refused(&mut bob, "New-Mailbox -Name Gwen").await;
    assert!(denied, "fabrikam's creation assignment was not recreated");

    // Setup needs Organization Management.
    let refused = bob.prepare_ad(Some(true), false).await.unwrap_err();
    assert!(refused.is_denied(), "{refused}");
    let audit = std::fs::read_to_string(
        f.lab()
            .node_dir(f.resource())
            .join("data")
            .join("audit.jsonl"),
    )
    .unwrap();
    assert!(audit.contains("\"CmdletName\":\"Setup /PrepareAD\""));
}

/// The cmdlets that create or remove security principals, with a parameter
/// each: after the RBAC split only its new group may run them (R-SPLIT-2).
const CREATION_CMDLETS: &[(&str, &str)] = &[
    ("New-Mailbox", "Name"),
    ("Remove-Mailbox", "Identity"),
    ("New-MailContact", "Name"),
    ("Remove-MailContact", "Identity"),
    ("New-MailUser", "Name"),
    ("Remove-MailUser", "Identity"),
    ("New-RemoteMailbox", "Name"),
    ("Remove-RemoteMailbox", "Identity"),
];

/// Everyone who may run `cmdlet` with `parameter`, by name.
async fn who_can(admin: &mut Session, cmdlet: &str, parameter: &str) -> Vec<String> {
    let who = admin
        .who_can(crossforest_shared::proto::management::v1::CheckRequest {
            cmdlet: cmdlet.into(),
            parameters: vec![parameter.into()],
            target: String::new(),
            write: None,
            at_least_revision: 0,
        })
        .await
        .unwrap();
    who.principals.into_iter().map(|p| p.name).collect()
}

#[tokio::test]
async fn rbac_split_script_leaves_creation_to_directory_administrators() {
    // R-SPLIT-2 with R-SESSION-1: the documentation's procedure as a shell
    // script, its removals as pipelines (`Get-ManagementRoleAssignment |
    // Where-Object | Remove-ManagementRoleAssignment`) that take away the
    // running administrator's own delegating assignment half-way, and still
    // run to their end.
    let (f, mut admin) = dora_and_rick().await;
    rbac_split(&f, &mut admin, "Dora").await;

    // Both roles are the new group's alone, regular and delegating.
    for role in [
        "Mail Recipient Creation",
        "Security Group Creation and Membership",
    ] {
        let left = ok(
            &mut admin,
            &format!("Get-ManagementRoleAssignment -Role \"{role}\""),
        )
        .await;
        let mut kinds: Vec<(&str, &str)> = left
            .iter()
            .map(|r| {
                (
                    r.get("RoleAssigneeName").unwrap_or_default(),
                    r.get("RoleAssignmentDelegationType").unwrap_or_default(),
                )
            })
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("Active Directory Administrators", "Delegating"),
                ("Active Directory Administrators", "Regular"),
            ],
            "{role}"
        );
    }
    // Only the new group may create or remove security principals…
    for (cmdlet, parameter) in CREATION_CMDLETS {
        assert_eq!(
            who_can(&mut admin, cmdlet, parameter).await,
            ["contoso\\Dora"],
            "{cmdlet}"
        );
    }
    // …not Organization Management nor Recipient Management.
    let mut rick = f.local_session("Rick").await.unwrap();
    for s in [&mut admin, &mut rick] {
        let (denied, _) = refused(s, "New-Mailbox -Name Hal").await;
        assert!(denied);
        let (denied, _) = refused(s, "Remove-Mailbox Dora").await;
        assert!(denied);
    }
    // Exchange administrators still change Exchange attributes…
    ok(&mut admin, "Set-Mailbox Dora -CustomAttribute2 kept").await;
    ok(&mut rick, "Set-Mailbox Dora -CustomAttribute1 kept").await;
    // …and the directory administrators create, but can't set them without
    // Mail Recipients.
    let mut dora = f.local_session("Dora").await.unwrap();
    ok(&mut dora, "New-Mailbox -Name Hal").await;
    let (denied, _) = refused(&mut dora, "Set-Mailbox Hal -CustomAttribute1 x").await;
    assert!(denied);
}

#[tokio::test]
async fn under_ad_split_directory_tools_create_and_exchange_mail_enables() {
    // R-SPLIT-3: security principals come from the directory's own tools,
    // Exchange mail-enables them; Add-ADPermission works only on the
    // configuration partition.
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana").await;
    let mut installer = f.administrator().await.unwrap();
    installer
        .server_setup(
            crossforest_shared::proto::management::v1::ServerSetupRequest {
                operation: crossforest_shared::proto::management::v1::SetupOperation::Install
                    .into(),
                server: "EX01".into(),
                roles: vec!["Mailbox".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    ok(
        &mut admin,
        "New-ReceiveConnector -Name Relay -Server EX01 -Bindings 0.0.0.0:2525 -RemoteIPRanges 10.0.0.1 -Usage Custom",
    )
    .await;
    admin.prepare_ad(Some(true), false).await.unwrap();

    // The directory tool: the domain's Administrator only, outside RBAC.
    let created = ok(
        &mut admin,
        "New-ADUser -Name Ivy -SamAccountName ivy -Path \"OU=Sales,DC=contoso,DC=com\"",
    )
    .await;
    assert_eq!(property(&created, "RecipientType").as_deref(), Some("User"));
    assert_eq!(
        property(&created, "OrganizationalUnit").as_deref(),
        Some("contoso.com/Sales")
    );
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    let (denied, why) = refused(&mut bob, "New-ADUser -Name Jay").await;
    assert!(denied && why.contains("directory tool"), "{why}");
    let enabled = ok(&mut bob, "Enable-Mailbox ivy").await;
    assert_eq!(
        property(&enabled, "PrimarySmtpAddress").as_deref(),
        Some("ivy@contoso.com")
    );

    // Add-ADPermission: a Receive connector works, a mailbox doesn't.
    ok(
        &mut admin,
        "Add-ADPermission -Identity EX01\\Relay -User \"NT AUTHORITY\\ANONYMOUS LOGON\" -ExtendedRights ms-Exch-SMTP-Accept-Any-Recipient",
    )
    .await;
    let listed = ok(&mut admin, "Get-ADPermission Relay").await;
    assert_eq!(
        property(&listed, "Partition").as_deref(),
        Some("configuration")
    );
    let (denied, why) = refused(
        &mut admin,
        "Add-ADPermission -Identity dana -User contoso\\Administrator -AccessRights ExtendedRight -ExtendedRights Send-As",
    )
    .await;
    assert!(
        !denied && why.contains("domain partition") && why.contains("R-SPLIT-3"),
        "{why}"
    );

    // Back to the shared model, a mailbox works again.
    admin.prepare_ad(Some(false), false).await.unwrap();
    ok(
        &mut admin,
        "Add-ADPermission -Identity dana -User contoso\\Administrator -ExtendedRights Send-As",
    )
    .await;
}

#[tokio::test]
async fn a_fresh_install_with_ad_split_never_creates_the_creation_assignments() {
    let f = crossforest_tests::Federation::builder()
        .active_directory_split_permissions()
        .start()
        .await
        .unwrap();
    let mut admin = f.administrator().await.unwrap();
    assert!(regular_holders(&mut admin, "Mail Recipient Creation")
        .await
        .is_empty());
    assert!(
        regular_holders(&mut admin, "Security Group Creation and Membership")
            .await
            .is_empty()
    );
    let (denied, why) = refused(&mut admin, "New-Mailbox -Name Ann").await;
    assert!(denied && why.contains("R-SPLIT-3"), "{why}");
    ok(&mut admin, "New-ADUser -Name Ann").await;
    ok(&mut admin, "Enable-Mailbox Ann").await;
}

#[tokio::test]
async fn offline_setup_creates_the_organization_then_switches_models() {
    use crossforest_cli::lab::{Lab, LabSpec};
    use resource_forest::cli::{run, Command};
    use resource_forest::store::embedded::EmbeddedStore;
    use resource_forest::store::StoreConfig;
    let dir = tempfile::tempdir().unwrap();
    let spec = LabSpec {
        resource: ("contoso.com".parse().unwrap(), "127.0.0.1:1".to_owned()),
        accounts: Vec::new(),
        untrusted: Vec::new(),
        organizational_units: Vec::new(),
        active_directory_split_permissions: false,
        store: Default::default(),
    };
    let lab = Lab::create(dir.path(), &spec).unwrap();
    let config = lab
        .node_dir(&"contoso.com".parse().unwrap())
        .join("node.toml");
    // A node whose store holds no organization yet.
    let mut node = lab.resource_config().unwrap();
    match resource_forest::store::testing::scenario_store().unwrap() {
        StoreConfig::Embedded => {
            std::fs::remove_file(EmbeddedStore::path(&node.data_dir)).unwrap();
        }
        fresh => node.store = fresh,
    }
    crossforest_shared::config::write_toml(&config, &node).unwrap();
    let stored = || async {
        let store = resource_forest::store::open(&node.store, &node.data_dir)
            .await
            .unwrap();
        store.load().await.unwrap().unwrap().1
    };
    let setup = |split: Option<bool>| Command::Setup {
        config: config.clone(),
        prepare_ad: true,
        active_directory_split_permissions: split,
        prepare_all_domains: false,
        prepare_domain: None,
        what_if: false,
    };
    let regular_creation = "mail recipient creation-organization management";
    // First run: the organization is created, in AD split.
    run(setup(Some(true))).await.unwrap();
    let org = stored().await;
    assert!(org.active_directory_split_permissions);
    assert!(!org.rbac.assignments.contains_key(regular_creation));
    // Later runs switch the model and recreate nothing.
    run(setup(Some(false))).await.unwrap();
    let org = stored().await;
    assert!(!org.active_directory_split_permissions);
    assert!(!org.rbac.assignments.contains_key(regular_creation));
    let audit = std::fs::read_to_string(node.audit_file()).unwrap();
    assert!(audit.contains("Setup /PrepareAD"));
}
