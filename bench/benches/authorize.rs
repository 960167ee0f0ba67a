//! Authorisation at scale: `Authorizer::check`, `Authorizer::explain` and
//! `Authorizer::new` on an organization of 100,000 recipients in 200 OUs,
//! 2,000 role groups (a quarter linked to foreign groups) and 10,000 role
//! assignments with OU, filter and exclusive scopes, for callers carrying 50
//! SIDs each. See `BENCHMARKS.md` at the workspace root.
//!
//! The model comes from `crossforest_bench::model` (the one `compare` and
//! `scale` use). Besides criterion's estimates, `cargo bench` also prints (to
//! stderr) the resident memory after building the model and p50/p99
//! latencies of individual calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use crossforest_bench::model::{
    build_model, build_workload, policies, resident_mib, set_mailbox_parameters, Rng, Shape,
    OUS_PER_REGION, REGIONS, SIDS_PER_CALLER,
};
use resource_forest::rbac::model::RoleGroupKind;
use resource_forest::rbac::{Access, Authorizer, Explanation, Request, Subject, Target};

const CALLERS: usize = 32;
const PAIRS_PER_CALLER: usize = 32;
/// Pairs per workload: a power of two, so the index wraps with a mask.
const PAIRS: usize = CALLERS * PAIRS_PER_CALLER; // 1,024
const PERCENTILE_SAMPLES: usize = 100_000;

/// Times `n` individual calls of `f(i)` and prints p50, p99, p99.9 and max.
fn percentiles(label: &str, overhead: u64, mut f: impl FnMut(usize)) {
    for i in 0..10_000 {
        f(i); // warm up
    }
    let mut ns: Vec<u64> = (0..PERCENTILE_SAMPLES)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64;
    eprintln!(
        "latency {label:<22} p50 {:>7} ns  p99 {:>7} ns  p99.9 {:>7} ns  max {:>9} ns  mean {:>9.1} ns  (n = {}, timer overhead ≈ {overhead} ns included)",
        at(0.50),
        at(0.99),
        at(0.999),
        ns[ns.len() - 1],
        mean,
        ns.len(),
    );
}

