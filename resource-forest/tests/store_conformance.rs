//! The store conformance suite: the same tests, run against every
//! implementation of `OrganizationStore` (a new store is done when this suite
//! passes for it): the shared row-store suite, then the organization's typed
//! layer. The PostgreSQL run needs `CROSSFOREST_TEST_POSTGRES`; each test
//! gets a schema of its own.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossforest_shared::store::conformance::{self, Harness};
use resource_forest::org::recipients::{Recipient, RecipientType};
use resource_forest::org::Organization;
use resource_forest::rbac::catalogue;
use resource_forest::store::{rows, Organizations, StoreError};

fn embedded() -> Option<conformance::Embedded<Organizations>> {
    conformance::embedded()
}

fn postgres() -> Option<conformance::Postgres<Organizations>> {
    conformance::postgres()
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

async fn empty_store_holds_nothing(h: impl Harness<Layout = Organizations>) {
    let store = h.open().await.unwrap();
    assert_eq!(store.load().await.unwrap(), None);
    assert_eq!(store.revision().await.unwrap(), 0);
}

async fn create_stores_revision_one_once(h: impl Harness<Layout = Organizations>) {
    let store = h.open().await.unwrap();
    let org = organization();
    assert_eq!(store.create(&org).await.unwrap(), 1);
    assert_eq!(store.load().await.unwrap(), Some((1, org.clone())));
    assert_eq!(store.create(&org).await, Err(StoreError::Exists(1)));
}

async fn commit_returns_the_revision_it_produced(h: impl Harness<Layout = Organizations>) {
    let store = h.open().await.unwrap();
    let org = organization();
    store.create(&org).await.unwrap();
    let next = with_mailbox(&org, "dana");
    assert_eq!(store.commit(1, &org, &next).await.unwrap(), 2);
    assert_eq!(store.revision().await.unwrap(), 2);
    assert_eq!(store.load().await.unwrap(), Some((2, next)));
}

async fn removals_and_changes_are_stored(h: impl Harness<Layout = Organizations>) {
    let store = h.open().await.unwrap();
    let org = organization();
    store.create(&org).await.unwrap();
    let mut next = org.clone();
    let removed: Vec<String> = next.rbac.assignments.keys().take(3).cloned().collect();
    for key in &removed {
        next.rbac_mut().assignments.remove(key);
    }
    next.rbac_mut()
        .role_groups
        .values_mut()
        .for_each(|g| g.description = "changed".into());
    next.active_directory_split_permissions = true;
    next.admin_audit_log_config.admin_audit_log_excluded_cmdlets = vec!["Set-Mailbox".into()];
    next.admin_audit_log_config.test_cmdlet_logging_enabled = true;
    store.commit(1, &org, &next).await.unwrap();
    let (_, loaded) = store.load().await.unwrap().unwrap();
    assert_eq!(loaded, next);
    assert_eq!(
        loaded
            .admin_audit_log_config
            .admin_audit_log_excluded_cmdlets,
        ["Set-Mailbox"]
    );
    assert!(removed
        .iter()
        .all(|k| !loaded.rbac.assignments.contains_key(k)));
}

async fn a_stale_commit_conflicts_and_changes_nothing(h: impl Harness<Layout = Organizations>) {
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

async fn changes_survive_reopening(h: impl Harness<Layout = Organizations>) {
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

async fn changes_since_rebuild_the_latest_revision(h: impl Harness<Layout = Organizations>) {
    let store = h.open().await.unwrap();
    let r1 = organization();
    store.create(&r1).await.unwrap();
    let r2 = with_mailbox(&r1, "dana");
    store.commit(1, &r1, &r2).await.unwrap();
    let mut r3 = r2.clone();
    r3.recipients.remove("dana");
    let gone = r3.rbac.assignments.keys().next().unwrap().clone();
    r3.rbac_mut().assignments.remove(&gone);
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

crossforest_shared::typed_store_conformance!(
    [embedded, postgres],
    (
        empty_store_holds_nothing,
        create_stores_revision_one_once,
        commit_returns_the_revision_it_produced,
        removals_and_changes_are_stored,
        a_stale_commit_conflicts_and_changes_nothing,
        changes_survive_reopening,
        changes_since_rebuild_the_latest_revision,
    )
);

crossforest_shared::row_store_conformance!(resource_forest::store::Organizations);
