//! The RBAC model through the shell: the seed's Seattle example (R-RG-6) with
//! ManagedBy (R-RG-5), lockout rules (R-LOCK-1..5), exclusive scopes
//! (R-SCOPE-3), role derivation (R-ROLE-2) and explanations.

use super::common::{federation, ok, property, refused};
use crossforest_tests::Federation;
use crossforest_tests::Records;

fn values(r: &Records, name: &str) -> Vec<String> {
    r.iter()
        .filter_map(|rec| rec.get(name))
        .map(str::to_owned)
        .collect()
}

async fn mailboxes(f: &Federation, names: &[&str]) {
    let mut admin = f.administrator().await.unwrap();
    for n in names {
        ok(&mut admin, &format!("New-Mailbox -Name {n}")).await;
    }
}

#[tokio::test]
async fn seattle_recipient_management_example_behaves_as_the_seed_says() {
    let f = Federation::builder().start().await.unwrap();
    let people = [
        "Ray", "Jenn", "Maria", "Chris", "Maija", "Carter", "Jenny", "Sam", "Lukas", "Isabel",
        "Katie", "Brian", "David", "Nora",
    ];
    mailboxes(&f, &people).await;
    let mut admin = f.administrator().await.unwrap();
    ok(
        &mut admin,
        "New-Mailbox -Name SeaUser -OrganizationalUnit contoso.com/Seattle",
    )
    .await;
    ok(&mut admin, "Set-User SeaUser -City Seattle").await;
    ok(
        &mut admin,
        "New-Mailbox -Name PdxUser -OrganizationalUnit contoso.com/Sales",
    )
    .await;
    ok(&mut admin, "Set-User PdxUser -City Portland").await;
    ok(
        &mut admin,
        "New-ManagementScope -Name \"Seattle Users\" -RecipientRestrictionFilter {City -eq \"Seattle\"}",
    )
    .await;
    let created = ok(
        &mut admin,
        "New-RoleGroup -Name \"Seattle Recipient Management\" -Roles \"Mail Recipients\", \"Distribution Groups\", \"Move Mailboxes\", \"UM Mailboxes\" -CustomRecipientWriteScope \"Seattle Users\" -ManagedBy \"Brian\",\"David\",\"Katie\" -Members \"Ray\",\"Jenn\",\"Maria\",\"Chris\",\"Maija\",\"Carter\",\"Jenny\",\"Sam\",\"Lukas\",\"Isabel\",\"Katie\"",
    )
    .await;
    assert_eq!(
        property(&created, "OrganizationalUnit").as_deref(),
        Some("contoso.com/Microsoft Exchange Security Groups")
    );
    assert_eq!(
        property(&created, "ManagedBy").as_deref(),
        Some("Brian, David, Katie")
    );
    let members = ok(
        &mut admin,
        "Get-RoleGroupMember \"Seattle Recipient Management\"",
    )
    .await;
    assert_eq!(members.len(), 11);

    let assignments = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -RoleAssignee \"Seattle Recipient Management\"",
    )
    .await;
    let mut names = values(&assignments, "Name");
    names.sort();
    assert_eq!(
        names,
        [
            "Distribution Groups_Seattle Recipient Management",
            "Mail Recipients_Seattle Recipient Management",
            "Move Mailboxes_Seattle Recipient Management",
            "UM Mailboxes_Seattle Recipient Management",
        ]
    );
    assert!(values(&assignments, "CustomRecipientWriteScope")
        .iter()
        .all(|s| s == "Seattle Users"));

    // Katie is a member and a manager: she gets the permissions, in scope only,
    // and may change the membership.
    let mut katie = f.local_session("Katie").await.unwrap();
    ok(&mut katie, "Set-Mailbox SeaUser -CustomAttribute1 katie").await;
    let (denied, why) = refused(&mut katie, "Set-Mailbox PdxUser -CustomAttribute1 katie").await;
    assert!(denied && why.contains("Seattle Users"), "{why}");
    ok(
        &mut katie,
        "Add-RoleGroupMember \"Seattle Recipient Management\" -Member Nora",
    )
    .await;

    // Brian and David manage the group but get none of its permissions.
    let mut brian = f.local_session("Brian").await.unwrap();
    ok(
        &mut brian,
        "Remove-RoleGroupMember \"Seattle Recipient Management\" -Member Nora",
    )
    .await;
    let (denied, _) = refused(&mut brian, "Set-Mailbox SeaUser -CustomAttribute1 brian").await;
    assert!(denied);
    let mut david = f.local_session("David").await.unwrap();
    ok(
        &mut david,
        "Set-RoleGroup \"Seattle Recipient Management\" -Description \"Seattle admins\"",
    )
    .await;
    let (denied, _) = refused(&mut david, "Set-User SeaUser -City Tacoma").await;
    assert!(denied);

    // Ray is a member but not a manager: he may not change the group.
    let mut ray = f.local_session("Ray").await.unwrap();
    let (denied, why) = refused(
        &mut ray,
        "Add-RoleGroupMember \"Seattle Recipient Management\" -Member Nora",
    )
    .await;
    assert!(denied && why.contains("R-RG-5"), "{why}");

    // Organization Management is not a manager: it needs the bypass switch.
    let (denied, why) = refused(
        &mut admin,
        "Add-RoleGroupMember \"Seattle Recipient Management\" -Member Nora",
    )
    .await;
    assert!(
        denied && why.contains("BypassSecurityGroupManagerCheck"),
        "{why}"
    );
    ok(
        &mut admin,
        "Add-RoleGroupMember \"Seattle Recipient Management\" -Member Nora -BypassSecurityGroupManagerCheck",
    )
    .await;
    // ... which Brian, holding no role, may not use to escape a check.
    let members = ok(
        &mut admin,
        "Get-RoleGroupMember \"Seattle Recipient Management\"",
    )
    .await;
    assert_eq!(members.len(), 12);
}

