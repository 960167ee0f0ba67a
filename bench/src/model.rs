//! The generated organization every benchmark here uses: recipients in OUs,
//! role groups (a quarter linked to foreign groups), role assignments with OU,
//! filter and exclusive scopes, and callers carrying many group SIDs.
//!
//! Deterministic (splitmix64, fixed seed). Besides the [`RbacConfig`] that
//! crossforest compiles, the model keeps the structure of the scopes it made
//! ([`FilterSpec`], exclusive values) so that the Cedar and casbin
//! translations build the same scopes without parsing OPATH.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context as _, Result};
use crossforest_shared::{DomainSid, ForestName, Sid};
use resource_forest::org::ou::OrganizationalUnit;
use resource_forest::org::recipients::{Recipient, RecipientType};
use resource_forest::rbac::catalogue::{self, DEFAULT_POLICY};
use resource_forest::rbac::model::{
    Assignee, Delegation, LinkedGroup, RecipientWriteScope, RoleAssignment, RoleGroup,
    RoleGroupKind,
};
use resource_forest::rbac::scope::{parse_recipient_filter, ManagementScope, ScopeRule};
use resource_forest::rbac::{Access, Authorizer, RbacConfig, Request, Subject, Target};

/// The size of a generated organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Recipients (mailboxes, mail users, distribution groups).
    pub recipients: usize,
    /// Generated role groups (besides the built-in ones); every fourth is linked.
    pub role_groups: usize,
    /// Role assignments per generated role group.
    pub assignments_per_group: usize,
    /// Length of the chains of nested standard role groups (1: no chains,
    /// only the occasional group nested in a random other one).
    pub nesting: usize,
}

impl Shape {
    /// The organization: 100,000 recipients, 2,000 role groups,
    /// 10,000 assignments, no nesting chains.
    pub const ORGANIZATION: Shape = Shape {
        recipients: 100_000,
        role_groups: 2_000,
        assignments_per_group: 5,
        nesting: 1,
    };

    /// A small organization for tests (debug builds evaluate slowly).
    pub const SMALL: Shape = Shape {
        recipients: 4_000,
        role_groups: 120,
        assignments_per_group: 5,
        nesting: 2,
    };
}

/// Regions (top-level OUs); each has [`OUS_PER_REGION`] OUs.
pub const REGIONS: usize = 10;
/// OUs per region: 200 OUs in all.
pub const OUS_PER_REGION: usize = 20;
/// Regular custom filter scopes.
pub const FILTER_SCOPES: usize = 400;
/// Exclusive scopes `CustomAttribute15 -eq 'VIPn'`.
pub const EXCLUSIVE_SCOPES: usize = 8;
const DEPARTMENTS: usize = 50;
/// Group SIDs (user included) each caller carries.
pub const SIDS_PER_CALLER: usize = 50;

const CITIES: [&str; 20] = [
    "Seattle", "Redmond", "Bellevue", "Portland", "Boston", "Berlin", "Bonn", "Paris", "Lyon",
    "London", "Leeds", "Madrid", "Milan", "Oslo", "Osaka", "Tokyo", "Sydney", "Dublin", "Denver",
    "Dallas",
];

/// Roles the generated assignments use (weights in percent).
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

/// The resource forest's domain.
pub const RESOURCE: DomainSid = DomainSid::new(1_111, 2_222, 3_333);
const FOREIGN: [(&str, DomainSid); 2] = [
    ("fabrikam.com", DomainSid::new(4_444, 5_555, 6_666)),
    ("tailspin.com", DomainSid::new(7_777, 8_888, 9_999)),
];
/// Resource-forest groups that role groups have as members (base RID, and
/// at least this many: ten per role group in larger models, so that a group
/// SID is in the same number of role groups at every size).
const MEMBER_POOL: (u32, u32) = (300_000, 20_000);
const UNRELATED_BASE: u32 = 500_000;
const FOREIGN_UNRELATED_BASE: u32 = 900_000;

/// splitmix64: small, deterministic, good enough to shuffle a model.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The seed every benchmark starts from.
    pub const SEED: u64 = 0x00C0_FFEE_2024_0001;

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `p` percent.
    pub fn percent(&mut self, p: u64) -> bool {
        self.next_u64() % 100 < p
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Implicit,
    Ou,
    Filter,
    Exclusive,
}

