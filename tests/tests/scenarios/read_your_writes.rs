//! One organization on three resource-forest nodes over one PostgreSQL
//! schema (issue 20): every answer carries the revision it was decided at;
//! a request asks for "that revision or later" (`at_least_revision`, sent by
//! every session of the federation from the highest revision any has seen),
//! a node behind waits for it, bounded, and past the wait answers
//! FAILED_PRECONDITION naming both revisions. Needs
//! `CROSSFOREST_TEST_POSTGRES`; skipped (with a message) without it unless
//! `CROSSFOREST_REQUIRE_POSTGRES=1`.

use crossforest_shared::proto::management::v1::CheckRequest;
use crossforest_shared::serve::status::EdgeError;
use crossforest_tests::{ErrorCode, Federation};
use resource_forest::store::testing;

/// Three resource-forest nodes on one PostgreSQL schema; `None` (skipped)
/// without PostgreSQL.
async fn three_nodes(test: &str) -> Option<Federation> {
    testing::postgres_url(test).unwrap()?;
    Some(
        Federation::builder()
            .resource_nodes(3)
            .start()
            .await
            .unwrap(),
    )
}

const ADMIN: &str = "contoso\\Administrator";

fn check_on(target: &str, at_least_revision: u64) -> CheckRequest {
    CheckRequest {
        cmdlet: "Set-Mailbox".into(),
        parameters: vec!["Identity".into(), "Office".into()],
        target: target.into(),
        write: None,
        at_least_revision,
    }
}

#[tokio::test]
async fn a_write_on_node_0_is_read_at_its_revision_on_node_2() {
    let Some(f) = three_nodes("read-your-writes: node 0 to node 2").await else {
        return;
    };
    // Node 2 follows by notification; held, it stays behind the write.
    lagging(&f, 2).await;
    let mut writer = f.session_on(0, ADMIN).await.unwrap();
    let created = writer.run("New-Mailbox -Name bob").await.unwrap();
    let revision = created.revision();
    assert!(
        revision > 1,
        "a change answers with the revision it produced"
    );
    assert_eq!(writer.revision(), revision);

    // The reader's request asks for the writer's revision: node 2 waits for
    // it and answers at it once it follows again.
    let mut reader = f.session_on(2, ADMIN).await.unwrap();
    let read = tokio::spawn(async move {
        let found = reader.run("Get-Mailbox -Identity bob").await;
        (reader, found)
    });
    wait_until_waiting(&f, 2, 1).await;
    f.resource_node_at(2).unwrap().store().hold_following(false);
    let (mut reader, found) = read.await.unwrap();
    let found = found.unwrap();
    assert_eq!(found.column("Name"), ["bob"]);
    assert!(found.revision() >= revision);

    // Check answers carry their revision too, on every node.
    for node in 0..3 {
        let mut session = f.session_on(node, ADMIN).await.unwrap();
        let checked = session.check(check_on("bob", 0)).await.unwrap();
        assert!(checked.decision.unwrap().allowed);
        assert!(checked.revision >= revision, "node {node}");
    }
    let bulk = reader
        .check_bulk(vec![check_on("bob", 0), check_on("bob", 0)])
        .await
        .unwrap();
    assert!(bulk.revision >= revision);

    // A Check refused on the node's state says which state: the revision
    // travels in the failure's trailer too.
    for refused in [
        reader.cli().check(check_on("nobody", 0)).await.unwrap_err(),
        reader
            .cli()
            .check_bulk(vec![check_on("bob", 0), check_on("nobody", 0)])
            .await
            .unwrap_err(),
    ] {
        let status = refused.status().expect("a status");
        assert_eq!(status.code(), tonic::Code::NotFound, "{}", status.message());
        assert!(EdgeError::revision(status).is_some_and(|at| at >= revision));
    }
}

