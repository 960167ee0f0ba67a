//! Role groups under Active Directory split permissions (R-SPLIT-3): they are
//! universal security groups, so creating or removing a standard one and
//! changing its membership leave the Exchange tools; linked role groups,
//! whose membership lives in the account forest, are unaffected.

use super::common::{audit, federation, ok, property, refused};

#[tokio::test]
async fn r_split_3_role_group_membership_leaves_the_exchange_tools_under_ad_split() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    for name in ["Ann", "Ben"] {
        ok(&mut admin, &format!("New-Mailbox -Name {name}")).await;
    }
    // Shared model: the Exchange tools create role groups and change members.
    ok(&mut admin, "New-RoleGroup -Name Auditors -Members Ann").await;
    ok(&mut admin, "New-RoleGroup -Name Spare").await;
    admin.prepare_ad(Some(true), false).await.unwrap();
    let members = || async {
        let mut admin = f.administrator().await.unwrap();
        property(&ok(&mut admin, "Get-RoleGroup Auditors").await, "Members")
    };
    let before = members().await;
    assert_eq!(before.as_deref(), Some("Ann"));

    for line in [
        "New-RoleGroup -Name Helpers",
        "New-RoleGroup -Name Helpers -Members Ben",
        "Remove-RoleGroup Spare",
        "Add-RoleGroupMember Auditors -Member Ben",
        "Remove-RoleGroupMember Auditors -Member Ann",
        "Update-RoleGroupMember Auditors -Members Ben",
        "Add-RoleGroupMember \"Recipient Management\" -Member Ben",
    ] {
        let (denied, why) = refused(&mut admin, line).await;
        // Reachable (RBAC allows it), refused by the permission model, and
        // pointing at the directory's tools.
        assert!(!denied, "{line}: {why}");
        assert!(
            why.contains("R-SPLIT-3") && why.contains("New-ADGroup"),
            "{line}: {why}"
        );
    }
    // Nothing changed.
    assert_eq!(members().await, before);
    ok(&mut admin, "Get-RoleGroup Spare").await;
    let (_, why) = refused(&mut admin, "Get-RoleGroup Helpers").await;
    assert!(why.contains("couldn't be found"), "{why}");
    // Every refusal is audited as a failed attempt.
    let records = audit(&f);
    for cmdlet in [
        "New-RoleGroup",
        "Remove-RoleGroup",
        "Add-RoleGroupMember",
        "Remove-RoleGroupMember",
        "Update-RoleGroupMember",
    ] {
        assert!(
            records.iter().any(|r| r.cmdlet_name == cmdlet
                && !r.succeeded
                && r.decision == "Failed"
                && r.error.contains("R-SPLIT-3")),
            "{cmdlet} refusal not audited"
        );
    }
    // Other changes to a role group are Exchange attributes and still work.
    ok(&mut admin, "Set-RoleGroup Auditors -Description \"kept\"").await;

    // Back to the shared model, membership is managed in Exchange again.
    admin.prepare_ad(Some(false), false).await.unwrap();
    ok(&mut admin, "Add-RoleGroupMember Auditors -Member Ben").await;
    ok(&mut admin, "Remove-RoleGroup Spare").await;
}

#[tokio::test]
async fn r_split_3_linked_role_groups_are_unaffected() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    admin.prepare_ad(Some(true), false).await.unwrap();
    // A linked role group is still created in the Exchange tools…
    f.link_role_group(
        "tailspin.com",
        "tailspin Help Desk",
        "Exchange Admins",
        &["View-Only Recipients"],
    )
    .await
    .unwrap();
    let created = ok(&mut admin, "Get-RoleGroup \"tailspin Help Desk\"").await;
    assert_eq!(
        property(&created, "RoleGroupType").as_deref(),
        Some("Linked")
    );
    // Membership changes are refused for being linked (R-LRG-3), not for AD split.
    let (_, why) = refused(
        &mut admin,
        "Add-RoleGroupMember \"tailspin Help Desk\" -Member Administrator",
    )
    .await;
    assert!(
        why.contains("R-LRG-3") && !why.contains("R-SPLIT-3"),
        "{why}"
    );
    // …and it is removed in the Exchange tools too.
    ok(&mut admin, "Remove-RoleGroup \"tailspin Help Desk\"").await;
    let (_, why) = refused(&mut admin, "Get-RoleGroup \"tailspin Help Desk\"").await;
    assert!(why.contains("couldn't be found"), "{why}");
}
