//! The stores at scale (issue 6); `cargo bench -p resource-forest --bench
//! store`. PostgreSQL is measured when `CROSSFOREST_TEST_POSTGRES` is set.
//!
//! * start-up: opening the store, loading an organization of 100,000
//!   recipients and 10,000 assignments, and compiling its RBAC (what
//!   `ResourceForest::load` does), median of 3;
//! * commit on that organization: one new recipient per commit (diff of the
//!   whole organization, then the changed rows), 200 commits in a row;
//! * management writes: `New-Mailbox` through `ResourceForest::invoke` on a
//!   fresh organization (authorisation, the cmdlet, the lockout check, the
//!   commit, recompiling RBAC, the audit record), 300 in a row;
//! * propagation (PostgreSQL): a commit through one node until another node
//!   serves it (NOTIFY, the rows changed since, recompile), 50 times on a
//!   fresh organization and 20 times on the large one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossforest_shared::DomainSid;
use resource_forest::cmdlets::Value;
use resource_forest::org::recipients::{Recipient, RecipientType};
use resource_forest::org::Organization;
use resource_forest::rbac::catalogue::{self, DEFAULT_POLICY};
use resource_forest::rbac::model::{
    Assignee, Delegation, RoleAssignment, RoleGroup, RoleGroupKind,
};
use resource_forest::state::OrgState;
use resource_forest::store::{OrganizationStore, StoreConfig};

const DOMAIN: DomainSid = DomainSid::new(1_111, 2_222, 3_333);

fn recipient(org: &Organization, i: u32) -> Recipient {
    let name = format!("user{i:06}");
    Recipient {
        alias: name.clone(),
        display_name: name.clone(),
        sid: DOMAIN.with_rid(1_000_000 + i),
        organizational_unit: org.users_ou().unwrap(),
        user_principal_name: format!("{name}@contoso.com"),
        primary_smtp_address: format!("{name}@contoso.com"),
        external_email_address: String::new(),
        role_assignment_policy: DEFAULT_POLICY.to_owned(),
        members: Default::default(),
        managed_by: Vec::new(),
        attributes: [("Department".to_owned(), format!("Dept{}", i % 50))].into(),
        recipient_type: RecipientType::UserMailbox,
        name,
    }
}

/// 100,000 mailboxes; 2,000 role groups with 5 assignments each.
fn large_organization() -> Organization {
    let catalogue = catalogue::builtin().unwrap();
    let mut org =
        Organization::new("contoso.com".parse().unwrap(), DOMAIN, &catalogue, &[]).unwrap();
    for i in 0..100_000 {
        let r = recipient(&org, i);
        org.recipients.insert(r.name.clone(), r);
    }
    let roles = [
        "Mail Recipients",
        "Distribution Groups",
        "Mail Recipient Creation",
        "Reset Password",
        "View-Only Recipients",
    ];
    for g in 0..2_000u32 {
        let name = format!("RG{g:04}");
        org.rbac_mut().role_groups.insert(
            name.to_ascii_lowercase(),
            RoleGroup {
                name: name.clone(),
                sid: DOMAIN.with_rid(20_000 + g),
                description: String::new(),
                display_name: String::new(),
                kind: RoleGroupKind::Standard {
                    members: [DOMAIN.with_rid(1_000_000 + g * 7)].into(),
                },
                managed_by: Default::default(),
                builtin: false,
            },
        );
        for role in roles {
            org.rbac_mut().insert_assignment(RoleAssignment::new(
                format!("{role}_{name}"),
                role.to_owned(),
                Assignee::RoleGroup(name.clone()),
                Delegation::Regular,
            ));
        }
    }
    org
}

async fn open(config: &StoreConfig, dir: &std::path::Path) -> Arc<dyn OrganizationStore> {
    resource_forest::store::open(config, dir).await.unwrap()
}

async fn large(name: &str, config: &StoreConfig, dir: &std::path::Path, org: &Organization) {
    let store = open(config, dir).await;
    let started = Instant::now();
    store.create(org).await.unwrap();
    eprintln!(
        "{name}: create 100,000 recipients + 10,184 assignments: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    drop(store);
    let mut startups = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let state = OrgState::open(open(config, dir).await)
            .await
            .unwrap()
            .unwrap();
        startups.push(started.elapsed());
        assert_eq!(state.snapshot().org.recipients.len(), 100_000);
    }
    startups.sort();
    eprintln!(
        "{name}: start-up (open, load, compile RBAC): median {:.2} s",
        startups[1].as_secs_f64()
    );

    let store = open(config, dir).await;
    let (mut before, mut after) = (org.clone(), org.clone());
    let mut samples = Vec::new();
    for i in 0..200u32 {
        let r = recipient(org, 200_000 + i);
        after.recipients.insert(r.name.clone(), r.clone());
        let started = Instant::now();
        store
            .commit(u64::from(i) + 1, &before, &after)
            .await
            .unwrap();
        samples.push(started.elapsed());
        before.recipients.insert(r.name.clone(), r);
    }
    eprintln!(
        "{name}: commit of one recipient on the large organization: {}",
        crossforest_shared::store::testing::write_rate(samples)
    );
}

