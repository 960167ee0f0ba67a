//! The row-store conformance suite: the same tests, run by every node kind
//! against every implementation of [`RowStore`] (a new store is done when
//! this suite passes for it). A node's conformance file runs it with
//! [`crate::row_store_conformance!`] and adds tests of its typed layer,
//! using the same harnesses ([`embedded`], [`postgres`]).
//!
//! The PostgreSQL run needs `CROSSFOREST_TEST_POSTGRES`; each test gets a
//! schema of its own.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;

use super::embedded::EmbeddedStore;
use super::postgres::PostgresStore;
use super::{Delta, Row, RowChanges, RowLayout, RowStore, StoreError};

/// How a test reaches one implementation.
#[async_trait]
pub trait Harness: Send + Sync {
    /// Whose rows.
    type Layout: RowLayout;
    /// A handle on the store (another connection where the store allows it).
    async fn open(&self) -> Result<Arc<dyn RowStore<Layout = Self::Layout>>, StoreError>;
    /// Ends every listening connection of the store on the server, as a
    /// database restart or failover does (shared stores only).
    async fn drop_listeners(&self) {}
    /// Pretends a newer binary migrated the store to `version`.
    async fn set_schema_version(&self, version: u32);
    /// Whether several processes share the store (and see each other's changes).
    fn shared(&self) -> bool;
}

/// The embedded store in a temporary directory.
pub struct Embedded<L: RowLayout> {
    dir: tempfile::TempDir,
    open: Mutex<Weak<EmbeddedStore<L>>>,
}

impl<L: RowLayout> Embedded<L> {
    /// The data directory holding the database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

#[async_trait]
impl<L: RowLayout> Harness for Embedded<L> {
    type Layout = L;
    async fn open(&self) -> Result<Arc<dyn RowStore<Layout = L>>, StoreError> {
        // One process opens the file once: handles share that instance.
        let mut open = self.open.lock().unwrap();
        if let Some(store) = open.upgrade() {
            return Ok(store);
        }
        let store = Arc::new(EmbeddedStore::open(&EmbeddedStore::<L>::path(
            self.dir.path(),
        ))?);
        *open = Arc::downgrade(&store);
        Ok(store)
    }
    async fn set_schema_version(&self, version: u32) {
        let store = EmbeddedStore::<L>::open(&EmbeddedStore::<L>::path(self.dir.path())).unwrap();
        store.set_schema_version(u64::from(version)).unwrap();
    }
    fn shared(&self) -> bool {
        false
    }
}

/// A harness on a fresh embedded store.
pub fn embedded<L: RowLayout>() -> Option<Embedded<L>> {
    Some(Embedded {
        dir: tempfile::tempdir().unwrap(),
        open: Mutex::new(Weak::new()),
    })
}

/// A fresh schema on the test PostgreSQL server.
pub struct Postgres<L: RowLayout> {
    url: String,
    schema: String,
    layout: PhantomData<fn() -> L>,
}

#[async_trait]
impl<L: RowLayout> Harness for Postgres<L> {
    type Layout = L;
    async fn open(&self) -> Result<Arc<dyn RowStore<Layout = L>>, StoreError> {
        Ok(Arc::new(
            PostgresStore::<L>::connect(&self.url, &self.schema).await?,
        ))
    }
    async fn drop_listeners(&self) {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let ended = client
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&format!("{} listener {}", L::NODE, self.schema)],
            )
            .await
            .unwrap();
        assert!(ended > 0, "no listening connection to end");
        // Until the server has ended them (no notification reaches them).
        let name = format!("{} listener {}", L::NODE, self.schema);
        for _ in 0..1000 {
            let left: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                    &[&name],
                )
                .await
                .unwrap()
                .get(0);
            if left == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        panic!("the listening connections did not end");
    }
    async fn set_schema_version(&self, version: u32) {
        let store = PostgresStore::<L>::connect(&self.url, &self.schema)
            .await
            .unwrap();
        store
            .set_schema_version(i32::try_from(version).unwrap())
            .await
            .unwrap();
    }
    fn shared(&self) -> bool {
        true
    }
}

