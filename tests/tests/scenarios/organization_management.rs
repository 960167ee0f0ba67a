//! Organization Management through the server equals the specification's table
//! row for row (R-RG-3).

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::common::property;
use crossforest_tests::Federation;

fn spec_table() -> String {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let copy =
        manifest.join("../resource-forest/catalogue/organization-management-assignments.csv");
    let copy_text = std::fs::read_to_string(&copy).unwrap();
    // When the shared specification is checked out beside the project, the
    // embedded copy must be identical to it.
    let spec = manifest.join("../../shared/spec/organization-management-assignments.csv");
    if let Ok(spec_text) = std::fs::read_to_string(spec) {
        assert_eq!(
            spec_text, copy_text,
            "the catalogue copy differs from shared/spec"
        );
    }
    copy_text
}

#[tokio::test]
async fn organization_management_assignments_match_the_spec_table() {
    let f = Federation::builder()
        .resource("contoso.com")
        .start()
        .await
        .unwrap();
    let mut admin = f.administrator().await.unwrap();
    let response = admin
        .run("Get-ManagementRoleAssignment -RoleAssignee \"Organization Management\"")
        .await
        .unwrap();
    let actual: BTreeSet<(String, String)> = response
        .iter()
        .map(|r| {
            let get = |n: &str| r.get(n).unwrap().to_owned();
            (get("Role"), get("RoleAssignmentDelegationType"))
        })
        .collect();
    let mut expected = BTreeSet::new();
    let table = spec_table();
    let mut rows = 0;
    for line in table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        rows += 1;
        let cols: Vec<&str> = line.split(',').collect();
        if cols[1] == "yes" {
            expected.insert((cols[0].to_owned(), "Regular".to_owned()));
        }
        if cols[2] == "yes" {
            expected.insert((cols[0].to_owned(), "Delegating".to_owned()));
        }
        // The role's implicit scopes are the table's.
        let role = admin
            .run(&format!("Get-ManagementRole \"{}\"", cols[0]))
            .await
            .unwrap();
        assert_eq!(
            property(&role, "ImplicitRecipientReadScope").as_deref(),
            Some(cols[3]),
            "{line}"
        );
        assert_eq!(
            property(&role, "ImplicitRecipientWriteScope").as_deref(),
            Some(cols[4]),
            "{line}"
        );
        assert_eq!(
            property(&role, "ImplicitConfigReadScope").as_deref(),
            Some(cols[5]),
            "{line}"
        );
        assert_eq!(
            property(&role, "ImplicitConfigWriteScope").as_deref(),
            Some(cols[6]),
            "{line}"
        );
    }
    assert_eq!(rows, 76);
    assert_eq!(actual, expected);
    assert_eq!(response.len(), 129);
}

#[tokio::test]
async fn r_asg_2_role_assignee_lists_direct_and_indirect_assignments() {
    let f = Federation::builder()
        .resource("contoso.com")
        .start()
        .await
        .unwrap();
    let mut admin = f.administrator().await.unwrap();
    let assignee_types = |r: &crossforest_tests::Records| -> BTreeSet<(String, String)> {
        r.iter()
            .map(|rec| {
                let get = |n: &str| rec.get(n).unwrap_or_default().to_owned();
                (get("RoleAssigneeName"), get("RoleAssigneeType"))
            })
            .collect()
    };
    // The administrator holds nothing directly: all of Organization
    // Management's assignments, through the group.
    let administrator = admin
        .run("Get-ManagementRoleAssignment -RoleAssignee Administrator")
        .await
        .unwrap();
    assert_eq!(administrator.len(), 129);
    assert_eq!(
        assignee_types(&administrator),
        BTreeSet::from([("Organization Management".into(), "RoleGroup".into())])
    );

    // A user with a mailbox: direct, through a role group, through a USG
    // (nested in the role group too) and through its mailbox's policy.
    for line in [
        "New-Mailbox -Name Katie",
        "New-DistributionGroup -Name Staff -Type Security -Members Katie",
        "New-RoleGroup -Name Tier -Roles \"Mail Recipients\" -Members Staff",
        "New-ManagementRoleAssignment -Role \"Move Mailboxes\" -User Katie",
        "New-ManagementRoleAssignment -Role \"View-Only Recipients\" -SecurityGroup Staff",
    ] {
        admin.run(line).await.unwrap();
    }
    let policy = admin
        .run("Get-ManagementRoleAssignment -RoleAssignee \"Default Role Assignment Policy\"")
        .await
        .unwrap();
    assert!(!policy.is_empty());
    let katie = admin
        .run("Get-ManagementRoleAssignment -RoleAssignee Katie")
        .await
        .unwrap();
    assert_eq!(katie.len(), policy.len() + 3);
    assert_eq!(
        assignee_types(&katie),
        BTreeSet::from([
            ("Katie".into(), "User".into()),
            ("Staff".into(), "SecurityGroup".into()),
            ("Tier".into(), "RoleGroup".into()),
            (
                "Default Role Assignment Policy".into(),
                "RoleAssignmentPolicy".into()
            ),
        ])
    );
    // The columns are the listing's usual ones.
    assert!(katie.iter().all(|r| r.get("Name").is_some()
        && r.get("Role").is_some()
        && r.get("RoleAssignmentDelegationType").is_some()));
    // A role group still gets only its own.
    let tier = admin
        .run("Get-ManagementRoleAssignment -RoleAssignee Tier")
        .await
        .unwrap();
    assert_eq!(tier.len(), 1);
}
