//! Two account-forest nodes sharing one PostgreSQL schema (issue 6): a change
//! committed through one is served by the other (LISTEN/NOTIFY, the rows
//! changed since), and a change computed on a stale directory is computed
//! again instead of overwriting the other's. Needs `CROSSFOREST_TEST_POSTGRES`.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use account_forest::config::NodeConfig;
use account_forest::init::{init, InitOptions};
use account_forest::node::AccountForest;
use crossforest_shared::store::{testing, StoreConfig};

fn config(dir: &std::path::Path) -> Option<NodeConfig> {
    let url = testing::postgres_url("account forests sharing a PostgreSQL store").unwrap()?;
    Some(
        init(&InitOptions {
            dir: dir.to_owned(),
            forest: "fabrikam.com".parse().unwrap(),
            domain_sid: "S-1-5-21-4-5-6".parse().unwrap(),
            listen: "127.0.0.1:0".into(),
            administrator_password: "P@ssw0rd!".into(),
            store: StoreConfig::Postgres {
                url,
                schema: testing::unique_schema("shared_directory"),
            },
        })
        .unwrap(),
    )
}

/// Waits (up to 30 s, never a threshold) until `node` serves `name`.
fn wait_for(node: &AccountForest, name: &str) {
    for _ in 0..3000 {
        if node.read(|d| d.lookup(name).is_ok()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("`{name}` never reached the other node");
}

#[test]
fn a_change_through_one_node_is_served_by_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let Some(config) = config(dir.path()) else {
        return;
    };
    let a = AccountForest::load(config.clone()).unwrap();
    let b = AccountForest::load(config).unwrap();
    let mut committed = b.watch_committed();
    a.change(|d| d.add_group("Exchange Admins")).unwrap();
    wait_for(&b, "Exchange Admins");
    // The change feed of the other node moves on too.
    assert!(committed.has_changed().unwrap());
    assert_eq!(
        *committed.borrow_and_update(),
        a.read(|d| d.changes().sequence())
    );
}

#[test]
fn a_change_on_a_stale_directory_is_computed_again() {
    let dir = tempfile::tempdir().unwrap();
    let Some(config) = config(dir.path()) else {
        return;
    };
    let a = AccountForest::load(config.clone()).unwrap();
    let b = AccountForest::load(config.clone()).unwrap();
    // The first time b computes its change, a commits another one first:
    // b's commit conflicts, b catches up and runs the change again on the
    // directory holding Tier 1.
    let mut runs = 0;
    let tier2 = b
        .change(|d| {
            runs += 1;
            if runs == 1 {
                a.change(|d| d.add_group("Tier 1")).unwrap();
            }
            d.add_group("Tier 2")
        })
        .unwrap();
    assert_eq!(runs, 2, "the change must run again after the conflict");
    let reloaded = AccountForest::load(config).unwrap();
    reloaded.read(|d| {
        let tier1 = d.lookup("Tier 1").unwrap();
        assert_eq!(d.lookup("Tier 2").unwrap(), tier2);
        assert_ne!(tier1.sid, tier2.sid, "a RID was allocated twice");
        assert_eq!(d.changes().sequence(), 2);
    });
}
