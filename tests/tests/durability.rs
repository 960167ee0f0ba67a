//! Acknowledged writes are durable (issue 6): a real node process takes a
//! stream of writes and is killed with SIGKILL at varied points; after each
//! kill its store holds every acknowledged change and no partial one, and the
//! node starts again on it. Both node kinds run on the store the scenarios
//! use (`CROSSFOREST_TEST_STORE`: embedded by default, or PostgreSQL).

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossforest_cli::lab::Lab;
use crossforest_cli::node_process::{NodeBinaries, NodeKind, NodeProcess};
use crossforest_shared::ForestName;
use resource_forest::config::NodeConfig;

/// The node programs: this crate's `crossforest-node`, which serves a node
/// exactly as `resource-forest serve` or `account-forest serve`.
fn binaries() -> NodeBinaries {
    NodeBinaries::Combined(env!("CARGO_BIN_EXE_crossforest-node").into())
}

/// Starts `forest`'s node of `lab` as a process and waits until it listens.
async fn start_node(lab: &Lab, kind: NodeKind, forest: &ForestName) -> NodeProcess {
    NodeProcess::start(&binaries(), kind, forest.clone(), &lab.node_dir(forest))
        .await
        .unwrap()
}

/// Names sent and names acknowledged by one writer.
#[derive(Clone, Default)]
struct Stream {
    sent: Arc<Mutex<Vec<String>>>,
    acked: Arc<Mutex<Vec<String>>>,
}

impl Stream {
    /// The next name to write, recorded as sent.
    fn next(&self, prefix: &str) -> String {
        let mut sent = self.sent.lock().unwrap();
        let name = format!("{prefix}x{}", sent.len());
        sent.push(name.clone());
        name
    }

    /// Records `name` as acknowledged.
    fn ack(&self, name: String) {
        self.acked.lock().unwrap().push(name);
    }
}

/// Kills the `kind` node at many points while `writer(round, stream)` streams
/// writes into it; after each kill, `stored()` (read from the node's files or
/// database) must hold every acknowledged name and only names that were sent.
/// Finally starts the node once more on what the last kill left.
async fn kill_during_writes<W, S, SF>(
    lab: &Lab,
    kind: NodeKind,
    forest: &ForestName,
    writer: W,
    stored: S,
) where
    W: Fn(usize, Stream) -> tokio::task::JoinHandle<()>,
    S: Fn() -> SF,
    SF: Future<Output = BTreeSet<String>>,
{
    let mut acknowledged = BTreeSet::new();
    let mut attempted = BTreeSet::new();
    let mut kills_mid_stream = 0;
    // Kill points: from right after start-up to well into the stream.
    for (round, delay_ms) in [0u64, 20, 60, 120, 200, 300, 450, 650, 900, 1200]
        .into_iter()
        .enumerate()
    {
        let mut node = start_node(lab, kind, forest).await;
        let stream = Stream::default();
        let writing = writer(round, stream.clone());
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        node.kill().await.unwrap(); // SIGKILL
        writing.await.unwrap();
        let acked = stream.acked.lock().unwrap().clone();
        let sent = stream.sent.lock().unwrap().clone();
        eprintln!(
            "{kind} round {round}: killed after {delay_ms} ms, {} acknowledged of {} sent",
            acked.len(),
            sent.len(),
            kind = kind.name()
        );
        if !acked.is_empty() {
            kills_mid_stream += 1;
        }
        acknowledged.extend(acked.iter().map(|n| n.to_ascii_lowercase()));
        attempted.extend(sent.iter().map(|n| n.to_ascii_lowercase()));

        let stored = stored().await;
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
    start_node(lab, kind, forest).await.kill().await.unwrap();
}

/// Reads the resource forest's store as the node would after a crash, and
/// checks that it is whole: every mailbox's RID was allocated (the recipient
/// row and the organization row were written together) and no SID is used
/// twice.
async fn stored_mailboxes(config: &NodeConfig) -> BTreeSet<String> {
    let store = resource_forest::store::open(&config.store, &config.data_dir)
        .await
        .unwrap();
    let (_, org) = store.load().await.unwrap().unwrap();
    let mut sids = BTreeSet::new();
    for r in org.recipients.values() {
        let rid: u32 = r
            .sid
            .to_string()
            .rsplit('-')
            .next()
            .unwrap()
            .parse()
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
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn crash_at_many_points_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = resource_forest::store::testing::scenario_store().unwrap();
    let lab = crossforest_tests::small_lab(dir.path(), &[], store)
        .await
        .unwrap();
    let config = lab.resource_config().unwrap();
    let writer = |round: usize, stream: Stream| {
        let lab = lab.clone();
        tokio::spawn(async move {
            let Ok(mut admin) = lab.session("contoso\\Administrator").await else {
                return;
            };
            loop {
                let name = stream.next(&format!("m{round}"));
                if admin
                    .run(&format!("New-Mailbox -Name {name}"))
                    .await
                    .is_err()
                {
                    return;
                }
                stream.ack(name);
            }
        })
    };
    kill_during_writes(
        &lab,
        NodeKind::ResourceForest,
        &config.forest,
        writer,
        || stored_mailboxes(&config),
    )
    .await;
    // The node serves what the last kill left.
    let (_stop, mut admin) = serve_again(&lab).await;
    admin
        .run("Get-Mailbox -ResultSize Unlimited")
        .await
        .unwrap();
}

/// The resource forest of `lab` in this process, and an Administrator session.
async fn serve_again(
    lab: &Lab,
) -> (
    tokio::sync::oneshot::Sender<()>,
    crossforest_cli::session::Session,
) {
    let config = lab.resource_config().unwrap();
    let node = resource_forest::node::ResourceForest::load(config.clone())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind(&config.listen).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(resource_forest::server::serve(listener, node, async move {
        let _ = rx.await;
    }));
    (tx, lab.session("contoso\\Administrator").await.unwrap())
}

#[tokio::test]
async fn account_forest_crash_at_many_points_loses_no_acknowledged_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = resource_forest::store::testing::scenario_store().unwrap();
    let lab = crossforest_tests::small_lab(dir.path(), &["fabrikam.com"], store)
        .await
        .unwrap();
    let forest: crossforest_shared::ForestName = "fabrikam.com".parse().unwrap();
    let config = lab.account_config(&forest).unwrap();
    let writer = |round: usize, stream: Stream| {
        let (lab, forest) = (lab.clone(), forest.clone());
        tokio::spawn(async move {
            let Ok(mut admin) = lab.directory_admin(&forest).await else {
                return;
            };
            loop {
                let name = stream.next(&format!("u{round}"));
                if admin.add_user(&name, "Pa55word!").await.is_err() {
                    return;
                }
                stream.ack(name);
            }
        })
    };
    // Read from the store (embedded or PostgreSQL, as the scenarios use) as
    // the node would after the crash.
    let stored = || async {
        let store = account_forest::store::open(&config.store, &config.data_dir)
            .await
            .unwrap();
        let (_, directory) = store.load().await.unwrap().unwrap();
        directory
            .principals()
            .into_iter()
            .map(|p| p.name.to_ascii_lowercase())
            .filter(|n| n.starts_with('u'))
            .collect()
    };
    kill_during_writes(&lab, NodeKind::AccountForest, &forest, writer, stored).await;
}