#[tokio::test]
async fn lockout_rules_refuse_and_change_nothing() {
    let f = Federation::builder().start().await.unwrap();
    mailboxes(&f, &["Katie"]).await;
    let mut admin = f.administrator().await.unwrap();
    let count = |r: &Records| r.len();
    let before = count(&ok(&mut admin, "Get-ManagementRoleAssignment").await);

    // R-LOCK-1
    let (_, why) = refused(
        &mut admin,
        "Remove-ManagementRoleAssignment \"Mail Recipients-Organization Management-Delegating\"",
    )
    .await;
    assert!(why.contains("R-LOCK-1"), "{why}");
    let (_, why) = refused(
        &mut admin,
        "Set-ManagementRoleAssignment \"Mailbox Search-Organization Management-Delegating\" -Enabled $false",
    )
    .await;
    assert!(why.contains("R-LOCK-1"), "{why}");
    // R-LOCK-2
    let (_, why) = refused(
        &mut admin,
        "Remove-ManagementRoleAssignment \"Role Management-Organization Management\"",
    )
    .await;
    assert!(why.contains("R-LOCK-2"), "{why}");

    // R-LOCK-3: a custom role delegated to one role group and one user; the
    // group's assignment is the last that counts.
    ok(
        &mut admin,
        "New-ManagementRole -Name \"Seattle Mail\" -Parent \"Mail Recipients\"",
    )
    .await;
    ok(&mut admin, "New-RoleGroup -Name Helpers").await;
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Seattle Mail\" -SecurityGroup Helpers -Delegating",
    )
    .await;
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Seattle Mail\" -User Katie -Delegating",
    )
    .await;
    let (_, why) = refused(
        &mut admin,
        "Remove-ManagementRoleAssignment \"Seattle Mail-Helpers-Delegating\"",
    )
    .await;
    assert!(why.contains("R-LOCK-3"), "{why}");
    let (_, why) = refused(&mut admin, "Remove-RoleGroup Helpers").await;
    assert!(why.contains("R-LOCK-3"), "{why}");
    // The user's one is not protected.
    ok(
        &mut admin,
        "Remove-ManagementRoleAssignment \"Seattle Mail-Katie-Delegating\"",
    )
    .await;

    let after = count(&ok(&mut admin, "Get-ManagementRoleAssignment").await);
    assert_eq!(
        after,
        before + 1,
        "only the Helpers delegating assignment was added"
    );
    ok(&mut admin, "Get-RoleGroup Helpers").await;
}

