//! Authorisation at scale: `Authorizer::check`, `Authorizer::explain` and
//! `Authorizer::new` on an organization of 100,000 recipients in 200 OUs,
//! 2,000 role groups (a quarter linked to foreign groups) and 10,000 role
//! assignments with OU, filter and exclusive scopes, for callers carrying 50
//! SIDs each. See `BENCHMARKS.md` at the workspace root.
//!
//! The model is generated deterministically (splitmix64, fixed seed). Besides
//! criterion's estimates, `cargo bench` also prints (to stderr) the resident
//! memory after building the model and p50/p99 latencies of individual calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use crossforest_shared::{DomainSid, ForestName, Sid};
use resource_forest::org::ou::OrganizationalUnit;
use resource_forest::org::recipients::{Recipient, RecipientType};
use resource_forest::rbac::catalogue::{self, DEFAULT_POLICY};
use resource_forest::rbac::model::{
    Assignee, Delegation, LinkedGroup, RecipientWriteScope, RoleAssignment, RoleGroup,
    RoleGroupKind,
};
use resource_forest::rbac::scope::{parse_recipient_filter, ManagementScope, ScopeRule};
use resource_forest::rbac::{
    Access, Authorizer, Explanation, RbacConfig, Request, Subject, Target,
};

const RECIPIENTS: usize = 100_000;
const REGIONS: usize = 10;
const OUS_PER_REGION: usize = 20; // 200 OUs
const ROLE_GROUPS: usize = 2_000;
const ASSIGNMENTS_PER_GROUP: usize = 5; // 10,000 assignments
const FILTER_SCOPES: usize = 400;
const EXCLUSIVE_SCOPES: usize = 8;
const DEPARTMENTS: usize = 50;
const SIDS_PER_CALLER: usize = 50;
const CALLERS: usize = 32;
const PAIRS_PER_CALLER: usize = 32;
/// Pairs per workload: a power of two, so the index wraps with a mask.
const PAIRS: usize = CALLERS * PAIRS_PER_CALLER; // 1,024
const PERCENTILE_SAMPLES: usize = 100_000;

const CITIES: [&str; 20] = [
    "Seattle", "Redmond", "Bellevue", "Portland", "Boston", "Berlin", "Bonn", "Paris", "Lyon",
    "London", "Leeds", "Madrid", "Milan", "Oslo", "Osaka", "Tokyo", "Sydney", "Dublin", "Denver",
    "Dallas",
];

/// Roles the generated assignments use (weights in percent). Every one of
/// them has recipient-write implicit scope Organization or none.
const ROLES: [(&str, u64); 6] = [
    ("Mail Recipients", 30),
    ("User Options", 15),
    ("Distribution Groups", 15),
    ("View-Only Recipients", 20),
    ("Security Group Creation and Membership", 10),
    ("View-Only Configuration", 10),
];

/// Roles whose entries include Set-Mailbox.
fn grants_set_mailbox(role: &str) -> bool {
    role == "Mail Recipients" || role == "User Options"
}

const RESOURCE: DomainSid = DomainSid::new(1_111, 2_222, 3_333);
const FOREIGN: [(&str, DomainSid); 2] = [
    ("fabrikam.com", DomainSid::new(4_444, 5_555, 6_666)),
    ("tailspin.com", DomainSid::new(7_777, 8_888, 9_999)),
];

/// Resource-forest groups that role groups have as members.
const MEMBER_POOL: (u32, u32) = (300_000, 20_000);
/// Resource-forest groups that are in no role group.
const UNRELATED_BASE: u32 = 500_000;
/// Foreign groups that are in no linked role group.
const FOREIGN_UNRELATED_BASE: u32 = 900_000;

/// splitmix64: small, deterministic, good enough to shuffle a model.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Implicit,
    Ou,
    Filter,
    Exclusive,
}

/// The generated organization.
struct Model {
    config: RbacConfig,
    recipients: Vec<Recipient>,
    /// Per role group: its SID as a caller would carry it (a resource member
    /// SID that is not a role group, or the linked foreign SID), and whether
    /// a caller reaching it can never write every recipient.
    group_entry: Vec<(Option<Sid>, bool)>,
}

