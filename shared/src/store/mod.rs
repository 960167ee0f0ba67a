//! Durable row storage shared by every node kind: an embedded store (redb, a
//! file under the node's data directory; the default) and a PostgreSQL store
//! that several processes of one node kind share.
//!
//! A store keeps a node's state as rows (`(kind, key)` → JSON body, see
//! [`Row`]) and a revision that increases by one per change. Reads see one
//! revision whole; a commit names the revision it was computed on and fails
//! with [`StoreError::Conflict`] if another change came first (optimistic
//! concurrency), so every rule checked before a commit held on the state it
//! replaces.
//!
//! What differs between node kinds (their name in messages, file and table
//! names, the NOTIFY channel, an earlier JSON state file to import) is a
//! [`RowLayout`]; each node's typed store (the resource forest's
//! organization, the account forest's directory) is a thin layer that turns
//! its state into rows and back.

pub mod config;
#[cfg(feature = "testing")]
pub mod conformance;
pub mod embedded;
pub mod postgres;
pub mod testing;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

pub use config::StoreConfig;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another change was committed after the revision this one was computed on.
    #[error("the store changed (revision {actual}) after revision {expected} this change was computed on")]
    Conflict {
        /// The revision the change was computed on.
        expected: u64,
        /// The latest revision.
        actual: u64,
    },
    /// A first write (revision 0) on a store that already holds something.
    #[error("the store is not empty (revision {0})")]
    Exists(u64),
    /// The store's schema is newer than this binary.
    #[error("the {store} schema is version {found}; this {node} knows up to {known}; upgrade the binary")]
    NewerSchema {
        /// Which store.
        store: &'static str,
        /// Which node kind (`resource-forest`, `account-forest`).
        node: &'static str,
        /// The stored schema version.
        found: u32,
        /// The newest version this binary knows.
        known: u32,
    },
    /// The store holds something that cannot be read.
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    /// The database or file system failed.
    #[error("{0}")]
    Backend(String),
    /// The connection failed while the database was committing: the change
    /// may or may not be stored (the database never said which).
    #[error("the database did not confirm the commit of revision {revision}: {cause}")]
    Unconfirmed {
        /// The revision the commit would have made.
        revision: u64,
        /// What failed.
        cause: String,
    },
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its kind (`recipient`, `entry`, …).
    pub kind: &'static str,
    /// Its key within the kind.
    pub key: String,
    /// The object as JSON.
    pub body: String,
}

/// What one commit changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowChanges {
    /// Rows to insert or replace.
    pub upserts: Vec<Row>,
    /// `(kind, key)` of rows to delete.
    pub deletes: Vec<(&'static str, String)>,
}

impl RowChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.deletes.is_empty()
    }
}

/// The rows changed after some revision, up to `revision`, read as one
/// snapshot (or, from [`RowStore::rows`], every row): what a node needs to
/// catch up without reading everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    /// The latest revision.
    pub revision: u64,
    /// `(kind, key, body)` of rows written since.
    pub upserts: Vec<(String, String, String)>,
    /// `(kind, key)` of rows deleted since.
    pub deletes: Vec<(String, String)>,
}

/// `value` as a row body; an error names the row.
pub fn encode<T: serde::Serialize>(kind: &str, key: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode {kind} `{key}`: {e}")))
}

/// A row body as a value; an error names the row.
pub fn decode<T: serde::de::DeserializeOwned>(
    kind: &str,
    key: &str,
    body: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("stored {kind} `{key}` is invalid: {e}")))
}

/// A row of a kind this binary does not know: it comes from a newer schema.
pub fn unknown_kind(kind: &str, key: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown kind of stored object `{kind}` (`{key}`)"))
}

