//! Several resource-forest nodes serving one organization from one PostgreSQL
//! database (issue 6): a change made through one node is enforced by the
//! others (they LISTEN for the database's notifications), and concurrent
//! conflicting changes through two nodes cannot break a lockout rule
//! (R-LOCK-3). Needs `CROSSFOREST_TEST_POSTGRES`; skipped (with a message)
//! without it unless `CROSSFOREST_REQUIRE_POSTGRES=1`.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use crossforest_cli::lab::Lab;
use crossforest_cli::session::Session;
use resource_forest::store::{testing, StoreConfig};
use tokio::sync::oneshot;

/// One organization served by two nodes over one PostgreSQL schema.
struct TwoNodes {
    lab: Lab,
    second: String,
    _stops: Vec<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl TwoNodes {
    async fn start(test: &str) -> Option<Self> {
        let url = testing::postgres_url(test).unwrap()?;
        let dir = tempfile::tempdir().unwrap();
        let store = StoreConfig::Postgres {
            url,
            schema: testing::unique_schema("shared"),
        };
        let lab = crossforest_tests::small_lab(dir.path(), &[], store)
            .await
            .unwrap();
        let config = lab.resource_config().unwrap();
        let mut stops = Vec::new();
        let mut addresses = Vec::new();
        for listen in [config.listen.clone(), "127.0.0.1:0".to_owned()] {
            let node = resource_forest::node::ResourceForest::load(config.clone())
                .await
                .unwrap();
            let listener = tokio::net::TcpListener::bind(&listen).await.unwrap();
            addresses.push(listener.local_addr().unwrap().to_string());
            let (tx, rx) = oneshot::channel::<()>();
            tokio::spawn(resource_forest::server::serve(listener, node, async move {
                let _ = rx.await;
            }));
            stops.push(tx);
        }
        Some(Self {
            lab,
            second: addresses.remove(1),
            _stops: stops,
            _dir: dir,
        })
    }

    /// A session as `contoso\user` on the first node (0) or the second (1).
    async fn session(&self, node: usize, user: &str) -> Session {
        let forest = self.lab.file().resource.clone();
        let mut endpoint = self.lab.endpoint(&forest).unwrap();
        if node == 1 {
            endpoint.address = self.second.clone();
        }
        let credential = self.lab.credential(&forest, user).unwrap();
        Session::local(&endpoint, &credential, &format!("contoso\\{user}"))
            .await
            .unwrap()
    }
}

async fn ok(session: &mut Session, line: &str) -> cf::InvokeResponse {
    session
        .run(line)
        .await
        .unwrap_or_else(|e| panic!("`{line}` failed: {e}"))
}

mod cf {
    pub use crossforest_shared::proto::management::v1::InvokeResponse;
}

/// Runs `line` until `accept` says the node answered as expected (the other
/// node's change has arrived); returns how long that took.
async fn until(
    session: &mut Session,
    line: &str,
    accept: impl Fn(&Result<cf::InvokeResponse, String>) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let result = session.run(line).await.map_err(|e| e.to_string());
        if accept(&result) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "`{line}` never gave the expected answer; last: {result:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_change_through_one_node_is_enforced_by_the_other() {
    let Some(nodes) = TwoNodes::start("shared store: propagation").await else {
        return;
    };
    let mut admin = nodes.session(0, "Administrator").await;
    let created = ok(&mut admin, "New-Mailbox -Name bob").await;
    let sid = created.records[0]
        .properties
        .iter()
        .find(|p| p.name == "SID")
        .unwrap()
        .value
        .parse()
        .unwrap();
    nodes.lab.issue_local_credential("bob", sid).unwrap();
    // Node 2 learns of bob, and refuses him what he has no role for.
    let mut bob = nodes.session(1, "bob").await;
    until(&mut bob, "New-Mailbox -Name carol", |r| {
        r.as_ref().is_err_and(|e| e.contains("New-Mailbox"))
    })
    .await;
    // Granted through node 1, enforced by node 2.
    ok(
        &mut admin,
        "Add-RoleGroupMember \"Recipient Management\" -Member bob",
    )
    .await;
    let granted = until(&mut bob, "New-Mailbox -Name carol", |r| r.is_ok()).await;
    // Revoked through node 1, enforced by node 2.
    ok(
        &mut admin,
        "Remove-RoleGroupMember \"Recipient Management\" -Member bob",
    )
    .await;
    let revoked = until(&mut bob, "New-Mailbox -Name dave", |r| r.is_err()).await;
    eprintln!("propagated to the other node: grant {granted:?}, revocation {revoked:?}");
    // And the change node 2 made is visible on node 1.
    ok(&mut admin, "Get-Mailbox carol").await;
}

#[tokio::test]
async fn concurrent_removals_through_two_nodes_keep_one_delegating_assignment() {
    let Some(nodes) = TwoNodes::start("shared store: R-LOCK-3 race").await else {
        return;
    };
    let mut first = nodes.session(0, "Administrator").await;
    let mut second = nodes.session(1, "Administrator").await;
    ok(
        &mut first,
        "New-ManagementRole -Name \"Seattle Mail\" -Parent \"Mail Recipients\"",
    )
    .await;
    ok(&mut first, "New-RoleGroup -Name HelpersA").await;
    ok(&mut first, "New-RoleGroup -Name HelpersB").await;
    for round in 0..6 {
        for group in ["HelpersA", "HelpersB"] {
            let name = format!("Seattle Mail-{group}-Delegating");
            let found = ok(
                &mut first,
                &format!("Get-ManagementRoleAssignment \"{name}\""),
            )
            .await;
            if found.records.is_empty() {
                ok(
                    &mut first,
                    &format!("New-ManagementRoleAssignment -Role \"Seattle Mail\" -SecurityGroup {group} -Delegating"),
                )
                .await;
            }
        }
        // Both nodes see both delegating assignments before the race.
        until(
            &mut second,
            "Get-ManagementRoleAssignment -Role \"Seattle Mail\"",
            |r| r.as_ref().is_ok_and(|r| r.records.len() == 2),
        )
        .await;
        let (a, b) = tokio::join!(
            first.run("Remove-ManagementRoleAssignment \"Seattle Mail-HelpersA-Delegating\""),
            second.run("Remove-ManagementRoleAssignment \"Seattle Mail-HelpersB-Delegating\""),
        );
        let refused = match (&a, &b) {
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => e.to_string(),
            _ => panic!("round {round}: exactly one removal must succeed: {a:?} / {b:?}"),
        };
        assert!(refused.contains("R-LOCK-3"), "round {round}: {refused}");
        let left = ok(
            &mut first,
            "Get-ManagementRoleAssignment -Role \"Seattle Mail\"",
        )
        .await;
        assert_eq!(left.records.len(), 1, "round {round}");
    }
}

/// Copies `from` into `to`, recursively.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The names of the `New-Mailbox` records that say a mailbox was created, in
/// the audit log of the node in `node_dir`.
fn audited_creations(node_dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(node_dir.join("data").join("audit.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<resource_forest::audit::AuditRecord>(l).unwrap())
        .filter(|r| r.cmdlet_name == "New-Mailbox" && r.succeeded)
        .map(|r| r.cmdlet_parameters["Name"].clone())
        .collect()
}

#[tokio::test]
async fn two_nodes_killed_in_turn_lose_no_acknowledged_change_and_keep_the_lockout_rules() {
    use crossforest_cli::node_process::{NodeKind, NodeProcess};
    use std::collections::{BTreeMap, BTreeSet};

    const ROUNDS: usize = 4;
    let Some(url) = testing::postgres_url("shared store: SIGKILL loop").unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = StoreConfig::Postgres {
        url,
        schema: testing::unique_schema("killed"),
    };
    let lab = crossforest_tests::small_lab(dir.path(), &[], store)
        .await
        .unwrap();
    let forest = lab.file().resource.clone();
    // A second node of the same organization: the same configuration and
    // certificates, its own address and data directory (audit log, node id).
    let node_dirs = [lab.node_dir(&forest), dir.path().join("contoso-2")];
    copy_dir(&node_dirs[0].join("pki"), &node_dirs[1].join("pki"));
    let mut config: toml::Table = std::fs::read_to_string(node_dirs[0].join("node.toml"))
        .unwrap()
        .parse()
        .unwrap();
    config.insert(
        "listen".into(),
        crossforest_cli::processes::free_loopback_address()
            .unwrap()
            .into(),
    );
    std::fs::write(node_dirs[1].join("node.toml"), config.to_string()).unwrap();
    let binaries = crossforest_tests::nodes::discover_node_binaries().unwrap();
    let start = |i: usize| {
        let (binaries, forest, dir) = (binaries.clone(), forest.clone(), node_dirs[i].clone());
        async move {
            NodeProcess::start(&binaries, NodeKind::ResourceForest, forest, &dir)
                .await
                .unwrap()
        }
    };
    let mut nodes = vec![start(0).await, start(1).await];
    let credential = lab.credential(&forest, "Administrator").unwrap();
    let session = |address: String| {
        let mut endpoint = lab.endpoint(&forest).unwrap();
        endpoint.address = address;
        let credential = credential.clone();
        async move {
            Session::local(&endpoint, &credential, "contoso\\Administrator")
                .await
                .unwrap()
        }
    };

    // Two delegating assignments of one role, each removed through another
    // node while both nodes write and one of them is killed (R-LOCK-3).
    let mut admin = session(nodes[0].address().to_owned()).await;
    let mut acknowledged = BTreeSet::new();
    for round in 0..ROUNDS {
        ok(
            &mut admin,
            &format!(
                "New-ManagementRole -Name \"Seattle Mail {round}\" -Parent \"Mail Recipients\""
            ),
        )
        .await;
        for group in ["HelpersA", "HelpersB"] {
            ok(&mut admin, &format!("New-RoleGroup -Name {group}{round}")).await;
            ok(
                &mut admin,
                &format!("New-ManagementRoleAssignment -Role \"Seattle Mail {round}\" -SecurityGroup {group}{round} -Delegating"),
            )
            .await;
        }
        let (sent, mut done) = tokio::sync::mpsc::unbounded_channel();
        let mut writers = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let mut writer = session(node.address().to_owned()).await;
            let mut remover = session(node.address().to_owned()).await;
            let sent = sent.clone();
            writers.push(tokio::spawn(async move {
                let group = ["HelpersA", "HelpersB"][n];
                let _ = remover
                    .run(&format!("Remove-ManagementRoleAssignment \"Seattle Mail {round}-{group}{round}-Delegating\""))
                    .await;
                for i in 0.. {
                    let name = format!("k{round}-{n}-{i}");
                    match writer.run(&format!("New-Mailbox -Name {name}")).await {
                        Ok(_) => {
                            let _ = sent.send(name);
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        drop(sent);
        for _ in 0..(4 + 3 * round) {
            acknowledged.insert(done.recv().await.expect("a writer acknowledged"));
        }
        let killed = round % 2;
        nodes[killed].kill().await.unwrap();
        // The other node's writer goes on until its node is asked to stop.
        let survivor = 1 - killed;
        for _ in 0..3 {
            if let Some(name) = done.recv().await {
                acknowledged.insert(name);
            }
        }
        nodes[survivor].kill().await.unwrap();
        for writer in writers {
            writer.await.unwrap();
        }
        while let Ok(name) = done.try_recv() {
            acknowledged.insert(name);
        }
        nodes = vec![start(0).await, start(1).await];
        admin = session(nodes[0].address().to_owned()).await;
    }

    let listed = ok(&mut admin, "Get-Mailbox -ResultSize Unlimited").await;
    let there: BTreeSet<String> = listed
        .records
        .iter()
        .map(|r| r.properties[0].value.clone())
        .filter(|n| n.starts_with('k'))
        .collect();
    let lost: Vec<_> = acknowledged.difference(&there).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // Each change audited exactly once, by the node that made it.
    let mut audited: BTreeMap<String, usize> = BTreeMap::new();
    for node_dir in &node_dirs {
        for name in audited_creations(node_dir) {
            *audited.entry(name).or_default() += 1;
        }
    }
    let twice: Vec<_> = audited.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "audited more than once: {twice:?}");
    let audited: BTreeSet<String> = audited.into_keys().collect();
    assert_eq!(audited, there, "records and changes differ");
    // Every round's role kept a delegating assignment (R-LOCK-3), whichever
    // removals the kills let through.
    for round in 0..ROUNDS {
        let left = ok(
            &mut admin,
            &format!("Get-ManagementRoleAssignment -Role \"Seattle Mail {round}\""),
        )
        .await;
        assert!(
            !left.records.is_empty(),
            "round {round}: no delegating assignment left"
        );
    }
    eprintln!(
        "{} changes across {} kills, {} acknowledged",
        there.len(),
        ROUNDS * 2,
        acknowledged.len()
    );
}