#[tokio::test]
async fn r_lock_1_only_three_delegating_assignments_may_leave_organization_management() {
    let f = Federation::builder().start().await.unwrap();
    mailboxes(&f, &["Katie"]).await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-RoleGroup \"Helpdesk Tier\"").await;
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipients\" -SecurityGroup \"Helpdesk Tier\" -Delegating",
    )
    .await;
    // Another group holding it does not let Organization Management's go,
    // neither removed nor disabled.
    let (_, why) = refused(
        &mut admin,
        "Remove-ManagementRoleAssignment \"Mail Recipients-Organization Management-Delegating\"",
    )
    .await;
    assert!(why.contains("R-LOCK-1"), "{why}");
    let (_, why) = refused(
        &mut admin,
        "Set-ManagementRoleAssignment \"Mail Recipients-Organization Management-Delegating\" -Enabled $false",
    )
    .await;
    assert!(why.contains("R-LOCK-1"), "{why}");
    // Organization Management can still hand out Mail Recipients.
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipients\" -User Katie",
    )
    .await;
    // The exceptions still move: Mail Recipient Creation to a role group.
    ok(&mut admin, "New-RoleGroup \"Directory Admins\"").await;
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -SecurityGroup \"Directory Admins\" -Delegating",
    )
    .await;
    ok(
        &mut admin,
        "Remove-ManagementRoleAssignment \"Mail Recipient Creation-Organization Management-Delegating\"",
    )
    .await;
    // ... and only while the group holds it.
    let (_, why) = refused(&mut admin, "Remove-RoleGroup \"Directory Admins\"").await;
    assert!(why.contains("R-LOCK"), "{why}");
}

#[tokio::test]
async fn r_rg_5_managed_by_a_role_group_lets_its_members_manage() {
    let f = Federation::builder().start().await.unwrap();
    mailboxes(&f, &["Katie", "Nora", "Ray"]).await;
    let mut admin = f.administrator().await.unwrap();
    // A role group in ManagedBy: Organization Management's members manage
    // without the bypass switch.
    ok(
        &mut admin,
        "New-RoleGroup -Name \"OM Managed\" -ManagedBy \"Organization Management\"",
    )
    .await;
    ok(
        &mut admin,
        "Add-RoleGroupMember \"OM Managed\" -Member Nora",
    )
    .await;
    // Nested: Katie is in Tier Admins, which is in Outer Tier, which manages
    // Team; being a manager grants none of Team's permissions.
    ok(
        &mut admin,
        "New-RoleGroup -Name \"Tier Admins\" -Members Katie",
    )
    .await;
    ok(
        &mut admin,
        "New-RoleGroup -Name \"Outer Tier\" -Members \"Tier Admins\"",
    )
    .await;
    ok(
        &mut admin,
        "New-RoleGroup -Name Team -Roles \"Mail Recipients\" -ManagedBy \"Outer Tier\"",
    )
    .await;
    let mut katie = f.local_session("Katie").await.unwrap();
    ok(&mut katie, "Add-RoleGroupMember Team -Member Nora").await;
    ok(&mut katie, "Remove-RoleGroupMember Team -Member Nora").await;
    let (denied, _) = refused(&mut katie, "Set-Mailbox Nora -CustomAttribute1 katie").await;
    assert!(denied);
    // Someone in none of them is still refused.
    let mut ray = f.local_session("Ray").await.unwrap();
    let (_, why) = refused(&mut ray, "Add-RoleGroupMember Team -Member Nora").await;
    assert!(why.contains("R-RG-5"), "{why}");
}

#[tokio::test]
async fn r_asg_3_denial_names_the_parameter_no_in_scope_assignment_grants() {
    let f = Federation::builder().start().await.unwrap();
    mailboxes(&f, &["Hd", "port1"]).await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "Add-RoleGroupMember \"Help Desk\" -Member Hd").await;
    // Mail Recipients, which grants -CustomAttribute1, only on Seattle.
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipients\" -User Hd -RecipientOrganizationalUnitScope contoso.com/Seattle",
    )
    .await;
    let mut hd = f.local_session("Hd").await.unwrap();
    // User Options grants -Office on port1; nothing whose scope holds port1
    // grants -CustomAttribute1: the denial names it, not -Office.
    let (denied, why) = refused(&mut hd, "Set-Mailbox port1 -Office X -CustomAttribute1 Y").await;
    assert!(denied, "{why}");
    assert!(why.contains("-CustomAttribute1"), "{why}");
    assert!(!why.contains("-Office"), "{why}");
    assert!(why.contains("R-ASG-3"), "{why}");
    ok(&mut hd, "Set-Mailbox port1 -Office X").await;
}

