//! The request path (issue 15) on a node in this process: a change and its
//! audit record are one (R-AUDIT-3) whatever happens to the request — a
//! caller that stops waiting at any point, a crash between the store and the
//! audit log, a record cut in half — and the caller is the same subject on
//! every path. The node keeps its organization in the scenarios' store
//! (`CROSSFOREST_TEST_STORE`).

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::task::Poll;

use resource_forest::audit::AuditRecord;
use resource_forest::cmdlets::Value;
use resource_forest::config::NodeConfig;
use resource_forest::init::{init, InitOptions};
use resource_forest::node::ResourceForest;
use resource_forest::trust::authenticate::Caller;

fn node_config(dir: &Path) -> NodeConfig {
    init(&InitOptions {
        dir: dir.join("contoso"),
        forest: "contoso.com".parse().unwrap(),
        domain_sid: "S-1-5-21-10-20-30".parse().unwrap(),
        listen: "127.0.0.1:1".into(),
        organizational_units: Vec::new(),
        trusts: Vec::new(),
        active_directory_split_permissions: false,
        store: resource_forest::store::testing::scenario_store().unwrap(),
    })
    .unwrap()
}

async fn node(dir: &Path) -> (Arc<ResourceForest>, Caller) {
    let config = node_config(dir);
    let caller = resource_forest::cli::administrator(&config);
    (ResourceForest::load(config).await.unwrap(), caller)
}

fn new_mailbox(name: &str) -> Vec<(String, Value)> {
    vec![("Name".into(), Value::Text(name.into()))]
}

/// The `Allowed` New-Mailbox records of the audit log, by mailbox name.
fn created(node: &ResourceForest) -> Vec<(String, AuditRecord)> {
    node.audit()
        .read_all()
        .unwrap()
        .into_iter()
        .filter(|r| r.cmdlet_name == "New-Mailbox" && r.succeeded)
        .map(|r| (r.cmdlet_parameters["Name"].clone(), r))
        .collect()
}

fn exists(node: &ResourceForest, name: &str) -> bool {
    node.store().snapshot().org.mailbox(name).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_at_any_point_leaves_its_change_and_record_both_or_neither() {
    let dir = tempfile::tempdir().unwrap();
    let (node, caller) = node(dir.path()).await;
    for stop_after in 0..40usize {
        let name = format!("cancelled{stop_after}");
        // The request future, polled by hand: `stop_after` polls with the
        // runtime free to move the request on between them, then dropped,
        // as a client that cancels or whose deadline passes.
        let mut request =
            tokio_test::task::spawn(node.invoke(&caller, "New-Mailbox", new_mailbox(&name)));
        let mut answered = false;
        for _ in 0..stop_after {
            if let Poll::Ready(result) = request.poll() {
                result.unwrap();
                answered = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        drop(request);
        node.quiesce().await;
        let records: Vec<_> = created(&node)
            .into_iter()
            .filter(|(n, _)| *n == name)
            .collect();
        let visible = exists(&node, &name);
        assert!(
            records.len() == usize::from(visible),
            "stopped after {stop_after} polls: mailbox visible = {visible}, {} record(s)",
            records.len()
        );
        if answered {
            assert!(visible, "acknowledged but absent: {name}");
        }
        if let Some((_, record)) = records.first() {
            assert!(
                record.revision.is_some(),
                "a change's record names its revision"
            );
        }
    }
    // Dropped before its first poll, a request never started.
    assert!(!exists(&node, "cancelled0"));
    // Once polled, it ran to the end.
    assert!(exists(&node, "cancelled39"));
}

#[tokio::test]
async fn a_change_whose_record_a_crash_kept_from_the_log_is_audited_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = node_config(dir.path());
    let caller = resource_forest::cli::administrator(&config);
    let node = ResourceForest::load(config.clone()).await.unwrap();
    node.invoke(&caller, "New-Mailbox", new_mailbox("kept"))
        .await
        .unwrap();
    let audit_file = config.audit_file();
    let full = std::fs::read_to_string(&audit_file).unwrap();
    drop(node);
    // The crash: the log lost its last record, and the one before that was
    // only half written; the store has the change and its outbox row.
    let lines: Vec<&str> = full.lines().collect();
    let (last, earlier) = lines.split_last().unwrap();
    let mut cut = earlier.join("\n");
    cut.push('\n');
    cut.push_str(&last[..last.len() / 2]);
    std::fs::write(&audit_file, &cut).unwrap();

    let node = ResourceForest::load(config.clone()).await.unwrap();
    let records = created(&node);
    assert_eq!(
        records.iter().filter(|(n, _)| n == "kept").count(),
        1,
        "{records:?}"
    );
    assert!(exists(&node, "kept"));
    // A second start replays nothing more, and the next change's commit
    // deletes the delivered outbox rows.
    node.invoke(&caller, "New-Mailbox", new_mailbox("after"))
        .await
        .unwrap();
    drop(node);
    let node = ResourceForest::load(config).await.unwrap();
    let records = created(&node);
    assert_eq!(records.iter().filter(|(n, _)| n == "kept").count(), 1);
    assert_eq!(records.iter().filter(|(n, _)| n == "after").count(), 1);
    let revisions: Vec<_> = records.iter().map(|(_, r)| r.revision).collect();
    let mut sorted = revisions.clone();
    sorted.sort();
    assert_eq!(revisions, sorted, "change records in revision order");
}

#[tokio::test]
async fn reads_and_refusals_name_no_revision_and_only_changes_do() {
    let dir = tempfile::tempdir().unwrap();
    let (node, caller) = node(dir.path()).await;
    node.invoke(&caller, "New-Mailbox", new_mailbox("one"))
        .await
        .unwrap();
    node.invoke(&caller, "Get-Mailbox", Vec::new())
        .await
        .unwrap();
    node.invoke(&caller, "New-Mailbox", new_mailbox("one"))
        .await
        .unwrap_err();
    let records = node.audit().read_all().unwrap();
    let revisions: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.cmdlet_name.as_str(),
                r.decision.as_str(),
                r.revision.is_some(),
            )
        })
        .collect();
    // An allowed read is not logged by default (R-AUDIT-2); a failed write is.
    assert_eq!(
        revisions[revisions.len() - 2..],
        [
            ("New-Mailbox", "Allowed", true),
            ("New-Mailbox", "Failed", false)
        ]
    );
    assert!(!revisions
        .iter()
        .any(|(cmdlet, ..)| *cmdlet == "Get-Mailbox"));
}

