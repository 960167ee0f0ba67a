//! Where the directory is kept: the shared row store
//! ([`crossforest_shared::store`]: an embedded redb file,
//! `data_dir/directory.redb`, by default, or PostgreSQL tables `directory_*`
//! that several account-forest processes share) with the directory's rows:
//!
//! * `directory` (key empty): forest, domain SID, next RID and the change
//!   log's latest sequence;
//! * `entry` (key: the RID): one user or group;
//! * `replicator` (key: the RID): granted Replicating Directory Changes;
//! * `change` (key: the sequence, 20 digits so keys sort as numbers): one
//!   retained change; a change that pushes the oldest out of the kept
//!   [`RETAINED_CHANGES`](crate::changes::RETAINED_CHANGES) deletes its row
//!   in the same commit.
//!
//! A change writes only the rows that differ, so it costs O(change) plus the
//! comparison, durably before the node replies.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use crossforest_shared::store::{decode, encode, unknown_kind, Delta, Row, RowChanges, RowLayout};
pub use crossforest_shared::store::{RowStore, StoreConfig, StoreError};
use serde::Serialize;

use crate::changes::Change;
use crate::directory::{Directory, Parts};

const HEADER: &str = "directory";
const ENTRY: &str = "entry";
const REPLICATOR: &str = "replicator";
const CHANGE: &str = "change";

/// The account forest's rows: names, tables and the earlier `directory.json`
/// it imports.
#[derive(Debug)]
pub enum Directories {}

/// A revision and the directory it holds.
pub type Stored = crossforest_shared::store::Stored<Directories>;

/// Keeps a directory durably: a row store with the directory's rows
/// (`load`, `create` and `commit` come from [`RowStore`]). Every
/// implementation passes the conformance suite
/// (`account-forest/tests/store_conformance.rs`).
pub trait DirectoryStore: RowStore<Layout = Directories> {}

impl<T: RowStore<Layout = Directories> + ?Sized> DirectoryStore for T {}

/// Opens the store `config` names; `data_dir` holds the embedded store.
/// Migrates its schema to this binary's version, refusing a newer one.
pub async fn open(
    config: &StoreConfig,
    data_dir: &Path,
) -> Result<Arc<dyn DirectoryStore>, StoreError> {
    let store = crossforest_shared::store::open::<Directories>(config, data_dir).await?;
    Ok(store)
}

fn change_key(sequence: u64) -> String {
    format!("{sequence:020}")
}

fn row<T: Serialize>(kind: &'static str, key: String, value: &T) -> Result<Row, StoreError> {
    let body = encode(kind, &key, value)?;
    Ok(Row { kind, key, body })
}

fn number<T: std::str::FromStr>(kind: &str, key: &str) -> Result<T, StoreError> {
    key.parse()
        .map_err(|_| StoreError::Corrupt(format!("stored {kind} has an invalid key `{key}`")))
}

/// Adds the row `(kind, key, body)` to `parts`.
fn place(parts: &mut Parts, kind: &str, key: &str, body: &str) -> Result<(), StoreError> {
    match kind {
        HEADER => parts.header = decode(kind, key, body)?,
        ENTRY => {
            parts
                .entries
                .insert(number(kind, key)?, decode(kind, key, body)?);
        }
        REPLICATOR => {
            parts.replicators.insert(number(kind, key)?);
        }
        CHANGE => {
            let change: Change = decode(kind, key, body)?;
            // Rows arrive in any order: keep the log sorted.
            let at = parts
                .changes
                .partition_point(|c| c.sequence < change.sequence);
            if parts.changes.get(at).map(|c| c.sequence) == Some(change.sequence) {
                parts.changes[at] = change;
            } else {
                parts.changes.insert(at, change);
            }
        }
        other => return Err(unknown_kind(other, key)),
    }
    Ok(())
}

/// Removes the row `(kind, key)` from `parts`.
fn remove(parts: &mut Parts, kind: &str, key: &str) -> Result<(), StoreError> {
    match kind {
        ENTRY => {
            parts.entries.remove(&number(kind, key)?);
        }
        REPLICATOR => {
            parts.replicators.remove(&number(kind, key)?);
        }
        CHANGE => {
            let sequence: u64 = number(kind, key)?;
            parts.changes.retain(|c| c.sequence != sequence);
        }
        other => return Err(unknown_kind(other, key)),
    }
    Ok(())
}

impl RowLayout for Directories {
    type State = Directory;
    const NODE: &'static str = "account-forest";
    const FILE: &'static str = "directory.redb";
    const TABLES: &'static str = "directory";
    const VERSION_TABLE: &'static str = "directory_schema_version";
    const CHANNEL: &'static str = "crossforest_directory_changes";
    const LEGACY_FILE: Option<&'static str> = Some("directory.json");

    fn split(directory: &Directory) -> Result<Vec<Row>, StoreError> {
        let mut rows = vec![row(HEADER, String::new(), &directory.header())?];
        for (rid, entry) in directory.entries() {
            rows.push(row(ENTRY, rid.to_string(), entry)?);
        }
        for rid in directory.replicators() {
            rows.push(row(REPLICATOR, rid.to_string(), &true)?);
        }
        for change in directory.changes().retained() {
            rows.push(row(CHANGE, change_key(change.sequence), change)?);
        }
        Ok(rows)
    }

