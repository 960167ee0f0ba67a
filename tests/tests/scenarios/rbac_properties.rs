//! The properties and parameters administrators use on role groups, role
//! assignments, roles and scopes, with Exchange's names (issue 17): every
//! parameter filters or is refused, none is silently ignored.

use super::common::{federation, ok, property, refused};

#[tokio::test]
async fn get_role_group_shows_distinguished_name_and_filters_by_display_name() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(
        &mut admin,
        "New-RoleGroup -Name \"Seattle Admins\" -DisplayName \"Seattle Recipient Admins\" -Roles \"Mail Recipients\"",
    )
    .await;
    let group = ok(&mut admin, "Get-RoleGroup \"Seattle Admins\"").await;
    assert_eq!(
        property(&group, "DistinguishedName").as_deref(),
        Some("CN=Seattle Admins,OU=Microsoft Exchange Security Groups,DC=contoso,DC=com")
    );
    assert_eq!(
        property(&group, "Identity").as_deref(),
        Some("contoso.com/Microsoft Exchange Security Groups/Seattle Admins")
    );
    assert_eq!(
        property(&group, "DisplayName").as_deref(),
        Some("Seattle Recipient Admins")
    );
    // Its Identity and DistinguishedName name it, as a pipeline passes them.
    for identity in [
        "contoso.com/Microsoft Exchange Security Groups/Seattle Admins",
        "CN=Seattle Admins,OU=Microsoft Exchange Security Groups,DC=contoso,DC=com",
    ] {
        let again = ok(&mut admin, &format!("Get-RoleGroup \"{identity}\"")).await;
        assert_eq!(again.column("Name"), ["Seattle Admins"]);
    }
    // DisplayName defaults to the name.
    let builtin = ok(&mut admin, "Get-RoleGroup \"Organization Management\"").await;
    assert_eq!(
        property(&builtin, "DisplayName").as_deref(),
        Some("Organization Management")
    );

    let found = ok(
        &mut admin,
        "Get-RoleGroup -Filter \"DisplayName -like 'Seattle Recipient*'\"",
    )
    .await;
    assert_eq!(found.column("Name"), ["Seattle Admins"]);
    ok(
        &mut admin,
        "Set-RoleGroup \"Seattle Admins\" -DisplayName \"Seattle Mail Admins\"",
    )
    .await;
    let found = ok(
        &mut admin,
        "Get-RoleGroup -Filter \"DisplayName -eq 'Seattle Mail Admins'\"",
    )
    .await;
    assert_eq!(found.column("Name"), ["Seattle Admins"]);
    let none = ok(
        &mut admin,
        "Get-RoleGroup -Filter \"DisplayName -eq 'Seattle Recipient Admins'\"",
    )
    .await;
    assert!(none.is_empty());
    let two = ok(&mut admin, "Get-RoleGroup -ResultSize 2").await;
    assert_eq!(two.len(), 2);

    // Nothing is silently dropped: an unknown parameter or property is named.
    let (_, why) = refused(
        &mut admin,
        "Get-RoleGroup -DisplayName \"Seattle Mail Admins\"",
    )
    .await;
    assert!(why.contains("DisplayName"), "{why}");
    let (_, why) = refused(&mut admin, "Get-RoleGroup -Filter \"Colour -eq 'blue'\"").await;
    assert!(why.contains("-Filter"), "{why}");
}

