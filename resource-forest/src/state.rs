//! The organization as the node serves it: an immutable snapshot (organization
//! plus compiled RBAC) replaced whole on every change, persisted before it
//! becomes visible.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crossforest_shared::config::{read_json, write_json, ConfigError};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, MutexGuard};

use crate::org::Organization;
use crate::rbac::Authorizer;

/// One consistent view of the organization.
#[derive(Debug)]
pub struct Snapshot {
    /// The revision that produced it; increases by one per change.
    pub revision: u64,
    /// The organization.
    pub org: Organization,
    /// Its compiled RBAC.
    pub authorizer: Authorizer,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    revision: u64,
    organization: Organization,
}

/// The organization's store: a JSON file written atomically.
#[derive(Debug)]
pub struct OrgStore {
    path: PathBuf,
    current: RwLock<Arc<Snapshot>>,
    writer: Mutex<()>,
}

/// Proof that the caller holds the single writer lock.
#[derive(Debug)]
pub struct WriteGuard<'a>(#[allow(dead_code)] MutexGuard<'a, ()>);

impl OrgStore {
    /// Opens the store at `path`, `None` if it has never been written.
    pub fn open(path: PathBuf) -> Result<Option<Self>, ConfigError> {
        let Some(stored) = read_json::<Stored>(&path)? else {
            return Ok(None);
        };
        Ok(Some(Self::with(path, stored.revision, stored.organization)))
    }

    /// Creates the store with `org` as revision 1.
    pub fn create(path: PathBuf, org: Organization) -> Result<Self, ConfigError> {
        write_json(
            &path,
            &Stored {
                revision: 1,
                organization: org.clone(),
            },
        )?;
        Ok(Self::with(path, 1, org))
    }

    fn with(path: PathBuf, revision: u64, org: Organization) -> Self {
        let authorizer = Authorizer::new(&org.rbac);
        Self {
            path,
            current: RwLock::new(Arc::new(Snapshot {
                revision,
                org,
                authorizer,
            })),
            writer: Mutex::new(()),
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes the writer lock: changes are serialised.
    pub async fn lock(&self) -> WriteGuard<'_> {
        WriteGuard(self.writer.lock().await)
    }

    /// Persists `org` as the next revision, then makes it current.
    pub fn commit(&self, _guard: &WriteGuard<'_>, org: Organization) -> Result<u64, ConfigError> {
        let revision = self.snapshot().revision + 1;
        let stored = Stored {
            revision,
            organization: org,
        };
        write_json(&self.path, &stored)?;
        let authorizer = Authorizer::new(&stored.organization.rbac);
        let snapshot = Arc::new(Snapshot {
            revision,
            org: stored.organization,
            authorizer,
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
        Ok(revision)
    }
}