fn build_model(rng: &mut Rng) -> Model {
    let admin = RESOURCE.with_rid(500);
    let catalogue = catalogue::builtin().expect("built-in catalogue");
    let mut config = RbacConfig::from_catalogue(&catalogue, RESOURCE, 1001, &[admin]);

    let regions: Vec<OrganizationalUnit> = (0..REGIONS)
        .map(|r| {
            format!("contoso.com/Region{r:02}")
                .parse()
                .expect("region OU")
        })
        .collect();
    let ous: Vec<OrganizationalUnit> = (0..REGIONS * OUS_PER_REGION)
        .map(|i| regions[i / OUS_PER_REGION].child(&format!("OU{i:03}")))
        .collect();

    let recipients: Vec<Recipient> = (0..RECIPIENTS)
        .map(|i| {
            let recipient_type = match rng.below(100) {
                0..=89 => RecipientType::UserMailbox,
                90..=94 => RecipientType::MailUser,
                _ => RecipientType::MailUniversalDistributionGroup,
            };
            let mut attributes = BTreeMap::new();
            attributes.insert(
                "Department".to_owned(),
                format!("Dept{}", rng.below(DEPARTMENTS)),
            );
            attributes.insert(
                "City".to_owned(),
                CITIES[rng.below(CITIES.len())].to_owned(),
            );
            attributes.insert("Office".to_owned(), format!("Bldg{}", rng.below(40)));
            attributes.insert(
                "CustomAttribute1".to_owned(),
                format!("CC{:04}", rng.below(5_000)),
            );
            if rng.percent(1) {
                attributes.insert(
                    "CustomAttribute15".to_owned(),
                    format!("VIP{}", rng.below(EXCLUSIVE_SCOPES)),
                );
            }
            let name = format!("user{i:06}");
            Recipient {
                alias: name.clone(),
                display_name: format!("User {i:06}"),
                sid: RESOURCE.with_rid(1_000_000 + i as u32),
                organizational_unit: ous[rng.below(ous.len())].clone(),
                user_principal_name: format!("{name}@contoso.com"),
                primary_smtp_address: format!("{name}@contoso.com"),
                external_email_address: String::new(),
                role_assignment_policy: DEFAULT_POLICY.to_owned(),
                members: BTreeSet::new(),
                managed_by: Vec::new(),
                attributes,
                recipient_type,
                name,
            }
        })
        .collect();

    // Management scopes: OPATH filters (some under a region root) and a few
    // exclusive VIP scopes.
    for f in 0..FILTER_SCOPES {
        let city = CITIES[rng.below(CITIES.len())];
        let filter = format!(
            "Department -eq 'Dept{}' -and City -like '{}*'",
            rng.below(DEPARTMENTS),
            &city[..2]
        );
        parse_recipient_filter(&filter).expect("valid filter");
        let root = rng.percent(30).then(|| regions[rng.below(REGIONS)].clone());
        let name = format!("Filter{f:03}");
        config.scopes.insert(
            name.to_ascii_lowercase(),
            ManagementScope {
                name,
                rule: ScopeRule::Recipients {
                    root,
                    filter: Some(filter),
                },
                exclusive: false,
            },
        );
    }
    for k in 0..EXCLUSIVE_SCOPES {
        let filter = format!("CustomAttribute15 -eq 'VIP{k}'");
        parse_recipient_filter(&filter).expect("valid filter");
        let name = format!("VIP{k}");
        config.scopes.insert(
            name.to_ascii_lowercase(),
            ManagementScope {
                name,
                rule: ScopeRule::Recipients {
                    root: None,
                    filter: Some(filter),
                },
                exclusive: true,
            },
        );
    }

    // Role groups: a quarter linked to a foreign group, the rest with ten
    // members from a pool of resource groups, some nested in another role group.
    let group_sid = |i: usize| RESOURCE.with_rid(20_000 + i as u32);
    let mut group_entry = Vec::with_capacity(ROLE_GROUPS);
    for i in 0..ROLE_GROUPS {
        let name = format!("RG{i:04}");
        let (kind, entry) = if i % 4 == 3 {
            let (forest, domain) = FOREIGN[rng.below(FOREIGN.len())];
            let forest: ForestName = forest.parse().expect("forest name");
            let sid = domain.with_rid(60_000 + i as u32);
            let link = LinkedGroup {
                sid,
                name: format!("{}\\Exchange Admins {i:04}", forest.netbios()),
                domain_controller: format!("dc1.{}", forest.as_str()),
                credential: format!("{}\\svc-contoso", forest.netbios()),
                forest,
            };
            (RoleGroupKind::Linked(link), Some(sid))
        } else {
            let mut members: BTreeSet<Sid> = BTreeSet::new();
            let mut entry = None;
            for _ in 0..10 {
                let sid =
                    RESOURCE.with_rid(MEMBER_POOL.0 + rng.below(MEMBER_POOL.1 as usize) as u32);
                entry.get_or_insert(sid);
                members.insert(sid);
            }
            if rng.percent(5) {
                members.insert(group_sid(rng.below(ROLE_GROUPS)));
            }
            (RoleGroupKind::Standard { members }, entry)
        };
        config.role_groups.insert(
            name.to_ascii_lowercase(),
            RoleGroup {
                name: name.clone(),
                sid: group_sid(i),
                description: String::new(),
                kind,
                managed_by: BTreeSet::new(),
                builtin: false,
            },
        );

        // Five assignments: 25 % implicit, 35 % OU, 35 % filter, 5 % exclusive.
        let mut scoped_only = true;
        let mut scoped_writer = false;
        for k in 0..ASSIGNMENTS_PER_GROUP {
            let mut roll = rng.below(100) as u64;
            let role = ROLES
                .iter()
                .find(|(_, w)| {
                    let hit = roll < *w;
                    roll = roll.saturating_sub(*w);
                    hit
                })
                .map_or(ROLES[0].0, |(r, _)| r);
            let kind = match rng.below(100) {
                0..=24 => ScopeKind::Implicit,
                25..=59 => ScopeKind::Ou,
                60..=94 => ScopeKind::Filter,
                _ => ScopeKind::Exclusive,
            };
            let mut a = RoleAssignment::new(
                format!("{role}_{name}_{k}"),
                role.to_owned(),
                Assignee::RoleGroup(name.clone()),
                Delegation::Regular,
            );
            a.recipient_write_scope = match kind {
                ScopeKind::Implicit => RecipientWriteScope::Implicit,
                ScopeKind::Ou => RecipientWriteScope::OrganizationalUnit(if rng.percent(10) {
                    regions[rng.below(REGIONS)].clone()
                } else {
                    ous[rng.below(ous.len())].clone()
                }),
                ScopeKind::Filter => {
                    RecipientWriteScope::Custom(format!("Filter{:03}", rng.below(FILTER_SCOPES)))
                }
                ScopeKind::Exclusive => {
                    RecipientWriteScope::Exclusive(format!("VIP{}", rng.below(EXCLUSIVE_SCOPES)))
                }
            };
            if grants_set_mailbox(role) {
                scoped_only &= kind != ScopeKind::Implicit;
                scoped_writer |=
                    role == "Mail Recipients" && matches!(kind, ScopeKind::Ou | ScopeKind::Filter);
            }
            config.insert_assignment(a);
        }
        group_entry.push((entry, scoped_only && scoped_writer));
    }

    Model {
        config,
        recipients,
        group_entry,
    }
}

