//! Delegated setup (SPEC §7, R-DS-1..4) and the clustered mailbox server flow
//! of seed 000, with a privileged and a subordinate administrator.

use crossforest_shared::proto::management::v1::{ServerSetupRequest, SetupOperation};
use crossforest_tests::Session;
use crossforest_tests::{Federation, Records};

fn op(operation: SetupOperation, server: &str) -> ServerSetupRequest {
    ServerSetupRequest {
        operation: operation.into(),
        server: server.into(),
        roles: vec!["Mailbox".into()],
        ..ServerSetupRequest::default()
    }
}

async fn done(s: &mut Session, request: ServerSetupRequest) -> Vec<String> {
    let what = format!("{:?} {}", request.operation(), request.server);
    match s.server_setup(request).await {
        Ok(r) => r.changes,
        Err(e) => panic!("`{what}` failed: {e}"),
    }
}

async fn fails(s: &mut Session, request: ServerSetupRequest) -> (bool, String) {
    match s.server_setup(request).await {
        Ok(r) => panic!("allowed: {:?}", r.changes),
        Err(e) => (e.is_denied(), e.to_string()),
    }
}

async fn server_state(admin: &mut Session, name: &str) -> Option<String> {
    let r = admin
        .run(&format!("Get-ExchangeServer {name}"))
        .await
        .ok()?;
    r.first()?.get("State").map(str::to_owned)
}

async fn lab() -> (Federation, Session, Session, Session) {
    let f = Federation::builder().start().await.unwrap();
    let mut admin = f.administrator().await.unwrap();
    for name in ["Sara", "Olga", "Dave"] {
        admin
            .run(&format!("New-Mailbox -Name {name}"))
            .await
            .unwrap();
    }
    admin
        .run("Add-RoleGroupMember \"Delegated Setup\" -Member Sara")
        .await
        .unwrap();
    let sara = f.local_session("Sara").await.unwrap();
    let olga = f.local_session("Olga").await.unwrap();
    (f, admin, sara, olga)
}

#[tokio::test]
async fn delegated_setup_installs_only_provisioned_servers() {
    let (f, mut admin, mut sara, mut olga) = lab().await;
    // R-DS-4: provisioning is Organization Management's, and never the first server.
    let (denied, why) = fails(&mut sara, op(SetupOperation::NewProvisionedServer, "EX02")).await;
    assert!(denied && why.contains("R-DS-4"), "{why}");
    let (_, why) = fails(&mut admin, op(SetupOperation::NewProvisionedServer, "EX02")).await;
    assert!(why.contains("first server"), "{why}");
    done(&mut admin, op(SetupOperation::Install, "EX01")).await;
    // R-DS-3: a delegate can't install what wasn't provisioned.
    let (denied, why) = fails(&mut sara, op(SetupOperation::Install, "EX03")).await;
    assert!(denied && why.contains("R-DS-3"), "{why}");

    let changes = done(&mut admin, op(SetupOperation::NewProvisionedServer, "EX02")).await;
    assert!(changes[0].contains("Delegated Setup"), "{changes:?}");
    assert_eq!(
        server_state(&mut admin, "EX02").await.as_deref(),
        Some("Provisioned")
    );
    let (denied, _) = fails(&mut olga, op(SetupOperation::Install, "EX02")).await;
    assert!(denied, "Olga isn't the delegate");
    // R-DS-2: the delegate completes it, adopting the objects.
    let changes = done(&mut sara, op(SetupOperation::Install, "EX02")).await;
    assert!(changes[0].contains("R-DS-2"), "{changes:?}");
    assert_eq!(
        server_state(&mut admin, "EX02").await.as_deref(),
        Some("Installed")
    );
    // R-DS-4: …but can't uninstall or manage it afterwards.
    let (denied, why) = fails(&mut sara, op(SetupOperation::Uninstall, "EX02")).await;
    assert!(denied && why.contains("Server Management"), "{why}");

    // A server provisioned for one account; removed before installation.
    let mut dave_for = op(SetupOperation::NewProvisionedServer, "EX04");
    dave_for.delegate = "Dave".into();
    done(&mut admin, dave_for).await;
    let (denied, _) = fails(&mut sara, op(SetupOperation::Install, "EX04")).await;
    assert!(denied, "EX04 is Dave's");
    done(
        &mut admin,
        op(SetupOperation::RemoveProvisionedServer, "EX04"),
    )
    .await;
    assert_eq!(server_state(&mut admin, "EX04").await, None);
    let (_, why) = fails(
        &mut admin,
        op(SetupOperation::RemoveProvisionedServer, "EX02"),
    )
    .await;
    assert!(why.contains("isn't a provisioned server"), "{why}");
    drop(f);
}