    fn diff(before: &Directory, after: &Directory) -> Result<RowChanges, StoreError> {
        let mut changes = RowChanges::default();
        let header = after.header();
        if before.header() != header {
            changes.upserts.push(row(HEADER, String::new(), &header)?);
        }
        for (rid, entry) in after.entries() {
            if before.entries().get(rid) != Some(entry) {
                changes.upserts.push(row(ENTRY, rid.to_string(), entry)?);
            }
        }
        for rid in before.entries().keys() {
            if !after.entries().contains_key(rid) {
                changes.deletes.push((ENTRY, rid.to_string()));
            }
        }
        for rid in after.replicators().difference(before.replicators()) {
            changes
                .upserts
                .push(row(REPLICATOR, rid.to_string(), &true)?);
        }
        for rid in before.replicators().difference(after.replicators()) {
            changes.deletes.push((REPLICATOR, rid.to_string()));
        }
        // Changes are never edited: new ones are written, ones no longer
        // retained are deleted, in this same commit.
        let (old, new) = (before.changes(), after.changes());
        for change in new.retained() {
            if change.sequence > old.sequence() {
                changes
                    .upserts
                    .push(row(CHANGE, change_key(change.sequence), change)?);
            }
        }
        let oldest_kept = new.retained().front().map_or(u64::MAX, |c| c.sequence);
        for change in old.retained() {
            if change.sequence < oldest_kept {
                changes.deletes.push((CHANGE, change_key(change.sequence)));
            }
        }
        Ok(changes)
    }

    fn assemble(rows: Vec<(String, String, String)>) -> Result<Option<Directory>, StoreError> {
        let Some(at) = rows.iter().position(|(kind, _, _)| kind == HEADER) else {
            return if rows.is_empty() {
                Ok(None)
            } else {
                Err(StoreError::Corrupt(
                    "directory objects are stored without their directory".into(),
                ))
            };
        };
        let (_, key, body) = &rows[at];
        let mut parts = Parts {
            header: decode(HEADER, key, body)?,
            entries: BTreeMap::new(),
            changes: VecDeque::new(),
            replicators: BTreeSet::new(),
        };
        for (kind, key, body) in &rows {
            place(&mut parts, kind, key, body)?;
        }
        Ok(Some(Directory::from_parts(parts)))
    }

    fn apply_delta(directory: Directory, delta: Delta) -> Result<Directory, StoreError> {
        let mut parts = directory.into_parts();
        for (kind, key) in &delta.deletes {
            remove(&mut parts, kind, key)?;
        }
        for (kind, key, body) in &delta.upserts {
            place(&mut parts, kind, key, body)?;
        }
        Ok(Directory::from_parts(parts))
    }

    fn import(path: &Path) -> Result<Stored, StoreError> {
        let directory = crossforest_shared::config::read_json::<Directory>(path)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .ok_or_else(|| StoreError::Backend(format!("`{}` is gone", path.display())))?;
        Ok((1, directory))
    }
}

/// A Tokio runtime on a thread of its own that runs a node's store I/O (and
/// keeps a PostgreSQL store's connections alive), so that the synchronous
/// [`crate::node::AccountForest`] API can wait for a store from inside or
/// outside another runtime.
#[derive(Debug)]
pub struct StoreRuntime {
    handle: tokio::runtime::Handle,
    /// Dropped with the runtime: the thread then stops the runtime.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl StoreRuntime {
    /// Starts the runtime's thread.
    pub fn start() -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start the store runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("directory-store".into())
            .spawn(move || {
                // Drives spawned store tasks until the node is dropped.
                let _ = runtime.block_on(stopped);
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the store thread: {e}")))?;
        Ok(Self {
            handle,
            _stop: stop,
        })
    }

    /// Runs `future` on the store runtime and waits for its result.
    pub fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Backend("the store runtime stopped".into()))?
    }

    /// Runs `future` in the background on the store runtime.
    pub fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        self.handle.spawn(future);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossforest_shared::store::embedded::EmbeddedStore;

    #[tokio::test]
    async fn an_earlier_directory_json_is_imported_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut directory = Directory::new(
            "fabrikam.com".parse().unwrap(),
            "S-1-5-21-4-5-6".parse().unwrap(),
            "pw",
        )
        .unwrap();
        directory.add_group("Exchange Admins").unwrap();
        let legacy = dir.path().join("directory.json");
        crossforest_shared::config::write_json(&legacy, &directory).unwrap();
        let path = EmbeddedStore::<Directories>::path(dir.path());
        let store = EmbeddedStore::<Directories>::open(&path).unwrap();
        assert_eq!(store.load().await.unwrap(), Some((1, directory.clone())));
        assert!(!legacy.exists());
        assert!(dir.path().join("directory.json.imported").exists());
        drop(store);
        // Opened again: nothing more to import, the directory is still there.
        let store = EmbeddedStore::<Directories>::open(&path).unwrap();
        assert_eq!(store.load().await.unwrap(), Some((1, directory)));
    }
}