/// A caller: the user's SID and 49 group SIDs.
struct Caller {
    user: Sid,
    sids: Vec<Sid>,
}

/// One caller with 3 standard and 2 linked role groups among its 50 SIDs, the
/// rest unrelated resource and foreign groups.
fn make_caller(rng: &mut Rng, model: &Model, n: u32) -> Caller {
    let user = RESOURCE.with_rid(2_000_000 + n);
    let mut sids = vec![user];
    let mut pick = |linked: bool, sids: &mut Vec<Sid>| loop {
        let g = rng.below(ROLE_GROUPS);
        if (g % 4 == 3) != linked {
            continue;
        }
        if let (Some(sid), true) = model.group_entry[g] {
            if !sids.contains(&sid) {
                sids.push(sid);
                return;
            }
        }
    };
    for _ in 0..3 {
        pick(false, &mut sids);
    }
    for _ in 0..2 {
        pick(true, &mut sids);
    }
    let mut k = 0;
    while sids.len() < SIDS_PER_CALLER {
        k += 1;
        let sid = if k % 4 == 0 {
            FOREIGN[k % FOREIGN.len()]
                .1
                .with_rid(FOREIGN_UNRELATED_BASE + n * 100 + k as u32)
        } else {
            RESOURCE.with_rid(UNRELATED_BASE + n * 100 + k as u32)
        };
        sids.push(sid);
    }
    // Fisher–Yates over the group SIDs, the user first as a token has it.
    for i in (2..sids.len()).rev() {
        let j = 1 + rng.below(i);
        sids.swap(i, j);
    }
    Caller { user, sids }
}

