//! Linked role groups: R-LRG-1..3, 5, 7, and R-TRUST-2.

use super::common::{federation, property, run_example};
use crossforest_shared::proto::directory::v1 as dir;

#[tokio::test]
async fn linked_role_group_grants_foreign_admin_mailbox_management() {
    let f = federation().await;
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    let created = bob
        .run("New-Mailbox -Name \"Dana Smith\" -Alias dana -OrganizationalUnit contoso.com/Sales")
        .await
        .unwrap();
    assert_eq!(
        property(&created, "OrganizationalUnit").as_deref(),
        Some("contoso.com/Sales")
    );
    bob.run("Set-Mailbox dana -Office \"Building 4\" -CustomAttribute1 fabrikam")
        .await
        .unwrap();
    let got = bob.run("Get-Mailbox dana").await.unwrap();
    assert_eq!(property(&got, "Office").as_deref(), Some("Building 4"));
    assert_eq!(
        property(&got, "CustomAttribute1").as_deref(),
        Some("fabrikam")
    );

    let who = bob.who_am_i().await.unwrap();
    assert!(
        who.role_groups
            .iter()
            .any(|g| g.starts_with("fabrikam Recipient Admins")),
        "{:?}",
        who.role_groups
    );

    // R-AUDIT-1: allowed requests are logged with the foreign caller.
    let runtime_dir = f.lab().node_dir(f.resource());
    let audit = std::fs::read_to_string(runtime_dir.join("data").join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"Caller\":\"fabrikam\\\\bob\"")
            && audit.contains("\"CmdletName\":\"Set-Mailbox\""),
        "{audit}"
    );
}

#[tokio::test]
async fn nested_foreign_groups_resolve() {
    let f = federation().await;
    // alice is in Exchange Admins only through Tier 2 Admins.
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    alice
        .run("New-Mailbox -Name Erin -OrganizationalUnit contoso.com/Sales")
        .await
        .unwrap();
    let who = alice.who_am_i().await.unwrap();
    let exchange_admins = f.domain_sid("fabrikam.com").unwrap();
    assert_eq!(
        who.group_sids.len(),
        2,
        "Tier 2 Admins and Exchange Admins: {:?}",
        who.group_sids
    );
    assert!(who
        .group_sids
        .iter()
        .all(|s| s.starts_with(&exchange_admins.to_string())));
}

#[tokio::test]
async fn tailspin_view_only_admin_is_denied_a_change_with_the_reason() {
    let f = federation().await;
    f.session("fabrikam\\bob")
        .await
        .unwrap()
        .run("New-Mailbox -Name Dana -Alias dana")
        .await
        .unwrap();
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    let listed = carol.run("Get-Mailbox").await.unwrap();
    assert_eq!(listed.len(), 1);
    let err = carol.run("Set-Mailbox dana -Office X").await.unwrap_err();
    assert!(err.is_denied(), "{err}");
    assert!(err.to_string().contains("Set-Mailbox"), "{err}");
    let err = carol.run("New-Mailbox -Name Eve").await.unwrap_err();
    assert!(
        err.is_denied() && err.to_string().contains("isn't available"),
        "{err}"
    );
    // Nothing changed.
    let mailboxes = f
        .administrator()
        .await
        .unwrap()
        .run("Get-Mailbox")
        .await
        .unwrap();
    assert_eq!(mailboxes.len(), 1);
}

#[tokio::test]
async fn removal_from_the_foreign_group_denies_after_reauthentication() {
    let f = federation().await;
    f.session("fabrikam\\alice")
        .await
        .unwrap()
        .run("New-Mailbox -Name Dana -Alias dana")
        .await
        .unwrap();
    f.remove_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await
        .unwrap();
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    let err = alice.run("Set-Mailbox dana -Office X").await.unwrap_err();
    assert!(err.is_denied(), "{err}");
    // bob is a direct member and keeps his rights.
    f.session("fabrikam\\bob")
        .await
        .unwrap()
        .run("Set-Mailbox dana -Office X")
        .await
        .unwrap();
}

