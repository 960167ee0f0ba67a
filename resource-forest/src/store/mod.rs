//! Where the organization is kept: one [`OrganizationStore`] trait, an
//! embedded store (redb, a file under the node's data directory; the default)
//! and a PostgreSQL store that several resource-forest processes share.
//!
//! A store keeps the organization as rows (see [`rows`]) and a revision that
//! increases by one per change. Reads see one revision whole; a commit names
//! the revision it was computed on and fails with [`StoreError::Conflict`] if
//! another change came first (optimistic concurrency), so every rule checked
//! before a commit (the lockout rules, R-LOCK-1..4) held on the state it
//! replaces.

pub mod config;
pub mod embedded;
pub mod postgres;
pub mod rows;
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

pub use config::StoreConfig;

use crate::org::Organization;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another change was committed after the revision this one was computed on.
    #[error("the organization changed (revision {actual}) after revision {expected} this change was computed on")]
    Conflict {
        /// The revision the change was computed on.
        expected: u64,
        /// The latest revision.
        actual: u64,
    },
    /// `create` on a store that already holds an organization.
    #[error("the store already holds an organization (revision {0})")]
    Exists(u64),
    /// The store's schema is newer than this binary.
    #[error("the {store} schema is version {found}; this resource-forest knows up to {known}; upgrade the binary")]
    NewerSchema {
        /// Which store.
        store: &'static str,
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

/// A revision and the organization it holds.
pub type Stored = (u64, Organization);

/// Keeps an organization durably. Every implementation passes the shared
/// conformance suite (`resource-forest/tests/store_conformance.rs`).
#[async_trait]
pub trait OrganizationStore: Send + Sync + std::fmt::Debug {
    /// The latest revision and organization, read as one snapshot; `None` if
    /// no organization was ever created.
    async fn load(&self) -> Result<Option<Stored>, StoreError>;

    /// In one durable transaction: checks that the latest revision is
    /// `expected` (0: the store is empty), writes `changes` and makes the
    /// revision `expected + 1`. Fails, changing nothing, with
    /// [`StoreError::Exists`] (when `expected` is 0) or
    /// [`StoreError::Conflict`] otherwise.
    async fn apply(&self, expected: u64, changes: rows::RowChanges) -> Result<u64, StoreError>;

    /// Stores `org` as revision 1; fails with [`StoreError::Exists`] if an
    /// organization is already stored.
    async fn create(&self, org: &Organization) -> Result<u64, StoreError> {
        let changes = rows::RowChanges {
            upserts: rows::split(org)?,
            deletes: Vec::new(),
        };
        self.apply(0, changes).await
    }

    /// Replaces `before` (revision `expected`) with `after` as revision
    /// `expected + 1`, writing only the objects that differ, durably before it
    /// returns. Fails with [`StoreError::Conflict`], changing nothing, unless
    /// `expected` is the latest revision.
    async fn commit(
        &self,
        expected: u64,
        before: &Organization,
        after: &Organization,
    ) -> Result<u64, StoreError> {
        if expected == 0 {
            return Err(StoreError::Conflict {
                expected,
                actual: self.revision().await?,
            });
        }
        self.apply(expected, rows::diff(before, after)?).await
    }

    /// The rows changed after `revision`, up to the latest, read as one
    /// snapshot, so that a node catches up on another node's change without
    /// reading the whole organization; `None` when the store cannot tell
    /// (the node then loads everything).
    async fn changes_since(&self, revision: u64) -> Result<Option<rows::Delta>, StoreError> {
        let _ = revision;
        Ok(None)
    }

    /// The latest revision (0 when empty), without reading the organization.
    async fn revision(&self) -> Result<u64, StoreError>;

    /// Revisions committed through this store by other processes, as the
    /// database announces them (PostgreSQL's LISTEN/NOTIFY); a store that only
    /// one process can open never announces any.
    async fn watch(&self) -> Result<watch::Receiver<u64>, StoreError>;
}

/// Opens the store `config` names; `data_dir` holds the embedded store.
/// Migrates its schema to this binary's version, refusing a newer one.
pub async fn open(
    config: &StoreConfig,
    data_dir: &std::path::Path,
) -> Result<Arc<dyn OrganizationStore>, StoreError> {
    Ok(match config {
        StoreConfig::Embedded => Arc::new(embedded::EmbeddedStore::open(
            &embedded::EmbeddedStore::path(data_dir),
        )?),
        StoreConfig::Postgres { url, schema } => {
            Arc::new(postgres::PostgresStore::connect(url, schema).await?)
        }
    })
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
