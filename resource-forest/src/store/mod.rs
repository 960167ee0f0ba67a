//! Where the organization is kept: the shared row store
//! ([`crossforest_shared::store`]: an embedded redb file under the node's data
//! directory, the default, or a PostgreSQL database that several
//! resource-forest processes share) with the organization's rows (see
//! [`rows`]) and the [`OrganizationStore`] trait over it.
//!
//! A store keeps the organization as rows and a revision that increases by
//! one per change. Reads see one revision whole; a commit names the revision
//! it was computed on and fails with [`StoreError::Conflict`] if another
//! change came first (optimistic concurrency), so every rule checked before a
//! commit (the lockout rules, R-LOCK-1..4) held on the state it replaces.

pub mod rows;

use std::path::Path;
use std::sync::Arc;

pub use crossforest_shared::store::{block_on, testing, RowStore, StoreConfig, StoreError};
use crossforest_shared::store::{Delta, Row, RowChanges, RowLayout};

use crate::org::Organization;

/// `[store]` configuration.
pub mod config {
    pub use crossforest_shared::store::config::*;
}

/// The embedded store of the organization: `data_dir/organization.redb`.
pub mod embedded {
    pub use crossforest_shared::store::embedded::KNOWN_SCHEMA;

    /// The redb store holding the organization.
    pub type EmbeddedStore =
        crossforest_shared::store::embedded::EmbeddedStore<super::Organizations>;
}

/// The PostgreSQL store of the organization: `organization_*` tables.
pub mod postgres {
    pub use crossforest_shared::store::postgres::BACKSTOP;

    /// The channel commits are announced on; the payload is `schema revision`.
    pub const CHANNEL: &str =
        <super::Organizations as crossforest_shared::store::RowLayout>::CHANNEL;

    /// The PostgreSQL store holding the organization.
    pub type PostgresStore =
        crossforest_shared::store::postgres::PostgresStore<super::Organizations>;
}

/// The resource forest's rows (see [`rows`]): names, tables and the earlier
/// `organization.json` it imports.
#[derive(Debug)]
pub enum Organizations {}

impl RowLayout for Organizations {
    type State = Organization;
    const NODE: &'static str = "resource-forest";
    const FILE: &'static str = "organization.redb";
    const TABLES: &'static str = "organization";
    const VERSION_TABLE: &'static str = "schema_version";
    const CHANNEL: &'static str = "crossforest_changes";
    const LEGACY_FILE: Option<&'static str> = Some("organization.json");

    fn split(org: &Organization) -> Result<Vec<Row>, StoreError> {
        rows::split(org)
    }

    fn diff(before: &Organization, after: &Organization) -> Result<RowChanges, StoreError> {
        rows::diff(before, after)
    }

    fn assemble(rows: Vec<(String, String, String)>) -> Result<Option<Organization>, StoreError> {
        rows::assemble(rows)
    }

    fn apply_delta(org: Organization, delta: Delta) -> Result<Organization, StoreError> {
        rows::apply(org, delta)
    }

    fn import(path: &Path) -> Result<Stored, StoreError> {
        #[derive(serde::Deserialize)]
        struct Legacy {
            revision: u64,
            organization: Organization,
        }
        let found = crossforest_shared::config::read_json::<Legacy>(path)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .ok_or_else(|| StoreError::Backend(format!("`{}` is gone", path.display())))?;
        Ok((found.revision, found.organization))
    }
}

/// A revision and the organization it holds.
pub type Stored = crossforest_shared::store::Stored<Organizations>;

/// Keeps an organization durably: a row store with the organization's rows
/// (`load`, `create` and `commit` come from [`RowStore`]). Every
/// implementation passes the conformance suite
/// (`resource-forest/tests/store_conformance.rs`).
pub trait OrganizationStore: RowStore<Layout = Organizations> {}

impl<T: RowStore<Layout = Organizations> + ?Sized> OrganizationStore for T {}

/// Opens the store `config` names; `data_dir` holds the embedded store.
/// Migrates its schema to this binary's version, refusing a newer one.
pub async fn open(
    config: &StoreConfig,
    data_dir: &Path,
) -> Result<Arc<dyn OrganizationStore>, StoreError> {
    let store = crossforest_shared::store::open::<Organizations>(config, data_dir).await?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::embedded::EmbeddedStore;
    use super::*;

    #[tokio::test]
    async fn an_earlier_organization_json_is_imported_once_with_its_revision() {
        let dir = tempfile::tempdir().unwrap();
        let org = Organization::new(
            "contoso.com".parse().unwrap(),
            "S-1-5-21-1-2-3".parse().unwrap(),
            &crate::rbac::catalogue::builtin().unwrap(),
            &[],
        )
        .unwrap();
        let legacy = dir.path().join("organization.json");
        crossforest_shared::config::write_json(
            &legacy,
            &serde_json::json!({ "revision": 7, "organization": org }),
        )
        .unwrap();
        let store = EmbeddedStore::open(&EmbeddedStore::path(dir.path())).unwrap();
        assert_eq!(store.load().await.unwrap(), Some((7, org)));
        assert!(!legacy.exists());
        assert!(dir.path().join("organization.json.imported").exists());
    }
}
