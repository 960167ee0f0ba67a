//! Acknowledged writes are durable (issue 6): a real resource-forest node
//! process takes a stream of writes and is killed with SIGKILL at varied
//! points; after each kill its store holds every acknowledged change and no
//! partial one, and the node starts again on it. Runs against the store the
//! scenarios use (`CROSSFOREST_TEST_STORE`: embedded by default, or
//! PostgreSQL).

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resource_forest::config::NodeConfig;

/// The environment variable that turns [`node_process`] into a node.
const SERVE: &str = "CROSSFOREST_DURABILITY_SERVE";

/// Not a test: the node process the crash test starts (this test binary,
/// re-run with `--ignored --exact node_process`) and kills. It serves the node
/// whose configuration [`SERVE`] names, exactly as `resource-forest serve`.
#[tokio::test]
#[ignore = "the node process of crash_at_many_points_loses_no_acknowledged_change"]
async fn node_process() {
    let config = std::env::var(SERVE).expect("run by the crash test only");
    resource_forest::cli::run(resource_forest::cli::Command::Serve {
        config: config.into(),
    })
    .await
    .unwrap();
}

async fn start_node(config: &Path, ready: &Path) -> tokio::process::Child {
    let _ = std::fs::remove_file(ready);
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "node_process", "--nocapture"])
        .env(SERVE, config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if ready.exists() {
            return child;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the node exited ({status}) before listening");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the node did not start listening");
}

/// Reads the store as the node would after a crash, and checks that it is
/// whole: every mailbox's RID was allocated (the recipient row and the
/// organization row were written together) and no SID is used twice.
async fn stored_mailboxes(config: &NodeConfig) -> BTreeSet<String> {
    let store = resource_forest::store::open(&config.store, &config.data_dir)
        .await
        .unwrap();
    let (_, org) = store.load().await.unwrap().unwrap();
    let mut sids = BTreeSet::new();
    for r in org.recipients.values() {
        let rid = r
            .sid
            .to_string()
            .rsplit('-')
            .next()
            .unwrap()
            .parse::<u32>()
            .unwrap();
        assert!(
            rid < org.next_rid,
            "`{}` has RID {rid}, but next_rid is {}: a partial change",
            r.name,
            org.next_rid
        );
        assert!(sids.insert(r.sid), "SID of `{}` used twice", r.name);
    }
    org.recipients
        .keys()
        .filter(|k| k.starts_with('m'))
        .cloned()
        .collect()
}

#[tokio::test]
async fn crash_at_many_points_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = resource_forest::store::testing::scenario_store().unwrap();
    let lab = crossforest_tests::resource_only_lab(dir.path(), store)
        .await
        .unwrap();
    let config = lab.resource_config().unwrap();
    let config_file = lab.node_dir(&config.forest).join("node.toml");
    let ready = config.data_dir.join("listening");

    let mut acknowledged = BTreeSet::new();
    let mut attempted = BTreeSet::new();
    let mut kills_mid_stream = 0;
    // Kill points: from right after start-up to well into the stream.
    for (round, delay_ms) in [0u64, 20, 60, 120, 200, 300, 450, 650, 900, 1200]
        .into_iter()
        .enumerate()
    {
        let mut node = start_node(&config_file, &ready).await;
        let acked = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let (lab, acked, sent) = (lab.clone(), acked.clone(), sent.clone());
            tokio::spawn(async move {
                let Ok(mut admin) = lab.session("contoso\\Administrator").await else {
                    return;
                };
                for i in 0.. {
                    let name = format!("m{round}x{i}");
                    sent.lock().unwrap().push(name.clone());
                    if admin
                        .run(&format!("New-Mailbox -Name {name}"))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    acked.lock().unwrap().push(name);
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        node.start_kill().unwrap(); // SIGKILL
        node.wait().await.unwrap();
        writer.await.unwrap();
        let acked = acked.lock().unwrap().clone();
        let sent = sent.lock().unwrap().clone();
        eprintln!(
            "round {round}: killed after {delay_ms} ms, {} acknowledged of {} sent",
            acked.len(),
            sent.len()
        );
        if !acked.is_empty() {
            kills_mid_stream += 1;
        }
        acknowledged.extend(acked.iter().map(|n| n.to_ascii_lowercase()));
        attempted.extend(sent.iter().map(|n| n.to_ascii_lowercase()));

        let stored = stored_mailboxes(&config).await;
        let lost: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged but lost: {lost:?}"
        );
        let invented: Vec<_> = stored.difference(&attempted).collect();
        assert!(
            invented.is_empty(),
            "round {round}: never sent: {invented:?}"
        );
        // At most the one request in flight when the node died is stored
        // without having been acknowledged.
        assert!(stored.len() <= acknowledged.len() + round + 1);
    }
    assert!(
        kills_mid_stream >= 5,
        "only {kills_mid_stream} kills happened mid-stream"
    );
    // The node starts on what the last kill left, and serves it.
    let mut node = start_node(&config_file, &ready).await;
    let mut admin = lab.session("contoso\\Administrator").await.unwrap();
    let listed = admin
        .run("Get-Mailbox -ResultSize Unlimited")
        .await
        .unwrap();
    assert!(listed.records.len() >= acknowledged.len());
    node.start_kill().unwrap();
    node.wait().await.unwrap();
}