#[tokio::test]
async fn get_management_role_assignment_filters_by_assignee_type_method_and_scopes() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana -Password \"P@ssw0rd!\"").await;
    ok(
        &mut admin,
        "New-ManagementScope -Name \"Seattle Users\" -RecipientRestrictionFilter {City -eq 'Seattle'}",
    )
    .await;
    ok(
        &mut admin,
        "New-ManagementScope -Name VIPs -RecipientRestrictionFilter {CustomAttribute1 -eq 'VIP'} -Exclusive",
    )
    .await;
    ok(
        &mut admin,
        "New-ManagementScope -Name \"Seattle Servers\" -ServerRestrictionFilter {ServerSite -eq 'Seattle'}",
    )
    .await;
    for line in [
        "New-ManagementRoleAssignment -Name DanaSeattle -Role \"Mail Recipients\" -User dana -CustomRecipientWriteScope \"Seattle Users\"",
        "New-ManagementRoleAssignment -Name DanaVIPs -Role \"Mail Recipients\" -User dana -ExclusiveRecipientWriteScope VIPs",
        "New-ManagementRoleAssignment -Name DanaUsers -Role \"Mail Recipients\" -User dana -RecipientOrganizationalUnitScope contoso.com/Users",
        "New-ManagementRoleAssignment -Name DanaServers -Role \"Exchange Servers\" -User dana -CustomConfigWriteScope \"Seattle Servers\"",
        "New-RoleGroup -Name \"Seattle Admins\" -Roles \"Mail Recipients\" -Members dana",
    ] {
        ok(&mut admin, line).await;
    }
    let names = |r: &crossforest_tests::Records| {
        let mut n: Vec<String> = r.column("Name").into_iter().map(str::to_owned).collect();
        n.sort();
        n
    };

    let users = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -RoleAssigneeType User",
    )
    .await;
    assert_eq!(
        names(&users),
        ["DanaSeattle", "DanaServers", "DanaUsers", "DanaVIPs"]
    );
    let direct = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -RoleAssignee dana -AssignmentMethod Direct",
    )
    .await;
    assert_eq!(names(&direct), names(&users));
    assert!(direct
        .column("AssignmentMethod")
        .iter()
        .all(|m| *m == "Direct"));
    let through_groups = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -RoleAssignee dana -AssignmentMethod RoleGroup",
    )
    .await;
    assert_eq!(names(&through_groups), ["Mail Recipients_Seattle Admins"]);
    let through_policy = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -RoleAssignee dana -AssignmentMethod RoleAssignmentPolicy",
    )
    .await;
    assert!(!through_policy.is_empty());
    assert!(through_policy
        .column("RoleAssigneeType")
        .iter()
        .all(|t| *t == "RoleAssignmentPolicy"));
    let (_, why) = refused(
        &mut admin,
        "Get-ManagementRoleAssignment -AssignmentMethod Direct",
    )
    .await;
    assert!(why.contains("-RoleAssignee"), "{why}");

    let custom = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -RecipientWriteScope CustomRecipientScope",
    )
    .await;
    assert_eq!(names(&custom), ["DanaSeattle"]);
    let exclusive = ok(&mut admin, "Get-ManagementRoleAssignment -Exclusive $true").await;
    assert_eq!(names(&exclusive), ["DanaVIPs"]);
    let ou = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -RecipientOrganizationalUnitScope \"OU=Users,DC=contoso,DC=com\"",
    )
    .await;
    assert_eq!(names(&ou), ["DanaUsers"]);
    for line in [
        "Get-ManagementRoleAssignment -CustomConfigWriteScope \"Seattle Servers\"",
        "Get-ManagementRoleAssignment -ConfigWriteScope CustomConfigScope",
    ] {
        assert_eq!(
            names(&ok(&mut admin, line).await),
            ["DanaServers"],
            "{line}"
        );
    }
    assert!(ok(
        &mut admin,
        "Get-ManagementRoleAssignment -ExclusiveConfigWriteScope \"Seattle Servers\""
    )
    .await
    .is_empty());

    // The implicit read scopes, from the role.
    let one = ok(&mut admin, "Get-ManagementRoleAssignment DanaSeattle").await;
    assert_eq!(
        property(&one, "RecipientReadScope").as_deref(),
        Some("Organization")
    );
    assert_eq!(
        property(&one, "ConfigReadScope").as_deref(),
        Some("OrganizationConfig")
    );
    assert_eq!(
        property(&one, "RecipientWriteScope").as_deref(),
        Some("CustomRecipientScope")
    );

    for (line, parameter) in [
        (
            "Get-ManagementRoleAssignment -RoleAssigneeType Printer",
            "-RoleAssigneeType",
        ),
        (
            "Get-ManagementRoleAssignment -RecipientWriteScope Everywhere",
            "-RecipientWriteScope",
        ),
        (
            "Get-ManagementRoleAssignment -RoleAssignee dana -AssignmentMethod Telepathy",
            "-AssignmentMethod",
        ),
    ] {
        let (_, why) = refused(&mut admin, line).await;
        assert!(why.contains(parameter), "{line}: {why}");
    }
}