#[cfg(unix)]
#[tokio::test]
async fn keys_store_and_audit_log_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = node_config(dir.path());
    let caller = resource_forest::cli::administrator(&config);
    let node = ResourceForest::load(config.clone()).await.unwrap();
    node.invoke(&caller, "New-Mailbox", new_mailbox("private"))
        .await
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&config.audit_file()), 0o600);
    assert_eq!(mode(&config.data_dir), 0o700);
    assert_eq!(mode(&config.pki_dir), 0o700);
    if config.store.is_embedded() {
        assert_eq!(mode(&config.data_dir.join("organization.redb")), 0o600);
    }
    let loose = crossforest_shared::private::loose(&[&config.data_dir, &config.pki_dir]);
    assert!(loose.is_empty(), "{loose:?}");
}

#[tokio::test]
async fn names_that_disguise_what_they_say_are_refused_naming_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let (node, caller) = node(dir.path()).await;
    for name in [
        "admin\u{202E}nimda",
        "dana\u{200B}",
        "x\u{2066}y",
        "line\nbreak",
    ] {
        let error = node
            .invoke(&caller, "New-Mailbox", new_mailbox(name))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, resource_forest::cmdlets::CmdletError::InvalidValue { parameter, .. } if parameter == "Name"),
            "{name:?}: {error:?}"
        );
        assert!(!exists(&node, name));
    }
    // Names in other scripts are names.
    node.invoke(&caller, "New-Mailbox", new_mailbox("Zoë Ñúñez 山田"))
        .await
        .unwrap();
}

/// A what-if changes nothing, so it must not wait for, nor hold, the writer
/// lock: a caller planning a large change (a permission model, setup
/// `--what-if`) never stands in the way of writers. Here a writer holds the
/// lock throughout; both plans still answer. (The timeout only turns a
/// deadlock into a failure; it measures nothing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_what_if_neither_waits_for_nor_holds_the_writer_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (node, caller) = node(dir.path()).await;
    let guard = node.store().lock().await;
    let deadlock = std::time::Duration::from_secs(120);
    let planned = tokio::time::timeout(deadlock, node.prepare_ad(&caller, Some(true), true))
        .await
        .expect("the what-if of /PrepareAD waited for the writer lock")
        .unwrap();
    assert!(!planned.1.is_empty(), "it says what it would change");
    let model = "[Model]\nOrganization = \"contoso.com\"\nBase = \"exchange-2013\"\n";
    let plan = tokio::time::timeout(
        deadlock,
        node.apply_model(&caller, "m.toml", model, true, None),
    )
    .await
    .expect("a model plan waited for the writer lock");
    assert!(plan.is_ok(), "{:?}", plan.err());
    drop(guard);
}