/// What distinguishes one node kind's store from another's: names, and how
/// its state becomes rows and back.
pub trait RowLayout: Send + Sync + std::fmt::Debug + 'static {
    /// The state the rows hold (the organization, the directory).
    type State: Clone + Send + Sync + 'static;

    /// The node kind, in messages: `this <NODE> knows up to …`.
    const NODE: &'static str;
    /// The embedded database's file name in the node's data directory.
    const FILE: &'static str;
    /// The prefix of the PostgreSQL tables: `<TABLES>_objects`,
    /// `<TABLES>_revision`, `<TABLES>_deletions`.
    const TABLES: &'static str;
    /// The PostgreSQL table recording applied schema versions.
    const VERSION_TABLE: &'static str;
    /// The channel PostgreSQL commits are announced on (payload: `schema revision`).
    const CHANNEL: &'static str;
    /// PostgreSQL migrations of this node kind's own, run after the shared
    /// row tables' (their versions follow the shared ones).
    const POSTGRES_MIGRATIONS: &'static [&'static str] = &[];
    /// The state file of earlier versions, beside the embedded database.
    const LEGACY_FILE: Option<&'static str> = None;

    /// Every row of `state`.
    fn split(state: &Self::State) -> Result<Vec<Row>, StoreError>;

    /// The rows that turn `before` into `after`.
    fn diff(before: &Self::State, after: &Self::State) -> Result<RowChanges, StoreError>;

    /// The state `rows` (`(kind, key, body)`) hold; `None` when they hold
    /// none. Unknown kinds are errors: they come from a newer schema.
    fn assemble(rows: Vec<(String, String, String)>) -> Result<Option<Self::State>, StoreError>;

    /// `state` (as of the revision `delta` starts from) with `delta` applied.
    fn apply_delta(state: Self::State, delta: Delta) -> Result<Self::State, StoreError>;

    /// Reads the legacy file at `path` (it exists): the revision and state it
    /// holds.
    fn import(path: &Path) -> Result<(u64, Self::State), StoreError> {
        Err(StoreError::Backend(format!(
            "`{}` cannot be imported",
            path.display()
        )))
    }
}

/// A revision and the state it holds.
pub type Stored<L> = (u64, <L as RowLayout>::State);

/// Keeps one node's rows durably. Every implementation passes the shared
/// conformance suite (`conformance`, behind the `testing` feature).
#[async_trait]
pub trait RowStore: Send + Sync + std::fmt::Debug {
    /// Which node kind's rows.
    type Layout: RowLayout;

    /// Every row and the latest revision, read as one snapshot.
    async fn rows(&self) -> Result<Delta, StoreError>;

    /// In one durable transaction: checks that the latest revision is
    /// `expected` (0: the store is empty), writes `changes` and makes the
    /// revision `expected + 1`. Fails, changing nothing, with
    /// [`StoreError::Exists`] (when `expected` is 0) or
    /// [`StoreError::Conflict`] otherwise.
    async fn apply(&self, expected: u64, changes: RowChanges) -> Result<u64, StoreError>;

    /// [`Self::apply`] for several consecutive changes in one durable
    /// transaction (group commit, issue 15): checks that the latest revision
    /// is `expected`, writes `batch[i]` as revision `expected + 1 + i`, in
    /// order, and returns the last revision (`expected + batch.len()`).
    /// Every revision stays exact for [`Self::changes_since`]. Fails,
    /// changing nothing, as [`Self::apply`] does.
    async fn apply_batch(&self, expected: u64, batch: Vec<RowChanges>) -> Result<u64, StoreError>;

    /// The rows changed after `revision`, up to the latest, read as one
    /// snapshot, so that a node catches up on another process's change
    /// without reading everything; `None` when the store cannot tell (the
    /// node then reads everything).
    async fn changes_since(&self, revision: u64) -> Result<Option<Delta>, StoreError> {
        let _ = revision;
        Ok(None)
    }

    /// The latest revision (0 when empty), without reading the rows.
    async fn revision(&self) -> Result<u64, StoreError>;

    /// Revisions committed through this store by other processes, as the
    /// database announces them (PostgreSQL's LISTEN/NOTIFY); a store that only
    /// one process can open never announces any.
    async fn watch(&self) -> Result<watch::Receiver<u64>, StoreError>;

    /// The latest revision and state, read as one snapshot; `None` if no
    /// state was ever created.
    async fn load(&self) -> Result<Option<Stored<Self::Layout>>, StoreError> {
        let all = self.rows().await?;
        let revision = all.revision;
        Ok(Self::Layout::assemble(all.upserts)?.map(|state| (revision, state)))
    }

    /// Stores `state` as revision 1; fails with [`StoreError::Exists`] if a
    /// state is already stored.
    async fn create(&self, state: &<Self::Layout as RowLayout>::State) -> Result<u64, StoreError> {
        let changes = RowChanges {
            upserts: Self::Layout::split(state)?,
            deletes: Vec::new(),
        };
        self.apply(0, changes).await
    }