/// A generated custom filter scope:
/// `Department -eq '<department>' -and City -like '<city_prefix>*'`, under
/// `root` if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSpec {
    /// The department compared with `-eq`.
    pub department: String,
    /// The City prefix compared with `-like 'prefix*'`.
    pub city_prefix: String,
    /// The scope's `-RecipientRoot`.
    pub root: Option<OrganizationalUnit>,
}

/// The generated organization.
pub struct Model {
    /// The RBAC configuration crossforest compiles.
    pub config: RbacConfig,
    /// The recipients.
    pub recipients: Vec<Recipient>,
    /// Regular filter scopes, by lower-case scope name.
    pub filters: BTreeMap<String, FilterSpec>,
    /// Exclusive scopes, by lower-case scope name: the `CustomAttribute15`
    /// value each protects.
    pub exclusive: BTreeMap<String, String>,
    /// Per generated role group: the SID a caller carries to reach it (a
    /// resource member group, or the linked foreign group), and whether a
    /// caller reaching it never gets an unscoped Set-Mailbox writer from it.
    group_entry: Vec<(Option<Sid>, bool)>,
    /// The shape it was built with.
    pub shape: Shape,
}

fn ou(text: &str) -> Result<OrganizationalUnit> {
    text.parse()
        .with_context(|| format!("generated OU `{text}`"))
}