/// A harness on a fresh schema of the test PostgreSQL server; `None` (the
/// test is skipped, saying so) when none is configured and none is required.
pub fn postgres<L: RowLayout>() -> Option<Postgres<L>> {
    let url = super::testing::postgres_url(&format!("{} PostgreSQL store conformance", L::NODE))
        .unwrap()?;
    Some(Postgres {
        url,
        schema: super::testing::unique_schema("conformance"),
        layout: PhantomData,
    })
}

fn row(kind: &'static str, key: &str, body: serde_json::Value) -> Row {
    Row {
        kind,
        key: key.to_owned(),
        body: body.to_string(),
    }
}

fn upserts(rows: Vec<Row>) -> RowChanges {
    RowChanges {
        upserts: rows,
        deletes: Vec::new(),
    }
}

/// The rows a store holds, as `(kind, key)` → JSON value (bodies compared as
/// JSON: PostgreSQL normalises their text).
type Contents = BTreeMap<(String, String), serde_json::Value>;

fn contents(delta: Delta) -> (u64, Contents) {
    let rows = delta
        .upserts
        .into_iter()
        .map(|(kind, key, body)| ((kind, key), serde_json::from_str(&body).unwrap()))
        .collect();
    (delta.revision, rows)
}

fn with_delta(mut base: Contents, mut delta: Delta) -> Contents {
    for (kind, key) in std::mem::take(&mut delta.deletes) {
        base.remove(&(kind, key));
    }
    base.extend(contents(delta).1);
    base
}

/// Revision 1: a header row and two items.
async fn first(store: &dyn RowStore<Layout = impl RowLayout>) -> u64 {
    store
        .apply(
            0,
            upserts(vec![
                row("header", "", serde_json::json!({ "items": 2 })),
                row("item", "a", serde_json::json!({ "n": 1 })),
                row("item", "b", serde_json::json!({ "n": 2 })),
            ]),
        )
        .await
        .unwrap()
}

/// An empty store holds no rows at revision 0.
pub async fn empty_store_holds_nothing(h: impl Harness) {
    let store = h.open().await.unwrap();
    assert_eq!(store.rows().await.unwrap(), Delta::default());
    assert_eq!(store.revision().await.unwrap(), 0);
}

/// The first write makes revision 1, once.
pub async fn the_first_write_is_revision_one_once(h: impl Harness) {
    let store = h.open().await.unwrap();
    assert_eq!(first(&*store).await, 1);
    let again = store
        .apply(0, upserts(vec![row("item", "c", serde_json::json!({}))]))
        .await;
    assert_eq!(again, Err(StoreError::Exists(1)));
    let (revision, rows) = contents(store.rows().await.unwrap());
    assert_eq!(revision, 1);
    assert_eq!(rows.len(), 3);
}

/// Upserts replace, deletes remove, and the revision goes up by one.
pub async fn writes_and_deletes_are_stored(h: impl Harness) {
    let store = h.open().await.unwrap();
    first(&*store).await;
    let changes = RowChanges {
        upserts: vec![
            row("item", "a", serde_json::json!({ "n": 10 })),
            row("item", "c", serde_json::json!({ "n": 3 })),
        ],
        deletes: vec![("item", "b".to_owned())],
    };
    assert_eq!(store.apply(1, changes).await.unwrap(), 2);
    assert_eq!(store.revision().await.unwrap(), 2);
    let (revision, rows) = contents(store.rows().await.unwrap());
    assert_eq!(revision, 2);
    let items: Vec<_> = rows.iter().filter(|((k, _), _)| k == "item").collect();
    assert_eq!(
        items,
        vec![
            (
                &("item".to_owned(), "a".to_owned()),
                &serde_json::json!({ "n": 10 })
            ),
            (
                &("item".to_owned(), "c".to_owned()),
                &serde_json::json!({ "n": 3 })
            ),
        ]
    );
}