#[tokio::test]
async fn clustered_mailbox_server_is_set_up_in_four_steps_by_two_administrators() {
    let (_f, mut admin, mut sara, mut olga) = lab().await;
    done(&mut admin, op(SetupOperation::Install, "EX01")).await;
    // Step 1 (subordinate): form the cluster.
    let mut form = op(SetupOperation::FormCluster, "CL1");
    form.nodes = vec!["NODE1".into(), "NODE2".into()];
    let (denied, _) = fails(&mut olga, form.clone()).await;
    assert!(denied);
    done(&mut sara, form).await;
    // Step 2 (subordinate): the computer object of the CMS.
    let mut computer = op(SetupOperation::NewClusterComputer, "CMS1");
    computer.cluster = "CL1".into();
    done(&mut sara, computer).await;
    // Step 3 (administrator): provisioning, with temporary node objects.
    let (denied, _) = fails(&mut sara, op(SetupOperation::NewProvisionedServer, "CMS1")).await;
    assert!(denied, "provisioning is the administrator's step");
    let changes = done(&mut admin, op(SetupOperation::NewProvisionedServer, "CMS1")).await;
    assert_eq!(
        changes.iter().filter(|c| c.contains("temporary")).count(),
        2,
        "{changes:?}"
    );
    assert_eq!(
        server_state(&mut admin, "NODE2").await.as_deref(),
        Some("Provisioned")
    );
    // Step 4 (subordinate): install, active node first.
    let mut passive = op(SetupOperation::Install, "CMS1");
    passive.node = "NODE2".into();
    let (_, why) = fails(&mut sara, passive.clone()).await;
    assert!(why.contains("active node `NODE1` first"), "{why}");
    let mut active = op(SetupOperation::Install, "CMS1");
    active.node = "NODE1".into();
    done(&mut sara, active).await;
    assert!(
        server_state(&mut admin, "NODE1").await.is_some(),
        "temporary objects stay until the first passive node"
    );
    let changes = done(&mut sara, passive).await;
    assert!(
        changes.iter().any(|c| c.contains("removed 2 temporary")),
        "{changes:?}"
    );
    assert_eq!(server_state(&mut admin, "NODE1").await, None);
    assert_eq!(server_state(&mut admin, "NODE2").await, None);
    assert_eq!(
        server_state(&mut admin, "CMS1").await.as_deref(),
        Some("Installed")
    );
}

#[tokio::test]
async fn server_and_database_scopes_limit_configuration_writes() {
    // R-SCOPE-1: server and database filters on assignments, through the
    // server and database cmdlets; -WritableServer / -WritableDatabase.
    let (f, mut admin, _sara, _olga) = lab().await;
    for (server, site) in [("EX01", "Seattle"), ("EX02", "Portland")] {
        let mut install = op(SetupOperation::Install, server);
        install.site = site.into();
        done(&mut admin, install).await;
    }
    admin.run("New-Mailbox -Name Sam").await.unwrap();
    for line in [
        "New-ManagementScope \"Seattle Servers\" -ServerRestrictionFilter {ServerSite -eq 'Seattle'}",
        "New-ManagementScope \"Seattle DBs\" -DatabaseRestrictionFilter {Server -eq 'EX01'}",
        "New-RoleGroup \"Seattle Server Admins\" -Roles \"Exchange Servers\" -CustomConfigWriteScope \"Seattle Servers\" -Members Sam",
        "New-ManagementRoleAssignment -Name \"Databases Seattle\" -Role Databases -SecurityGroup \"Seattle Server Admins\" -CustomConfigWriteScope \"Seattle DBs\"",
    ] {
        admin.run(line).await.unwrap_or_else(|e| panic!("`{line}`: {e}"));
    }
    let mut sam = f.local_session("Sam").await.unwrap();
    sam.run("Set-ExchangeServer EX01 -ErrorReportingEnabled $true")
        .await
        .unwrap();
    let denied = sam
        .run("Set-ExchangeServer EX02 -ErrorReportingEnabled $true")
        .await
        .unwrap_err();
    assert!(
        denied.is_denied() && denied.to_string().contains("Seattle Servers"),
        "{denied}"
    );
    sam.run("New-MailboxDatabase DB1 -Server EX01")
        .await
        .unwrap();
    let denied = sam
        .run("New-MailboxDatabase DB2 -Server EX02")
        .await
        .unwrap_err();
    assert!(denied.is_denied(), "{denied}");
    admin
        .run("New-MailboxDatabase DB2 -Server EX02")
        .await
        .unwrap();
    sam.run("Set-MailboxDatabase DB1 -IssueWarningQuota 9GB")
        .await
        .unwrap();
    assert!(sam
        .run("Set-MailboxDatabase DB2 -IssueWarningQuota 9GB")
        .await
        .unwrap_err()
        .is_denied());

    let users = |r: &Records| -> Vec<String> {
        r.iter()
            .filter_map(|rec| rec.get("EffectiveUserName"))
            .map(str::to_owned)
            .collect()
    };
    let ex01 = admin
        .run("Get-ManagementRoleAssignment -Role \"Exchange Servers\" -GetEffectiveUsers -WritableServer EX01")
        .await
        .unwrap();
    assert!(
        users(&ex01).contains(&"Sam".to_owned()),
        "{:?}",
        users(&ex01)
    );
    let ex02 = admin
        .run("Get-ManagementRoleAssignment -Role \"Exchange Servers\" -GetEffectiveUsers -WritableServer EX02")
        .await
        .unwrap();
    assert!(
        !users(&ex02).contains(&"Sam".to_owned()),
        "{:?}",
        users(&ex02)
    );
    assert!(users(&ex02).contains(&"Administrator".to_owned()));
    let db1 = admin
        .run(
            "Get-ManagementRoleAssignment -Role Databases -GetEffectiveUsers -WritableDatabase DB1",
        )
        .await
        .unwrap();
    assert!(users(&db1).contains(&"Sam".to_owned()), "{:?}", users(&db1));
}