#[tokio::test]
async fn get_management_role_lists_children_and_roles_by_cmdlet_parameters() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(
        &mut admin,
        "New-ManagementRole -Name \"Seattle Mail\" -Parent \"Mail Recipients\"",
    )
    .await;
    ok(
        &mut admin,
        "New-ManagementRole -Name \"Seattle Mail Lite\" -Parent \"Seattle Mail\"",
    )
    .await;
    let children = ok(
        &mut admin,
        "Get-ManagementRole \"Mail Recipients\" -GetChildren",
    )
    .await;
    assert_eq!(children.column("Name"), ["Seattle Mail"]);
    let (_, why) = refused(&mut admin, "Get-ManagementRole -GetChildren").await;
    assert!(why.contains("-Identity"), "{why}");

    let with_office = |r: &crossforest_tests::Records| {
        r.column("Name")
            .into_iter()
            .filter(|n| n.contains("Mail"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let roles = ok(
        &mut admin,
        "Get-ManagementRole -Cmdlet Set-Mailbox -CmdletParameters Office,ProhibitSendQuota",
    )
    .await;
    assert_eq!(
        with_office(&roles),
        ["Mail Recipients", "Seattle Mail", "Seattle Mail Lite"]
    );
    ok(
        &mut admin,
        "Set-ManagementRoleEntry \"Seattle Mail Lite\\Set-Mailbox\" -Parameters Office -RemoveParameter",
    )
    .await;
    let roles = ok(
        &mut admin,
        "Get-ManagementRole -Cmdlet Set-Mailbox -CmdletParameters Office",
    )
    .await;
    assert_eq!(with_office(&roles), ["Mail Recipients", "Seattle Mail"]);
    // Without -Cmdlet: roles with any entry holding every parameter given.
    let roles = ok(
        &mut admin,
        "Get-ManagementRole -CmdletParameters ProhibitSendQuota,Office",
    )
    .await;
    assert_eq!(with_office(&roles), ["Mail Recipients", "Seattle Mail"]);
}

#[tokio::test]
async fn new_management_scope_refuses_recipient_root_without_a_filter_and_shows_recipient_filter() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    let (_, why) = refused(
        &mut admin,
        "New-ManagementScope -Name Users -RecipientRoot contoso.com/Users",
    )
    .await;
    assert!(why.contains("-RecipientRestrictionFilter"), "{why}");
    assert!(ok(&mut admin, "Get-ManagementScope").await.is_empty());

    ok(
        &mut admin,
        "New-ManagementScope -Name Users -RecipientRoot contoso.com/Users -RecipientRestrictionFilter {Department -eq 'Sales'}",
    )
    .await;
    let scope = ok(&mut admin, "Get-ManagementScope Users").await;
    assert_eq!(
        property(&scope, "ScopeRestrictionType").as_deref(),
        Some("RecipientScope")
    );
    assert_eq!(property(&scope, "Exclusive").as_deref(), Some("False"));
    assert_eq!(
        property(&scope, "RecipientRoot").as_deref(),
        Some("contoso.com/Users")
    );
    assert_eq!(
        property(&scope, "RecipientFilter").as_deref(),
        Some("Department -eq 'Sales'")
    );
    assert_eq!(property(&scope, "Filter"), None);
    // Set-ManagementScope changes the root and keeps the filter.
    ok(
        &mut admin,
        "Set-ManagementScope Users -RecipientRoot \"contoso.com/Microsoft Exchange Security Groups\"",
    )
    .await;
    let scope = ok(&mut admin, "Get-ManagementScope Users").await;
    assert_eq!(
        property(&scope, "RecipientRoot").as_deref(),
        Some("contoso.com/Microsoft Exchange Security Groups")
    );
    assert_eq!(
        property(&scope, "RecipientFilter").as_deref(),
        Some("Department -eq 'Sales'")
    );

    ok(
        &mut admin,
        "New-ManagementScope -Name \"Seattle Servers\" -ServerList EX01,EX02",
    )
    .await;
    let servers = ok(&mut admin, "Get-ManagementScope \"Seattle Servers\"").await;
    assert_eq!(
        property(&servers, "ServerFilter").as_deref(),
        Some("Name -eq 'EX01' -or Name -eq 'EX02'")
    );
    assert_eq!(property(&servers, "RecipientFilter").as_deref(), Some(""));
}