#[tokio::test]
async fn delegating_only_assignment_grants_nothing_until_self_assigned() {
    let f = Federation::builder().start().await.unwrap();
    let mut admin = f.administrator().await.unwrap();
    // R-LOCK-5 / R-ROLE-3: Organization Management holds Unscoped Role
    // Management only as delegating.
    let (denied, why) = refused(
        &mut admin,
        "New-ManagementRole -Name Scripts -UnScopedTopLevel",
    )
    .await;
    assert!(denied, "{why}");
    assert!(
        why.contains("-UnScopedTopLevel") && why.contains("Unscoped Role Management"),
        "{why}"
    );
    let explained = ok(
        &mut admin,
        "Test-CmdletPermission New-ManagementRole -Parameters Name,UnScopedTopLevel",
    )
    .await;
    assert_eq!(property(&explained, "Decision").as_deref(), Some("Denied"));

    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Unscoped Role Management\" -User Administrator",
    )
    .await;
    let created = ok(
        &mut admin,
        "New-ManagementRole -Name Scripts -UnScopedTopLevel",
    )
    .await;
    assert_eq!(property(&created, "RoleType").as_deref(), Some("UnScoped"));
    // Unscoped roles hold no Exchange cmdlets and take no scopes.
    let (_, why) = refused(
        &mut admin,
        "Add-ManagementRoleEntry \"Scripts\\Set-Mailbox\" -UnScopedTopLevel",
    )
    .await;
    assert!(why.contains("R-ROLE-3"), "{why}");
    ok(
        &mut admin,
        "Add-ManagementRoleEntry \"Scripts\\Reset-Lab.ps1\" -UnScopedTopLevel -Parameters Force",
    )
    .await;
}

#[tokio::test]
async fn exclusive_scope_overrides_regular_assignments() {
    let f = federation().await;
    mailboxes(&f, &["Katie"]).await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name Boss").await;
    ok(&mut admin, "Set-Mailbox Boss -CustomAttribute1 VIP").await;
    ok(&mut admin, "New-Mailbox -Name Clerk").await;
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    ok(&mut bob, "Set-Mailbox Boss -Office \"Floor 1\"").await;

    let created = admin
        .run("New-ManagementScope -Name VIPs -RecipientRestrictionFilter \"CustomAttribute1 -eq 'VIP'\" -Exclusive")
        .await
        .unwrap();
    assert!(created.warnings().iter().any(|w| w.contains("R-SCOPE-3")));

    // From the moment the scope exists, regular assignments can't write Boss…
    let (denied, why) = refused(&mut bob, "Set-Mailbox Boss -Office \"Floor 2\"").await;
    assert!(denied && why.contains("`VIPs`"), "{why}");
    let (denied, _) = refused(&mut admin, "Set-Mailbox Boss -Office \"Floor 2\"").await;
    assert!(
        denied,
        "Organization Management's implicit scope is regular too"
    );
    // …but still read it and write everyone else.
    ok(&mut bob, "Get-Mailbox Boss").await;
    ok(&mut bob, "Set-Mailbox Clerk -Office \"Floor 2\"").await;

    ok(
        &mut admin,
        "New-RoleGroup -Name \"VIP Admins\" -Members Katie",
    )
    .await;
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipients\" -SecurityGroup \"VIP Admins\" -ExclusiveRecipientWriteScope VIPs",
    )
    .await;
    let mut katie = f.local_session("Katie").await.unwrap();
    ok(&mut katie, "Set-Mailbox Boss -Office \"Floor 3\"").await;
    // The exclusive assignment writes only what its scope matches.
    let (denied, _) = refused(&mut katie, "Set-Mailbox Clerk -Office \"Floor 3\"").await;
    assert!(denied);
    // A scope in use can't be removed (R-SCOPE-7).
    let (_, why) = refused(&mut admin, "Remove-ManagementScope VIPs").await;
    assert!(why.contains("R-SCOPE-7"), "{why}");
}