/// A write computed on an older revision fails and changes nothing.
pub async fn a_stale_write_conflicts_and_changes_nothing(h: impl Harness) {
    let store = h.open().await.unwrap();
    first(&*store).await;
    store
        .apply(1, upserts(vec![row("item", "c", serde_json::json!({}))]))
        .await
        .unwrap();
    let before = store.rows().await.unwrap();
    let stale = RowChanges {
        upserts: vec![row("item", "d", serde_json::json!({}))],
        deletes: vec![("item", "a".to_owned())],
    };
    assert_eq!(
        store.apply(1, stale).await,
        Err(StoreError::Conflict {
            expected: 1,
            actual: 2
        })
    );
    assert_eq!(contents(store.rows().await.unwrap()), contents(before));
}

/// Two writes on one revision through two handles: exactly one wins.
pub async fn concurrent_writes_on_one_revision_one_wins(h: impl Harness) {
    let a = h.open().await.unwrap();
    let b = h.open().await.unwrap();
    first(&*a).await;
    let (ra, rb) = tokio::join!(
        a.apply(1, upserts(vec![row("item", "x", serde_json::json!({}))])),
        b.apply(1, upserts(vec![row("item", "y", serde_json::json!({}))]))
    );
    let won = match (ra, rb) {
        (Ok(2), Err(StoreError::Conflict { .. })) => "x",
        (Err(StoreError::Conflict { .. }), Ok(2)) => "y",
        other => panic!("exactly one write must win: {other:?}"),
    };
    let (revision, rows) = contents(a.rows().await.unwrap());
    assert_eq!(revision, 2);
    let items: Vec<&str> = rows
        .keys()
        .filter(|(k, key)| k == "item" && key != "a" && key != "b")
        .map(|(_, key)| key.as_str())
        .collect();
    assert_eq!(items, vec![won]);
}

/// A read never sees half a write: each write adds an item and the header's
/// count together.
pub async fn reads_see_one_revision_whole(h: impl Harness) {
    let writer = h.open().await.unwrap();
    let reader = h.open().await.unwrap();
    first(&*writer).await;
    let writes = async {
        for i in 1..=20u64 {
            let changes = upserts(vec![
                row("header", "", serde_json::json!({ "items": 2 + i })),
                row("item", &format!("n{i}"), serde_json::json!({ "n": i })),
            ]);
            writer.apply(i, changes).await.unwrap();
        }
    };
    let reads = async {
        for _ in 0..40 {
            let (revision, rows) = contents(reader.rows().await.unwrap());
            let items = rows.keys().filter(|(k, _)| k == "item").count() as u64;
            let header = &rows[&("header".to_owned(), String::new())];
            assert_eq!(header["items"], serde_json::json!(items));
            assert_eq!(items, revision + 1);
            tokio::task::yield_now().await;
        }
    };
    tokio::join!(writes, reads);
}

/// What a write stored is there after the store is opened again.
pub async fn writes_survive_reopening(h: impl Harness) {
    let stored = {
        let store = h.open().await.unwrap();
        first(&*store).await;
        store
            .apply(1, upserts(vec![row("item", "c", serde_json::json!({}))]))
            .await
            .unwrap();
        contents(store.rows().await.unwrap())
    };
    let store = h.open().await.unwrap();
    assert_eq!(contents(store.rows().await.unwrap()), stored);
    assert_eq!(stored.0, 2);
}