    /// Replaces `before` (revision `expected`) with `after` as revision
    /// `expected + 1`, writing only the rows that differ, durably before it
    /// returns. Fails with [`StoreError::Conflict`], changing nothing, unless
    /// `expected` is the latest revision.
    async fn commit(
        &self,
        expected: u64,
        before: &<Self::Layout as RowLayout>::State,
        after: &<Self::Layout as RowLayout>::State,
    ) -> Result<u64, StoreError> {
        if expected == 0 {
            return Err(StoreError::Conflict {
                expected,
                actual: self.revision().await?,
            });
        }
        self.apply(expected, Self::Layout::diff(before, after)?)
            .await
    }
}

/// The store a node's `[store]` configuration names.
#[derive(Debug)]
pub enum Store<L: RowLayout> {
    /// The embedded store.
    Embedded(embedded::EmbeddedStore<L>),
    /// The PostgreSQL store (boxed: it holds its connections).
    Postgres(Box<postgres::PostgresStore<L>>),
}

/// Opens the store `config` names; `data_dir` holds the embedded store.
/// Migrates its schema to this binary's version, refusing a newer one.
pub async fn open<L: RowLayout>(
    config: &StoreConfig,
    data_dir: &Path,
) -> Result<Arc<Store<L>>, StoreError> {
    Ok(Arc::new(match config {
        StoreConfig::Embedded => Store::Embedded(embedded::EmbeddedStore::open(
            &embedded::EmbeddedStore::<L>::path(data_dir),
        )?),
        StoreConfig::Postgres { url, schema } => Store::Postgres(Box::new(
            postgres::PostgresStore::connect(url, schema).await?,
        )),
    }))
}

#[async_trait]
impl<L: RowLayout> RowStore for Store<L> {
    type Layout = L;

    async fn rows(&self) -> Result<Delta, StoreError> {
        match self {
            Self::Embedded(s) => s.rows().await,
            Self::Postgres(s) => s.rows().await,
        }
    }

    async fn apply(&self, expected: u64, changes: RowChanges) -> Result<u64, StoreError> {
        match self {
            Self::Embedded(s) => s.apply(expected, changes).await,
            Self::Postgres(s) => s.apply(expected, changes).await,
        }
    }

    async fn apply_batch(&self, expected: u64, batch: Vec<RowChanges>) -> Result<u64, StoreError> {
        match self {
            Self::Embedded(s) => s.apply_batch(expected, batch).await,
            Self::Postgres(s) => s.apply_batch(expected, batch).await,
        }
    }

    async fn changes_since(&self, revision: u64) -> Result<Option<Delta>, StoreError> {
        match self {
            Self::Embedded(s) => s.changes_since(revision).await,
            Self::Postgres(s) => s.changes_since(revision).await,
        }
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        match self {
            Self::Embedded(s) => s.revision().await,
            Self::Postgres(s) => s.revision().await,
        }
    }

    async fn watch(&self) -> Result<watch::Receiver<u64>, StoreError> {
        match self {
            Self::Embedded(s) => s.watch().await,
            Self::Postgres(s) => s.watch().await,
        }
    }
}

/// Follows changes other processes make through a shared store: calls
/// `refresh` on each revision `announced` and every `backstop` regardless (a
/// lost listener connection costs latency, not changes), until `refresh`
/// returns `false` (the node is gone).
pub async fn follow<F, Fut>(
    announced: watch::Receiver<u64>,
    backstop: std::time::Duration,
    mut refresh: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut announced = Some(announced);
    let mut tick = tokio::time::interval(backstop);
    loop {
        match announced.as_mut() {
            Some(receiver) => tokio::select! {
                _ = receiver.changed() => {}
                _ = tick.tick() => {}
            },
            None => {
                tick.tick().await;
            }
        }
        if announced.as_ref().is_some_and(|r| r.has_changed().is_err()) {
            tracing::warn!("the store's change announcements stopped; checking every {backstop:?}");
            announced = None;
        }
        if !refresh().await {
            return;
        }
    }
}

/// Runs `future` to completion from synchronous code, on a thread of its own
/// (so it works inside or outside a Tokio runtime): for `init` and setup.
pub fn block_on<T: Send>(
    future: impl std::future::Future<Output = Result<T, StoreError>> + Send,
) -> Result<T, StoreError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Backend(format!("cannot start a runtime: {e}")))?
                .block_on(future)
        })
        .join()
        .map_err(|_| StoreError::Backend("the store thread failed".into()))?
    })
}