#[tokio::test]
async fn linked_group_member_add_is_refused() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    for line in [
        "Add-RoleGroupMember \"fabrikam Recipient Admins\" -Member Administrator",
        "Remove-RoleGroupMember \"fabrikam Recipient Admins\" -Member Administrator",
    ] {
        let err = admin.run(line).await.unwrap_err();
        assert!(
            matches!(
                err,
                crossforest_tests::Error::Failed {
                    code: crossforest_tests::ErrorCode::Refused,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("R-LRG-3"), "{err}");
    }
    let group = admin
        .run("Get-RoleGroup \"fabrikam Recipient Admins\"")
        .await
        .unwrap();
    assert_eq!(property(&group, "RoleGroupType").as_deref(), Some("Linked"));
    let fabrikam = f.domain_sid("fabrikam.com").unwrap().to_string();
    assert!(property(&group, "LinkedGroup")
        .unwrap()
        .starts_with(&fabrikam));
    assert_eq!(property(&group, "Members").as_deref(), Some(""));
}

#[tokio::test]
async fn new_role_group_linked_parameters_are_validated() {
    let f = federation().await;
    let dc = f.endpoint("fabrikam.com").unwrap().address;
    let mut admin = f.administrator().await.unwrap();
    let cases = [
        ("New-RoleGroup x1 -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedCredential fabrikam\\svc-contoso".to_owned(), "requires -LinkedDomainController"),
        (format!("New-RoleGroup x2 -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedDomainController {dc} -LinkedCredential fabrikam\\svc-contoso -Members Administrator"), "-Members cannot be combined"),
        (format!("New-RoleGroup x3 -LinkedForeignGroup \"contoso\\Domain Admins\" -LinkedDomainController {dc} -LinkedCredential fabrikam\\svc-contoso"), "another forest"),
        (format!("New-RoleGroup x4 -LinkedForeignGroup \"northwind\\Admins\" -LinkedDomainController {dc} -LinkedCredential northwind\\svc"), "not a forest this organization trusts"),
        (format!("New-RoleGroup x5 -LinkedForeignGroup \"fabrikam\\alice\" -LinkedDomainController {dc} -LinkedCredential fabrikam\\svc-contoso"), "not a universal security group"),
        (format!("New-RoleGroup x6 -LinkedForeignGroup \"fabrikam\\Nobody\" -LinkedDomainController {dc} -LinkedCredential fabrikam\\svc-contoso"), "no user or group named"),
    ];
    for (line, expected) in cases {
        let err = admin.run(&line).await.unwrap_err();
        assert!(err.to_string().contains(expected), "{line}: {err}");
    }
    let groups = admin.run("Get-RoleGroup").await.unwrap();
    assert!(
        !groups
            .iter()
            .any(|r| r.iter().next().is_some_and(|(_, v)| v.starts_with('x'))),
        "nothing half-created"
    );
}

#[tokio::test]
async fn lookup_principal_without_a_linked_credential_fails() {
    let f = federation().await;
    // New-RoleGroup naming a credential the organization does not hold.
    let dc = f.endpoint("fabrikam.com").unwrap().address;
    let err = f
        .administrator()
        .await
        .unwrap()
        .run(&format!("New-RoleGroup y -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedDomainController {dc} -LinkedCredential fabrikam\\bob"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no linked credential `fabrikam\\bob`"),
        "{err}"
    );

    // Calling LookupPrincipal directly with the resource forest's own credential:
    // the account forest does not trust contoso's CA (R-TRUST-1).
    let endpoint = f.endpoint("fabrikam.com").unwrap();
    let contoso_admin = f.lab().credential(f.resource(), "Administrator").unwrap();
    let refused = async {
        let channel = crossforest_shared::client::connect(&endpoint, &contoso_admin).await?;
        let mut client = dir::directory_client::DirectoryClient::new(channel);
        client
            .lookup_principal(dir::LookupPrincipalRequest {
                name: "Exchange Admins".into(),
            })
            .await
            .map_err(anyhow::Error::from)
    }
    .await;
    assert!(
        refused.is_err(),
        "fabrikam answered a caller holding only a contoso certificate"
    );

    // The linked credential itself works.
    let svc = f
        .lab()
        .dir()
        .join("contoso.com/trusts/fabrikam.com/svc-contoso.pem");
    let linked = crossforest_shared::pki::IssuedCertificate::read_combined(&svc).unwrap();
    let channel = crossforest_shared::client::connect(&endpoint, &linked)
        .await
        .unwrap();
    let mut client = dir::directory_client::DirectoryClient::new(channel);
    let found = client
        .lookup_principal(dir::LookupPrincipalRequest {
            name: "fabrikam\\Exchange Admins".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        found.principal.unwrap().kind,
        dir::PrincipalKind::UniversalSecurityGroup as i32
    );
}

/// `(Role, RoleAssignmentDelegationType)` of every assignment of `group`,
/// sorted.
async fn assignment_rows(
    admin: &mut crossforest_tests::Session,
    group: &str,
) -> Vec<(String, String)> {
    let records = admin
        .run(&format!(
            "Get-ManagementRoleAssignment -RoleAssignee \"{group}\""
        ))
        .await
        .unwrap();
    let mut rows: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            let get = |n: &str| r.get(n).unwrap_or_default().to_owned();
            (get("Role"), get("RoleAssignmentDelegationType"))
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn r_lrg_4_mirroring_reproduces_organization_management_row_by_row() {
    // The documented mirroring script, with variables and ForEach-Object,
    // run by the shell as the Administrator.
    let f = federation().await;
    let code = run_example(&f, "mirror-organization-management.ps1").await;
    assert_eq!(code, 0, "the script ran to its end");

    let mut admin = f.administrator().await.unwrap();
    let group = admin
        .run("Get-RoleGroup \"fabrikam Organization Management\"")
        .await
        .unwrap();
    assert_eq!(property(&group, "RoleGroupType").as_deref(), Some("Linked"));
    let original = assignment_rows(&mut admin, "Organization Management").await;
    let mirrored = assignment_rows(&mut admin, "fabrikam Organization Management").await;
    assert!(original.len() > 50, "{original:?}");
    assert_eq!(
        mirrored, original,
        "row by row: role, delegating or regular"
    );
    // Delegating-only roles stay delegating only: no regular Mailbox Search.
    let delegating_only: Vec<&String> = original
        .iter()
        .filter(|(role, kind)| {
            kind == "Delegating" && !original.iter().any(|(r, k)| r == role && k != kind)
        })
        .map(|(role, _)| role)
        .collect();
    assert!(!delegating_only.is_empty(), "{original:?}");
    for role in delegating_only {
        assert!(
            !mirrored.iter().any(|(r, k)| r == role && k == "Regular"),
            "{role} was handed out as a regular assignment"
        );
    }
    // alice (fabrikam, nested in Exchange Admins) now holds Organization
    // Management's permissions: she may create a role group.
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    alice
        .run("New-RoleGroup -Name \"fabrikam Helpdesk\"")
        .await
        .unwrap();
}