/// A schema a newer binary migrated to is refused with a clear message.
pub async fn a_newer_schema_is_refused<H: Harness>(h: H) {
    drop(h.open().await.unwrap());
    h.set_schema_version(99).await;
    let error = h.open().await.unwrap_err();
    assert!(
        matches!(error, StoreError::NewerSchema { found: 99, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    let node = <H::Layout as RowLayout>::NODE;
    assert!(
        message.contains("schema is version 99")
            && message.contains(&format!("this {node} knows up to"))
            && message.contains("upgrade the binary"),
        "{message}"
    );
}

/// The rows changed since any revision turn that revision into the latest
/// (a shared store must tell them).
pub async fn changes_since_rebuild_the_latest_revision(h: impl Harness) {
    let store = h.open().await.unwrap();
    let mut revisions = Vec::new();
    first(&*store).await;
    revisions.push(contents(store.rows().await.unwrap()).1);
    let steps = [
        RowChanges {
            upserts: vec![row("item", "c", serde_json::json!({ "n": 3 }))],
            deletes: vec![],
        },
        RowChanges {
            upserts: vec![row("header", "", serde_json::json!({ "items": 1 }))],
            deletes: vec![("item", "a".to_owned()), ("item", "c".to_owned())],
        },
        // Deleted, then written again.
        RowChanges {
            upserts: vec![row("item", "a", serde_json::json!({ "n": 11 }))],
            deletes: vec![],
        },
    ];
    for (i, step) in steps.into_iter().enumerate() {
        store.apply(i as u64 + 1, step).await.unwrap();
        revisions.push(contents(store.rows().await.unwrap()).1);
    }
    let latest = revisions[3].clone();
    for (since, base) in revisions.into_iter().enumerate() {
        let since = since as u64 + 1;
        match store.changes_since(since).await.unwrap() {
            None => assert!(!h.shared(), "a shared store must tell what changed"),
            Some(delta) => {
                assert_eq!(delta.revision, 4);
                assert_eq!(with_delta(base, delta), latest, "from revision {since}");
            }
        }
    }
}

/// `contents` with `changes` applied, as a store applies them.
fn model(mut contents: Contents, changes: &RowChanges) -> Contents {
    for (kind, key) in &changes.deletes {
        contents.remove(&((*kind).to_owned(), key.clone()));
    }
    for row in &changes.upserts {
        contents.insert(
            (row.kind.to_owned(), row.key.clone()),
            serde_json::from_str(&row.body).unwrap(),
        );
    }
    contents
}

/// Several changes in one transaction (group commit): they become
/// consecutive revisions at once, each exact for `changes_since` (a shared
/// store), and a batch computed on an older revision changes nothing.
pub async fn a_batch_makes_consecutive_revisions_at_once(h: impl Harness) {
    let store = h.open().await.unwrap();
    first(&*store).await;
    let batch = vec![
        RowChanges {
            upserts: vec![row("item", "c", serde_json::json!({ "n": 3 }))],
            deletes: vec![],
        },
        RowChanges {
            upserts: vec![row("header", "", serde_json::json!({ "items": 1 }))],
            deletes: vec![("item", "a".to_owned()), ("item", "c".to_owned())],
        },
        // Deleted, then written again, in the same transaction.
        RowChanges {
            upserts: vec![row("item", "a", serde_json::json!({ "n": 11 }))],
            deletes: vec![],
        },
    ];
    let mut at = vec![contents(store.rows().await.unwrap()).1];
    for changes in &batch {
        let next = model(at.last().unwrap().clone(), changes);
        at.push(next);
    }
    assert_eq!(store.apply_batch(1, batch).await.unwrap(), 4);
    assert_eq!(store.revision().await.unwrap(), 4);
    let latest = at[3].clone();
    assert_eq!(contents(store.rows().await.unwrap()), (4, latest.clone()));
    for (i, base) in at.into_iter().enumerate() {
        let since = i as u64 + 1;
        match store.changes_since(since).await.unwrap() {
            None => assert!(!h.shared(), "a shared store must tell what changed"),
            Some(delta) => {
                assert_eq!(delta.revision, 4);
                assert_eq!(with_delta(base, delta), latest, "from revision {since}");
            }
        }
    }
    let stale = vec![
        upserts(vec![row("item", "x", serde_json::json!({}))]),
        upserts(vec![row("item", "y", serde_json::json!({}))]),
    ];
    assert_eq!(
        store.apply_batch(2, stale).await,
        Err(StoreError::Conflict {
            expected: 2,
            actual: 4
        })
    );
    assert_eq!(contents(store.rows().await.unwrap()), (4, latest));
    // The next change follows the batch.
    assert_eq!(
        store
            .apply(4, upserts(vec![row("item", "z", serde_json::json!({}))]))
            .await
            .unwrap(),
        5
    );
}

/// Another handle's write is announced (shared stores only).
pub async fn other_handles_are_told_of_writes(h: impl Harness) {
    a_write_is_announced(&h, false).await;
}

/// A listener whose connection the database ends (a restart, a failover)
/// connects again and announces the revision the store has then: a write
/// made meanwhile is announced without another write (shared stores only).
pub async fn a_dropped_listener_listens_again_and_announces(h: impl Harness) {
    a_write_is_announced(&h, true).await;
}

/// One handle watches, another writes (after the listeners were ended, with
/// `drop_listeners`): the watcher is told of the write.
async fn a_write_is_announced(h: &impl Harness, drop_listeners: bool) {
    if !h.shared() {
        // One process owns the store: there is no one else to tell.
        return;
    }
    let a = h.open().await.unwrap();
    let b = h.open().await.unwrap();
    first(&*a).await;
    let mut announced = a.watch().await.unwrap();
    if drop_listeners {
        h.drop_listeners().await;
    }
    b.apply(1, upserts(vec![row("item", "c", serde_json::json!({}))]))
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while *announced.borrow_and_update() < 2 {
            announced
                .changed()
                .await
                .expect("the listener gave up instead of listening again");
        }
    })
    .await
    .expect("the write was never announced");
}

/// Runs the row-store conformance suite for `$layout` against the embedded
/// and the PostgreSQL store (modules `embedded_rows` and `postgres_rows`).
#[macro_export]
macro_rules! row_store_conformance {
    ($layout:ty) => {
        $crate::row_store_conformance!(@store embedded_rows, embedded, $layout);
        $crate::row_store_conformance!(@store postgres_rows, postgres, $layout);
    };
    (@store $module:ident, $harness:ident, $layout:ty) => {
        mod $module {
            $crate::row_store_conformance!(@cases $harness, $layout,
                empty_store_holds_nothing,
                the_first_write_is_revision_one_once,
                writes_and_deletes_are_stored,
                a_stale_write_conflicts_and_changes_nothing,
                concurrent_writes_on_one_revision_one_wins,
                reads_see_one_revision_whole,
                writes_survive_reopening,
                a_newer_schema_is_refused,
                changes_since_rebuild_the_latest_revision,
                a_batch_makes_consecutive_revisions_at_once,
                other_handles_are_told_of_writes,
                a_dropped_listener_listens_again_and_announces
            );
        }
    };
    (@cases $harness:ident, $layout:ty, $($name:ident),+) => {
        $(
            #[tokio::test]
            async fn $name() {
                use $crate::store::conformance as suite;
                if let Some(h) = suite::$harness::<$layout>() {
                    suite::$name(h).await;
                }
            }
        )+
    };
}

/// Runs a node's own typed conformance cases against each of its stores:
/// `typed_store_conformance!([embedded, postgres], (case_a, case_b))` makes a
/// module per store with a test per case, each calling `super::<case>(h)`
/// with the harness `super::<store>()` returns (none: the store is skipped).
#[macro_export]
macro_rules! typed_store_conformance {
    ([$($store:ident),+ $(,)?], $cases:tt) => {
        $( $crate::typed_store_conformance!(@store $store $cases); )+
    };
    (@store $store:ident ($($name:ident),+ $(,)?)) => {
        mod $store {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(h) = super::$store() {
                        super::$name(h).await;
                    }
                }
            )+
        }
    };
}