async fn management_writes(
    name: &str,
    config: &StoreConfig,
    dir: &std::path::Path,
) -> NodeUnderTest {
    let node_config = resource_forest::init::init(&resource_forest::init::InitOptions {
        dir: dir.to_owned(),
        forest: "contoso.com".parse().unwrap(),
        domain_sid: DOMAIN,
        listen: "127.0.0.1:1".into(),
        organizational_units: Vec::new(),
        trusts: Vec::new(),
        active_directory_split_permissions: false,
        store: config.clone(),
    })
    .unwrap();
    let node = resource_forest::node::ResourceForest::load(node_config.clone())
        .await
        .unwrap();
    let caller = resource_forest::cli::administrator(&node_config);
    let mut samples = Vec::new();
    for i in 0..300 {
        let started = Instant::now();
        node.invoke(
            &caller,
            "New-Mailbox",
            vec![("Name".into(), Value::Text(format!("m{i}")))],
        )
        .await
        .unwrap();
        samples.push(started.elapsed());
    }
    eprintln!(
        "{name}: New-Mailbox through the node: {}",
        crossforest_shared::store::testing::write_rate(samples)
    );
    NodeUnderTest {
        node,
        caller,
        config: node_config,
    }
}

struct NodeUnderTest {
    node: Arc<resource_forest::node::ResourceForest>,
    caller: resource_forest::trust::authenticate::Caller,
    config: resource_forest::config::NodeConfig,
}

async fn propagation(first: &NodeUnderTest) {
    let second = resource_forest::node::ResourceForest::load(first.config.clone())
        .await
        .unwrap();
    let mut samples = Vec::new();
    for i in 0..50 {
        let invoked = first
            .node
            .invoke(
                &first.caller,
                "New-Mailbox",
                vec![("Name".into(), Value::Text(format!("p{i}")))],
            )
            .await
            .unwrap();
        let started = Instant::now();
        while second.store().snapshot().revision < invoked.revision {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        samples.push(started.elapsed());
    }
    eprintln!(
        "postgres: propagation to a second node (commit acknowledged → served): {}",
        crossforest_shared::store::testing::write_rate(samples)
    );
}

/// Propagation on the large organization: the other node applies the rows
/// changed and recompiles RBAC for 100,000 recipients.
async fn large_propagation(config: &StoreConfig, dir: &std::path::Path) {
    let first = OrgState::open(open(config, dir).await)
        .await
        .unwrap()
        .unwrap();
    let second = Arc::new(
        OrgState::open(open(config, dir).await)
            .await
            .unwrap()
            .unwrap(),
    );
    tokio::spawn(OrgState::follow(
        Arc::downgrade(&second),
        Duration::from_secs(5),
    ));
    let mut samples = Vec::new();
    for i in 0..20u32 {
        let before = first.snapshot();
        let mut next = before.org.clone();
        let r = recipient(&next, 300_000 + i);
        next.recipients.insert(r.name.clone(), r);
        let guard = first.lock().await;
        let revision = first.commit(&guard, &before, next).await.unwrap();
        drop(guard);
        let started = Instant::now();
        while second.snapshot().revision < revision {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        samples.push(started.elapsed());
    }
    eprintln!(
        "postgres: propagation on the large organization: {}",
        crossforest_shared::store::testing::write_rate(samples)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let org = large_organization();
        let dir = tempfile::tempdir().unwrap();
        large(
            "embedded",
            &StoreConfig::Embedded,
            &dir.path().join("large"),
            &org,
        )
        .await;
        management_writes(
            "embedded",
            &StoreConfig::Embedded,
            &dir.path().join("small"),
        )
        .await;
        let Ok(url) = std::env::var("CROSSFOREST_TEST_POSTGRES") else {
            eprintln!("postgres: skipped (set CROSSFOREST_TEST_POSTGRES)");
            return;
        };
        let schema = resource_forest::store::testing::unique_schema;
        let pg = |prefix| StoreConfig::Postgres {
            url: url.clone(),
            schema: schema(prefix),
        };
        let large_store = pg("bench_large");
        large("postgres", &large_store, dir.path(), &org).await;
        large_propagation(&large_store, dir.path()).await;
        let node = management_writes("postgres", &pg("bench_small"), &dir.path().join("pg")).await;
        propagation(&node).await;
    });
}
