//! The directory store conformance suite: the same tests, run against every
//! implementation of `DirectoryStore` (a new store is done when this suite
//! passes for it): the shared row-store suite, then the directory's typed
//! layer. The PostgreSQL run needs `CROSSFOREST_TEST_POSTGRES`; each test
//! gets a schema of its own.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use account_forest::changes::{Resume, RETAINED_CHANGES};
use account_forest::directory::Directory;
use account_forest::store::{Directories, StoreError};
use crossforest_shared::store::conformance::{self, Harness};
use crossforest_shared::store::RowLayout;

fn embedded() -> Option<conformance::Embedded<Directories>> {
    conformance::embedded()
}

fn postgres() -> Option<conformance::Postgres<Directories>> {
    conformance::postgres()
}

/// fabrikam.com with a user, a group holding it, and a replicator.
fn directory() -> Directory {
    let mut d = Directory::new(
        "fabrikam.com".parse().unwrap(),
        "S-1-5-21-4-5-6".parse().unwrap(),
        "P@ssw0rd!",
    )
    .unwrap();
    d.add_user("alice", "pw").unwrap();
    d.add_group("Exchange Admins").unwrap();
    d.add_member("Exchange Admins", "alice").unwrap();
    d.add_user("svc-contoso", "pw").unwrap();
    d.grant_replicating_directory_changes("svc-contoso")
        .unwrap();
    d
}

async fn create_then_load_gives_the_directory_back(h: impl Harness<Layout = Directories>) {
    let store = h.open().await.unwrap();
    assert_eq!(store.load().await.unwrap(), None);
    let d = directory();
    assert_eq!(store.create(&d).await.unwrap(), 1);
    assert_eq!(store.load().await.unwrap(), Some((1, d.clone())));
    assert_eq!(store.create(&d).await, Err(StoreError::Exists(1)));
}

async fn a_change_writes_only_its_rows(h: impl Harness<Layout = Directories>) {
    let store = h.open().await.unwrap();
    let before = directory();
    store.create(&before).await.unwrap();
    let mut after = before.clone();
    after.remove_member("Exchange Admins", "alice").unwrap();
    let changes = Directories::diff(&before, &after).unwrap();
    let mut written: Vec<&str> = changes.upserts.iter().map(|r| r.kind).collect();
    written.sort_unstable();
    // The group, the header (its sequence) and the new change: nothing else.
    assert_eq!(written, vec!["change", "directory", "entry"]);
    assert!(changes.deletes.is_empty());
    assert_eq!(store.commit(1, &before, &after).await.unwrap(), 2);
    assert_eq!(store.load().await.unwrap(), Some((2, after)));
}

async fn removals_are_stored(h: impl Harness<Layout = Directories>) {
    let store = h.open().await.unwrap();
    let before = directory();
    store.create(&before).await.unwrap();
    let replicator = before.lookup("svc-contoso").unwrap().sid;
    assert!(before.may_replicate(&replicator));
    let mut after = before.clone();
    after.remove_principal("svc-contoso").unwrap();
    store.commit(1, &before, &after).await.unwrap();
    let (_, loaded) = store.load().await.unwrap().unwrap();
    assert_eq!(loaded, after);
    assert!(loaded.lookup("svc-contoso").is_err());
    assert!(!loaded.may_replicate(&replicator));
}

async fn a_stale_commit_conflicts_and_changes_nothing(h: impl Harness<Layout = Directories>) {
    let store = h.open().await.unwrap();
    let d = directory();
    store.create(&d).await.unwrap();
    let mut first = d.clone();
    first.add_group("Tier 1").unwrap();
    store.commit(1, &d, &first).await.unwrap();
    let mut stale = d.clone();
    stale.add_group("Tier 2").unwrap();
    assert_eq!(
        store.commit(1, &d, &stale).await,
        Err(StoreError::Conflict {
            expected: 1,
            actual: 2
        })
    );
    assert_eq!(store.load().await.unwrap(), Some((2, first)));
}

async fn the_change_log_is_pruned_in_the_same_commit(h: impl Harness<Layout = Directories>) {
    let store = h.open().await.unwrap();
    let mut d = directory();
    while d.changes().sequence() < RETAINED_CHANGES as u64 {
        d.add_group(&format!("g{}", d.changes().sequence()))
            .unwrap();
    }
    store.create(&d).await.unwrap();
    let mut after = d.clone();
    after.add_group("one more").unwrap();
    store.commit(1, &d, &after).await.unwrap();
    let stored = store.rows().await.unwrap();
    let change_rows = stored.upserts.iter().filter(|(k, _, _)| k == "change");
    assert_eq!(change_rows.count(), RETAINED_CHANGES);
    let (_, loaded) = store.load().await.unwrap().unwrap();
    assert_eq!(loaded, after);
    // Change 1 is gone: a subscriber at 0 must resynchronise.
    assert_eq!(
        loaded.changes().after(0),
        Resume::TooOld { from: 0, oldest: 1 }
    );
}

async fn changes_since_rebuild_the_latest_revision(h: impl Harness<Layout = Directories>) {
    let store = h.open().await.unwrap();
    let r1 = directory();
    store.create(&r1).await.unwrap();
    let mut r2 = r1.clone();
    r2.add_group("Tier 1").unwrap();
    r2.add_member("Tier 1", "Exchange Admins").unwrap();
    store.commit(1, &r1, &r2).await.unwrap();
    let mut r3 = r2.clone();
    r3.remove_principal("alice").unwrap();
    r3.remove_principal("svc-contoso").unwrap();
    store.commit(2, &r2, &r3).await.unwrap();
    let mut r4 = r3.clone();
    r4.add_user("alice", "again").unwrap();
    store.commit(3, &r3, &r4).await.unwrap();
    for (since, base) in [(1, &r1), (2, &r2), (3, &r3), (4, &r4)] {
        match store.changes_since(since).await.unwrap() {
            None => assert!(!h.shared(), "a shared store must tell what changed"),
            Some(delta) => {
                assert_eq!(delta.revision, 4);
                let rebuilt = Directories::apply_delta(base.clone(), delta).unwrap();
                assert_eq!(rebuilt, r4, "from revision {since}");
            }
        }
    }
}

crossforest_shared::typed_store_conformance!(
    [embedded, postgres],
    (
        create_then_load_gives_the_directory_back,
        a_change_writes_only_its_rows,
        removals_are_stored,
        a_stale_commit_conflicts_and_changes_nothing,
        the_change_log_is_pruned_in_the_same_commit,
        changes_since_rebuild_the_latest_revision,
    )
);

crossforest_shared::row_store_conformance!(account_forest::store::Directories);
