//! Writes that cost what they change (issue 15): `New-Mailbox` and
//! `Set-Mailbox` through `ResourceForest::invoke` (authorisation, the cmdlet,
//! the lockout check, the commit with its fsync, the next snapshot, the audit
//! record) on an embedded store holding organizations of 1,000, 10,000 and
//! 100,000 recipients; `cargo bench -p resource-forest --bench write`.
//! `CROSSFOREST_WRITE_SIZES=1000,10000` picks the sizes, `CROSSFOREST_WRITES`
//! the writes per size (300). First, the memory an organization of 100,000
//! and of 300,000 recipients takes with its identity index (resident growth;
//! the slope between the two is the cost of one recipient).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use crossforest_shared::DomainSid;
use resource_forest::cmdlets::Value;
use resource_forest::org::recipients::{Recipient, RecipientType};
use resource_forest::org::Organization;
use resource_forest::rbac::catalogue::DEFAULT_POLICY;
use resource_forest::store::StoreConfig;

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

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = ((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1));
    samples.get(rank).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Resident memory in MiB (Linux), 0 elsewhere.
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / (1024.0 * 1024.0))
}

/// Resident growth per recipient of organizations of 100,000 and 300,000
/// recipients, and the slope between them.
fn memory() {
    let catalogue = resource_forest::rbac::catalogue::builtin().unwrap();
    let before = resident_mib();
    let mut org =
        Organization::new("contoso.com".parse().unwrap(), DOMAIN, &catalogue, &[]).unwrap();
    let mut grown = Vec::new();
    let mut inserted = 0;
    for n in [100_000u32, 300_000] {
        for i in inserted..n {
            let r = recipient(&org, i);
            org.recipients.insert(r.name.clone(), r);
        }
        inserted = n;
        let grew = (resident_mib() - before) * 1024.0 * 1024.0;
        eprintln!(
            "organization of {n} recipients with its index: +{:.1} MiB resident, {:.0} B per recipient",
            grew / (1024.0 * 1024.0),
            grew / f64::from(n)
        );
        grown.push((n, grew));
    }
    if let [(n0, g0), (n1, g1)] = grown[..] {
        eprintln!(
            "memory per recipient (slope {n0} → {n1}): {:.0} B",
            (g1 - g0) / f64::from(n1 - n0)
        );
    }
}

async fn at_size(recipients: u32, writes: u32) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let config = resource_forest::init::init(&resource_forest::init::InitOptions {
        dir: dir.path().to_owned(),
        forest: "contoso.com".parse().unwrap(),
        domain_sid: DOMAIN,
        listen: "127.0.0.1:1".into(),
        organizational_units: Vec::new(),
        trusts: Vec::new(),
        active_directory_split_permissions: false,
        store: StoreConfig::Embedded,
    })
    .unwrap();
    let node = resource_forest::node::ResourceForest::load(config.clone())
        .await
        .unwrap();
    {
        let state = node.store();
        let guard = state.lock().await;
        let before = state.snapshot();
        let mut next = before.org.clone();
        for i in 0..recipients {
            let r = recipient(&next, i);
            next.recipients.insert(r.name.clone(), r);
        }
        state.commit(&guard, &before, next).await.unwrap();
    }
    drop(node);
    let node = resource_forest::node::ResourceForest::load(config.clone())
        .await
        .unwrap();
    let caller = resource_forest::cli::administrator(&config);
    let (mut created, mut changed) = (Vec::new(), Vec::new());
    for i in 0..writes {
        let started = Instant::now();
        node.invoke(
            &caller,
            "New-Mailbox",
            vec![("Name".into(), Value::Text(format!("new{i}")))],
        )
        .await
        .unwrap();
        created.push(started.elapsed());
    }
    for i in 0..writes {
        let started = Instant::now();
        node.invoke(
            &caller,
            "Set-Mailbox",
            vec![
                (
                    "Identity".into(),
                    Value::Text(format!("user{:06}", (i * 7_919) % recipients)),
                ),
                ("CustomAttribute1".into(), Value::Text(format!("v{i}"))),
            ],
        )
        .await
        .unwrap();
        changed.push(started.elapsed());
    }
    eprintln!(
        "{recipients:>7} recipients: New-Mailbox p50 {:.2} ms p99 {:.2} ms; Set-Mailbox p50 {:.2} ms p99 {:.2} ms; {:.0} MiB resident",
        percentile(&mut created, 0.5),
        percentile(&mut created, 0.99),
        percentile(&mut changed, 0.5),
        percentile(&mut changed, 0.99),
        resident_mib(),
    );
    (percentile(&mut created, 0.5), percentile(&mut changed, 0.5))
}

fn main() {
    let sizes: Vec<u32> = std::env::var("CROSSFOREST_WRITE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let writes = std::env::var("CROSSFOREST_WRITES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os("CROSSFOREST_WRITE_SKIP_MEMORY").is_none() {
        memory();
    }
    runtime.block_on(async {
        let mut p50s = Vec::new();
        for n in sizes {
            p50s.push((n, at_size(n, writes).await));
        }
        if let (Some((small, (c0, s0))), Some((large, (c1, s1)))) = (p50s.first(), p50s.last()) {
            eprintln!(
                "p50 at {large} / p50 at {small}: New-Mailbox {:.2}×, Set-Mailbox {:.2}×",
                c1 / c0,
                s1 / s0
            );
        }
    });
}