#[tokio::test]
async fn child_roles_only_narrow_their_parent() {
    let f = Federation::builder().start().await.unwrap();
    let mut admin = f.administrator().await.unwrap();
    let created = ok(
        &mut admin,
        "New-ManagementRole -Name \"Limited Recipients\" -Parent \"Mail Recipients\"",
    )
    .await;
    assert_eq!(
        property(&created, "RoleType").as_deref(),
        Some("MailRecipients")
    );
    ok(
        &mut admin,
        "Remove-ManagementRoleEntry \"Limited Recipients\\Set-User\"",
    )
    .await;
    ok(
        &mut admin,
        "Set-ManagementRoleEntry \"Limited Recipients\\Set-Mailbox\" -Parameters Identity,Office",
    )
    .await;
    let (_, why) = refused(
        &mut admin,
        "Add-ManagementRoleEntry \"Limited Recipients\\New-RoleGroup\"",
    )
    .await;
    assert!(why.contains("R-ROLE-2"), "{why}");
    let (_, why) = refused(
        &mut admin,
        "Set-ManagementRoleEntry \"Limited Recipients\\Set-Mailbox\" -Parameters Password -AddParameter",
    )
    .await;
    assert!(why.contains("R-ROLE-2"), "{why}");
    // The entry put back from the parent is allowed.
    ok(
        &mut admin,
        "Add-ManagementRoleEntry \"Limited Recipients\\Set-User\" -Parameters Identity,City",
    )
    .await;
    let entries = ok(
        &mut admin,
        "Get-ManagementRoleEntry \"Limited Recipients\\*\"",
    )
    .await;
    assert!(values(&entries, "Name").contains(&"Set-User".to_owned()));
    let (_, why) = refused(&mut admin, "Remove-ManagementRole \"Mail Recipients\"").await;
    assert!(why.contains("built-in"), "{why}");
    let (_, why) = refused(
        &mut admin,
        "Add-ManagementRoleEntry \"Mail Recipients\\Set-User\"",
    )
    .await;
    assert!(why.contains("built-in"), "{why}");
    ok(&mut admin, "Remove-ManagementRole \"Limited Recipients\"").await;
}

#[tokio::test]
async fn decisions_are_explained_and_reverse_queries_name_foreign_groups() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(
        &mut admin,
        "New-Mailbox -Name dana -OrganizationalUnit contoso.com/Sales",
    )
    .await;
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    let allowed = ok(
        &mut bob,
        "Test-CmdletPermission -Cmdlet Set-Mailbox -Parameters Office -Identity dana",
    )
    .await;
    assert_eq!(property(&allowed, "Decision").as_deref(), Some("Allowed"));
    let chain = property(&allowed, "Chain").unwrap();
    assert!(
        chain.contains("linked foreign group fabrikam\\Exchange Admins")
            && chain.contains("role group fabrikam Recipient Admins")
            && chain.contains("Set-Mailbox"),
        "{chain}"
    );

    let mut carol = f.session("tailspin\\carol").await.unwrap();
    let denied = ok(
        &mut carol,
        "Test-CmdletPermission Set-Mailbox -Parameters Office -Identity dana",
    )
    .await;
    assert_eq!(property(&denied, "Decision").as_deref(), Some("Denied"));
    assert!(property(&denied, "Chain")
        .unwrap()
        .contains("Mail Recipients"));

    let who = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -Role \"Mail Recipients\" -GetEffectiveUsers -WritableRecipient dana",
    )
    .await;
    let users = values(&who, "EffectiveUserName");
    // R-LRG-8: the foreign members, read with the linked credential, nesting
    // expanded (alice is in Exchange Admins through Tier 2 Admins).
    for member in ["alice", "bob"] {
        let expected = format!("fabrikam\\{member} (foreign, via fabrikam\\Exchange Admins)");
        assert!(users.contains(&expected), "{users:?}");
    }
    assert!(users.iter().any(|u| u == "Administrator"), "{users:?}");
    assert!(!users.iter().any(|u| u.contains("carol")), "{users:?}");

    // The Administrator may ask about a foreign user: its groups are read with
    // the linked credential, SID-filtered.
    let for_bob = ok(
        &mut admin,
        "Test-CmdletPermission Set-Mailbox -Parameters Office -Identity dana -User fabrikam\\bob",
    )
    .await;
    assert_eq!(property(&for_bob, "Decision").as_deref(), Some("Allowed"));
    let for_carol = ok(
        &mut admin,
        "Test-CmdletPermission Set-Mailbox -Parameters Office -Identity dana -User tailspin\\carol",
    )
    .await;
    assert_eq!(property(&for_carol, "Decision").as_deref(), Some("Denied"));
    // Asking about someone else reads the configuration: carol may not.
    let (denied, _) = refused(
        &mut carol,
        "Test-CmdletPermission Set-Mailbox -Identity dana -User fabrikam\\bob",
    )
    .await;
    assert!(denied);

    let mine = ok(&mut carol, "Get-EffectivePermission").await;
    let cmdlets = values(&mine, "Cmdlet");
    assert!(
        cmdlets.contains(&"Get-Mailbox".to_owned()) && !cmdlets.contains(&"Set-Mailbox".to_owned()),
        "{cmdlets:?}"
    );

    // Bad OPATH is refused with the column.
    let (_, why) = refused(
        &mut admin,
        "New-ManagementScope -Name Bad -RecipientRestrictionFilter \"Department = 'Sales'\"",
    )
    .await;
    assert!(why.contains("column 12"), "{why}");
}

