//! The store conformance suite: the same tests, run against every
//! implementation of `OrganizationStore` (a new store is done when this suite
//! passes for it). The PostgreSQL run needs `CROSSFOREST_TEST_POSTGRES`; each
//! test gets a schema of its own.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use resource_forest::org::recipients::{Recipient, RecipientType};
use resource_forest::org::Organization;
use resource_forest::rbac::catalogue;
use resource_forest::store::embedded::EmbeddedStore;
use resource_forest::store::postgres::PostgresStore;
use resource_forest::store::{rows, OrganizationStore, StoreError};

/// How a test reaches one implementation.
#[async_trait]
trait Harness: Send + Sync {
    /// A handle on the store (another connection where the store allows it).
    async fn open(&self) -> Result<Arc<dyn OrganizationStore>, StoreError>;
    /// Pretends a newer binary migrated the store to `version`.
    async fn set_schema_version(&self, version: u32);
    /// Whether several processes share the store (and see each other's changes).
    fn shared(&self) -> bool;
}

struct Embedded {
    dir: tempfile::TempDir,
    open: Mutex<Weak<EmbeddedStore>>,
}

#[async_trait]
impl Harness for Embedded {
    async fn open(&self) -> Result<Arc<dyn OrganizationStore>, StoreError> {
        // One process opens the file once: handles share that instance.
        let mut open = self.open.lock().unwrap();
        if let Some(store) = open.upgrade() {
            return Ok(store);
        }
        let store = Arc::new(EmbeddedStore::open(&EmbeddedStore::path(self.dir.path()))?);
        *open = Arc::downgrade(&store);
        Ok(store)
    }
    async fn set_schema_version(&self, version: u32) {
        let store = EmbeddedStore::open(&EmbeddedStore::path(self.dir.path())).unwrap();
        store.set_schema_version(u64::from(version)).unwrap();
    }
    fn shared(&self) -> bool {
        false
    }
}

fn embedded() -> Option<Embedded> {
    Some(Embedded {
        dir: tempfile::tempdir().unwrap(),
        open: Mutex::new(Weak::new()),
    })
}

struct Postgres {
    url: String,
    schema: String,
}

#[async_trait]
impl Harness for Postgres {
    async fn open(&self) -> Result<Arc<dyn OrganizationStore>, StoreError> {
        Ok(Arc::new(
            PostgresStore::connect(&self.url, &self.schema).await?,
        ))
    }
    async fn set_schema_version(&self, version: u32) {
        let store = PostgresStore::connect(&self.url, &self.schema)
            .await
            .unwrap();
        store.set_schema_version(version as i32).await.unwrap();
    }
    fn shared(&self) -> bool {
        true
    }
}

fn postgres() -> Option<Postgres> {
    let url =
        resource_forest::store::testing::postgres_url("PostgreSQL store conformance").unwrap()?;
    Some(Postgres {
        url,
        schema: resource_forest::store::testing::unique_schema("conformance"),
    })
}

fn organization() -> Organization {
    Organization::new(
        "contoso.com".parse().unwrap(),
        "S-1-5-21-1-2-3".parse().unwrap(),
        &catalogue::builtin().unwrap(),
        &[],
    )
    .unwrap()
}

/// `org` with one more mailbox `name` (a new row) and a new RID (the
/// organization row): a change that touches two rows.
fn with_mailbox(org: &Organization, name: &str) -> Organization {
    let mut next = org.clone();
    let sid = next.allocate_sid().unwrap();
    let users = next.users_ou().unwrap();
    next.recipients.insert(
        name.to_ascii_lowercase(),
        Recipient {
            name: name.to_owned(),
            recipient_type: RecipientType::UserMailbox,
            alias: name.to_owned(),
            display_name: name.to_owned(),
            sid,
            organizational_unit: users,
            user_principal_name: format!("{name}@contoso.com"),
            primary_smtp_address: format!("{name}@contoso.com"),
            external_email_address: String::new(),
            role_assignment_policy: "Default Role Assignment Policy".to_owned(),
            members: Default::default(),
            managed_by: Vec::new(),
            attributes: Default::default(),
        },
    );
    next
}

async fn empty_store_holds_nothing(h: impl Harness) {
    let store = h.open().await.unwrap();
    assert_eq!(store.load().await.unwrap(), None);
    assert_eq!(store.revision().await.unwrap(), 0);
}

async fn create_stores_revision_one_once(h: impl Harness) {
    let store = h.open().await.unwrap();
    let org = organization();
    assert_eq!(store.create(&org).await.unwrap(), 1);
    assert_eq!(store.load().await.unwrap(), Some((1, org.clone())));
    assert_eq!(store.create(&org).await, Err(StoreError::Exists(1)));
}

async fn commit_returns_the_revision_it_produced(h: impl Harness) {
    let store = h.open().await.unwrap();
    let org = organization();
    store.create(&org).await.unwrap();
    let next = with_mailbox(&org, "dana");
    assert_eq!(store.commit(1, &org, &next).await.unwrap(), 2);
    assert_eq!(store.revision().await.unwrap(), 2);
    assert_eq!(store.load().await.unwrap(), Some((2, next)));
}

async fn removals_and_changes_are_stored(h: impl Harness) {
    let store = h.open().await.unwrap();
    let org = organization();
    store.create(&org).await.unwrap();
    let mut next = org.clone();
    let removed: Vec<String> = next.rbac.assignments.keys().take(3).cloned().collect();
    for key in &removed {
        next.rbac.assignments.remove(key);
    }
    next.rbac
        .role_groups
        .values_mut()
        .for_each(|g| g.description = "changed".into());
    next.active_directory_split_permissions = true;
    store.commit(1, &org, &next).await.unwrap();
    let (_, loaded) = store.load().await.unwrap().unwrap();
    assert_eq!(loaded, next);
    assert!(removed
        .iter()
        .all(|k| !loaded.rbac.assignments.contains_key(k)));
}