/// Callers and, per caller, recipients it may and may not write.
struct Workload {
    callers: Vec<Caller>,
    /// (caller, recipient) pairs the Set-Mailbox request is allowed on.
    allowed: Vec<(usize, usize)>,
    /// (caller, recipient) pairs outside every scope of the caller (and in no
    /// exclusive scope).
    denied: Vec<(usize, usize)>,
}

fn build_workload(
    rng: &mut Rng,
    model: &Model,
    authorizer: &Authorizer,
    policies: &[String],
    set_params: &[String],
) -> Workload {
    let mut callers = Vec::new();
    let mut allowed = Vec::new();
    let mut denied = Vec::new();
    let mut n = 0;
    while callers.len() < CALLERS {
        n += 1;
        assert!(n < 10 * CALLERS as u32, "could not generate callers");
        let caller = make_caller(rng, model, n);
        let subject = Subject {
            user: caller.user,
            sids: &caller.sids,
            policies,
        };
        let (mut yes, mut no) = (Vec::new(), Vec::new());
        let start = rng.below(RECIPIENTS);
        for step in 0..RECIPIENTS {
            // 7,919 is prime and does not divide 100,000: a full cycle.
            let r = (start + step * 7_919) % RECIPIENTS;
            let recipient = &model.recipients[r];
            let request = Request {
                cmdlet: "Set-Mailbox",
                parameters: set_params,
                target: Target::Recipient(recipient),
                access: Access::Write,
            };
            if authorizer.check(&subject, &request) {
                if yes.len() < PAIRS_PER_CALLER {
                    yes.push(r);
                }
            } else if no.len() < PAIRS_PER_CALLER
                && !recipient.attributes.contains_key("CustomAttribute15")
            {
                no.push(r);
            }
            if yes.len() == PAIRS_PER_CALLER && no.len() == PAIRS_PER_CALLER {
                break;
            }
        }
        if yes.len() < PAIRS_PER_CALLER || no.len() < PAIRS_PER_CALLER {
            continue; // reaches an unscoped writer after all (nesting): skip
        }
        let c = callers.len();
        allowed.extend(yes.into_iter().map(|r| (c, r)));
        denied.extend(no.into_iter().map(|r| (c, r)));
        callers.push(caller);
    }
    // Shuffle so consecutive iterations use different callers and recipients.
    for v in [&mut allowed, &mut denied] {
        for i in (1..v.len()).rev() {
            let j = rng.below(i + 1);
            v.swap(i, j);
        }
    }
    Workload {
        callers,
        allowed,
        denied,
    }
}

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    (pages * 4096) as f64 / (1024.0 * 1024.0)
}

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
    let mut rng = Rng(0x00C0_FFEE_2024_0001);
    let model = build_model(&mut rng);
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

    let policies = vec![DEFAULT_POLICY.to_owned()];
    let set_params = vec!["Identity".to_owned(), "CustomAttribute1".to_owned()];
    let remove_params = vec!["Identity".to_owned()];
    let workload = build_workload(&mut rng, &model, &authorizer, &policies, &set_params);
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