#[tokio::test]
async fn disabled_mailbox_keeps_its_user_and_can_be_enabled_again() {
    let f = federation().await;
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    ok(
        &mut bob,
        "New-Mailbox -Name Erin -OrganizationalUnit contoso.com/Sales",
    )
    .await;
    let user = ok(&mut bob, "Disable-Mailbox Erin").await;
    assert_eq!(property(&user, "RecipientType").as_deref(), Some("User"));
    let (_, why) = refused(&mut bob, "Get-Mailbox Erin").await;
    assert!(why.contains("couldn't be found"), "{why}");
    let users = ok(&mut bob, "Get-User Erin").await;
    assert_eq!(property(&users, "RecipientType").as_deref(), Some("User"));
    let enabled = ok(&mut bob, "Enable-Mailbox Erin").await;
    assert_eq!(
        property(&enabled, "PrimarySmtpAddress").as_deref(),
        Some("Erin@contoso.com")
    );
    let (_, why) = refused(&mut bob, "Enable-Mailbox Erin").await;
    assert!(why.contains("already mail-enabled"), "{why}");
    // tailspin's view-only admins can read but not disable.
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    ok(&mut carol, "Get-Mailbox Erin").await;
    let (denied, _) = refused(&mut carol, "Disable-Mailbox Erin").await;
    assert!(denied);
}

#[tokio::test]
async fn what_if_shows_who_gains_and_loses_and_changes_nothing() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    let shown = ok(
        &mut admin,
        "Remove-ManagementRoleAssignment \"Mail Recipients_fabrikam Recipient Admins\" -WhatIf",
    )
    .await;
    assert!(shown.warnings().iter().any(|w| w.starts_with("What if")));
    assert_eq!(
        property(&shown, "Principal").as_deref(),
        Some("fabrikam\\Exchange Admins")
    );
    let loses = property(&shown, "Loses").unwrap();
    assert!(
        loses.contains("Set-Mailbox") && !loses.contains("Get-Mailbox"),
        "{loses}"
    );
    // Nothing was applied: bob still changes mailboxes.
    ok(&mut admin, "New-Mailbox -Name dana").await;
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    ok(&mut bob, "Set-Mailbox dana -Office \"Floor 4\"").await;
    // A what-if is authorised like the change itself.
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    let (denied, _) = refused(
        &mut carol,
        "Remove-ManagementRoleAssignment \"Mail Recipients_fabrikam Recipient Admins\" -WhatIf",
    )
    .await;
    assert!(denied);
    let gains = ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipients\" -SecurityGroup \"tailspin View-Only\" -WhatIf",
    )
    .await;
    assert_eq!(
        property(&gains, "Principal").as_deref(),
        Some("tailspin\\Exchange Admins")
    );
    assert!(property(&gains, "Gains").unwrap().contains("Set-Mailbox"));
}