fn timer_overhead() -> u64 {
    let mut ns: Vec<u64> = (0..PERCENTILE_SAMPLES)
        .map(|_| {
            let t = Instant::now();
            black_box(());
            t.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    ns[ns.len() / 2]
}

fn main() {
    let before = resident_mib();
    let mut rng = Rng(Rng::SEED);
    let model = build_model(&mut rng, Shape::ORGANIZATION).expect("model");
    let authorizer = Authorizer::new(&model.config);
    let after = resident_mib();
    eprintln!(
        "model: {} recipients in {} OUs, {} role groups ({} linked), {} assignments, {} scopes",
        model.recipients.len(),
        REGIONS * OUS_PER_REGION,
        model.config.role_groups.len(),
        model
            .config
            .role_groups
            .values()
            .filter(|g| matches!(g.kind, RoleGroupKind::Linked(_)))
            .count(),
        model.config.assignments.len(),
        model.config.scopes.len(),
    );
    eprintln!(
        "resident memory: {after:.1} MiB after building recipients + config + compiled Authorizer ({before:.1} MiB before)"
    );

    let policies = policies();
    let set_params = set_mailbox_parameters();
    let remove_params = vec!["Identity".to_owned()];
    let workload =
        build_workload(&mut rng, &model, &authorizer, CALLERS, PAIRS_PER_CALLER).expect("workload");
    assert_eq!(workload.allowed.len(), PAIRS);
    assert_eq!(workload.denied.len(), PAIRS);

    let pairs = |list: &[(usize, usize)], cmdlet: &'static str, params: &'static [String]| {
        list.iter()
            .map(|(c, r)| {
                let caller = &workload.callers[*c];
                (
                    Subject {
                        user: caller.user,
                        sids: &caller.sids,
                        policies: &policies,
                    },
                    Request {
                        cmdlet,
                        parameters: params,
                        target: Target::Recipient(&model.recipients[*r]),
                        access: Access::Write,
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    // The parameter lists live as long as `main`: leak them to get 'static.
    let set_params: &'static [String] = Vec::leak(set_params);
    let remove_params: &'static [String] = Vec::leak(remove_params);
    let allowed = pairs(&workload.allowed, "Set-Mailbox", set_params);
    let denied_scope = pairs(&workload.denied, "Set-Mailbox", set_params);
    let denied_cmdlet = pairs(&workload.allowed, "Remove-Mailbox", remove_params);
    for (s, r) in &allowed {
        assert!(authorizer.check(s, r));
        assert!(matches!(authorizer.explain(s, r), Explanation::Allowed(_)));
    }
    for (s, r) in denied_scope.iter().chain(&denied_cmdlet) {
        assert!(!authorizer.check(s, r));
    }
    let reached: usize = workload
        .callers
        .iter()
        .map(|c| {
            authorizer
                .role_groups_of(&Subject {
                    user: c.user,
                    sids: &c.sids,
                    policies: &policies,
                })
                .len()
        })
        .sum();
    eprintln!(
        "workload: {} callers × {} SIDs, {:.1} role groups reached per caller on average, {} pairs per benchmark",
        workload.callers.len(),
        SIDS_PER_CALLER,
        reached as f64 / workload.callers.len() as f64,
        PAIRS,
    );

    // Plain per-call latencies: only under `cargo bench`, never `cargo test`.
    if std::env::args().any(|a| a == "--bench") {
        let overhead = timer_overhead();
        eprintln!("timer overhead (empty Instant::now/elapsed pair): p50 {overhead} ns");
        let run = |label: &str, set: &[(Subject<'_>, Request<'_>)], explain: bool| {
            percentiles(label, overhead, |i| {
                let (s, r) = &set[i & (PAIRS - 1)];
                if explain {
                    black_box(authorizer.explain(black_box(s), black_box(r)));
                } else {
                    black_box(authorizer.check(black_box(s), black_box(r)));
                }
            });
        };
        run("check/allowed", &allowed, false);
        run("check/denied_scope", &denied_scope, false);
        run("check/denied_cmdlet", &denied_cmdlet, false);
        run("explain/allowed", &allowed, true);
    }

    let mut c = Criterion::default().configure_from_args();
    {
        let mut group = c.benchmark_group("check");
        for (name, set) in [
            ("allowed", &allowed),
            ("denied_scope", &denied_scope),
            ("denied_cmdlet", &denied_cmdlet),
        ] {
            group.bench_function(name, |b| {
                let mut i = 0usize;
                b.iter(|| {
                    let (s, r) = &set[i & (PAIRS - 1)];
                    i = i.wrapping_add(1);
                    authorizer.check(black_box(s), black_box(r))
                });
            });
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("explain");
        group.bench_function("allowed", |b| {
            let mut i = 0usize;
            b.iter(|| {
                let (s, r) = &allowed[i & (PAIRS - 1)];
                i = i.wrapping_add(1);
                authorizer.explain(black_box(s), black_box(r))
            });
        });
        group.finish();
    }
    {
        // -Identity resolution (Get-Mailbox <id>, the target of a Check): a
        // linear scan, and the index the recipients keep up to date on every
        // change (resource_forest::org::identity_index).
        let mut org = resource_forest::org::Organization::new(
            "contoso.com".parse().unwrap(),
            "S-1-5-21-1-2-3".parse().unwrap(),
            &resource_forest::rbac::catalogue::builtin().unwrap(),
            &[],
        )
        .unwrap();
        let before = resident_mib();
        let t = Instant::now();
        for r in &model.recipients {
            org.recipients
                .insert(r.name.to_ascii_lowercase(), r.clone());
        }
        let built = t.elapsed();
        let grew = resident_mib() - before;
        eprintln!(
            "{} recipients inserted with their identity index in {built:.2?}, +{grew:.1} MiB resident ({:.0} B per recipient, recipient included)",
            org.recipients.len(),
            grew * 1024.0 * 1024.0 / org.recipients.len() as f64
        );
        let identities: Vec<String> = (0..PAIRS)
            .map(|i| {
                let r = &model.recipients[(i * 7_919) % model.recipients.len()];
                match i % 3 {
                    0 => r.name.to_ascii_uppercase(),
                    1 => r.primary_smtp_address.clone(),
                    _ => r.sid.to_string(),
                }
            })
            .collect();
        let scan = |org: &resource_forest::org::Organization, id: &str| -> Vec<String> {
            org.recipients
                .values()
                .filter(|r| r.answers_to(id))
                .map(|r| r.name.clone())
                .collect()
        };
        for id in &identities {
            assert_eq!(
                vec![org.recipient(id, &[]).unwrap().name.clone()],
                scan(&org, id),
                "the index answers as the scan"
            );
        }
        let mut group = c.benchmark_group("identity");
        group.sample_size(20);
        let mut i = 0usize;
        group.bench_function("scan", |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                scan(&org, black_box(&identities[i & (PAIRS - 1)])).len()
            });
        });
        group.bench_function("indexed", |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                org.recipient(black_box(&identities[i & (PAIRS - 1)]), &[])
                    .is_ok()
            });
        });
        group.finish();
    }
    {
        let mut group = c.benchmark_group("compile");
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(15));
        group.bench_function("authorizer_new", |b| {
            b.iter_with_large_drop(|| Authorizer::new(black_box(&model.config)));
        });
        group.finish();
    }
    c.final_summary();
}
