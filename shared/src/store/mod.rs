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

/// An earlier state file's content, imported into an empty store once.
pub type Imported = (u64, Vec<Row>);

/// What distinguishes one node kind's store from another's.
pub trait RowLayout: Send + Sync + std::fmt::Debug + 'static {
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

    /// Reads the legacy file at `path` (it exists): the revision and rows it
    /// holds.
    fn import(path: &Path) -> Result<Imported, StoreError> {
        Err(StoreError::Backend(format!(
            "`{}` cannot be imported",
            path.display()
        )))
    }
}

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
