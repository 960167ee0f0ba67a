//! The embedded store: a redb database (pure Rust, ACID, copy-on-write B-trees,
//! fsync on every commit) in `data_dir/<RowLayout::FILE>`. Only one process
//! can open it at a time; nothing else needs to run.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition};
use tokio::sync::watch;

use super::{Delta, RowChanges, RowLayout, RowStore, StoreError};

/// `(kind, key)` → the object as JSON.
const OBJECTS: TableDefinition<(&str, &str), &str> = TableDefinition::new("objects");
/// `schema_version` and `revision`.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const SCHEMA_VERSION: &str = "schema_version";
const REVISION: &str = "revision";

/// Migrations, in order: step `i` takes the schema from version `i` to `i + 1`.
type Migration = fn(&redb::WriteTransaction) -> Result<(), StoreError>;
const MIGRATIONS: &[Migration] = &[|txn| {
    // 1: the objects and meta tables.
    txn.open_table(OBJECTS).map_err(backend)?;
    txn.open_table(META).map_err(backend)?;
    Ok(())
}];

/// The newest schema version this binary knows.
pub const KNOWN_SCHEMA: u32 = MIGRATIONS.len() as u32;

fn backend<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Backend(format!("embedded store: {}", e.into()))
}

/// The redb store of one node kind.
#[derive(Debug)]
pub struct EmbeddedStore<L> {
    db: Arc<Database>,
    path: PathBuf,
    announced: Arc<watch::Sender<u64>>,
    layout: PhantomData<fn() -> L>,
}

impl<L> Clone for EmbeddedStore<L> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            path: self.path.clone(),
            announced: self.announced.clone(),
            layout: PhantomData,
        }
    }
}