/// Builds the organization of `shape`.
///
/// # Errors
/// When the built-in catalogue does not load or a generated name or filter
/// does not parse (a bug in the generator).
pub fn build_model(rng: &mut Rng, shape: Shape) -> Result<Model> {
    let admin = RESOURCE.with_rid(500);
    let catalogue = catalogue::builtin().context("built-in catalogue")?;
    let mut config = RbacConfig::from_catalogue(&catalogue, RESOURCE, 1001, &[admin]);

    let regions: Vec<OrganizationalUnit> = (0..REGIONS)
        .map(|r| ou(&format!("contoso.com/Region{r:02}")))
        .collect::<Result<_>>()?;
    let ous: Vec<OrganizationalUnit> = (0..REGIONS * OUS_PER_REGION)
        .map(|i| regions[i / OUS_PER_REGION].child(&format!("OU{i:03}")))
        .collect();

    let recipients: Vec<Recipient> = (0..shape.recipients)
        .map(|i| make_recipient(rng, i, &ous))
        .collect();

    let mut filters = BTreeMap::new();
    for f in 0..FILTER_SCOPES {
        let city = CITIES[rng.below(CITIES.len())];
        let spec = FilterSpec {
            department: format!("Dept{}", rng.below(DEPARTMENTS)),
            city_prefix: city[..2].to_owned(),
            root: None,
        };
        let filter = format!(
            "Department -eq '{}' -and City -like '{}*'",
            spec.department, spec.city_prefix
        );
        parse_recipient_filter(&filter).with_context(|| format!("generated filter {filter}"))?;
        let root = rng.percent(30).then(|| regions[rng.below(REGIONS)].clone());
        let name = format!("Filter{f:03}");
        filters.insert(
            name.to_ascii_lowercase(),
            FilterSpec {
                root: root.clone(),
                ..spec
            },
        );
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
    let mut exclusive = BTreeMap::new();
    for k in 0..EXCLUSIVE_SCOPES {
        let value = format!("VIP{k}");
        let filter = format!("CustomAttribute15 -eq '{value}'");
        parse_recipient_filter(&filter).with_context(|| format!("generated filter {filter}"))?;
        let name = format!("VIP{k}");
        exclusive.insert(name.to_ascii_lowercase(), value);
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

    let group_entry = add_role_groups(rng, shape, &mut config, &regions, &ous)?;
    Ok(Model {
        config,
        recipients,
        filters,
        exclusive,
        group_entry,
        shape,
    })
}

fn make_recipient(rng: &mut Rng, i: usize, ous: &[OrganizationalUnit]) -> Recipient {
    let recipient_type = match rng.below(100) {
        0..=89 => RecipientType::UserMailbox,
        90..=94 => RecipientType::MailUser,
        _ => RecipientType::MailUniversalDistributionGroup,
    };
    let mut attributes = Vec::with_capacity(5);
    attributes.push((
        "Department".to_owned(),
        format!("Dept{}", rng.below(DEPARTMENTS)),
    ));
    attributes.push((
        "City".to_owned(),
        CITIES[rng.below(CITIES.len())].to_owned(),
    ));
    attributes.push(("Office".to_owned(), format!("Bldg{}", rng.below(40))));
    attributes.push((
        "CustomAttribute1".to_owned(),
        format!("CC{:04}", rng.below(5_000)),
    ));
    if rng.percent(1) {
        attributes.push((
            "CustomAttribute15".to_owned(),
            format!("VIP{}", rng.below(EXCLUSIVE_SCOPES)),
        ));
    }
    let name = format!("user{i:07}");
    Recipient {
        alias: name.clone(),
        display_name: format!("User {i:07}"),
        sid: RESOURCE.with_rid(1_000_000 + i as u32),
        organizational_unit: ous[rng.below(ous.len())].clone(),
        user_principal_name: format!("{name}@contoso.com"),
        primary_smtp_address: format!("{name}@contoso.com"),
        external_email_address: String::new(),
        role_assignment_policy: DEFAULT_POLICY.to_owned(),
        members: BTreeSet::new(),
        managed_by: Vec::new(),
        attributes: attributes.into_iter().collect(),
        recipient_type,
        name,
    }
}

/// Role groups: a quarter linked to a foreign group, the rest with ten
/// members from a pool of resource groups, some nested in another role group
/// and, with `shape.nesting > 1`, standard groups chained in blocks of that
/// length (each a member of the next; the chained ones have no implicit
/// scopes). Five assignments each by default: 25 % implicit, 35 % OU, 35 %
/// filter, 5 % exclusive scope.
fn add_role_groups(
    rng: &mut Rng,
    shape: Shape,
    config: &mut RbacConfig,
    regions: &[OrganizationalUnit],
    ous: &[OrganizationalUnit],
) -> Result<Vec<(Option<Sid>, bool)>> {
    let group_sid = |i: usize| RESOURCE.with_rid(20_000 + i as u32);
    let mut group_entry = Vec::with_capacity(shape.role_groups);
    let pool = (MEMBER_POOL.1 as usize).max(shape.role_groups * 10);
    let mut standard_seen = 0usize;
    let mut previous_standard: Option<usize> = None;
    for i in 0..shape.role_groups {
        let name = format!("RG{i:05}");
        let chained =
            i % 4 != 3 && shape.nesting > 1 && !standard_seen.is_multiple_of(shape.nesting);
        let (kind, entry) = if i % 4 == 3 {
            let (forest, domain) = FOREIGN[rng.below(FOREIGN.len())];
            let forest: ForestName = forest.parse().context("forest name")?;
            let sid = domain.with_rid(60_000 + i as u32);
            let link = LinkedGroup {
                sid,
                name: format!("{}\\Exchange Admins {i:05}", forest.netbios()),
                domain_controller: format!("dc1.{}", forest.as_str()),
                credential: format!("{}\\svc-contoso", forest.netbios()),
                forest,
            };
            (RoleGroupKind::Linked(link), Some(sid))
        } else {
            let mut members: BTreeSet<Sid> = BTreeSet::new();
            let mut entry = None;
            for _ in 0..10 {
                let sid = RESOURCE.with_rid(MEMBER_POOL.0 + rng.below(pool) as u32);
                entry.get_or_insert(sid);
                members.insert(sid);
            }
            if rng.percent(5) {
                members.insert(group_sid(rng.below(shape.role_groups)));
            }
            // Chains: within a block of `nesting` standard groups, each has
            // the previous one as a member; callers enter at the block's
            // first group and so reach all `nesting` groups.
            if chained {
                if let Some(prev) = previous_standard {
                    members.insert(group_sid(prev));
                }
                entry = None;
            }
            standard_seen += 1;
            previous_standard = Some(i);
            (RoleGroupKind::Standard { members }, entry)
        };
        config.role_groups.insert(
            name.to_ascii_lowercase(),
            RoleGroup {
                name: name.clone(),
                sid: group_sid(i),
                description: String::new(),
                display_name: String::new(),
                kind,
                managed_by: BTreeSet::new(),
                builtin: false,
            },
        );

        let mut scoped_only = true;
        let mut scoped_writer = false;
        for k in 0..shape.assignments_per_group {
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
                // A chained group writes through explicit scopes only, so that
                // the caller at the chain's start still has recipients it may
                // not write.
                0..=24 if chained => ScopeKind::Ou,
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
    Ok(group_entry)
}

/// A caller: the user's SID (a recipient's, so `Self` scopes apply to its own
/// mailbox) and its group SIDs.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: Sid,
    /// The recipient that is the user's mailbox.
    pub mailbox: usize,
    /// The user and all group SIDs, the user first.
    pub sids: Vec<Sid>,
}

/// One caller with 3 standard and 2 linked role groups among its
/// [`SIDS_PER_CALLER`] SIDs, the rest unrelated resource and foreign groups.
fn make_caller(rng: &mut Rng, model: &Model, n: u32) -> Caller {
    let mailbox = (n as usize * 7_919) % model.recipients.len().max(1);
    let user = model
        .recipients
        .get(mailbox)
        .map_or(RESOURCE.with_rid(2_000_000 + n), |r| r.sid);
    let mut sids = vec![user];
    let groups = model.group_entry.len();
    let mut pick = |linked: bool, sids: &mut Vec<Sid>| {
        for _ in 0..10 * groups {
            let g = rng.below(groups);
            if (g % 4 == 3) != linked {
                continue;
            }
            if let (Some(sid), true) = model.group_entry[g] {
                if !sids.contains(&sid) {
                    sids.push(sid);
                    return;
                }
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
    Caller {
        user,
        mailbox,
        sids,
    }
}

/// Callers and, per caller, recipients it may and may not write.
pub struct Workload {
    /// The callers.
    pub callers: Vec<Caller>,
    /// (caller, recipient) pairs `Set-Mailbox -Identity -CustomAttribute1` is
    /// allowed on.
    pub allowed: Vec<(usize, usize)>,
    /// (caller, recipient) pairs outside every scope of the caller (and in no
    /// exclusive scope).
    pub denied: Vec<(usize, usize)>,
}

/// The policies every caller has: the default role assignment policy.
pub fn policies() -> Vec<String> {
    vec![DEFAULT_POLICY.to_owned()]
}

/// The parameters of the `Set-Mailbox` request the workloads use.
pub fn set_mailbox_parameters() -> Vec<String> {
    vec!["Identity".to_owned(), "CustomAttribute1".to_owned()]
}

/// `callers` callers, each with `pairs` allowed and `pairs` denied recipients
/// for `Set-Mailbox -Identity -CustomAttribute1`, shuffled.
///
/// # Errors
/// When no such callers can be found (a model too small for `pairs`).
pub fn build_workload(
    rng: &mut Rng,
    model: &Model,
    authorizer: &Authorizer,
    callers_wanted: usize,
    pairs: usize,
) -> Result<Workload> {
    let policies = policies();
    let set_params = set_mailbox_parameters();
    let total = model.recipients.len();
    let mut callers = Vec::new();
    let mut allowed = Vec::new();
    let mut denied = Vec::new();
    let mut n = 0u32;
    while callers.len() < callers_wanted {
        n += 1;
        if n > 20 * callers_wanted as u32 + 20 {
            bail!(
                "could not find {callers_wanted} callers with {pairs} allowed and denied recipients each"
            );
        }
        let caller = make_caller(rng, model, n);
        let subject = Subject {
            user: caller.user,
            sids: &caller.sids,
            policies: &policies,
        };
        let (mut yes, mut no) = (Vec::new(), Vec::new());
        let start = rng.below(total);
        for step in 0..total {
            // 7,919 is prime and divides none of the sizes used: a full cycle.
            let r = (start + step * 7_919) % total;
            let recipient = &model.recipients[r];
            let request = Request {
                cmdlet: "Set-Mailbox",
                parameters: &set_params,
                target: Target::Recipient(recipient),
                access: Access::Write,
            };
            if authorizer.check(&subject, &request) {
                if yes.len() < pairs {
                    yes.push(r);
                }
            } else if no.len() < pairs && !recipient.attributes.contains_key("CustomAttribute15") {
                no.push(r);
            }
            if yes.len() == pairs && no.len() == pairs {
                break;
            }
        }
        if yes.len() < pairs || no.len() < pairs {
            continue; // reaches an unscoped writer after all (nesting): skip
        }
        let c = callers.len();
        allowed.extend(yes.into_iter().map(|r| (c, r)));
        denied.extend(no.into_iter().map(|r| (c, r)));
        callers.push(caller);
    }
    for v in [&mut allowed, &mut denied] {
        for i in (1..v.len()).rev() {
            let j = rng.below(i + 1);
            v.swap(i, j);
        }
    }
    Ok(Workload {
        callers,
        allowed,
        denied,
    })
}

/// The process's resident memory in MiB (from `/proc/self/statm`; 0 where
/// that file is missing).
pub fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    (pages * 4096) as f64 / (1024.0 * 1024.0)
}
