//! The account forest's stores (issue 6); `cargo bench -p account-forest
//! --bench store`. PostgreSQL is measured when `CROSSFOREST_TEST_POSTGRES` is
//! set.
//!
//! Through `AccountForest::change`, as the gRPC handlers call it (the change
//! on a copy of the directory, the row diff, the durable commit):
//!
//! * New-ADUser: `add_user` (argon2 hash of the password included), 100 in a
//!   row on a fresh directory;
//! * New-ADGroup: `add_group` (no hashing: what the store costs), 300 in a
//!   row on a fresh directory;
//! * New-ADGroup on a large directory: 20,000 groups and a full change log
//!   (every commit also prunes the oldest change row), 200 in a row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::time::Instant;

use account_forest::init::{init, random_domain_sid, InitOptions};
use account_forest::node::AccountForest;
use crossforest_shared::store::{block_on, StoreConfig};

/// A fresh node in `dir` on `store`, with `groups` groups created in one
/// commit before it starts.
fn node(dir: &Path, store: &StoreConfig, groups: u32) -> std::sync::Arc<AccountForest> {
    let config = init(&InitOptions {
        dir: dir.to_owned(),
        forest: "fabrikam.com".parse().unwrap(),
        domain_sid: random_domain_sid(),
        listen: "127.0.0.1:0".into(),
        administrator_password: "P@ssw0rd!".into(),
        store: store.clone(),
    })
    .unwrap();
    if groups > 0 {
        block_on(async {
            let store = account_forest::store::open(&config.store, &config.data_dir).await?;
            let (revision, before) = store.load().await?.unwrap();
            let mut after = before.clone();
            for g in 0..groups {
                after.add_group(&format!("Group{g:05}")).unwrap();
            }
            store.commit(revision, &before, &after).await
        })
        .unwrap();
    }
    AccountForest::load(config).unwrap()
}

fn writes(node: &AccountForest, n: u32, write: impl Fn(&AccountForest, u32)) -> String {
    let samples = (0..n)
        .map(|i| {
            let started = Instant::now();
            write(node, i);
            started.elapsed()
        })
        .collect();
    crossforest_shared::store::testing::write_rate(samples)
}

fn measure(name: &str, store: impl Fn(&str) -> StoreConfig, dir: &Path) {
    let users = node(&dir.join(format!("{name}-users")), &store("bench_users"), 0);
    let line = writes(&users, 100, |node, i| {
        node.change(|d| d.add_user(&format!("user{i:05}"), "Pa55word!"))
            .unwrap();
    });
    eprintln!("{name}: New-ADUser on a fresh directory (100): {line}");
    let groups = node(
        &dir.join(format!("{name}-groups")),
        &store("bench_groups"),
        0,
    );
    let line = writes(&groups, 300, |node, i| {
        node.change(|d| d.add_group(&format!("new{i:05}"))).unwrap();
    });
    eprintln!("{name}: New-ADGroup on a fresh directory (300): {line}");
    let large = node(
        &dir.join(format!("{name}-large")),
        &store("bench_large"),
        20_000,
    );
    let line = writes(&large, 200, |node, i| {
        node.change(|d| d.add_group(&format!("new{i:05}"))).unwrap();
    });
    eprintln!("{name}: New-ADGroup on 20,000 groups and a full change log (200): {line}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    measure("embedded", |_| StoreConfig::Embedded, dir.path());
    let Ok(url) = std::env::var("CROSSFOREST_TEST_POSTGRES") else {
        eprintln!("postgres: skipped (set CROSSFOREST_TEST_POSTGRES)");
        return;
    };
    measure(
        "postgres",
        |prefix| StoreConfig::Postgres {
            url: url.clone(),
            schema: crossforest_shared::store::testing::unique_schema(prefix),
        },
        dir.path(),
    );
}