#[tokio::test]
async fn a_revision_never_committed_is_refused_naming_the_node_revision_after_a_bounded_wait() {
    let Some(f) = three_nodes("read-your-writes: a revision never committed").await else {
        return;
    };
    let mut admin = f.session_on(1, ADMIN).await.unwrap();
    let at = admin.run("Get-Mailbox").await.unwrap().revision();
    let needed = at + 1000;
    let refused = admin
        .cli()
        .check(check_on("", needed))
        .await
        .expect_err("no node has that revision");
    let status = refused.status().expect("a status");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        EdgeError::from_status(status).map(|e| e.code()),
        Some(ErrorCode::RevisionNotReached)
    );
    assert_eq!(EdgeError::revision(status), Some(at));
    assert!(
        status.message().starts_with(&format!(
            "contoso.com is at revision {at}; the request needs at least {needed}"
        )),
        "{}",
        status.message()
    );
    // The wait ended: nothing stays parked.
    assert_eq!(f.resource_node_at(1).unwrap().waiting().len(), 0);

    // One caller cannot park more than its share of waiting requests: the
    // next one is refused at once, naming both revisions.
    let max = f
        .resource_node_at(1)
        .unwrap()
        .config()
        .revision_wait
        .max_waiting_per_caller;
    let parked: Vec<_> = (0..max)
        .map(|_| {
            let mut session = admin.cli().clone();
            tokio::spawn(async move { session.check(check_on("", needed)).await })
        })
        .collect();
    wait_until_waiting(&f, 1, max).await;
    let busy = admin.cli().check(check_on("", needed)).await.unwrap_err();
    let status = busy.status().unwrap();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(
        status.message().contains(&format!(
            "{max} requests of this caller wait for a revision already"
        )),
        "{}",
        status.message()
    );
    for request in parked {
        assert_eq!(
            request.await.unwrap().unwrap_err().status().unwrap().code(),
            tonic::Code::FailedPrecondition
        );
    }
}

#[tokio::test]
async fn a_stale_follower_makes_the_reader_wait_until_it_catches_up() {
    let Some(f) = three_nodes("read-your-writes: a stale follower").await else {
        return;
    };
    let follower = f.resource_node_at(1).unwrap();
    lagging(&f, 1).await;
    let before = follower.store().snapshot().revision;
    let mut writer = f.session_on(0, ADMIN).await.unwrap();
    let revision = writer
        .run("New-Mailbox -Name carol")
        .await
        .unwrap()
        .revision();
    assert!(revision > before);

    let mut reader = f.session_on(1, ADMIN).await.unwrap();
    let read = tokio::spawn(async move { reader.check(check_on("carol", 0)).await });
    wait_until_waiting(&f, 1, 1).await;
    // Still waiting: the follower serves the revision it had.
    assert_eq!(
        f.resource_node_at(1).unwrap().store().snapshot().revision,
        before
    );
    assert!(!read.is_finished());

    f.resource_node_at(1).unwrap().store().hold_following(false);
    let answered = read.await.unwrap().unwrap();
    assert!(answered.revision >= revision);
    assert!(answered.decision.unwrap().allowed);
}

/// Makes node `index` a follower that lags: once it has followed a change
/// (so it is past its first look at the store), it follows no more until
/// `hold_following(false)`.
async fn lagging(f: &Federation, index: usize) {
    let mut admin = f.session_on(0, ADMIN).await.unwrap();
    let revision = admin
        .run("New-Mailbox -Name followed")
        .await
        .unwrap()
        .revision();
    let node = f.resource_node_at(index).unwrap().store();
    node.at_least(revision, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    node.hold_following(true);
}

/// Waits until `count` requests wait for a revision on node `index`.
async fn wait_until_waiting(f: &Federation, index: usize, count: usize) {
    let node = f.resource_node_at(index).unwrap();
    for _ in 0..2000 {
        if node.waiting().len() == count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!(
        "{count} requests never waited on node {index} ({} do)",
        node.waiting().len()
    );
}