impl<L: RowLayout> EmbeddedStore<L> {
    /// The database file in a node's data directory.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(L::FILE)
    }

    /// Opens (or creates) the database at `path` and migrates its schema;
    /// refuses a schema newer than [`KNOWN_SCHEMA`]. The layout's legacy
    /// state file beside it (the store of earlier versions), if any, is
    /// imported once, with its revision, and renamed `<file>.imported`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            crate::private::dir(dir).map_err(|e| {
                StoreError::Backend(format!("cannot create `{}`: {e}", dir.display()))
            })?;
        }
        let db = Database::create(path)
            .map_err(|e| StoreError::Backend(format!("cannot open `{}`: {e}", path.display())))?;
        crate::private::file(path).map_err(|e| {
            StoreError::Backend(format!("cannot restrict `{}`: {e}", path.display()))
        })?;
        let store = Self {
            db: Arc::new(db),
            path: path.to_owned(),
            announced: Arc::new(watch::channel(0).0),
            layout: PhantomData,
        };
        store.migrate()?;
        store.import_legacy()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let found = txn
                .open_table(META)
                .map_err(backend)?
                .get(SCHEMA_VERSION)
                .map_err(backend)?
                .map_or(0, |v| v.value());
            let found = u32::try_from(found).unwrap_or(u32::MAX);
            if found > KNOWN_SCHEMA {
                return Err(StoreError::NewerSchema {
                    store: "embedded store",
                    node: L::NODE,
                    found,
                    known: KNOWN_SCHEMA,
                });
            }
            for step in &MIGRATIONS[found as usize..] {
                step(&txn)?;
            }
            let mut meta = txn.open_table(META).map_err(backend)?;
            meta.insert(SCHEMA_VERSION, u64::from(KNOWN_SCHEMA))
                .map_err(backend)?;
        }
        txn.commit().map_err(backend)
    }

    fn import_legacy(&self) -> Result<(), StoreError> {
        let Some(file) = L::LEGACY_FILE else {
            return Ok(());
        };
        let legacy = self.path.with_file_name(file);
        if self.read_revision()? != 0 || !legacy.exists() {
            return Ok(());
        }
        let (revision, state) = L::import(&legacy)?;
        let upserts = L::split(&state)?;
        self.write(
            0,
            revision.max(1),
            vec![RowChanges {
                upserts,
                deletes: Vec::new(),
            }],
        )?;
        let mut imported = legacy.clone().into_os_string();
        imported.push(".imported");
        std::fs::rename(&legacy, &imported)
            .map_err(|e| StoreError::Backend(format!("cannot rename `{}`: {e}", legacy.display())))
    }

    /// Overwrites the stored schema version (for tests of the refusal).
    pub fn set_schema_version(&self, version: u64) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        txn.open_table(META)
            .map_err(backend)?
            .insert(SCHEMA_VERSION, version)
            .map_err(backend)?;
        txn.commit().map_err(backend)
    }

    fn read_revision(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let meta = txn.open_table(META).map_err(backend)?;
        Ok(meta
            .get(REVISION)
            .map_err(backend)?
            .map_or(0, |v| v.value()))
    }

    /// In one transaction: check that the revision is `expected`, apply
    /// each of `batch` in order, set the revision to `next`, fsync.
    fn write(&self, expected: u64, next: u64, batch: Vec<RowChanges>) -> Result<u64, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut meta = txn.open_table(META).map_err(backend)?;
            let actual = meta
                .get(REVISION)
                .map_err(backend)?
                .map_or(0, |v| v.value());
            if actual != expected {
                return Err(if expected == 0 {
                    StoreError::Exists(actual)
                } else {
                    StoreError::Conflict { expected, actual }
                });
            }
            let mut objects = txn.open_table(OBJECTS).map_err(backend)?;
            for changes in &batch {
                for (kind, key) in &changes.deletes {
                    objects.remove((*kind, key.as_str())).map_err(backend)?;
                }
                for row in &changes.upserts {
                    objects
                        .insert((row.kind, row.key.as_str()), row.body.as_str())
                        .map_err(backend)?;
                }
            }
            meta.insert(REVISION, next).map_err(backend)?;
        }
        txn.commit().map_err(backend)?;
        Ok(next)
    }

    async fn write_blocking(
        &self,
        expected: u64,
        batch: Vec<RowChanges>,
    ) -> Result<u64, StoreError> {
        let store = self.clone();
        let next = expected + batch.len() as u64;
        tokio::task::spawn_blocking(move || store.write(expected, next, batch))
            .await
            .map_err(|e| StoreError::Backend(format!("embedded store: {e}")))?
    }
}

#[async_trait]
impl<L: RowLayout> RowStore for EmbeddedStore<L> {
    type Layout = L;

    async fn rows(&self) -> Result<Delta, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let txn = store.db.begin_read().map_err(backend)?;
            let revision = txn
                .open_table(META)
                .map_err(backend)?
                .get(REVISION)
                .map_err(backend)?
                .map_or(0, |v| v.value());
            let objects = txn.open_table(OBJECTS).map_err(backend)?;
            let mut upserts = Vec::new();
            for entry in objects.iter().map_err(backend)? {
                let (key, body) = entry.map_err(backend)?;
                let (kind, key) = key.value();
                upserts.push((kind.to_owned(), key.to_owned(), body.value().to_owned()));
            }
            Ok(Delta {
                revision,
                upserts,
                deletes: Vec::new(),
            })
        })
        .await
        .map_err(|e| StoreError::Backend(format!("embedded store: {e}")))?
    }

    async fn apply(&self, expected: u64, changes: RowChanges) -> Result<u64, StoreError> {
        self.write_blocking(expected, vec![changes]).await
    }

    async fn apply_batch(&self, expected: u64, batch: Vec<RowChanges>) -> Result<u64, StoreError> {
        self.write_blocking(expected, batch).await
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        self.read_revision()
    }

    async fn watch(&self) -> Result<watch::Receiver<u64>, StoreError> {
        Ok(self.announced.subscribe())
    }
}