async fn a_stale_commit_conflicts_and_changes_nothing(h: impl Harness) {
    let store = h.open().await.unwrap();
    let org = organization();
    store.create(&org).await.unwrap();
    let first = with_mailbox(&org, "dana");
    store.commit(1, &org, &first).await.unwrap();
    // Computed on revision 1, which is no longer the latest.
    let stale = with_mailbox(&org, "erin");
    assert_eq!(
        store.commit(1, &org, &stale).await,
        Err(StoreError::Conflict {
            expected: 1,
            actual: 2
        })
    );
    assert_eq!(store.load().await.unwrap(), Some((2, first)));
}

async fn concurrent_commits_on_one_revision_one_wins(h: impl Harness) {
    let a = h.open().await.unwrap();
    let b = h.open().await.unwrap();
    let org = organization();
    a.create(&org).await.unwrap();
    let (x, y) = (with_mailbox(&org, "dana"), with_mailbox(&org, "erin"));
    let (ra, rb) = tokio::join!(a.commit(1, &org, &x), b.commit(1, &org, &y));
    let won = match (ra, rb) {
        (Ok(2), Err(StoreError::Conflict { .. })) => x,
        (Err(StoreError::Conflict { .. }), Ok(2)) => y,
        other => panic!("exactly one commit must win: {other:?}"),
    };
    assert_eq!(a.load().await.unwrap(), Some((2, won)));
}

async fn reads_see_one_revision_whole(h: impl Harness) {
    let writer = h.open().await.unwrap();
    let reader = h.open().await.unwrap();
    let mut org = organization();
    writer.create(&org).await.unwrap();
    let base = org.next_rid;
    let writes = async {
        for i in 1..=20u64 {
            let next = with_mailbox(&org, &format!("user{i}"));
            writer.commit(i, &org, &next).await.unwrap();
            org = next;
        }
    };
    let reads = async {
        for _ in 0..40 {
            let (revision, seen) = reader.load().await.unwrap().unwrap();
            // Revision r holds r - 1 mailboxes and the RID after them: both
            // rows from the same commit, never one without the other.
            assert_eq!(seen.recipients.len() as u64, revision - 1);
            assert_eq!(u64::from(seen.next_rid - base), revision - 1);
            tokio::task::yield_now().await;
        }
    };
    tokio::join!(writes, reads);
}

async fn changes_survive_reopening(h: impl Harness) {
    let org = organization();
    let next = with_mailbox(&org, "dana");
    {
        let store = h.open().await.unwrap();
        store.create(&org).await.unwrap();
        store.commit(1, &org, &next).await.unwrap();
    }
    let store = h.open().await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some((2, next)));
}

async fn a_newer_schema_is_refused(h: impl Harness) {
    drop(h.open().await.unwrap());
    h.set_schema_version(99).await;
    let error = h.open().await.unwrap_err();
    assert!(
        matches!(error, StoreError::NewerSchema { found: 99, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("schema is version 99") && message.contains("upgrade the binary"),
        "{message}"
    );
}

async fn changes_since_rebuild_the_latest_revision(h: impl Harness) {
    let store = h.open().await.unwrap();
    let r1 = organization();
    store.create(&r1).await.unwrap();
    let r2 = with_mailbox(&r1, "dana");
    store.commit(1, &r1, &r2).await.unwrap();
    let mut r3 = r2.clone();
    r3.recipients.remove("dana");
    let gone = r3.rbac.assignments.keys().next().unwrap().clone();
    r3.rbac.assignments.remove(&gone);
    store.commit(2, &r2, &r3).await.unwrap();
    // Deleted, then written again.
    let r4 = with_mailbox(&r3, "dana");
    store.commit(3, &r3, &r4).await.unwrap();
    for (since, base) in [(1, &r1), (2, &r2), (3, &r3), (4, &r4)] {
        match store.changes_since(since).await.unwrap() {
            None => assert!(!h.shared(), "a shared store must tell what changed"),
            Some(delta) => {
                assert_eq!(delta.revision, 4);
                let rebuilt = rows::apply(base.clone(), delta).unwrap();
                assert_eq!(rebuilt, r4, "from revision {since}");
            }
        }
    }
}

async fn other_handles_are_told_of_commits(h: impl Harness) {
    if !h.shared() {
        // One process owns the store: there is no one else to tell.
        return;
    }
    let a = h.open().await.unwrap();
    let b = h.open().await.unwrap();
    let org = organization();
    a.create(&org).await.unwrap();
    let mut announced = a.watch().await.unwrap();
    b.commit(1, &org, &with_mailbox(&org, "dana"))
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while *announced.borrow_and_update() < 2 {
            announced.changed().await.unwrap();
        }
    })
    .await
    .expect("the commit was never announced");
}

macro_rules! conformance {
    ($store:ident) => {
        mod $store {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        if let Some(h) = super::$store() {
                            super::$name(h).await;
                        }
                    }
                };
            }
            case!(empty_store_holds_nothing);
            case!(create_stores_revision_one_once);
            case!(commit_returns_the_revision_it_produced);
            case!(removals_and_changes_are_stored);
            case!(a_stale_commit_conflicts_and_changes_nothing);
            case!(concurrent_commits_on_one_revision_one_wins);
            case!(reads_see_one_revision_whole);
            case!(changes_survive_reopening);
            case!(a_newer_schema_is_refused);
            case!(changes_since_rebuild_the_latest_revision);
            case!(other_handles_are_told_of_commits);
        }
    };
}

conformance!(embedded);
conformance!(postgres);
