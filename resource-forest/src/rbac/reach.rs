//! What a caller reaches for one cmdlet, cached per caller (issue 20).
//!
//! A check joins the caller's SIDs (50 in a typical token) against the
//! role-group closures and the cmdlet's assignments; the same caller sends
//! the same SIDs request after request, so the join's result — the regular,
//! enabled assignments reached, grouped by role — is kept, keyed by the
//! exact SID list, policies and cmdlet. The cache belongs to one compiled
//! [`Authorizer`](super::Authorizer): a change to RBAC compiles a new one,
//! which starts empty. It is bounded: at most [`MAX_ENTRIES`] entries (a
//! full shard is emptied before it takes another), and a caller with more
//! than [`MAX_SIDS`] SIDs is evaluated without it.
//!
//! A caller built once as a [`Caller`] (its SIDs and policies fixed, an id
//! drawn when it is built) is also kept in a small per-thread front keyed by
//! (compiled authorizer, caller id, cmdlet): a hit there compares three
//! integers and takes no lock and no atomic. A miss goes to the shared cache
//! with the whole key, so the front only remembers what the shared cache
//! answered for exactly that caller's SIDs and policies.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossforest_shared::Sid;
use rustc_hash::{FxHashMap, FxHasher};

use super::Subject;

/// Independent locks, so that concurrent checks of different callers
/// rarely wait for each other.
const SHARDS: usize = 16;
/// Callers × cmdlets kept at most.
pub const MAX_ENTRIES: usize = 4096;
const PER_SHARD: usize = MAX_ENTRIES / SHARDS;
/// A caller with more SIDs than this is not cached.
pub const MAX_SIDS: usize = 1024;

/// The assignments of one role that a caller reaches for one cmdlet.
#[derive(Debug)]
pub(super) struct RoleReach {
    /// The parameter ids the role grants for the cmdlet, sorted.
    pub params: Arc<[u32]>,
    /// Assignment ids, cheapest scope test first; of assignments with the
    /// same scopes only the first (they decide alike).
    pub assignments: Box<[u32]>,
}

/// What one caller reaches for one cmdlet, with the key it was computed for.
#[derive(Debug)]
pub(super) struct Reach {
    cmdlet: u32,
    sids: Box<[Sid]>,
    policies: Box<[String]>,
    /// By role.
    pub roles: Box<[RoleReach]>,
}

impl Reach {
    fn is_for(&self, cmdlet: u32, sids: &[Sid], policies: &[String]) -> bool {
        self.cmdlet == cmdlet && *self.sids == *sids && *self.policies == *policies
    }
}

/// The cache: entries by the hash of their key, in shards.
#[derive(Debug)]
pub(super) struct ReachCache {
    /// Unique per cache (so per compiled authorizer): the front's entries of
    /// another authorizer never answer for this one.
    generation: u64,
    shards: [Mutex<FxHashMap<u64, Arc<Reach>>>; SHARDS],
}

impl Default for ReachCache {
    fn default() -> Self {
        Self {
            generation: next_id(),
            shards: Default::default(),
        }
    }
}

/// Ids of callers and caches: never reused while the process runs.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A caller whose SIDs and policies are fixed when it is built (the server's
/// principal of a token, a benchmark's caller): its id stands for exactly
/// them, so the per-thread front can key on it.
#[derive(Debug, Clone)]
pub struct Caller {
    id: u64,
    user: Sid,
    sids: Box<[Sid]>,
    policies: Box<[String]>,
}

impl Caller {
    /// The caller `user` with `sids` (the user's and its groups') and the
    /// role assignment `policies` that apply to it.
    pub fn new(user: Sid, sids: impl Into<Box<[Sid]>>, policies: impl Into<Box<[String]>>) -> Self {
        Self {
            id: next_id(),
            user,
            sids: sids.into(),
            policies: policies.into(),
        }
    }

    /// The caller as a [`Subject`].
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            user: self.user,
            sids: &self.sids,
            policies: &self.policies,
        }
    }
}

/// Slots of the per-thread front (direct-mapped: a slot's new entry replaces
/// the old one).
pub const FRONT_SLOTS: usize = 256;

/// (cache generation, caller id, cmdlet) and what the shared cache answered.
type FrontEntry = (u64, u64, u32, Arc<Reach>);

thread_local! {
    static FRONT: RefCell<Vec<Option<FrontEntry>>> =
        RefCell::new(vec![None; FRONT_SLOTS]);
}

/// SIDs the hash reads at most (besides the last).
const SAMPLED: usize = 16;

/// The key's hash, from a sample of the SIDs (every few, and the last): a
/// hit compares the whole key, so a sample can only make two callers share
/// a slot, never one answer for another; and hashing 50 SIDs would cost
/// more than the join the cache saves.
fn key_hash(cmdlet: u32, sids: &[Sid], policies: &[String]) -> u64 {
    let mut h = FxHasher::default();
    cmdlet.hash(&mut h);
    sids.len().hash(&mut h);
    policies.hash(&mut h);
    let step = sids.len().div_ceil(SAMPLED).max(1);
    for sid in sids.iter().step_by(step).chain(sids.last()) {
        let [a, b, c] = sid.domain().sub_authorities();
        h.write_u64(u64::from(a) << 32 | u64::from(b));
        h.write_u64(u64::from(c) << 32 | u64::from(sid.rid()));
    }
    h.finish()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave an entry half-written (entries are
    // inserted whole), so a poisoned shard is still sound.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ReachCache {
    /// The reach of (`cmdlet`, `sids`, `policies`): the cached one, or
    /// `compute`'s, then kept.
    pub fn get_or_compute(
        &self,
        cmdlet: u32,
        sids: &[Sid],
        policies: &[String],
        compute: impl FnOnce() -> Box<[RoleReach]>,
    ) -> Arc<Reach> {
        let fresh = |roles| {
            Arc::new(Reach {
                cmdlet,
                sids: sids.into(),
                policies: policies.into(),
                roles,
            })
        };
        if sids.len() > MAX_SIDS {
            return fresh(compute());
        }
        let hash = key_hash(cmdlet, sids, policies);
        let shard = &self.shards[((hash >> 32) ^ hash) as usize % SHARDS];
        if let Some(known) = lock(shard).get(&hash) {
            if known.is_for(cmdlet, sids, policies) {
                return known.clone();
            }
        }
        let reach = fresh(compute());
        let mut map = lock(shard);
        if map.len() >= PER_SHARD {
            map.clear();
        }
        // A different key with the same hash is replaced.
        map.insert(hash, reach.clone());
        reach
    }

    /// `decide` on the reach of (`cmdlet`, `caller`): from this thread's
    /// front when it holds it, else [`ReachCache::get_or_compute`]'s, then
    /// kept in the front.
    pub fn with_caller<R>(
        &self,
        cmdlet: u32,
        caller: &Caller,
        compute: impl FnOnce() -> Box<[RoleReach]>,
        decide: impl FnOnce(&Reach) -> R,
    ) -> R {
        let slot = (caller.id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(cmdlet).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ self.generation) as usize
            % FRONT_SLOTS;
        FRONT.with(|front| {
            if let Some((g, id, c, reach)) = &front.borrow()[slot] {
                if (*g, *id, *c) == (self.generation, caller.id, cmdlet) {
                    return decide(reach);
                }
            }
            let reach = self.get_or_compute(cmdlet, &caller.sids, &caller.policies, compute);
            let answer = decide(&reach);
            front.borrow_mut()[slot] = Some((self.generation, caller.id, cmdlet, reach));
            answer
        })
    }

    /// Entries kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::org::recipients::{Recipient, RecipientType};
    use crate::rbac::catalogue::builtin;
    use crate::rbac::model::{
        Assignee, Delegation, RecipientScope, RecipientWriteScope, RoleAssignment, RoleGroup,
        RoleGroupKind,
    };
    use crate::rbac::scope::{ManagementScope, ScopeRule};
    use crate::rbac::{
        Access, Authorizer, Caller, Explanation, RbacConfig, Request, Subject, Target,
    };
    use crossforest_shared::{DomainSid, Sid};

    use super::MAX_ENTRIES;

    const DOMAIN: DomainSid = DomainSid::new(7, 8, 9);
    const ROLES: [&str; 5] = [
        "Mail Recipients",
        "User Options",
        "MyBaseOptions",
        "Mail Recipient Creation",
        "Distribution Groups",
    ];
    const POLICIES: [&str; 2] = ["Default Role Assignment Policy", "Other Policy"];
    const CMDLETS: [&str; 5] = [
        "Set-Mailbox",
        "Get-Mailbox",
        "Set-User",
        "New-Mailbox",
        "Remove-Mailbox",
    ];
    const PARAMETERS: [&str; 7] = [
        "Identity",
        "Office",
        "CustomAttribute1",
        "Languages",
        "Verbose",
        "Password",
        "NoSuchParameter",
    ];

    fn user(i: u32) -> Sid {
        DOMAIN.with_rid(3000 + i)
    }

    fn group_sid(i: u32) -> Sid {
        DOMAIN.with_rid(2000 + i)
    }

    fn recipient(sid: Sid, ou: &str, department: &str, vip: bool) -> Recipient {
        let mut attributes = vec![("Department".to_owned(), department.to_owned())];
        if vip {
            attributes.push(("CustomAttribute15".to_owned(), "VIP".to_owned()));
        }
        Recipient {
            name: format!("r{}", sid.rid()),
            recipient_type: RecipientType::UserMailbox,
            alias: String::new(),
            display_name: String::new(),
            sid,
            organizational_unit: ou.parse().expect("ou"),
            user_principal_name: String::new(),
            primary_smtp_address: String::new(),
            external_email_address: String::new(),
            role_assignment_policy: String::new(),
            members: Default::default(),
            managed_by: Vec::new(),
            attributes: attributes.into_iter().collect(),
        }
    }

    fn recipients() -> Vec<Recipient> {
        vec![
            recipient(user(0), "contoso.com/Users/East", "Sales", false),
            recipient(user(1), "contoso.com/Users/West", "Legal", false),
            recipient(user(2), "contoso.com/Users/East", "Legal", true),
            recipient(DOMAIN.with_rid(9000), "contoso.com/Users", "Sales", true),
        ]
    }

    /// (role, assignee kind and index, write scope, enabled).
    type AssignmentSpec = (usize, u8, u32, u8, bool);

    fn config(groups: &[Vec<u32>], assignments: &[AssignmentSpec], exclusive: bool) -> RbacConfig {
        let mut c = RbacConfig::from_catalogue(
            &builtin().expect("catalogue"),
            DOMAIN,
            1001,
            &[DOMAIN.with_rid(500)],
        );
        for (i, members) in groups.iter().enumerate() {
            // Members below 10 are users, the rest other role groups.
            let members = members
                .iter()
                .map(|m| {
                    if *m < 10 {
                        user(*m)
                    } else {
                        group_sid(m % groups.len() as u32)
                    }
                })
                .collect();
            c.role_groups.insert(
                format!("g{i}"),
                RoleGroup {
                    name: format!("G{i}"),
                    sid: group_sid(i as u32),
                    description: String::new(),
                    display_name: String::new(),
                    kind: RoleGroupKind::Standard { members },
                    managed_by: Default::default(),
                    builtin: false,
                },
            );
        }
        let scope = |name: &str, filter: &str, root: Option<&str>, exclusive| ManagementScope {
            name: name.into(),
            rule: ScopeRule::Recipients {
                root: root.map(|r| r.parse().expect("ou")),
                filter: Some(filter.into()),
            },
            exclusive,
        };
        c.scopes.insert(
            "sales".into(),
            scope(
                "Sales",
                "Department -eq 'Sales'",
                Some("contoso.com/Users"),
                false,
            ),
        );
        c.scopes.insert(
            "vip".into(),
            scope("VIP", "CustomAttribute15 -eq 'VIP'", None, exclusive),
        );
        for (k, (role, kind, who, write, enabled)) in assignments.iter().enumerate() {
            let assignee = match kind % 4 {
                0 => Assignee::RoleGroup(format!("G{}", who % groups.len().max(1) as u32)),
                1 => Assignee::User(user(who % 5)),
                2 => Assignee::SecurityGroup(group_sid(10 + who % 3)),
                _ => Assignee::Policy(POLICIES[*who as usize % 2].into()),
            };
            let mut a = RoleAssignment::new(
                format!("A{k}"),
                ROLES[role % ROLES.len()].into(),
                assignee,
                Delegation::Regular,
            );
            a.recipient_write_scope = match write % 8 {
                0 => RecipientWriteScope::Implicit,
                1 => RecipientWriteScope::Relative(RecipientScope::Myself),
                2 => RecipientWriteScope::Relative(RecipientScope::Organization),
                3 => RecipientWriteScope::OrganizationalUnit(
                    "contoso.com/Users/East".parse().expect("ou"),
                ),
                4 => RecipientWriteScope::Custom("Sales".into()),
                5 => RecipientWriteScope::Custom("No Such Scope".into()),
                6 => RecipientWriteScope::Exclusive("VIP".into()),
                _ => RecipientWriteScope::Custom("VIP".into()),
            };
            a.enabled = *enabled;
            c.insert_assignment(a);
        }
        c
    }

    fn subject_sids(picks: &[u32]) -> Vec<Sid> {
        picks
            .iter()
            .map(|p| match p % 3 {
                0 => user(p / 3 % 6),
                1 => group_sid(p / 3 % 14),
                _ => DOMAIN.with_rid(7000 + p),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The cached check — by SID list, and by a caller built once (the
        /// per-thread front) — decides as the straightforward evaluation and
        /// as the explanation, on its first (computing) and second (cached)
        /// look.
        #[test]
        fn the_cached_reach_decides_as_the_straightforward_evaluation(
            groups in prop::collection::vec(prop::collection::vec(0u32..16, 0..4), 1..5),
            assignments in prop::collection::vec(
                (0usize..5, 0u8..4, 0u32..8, 0u8..8, prop::bool::weighted(0.9)),
                0..10,
            ),
            exclusive in any::<bool>(),
            sid_lists in prop::collection::vec(prop::collection::vec(0u32..60, 0..8), 1..3),
            callers in prop::collection::vec(
                (0usize..2, prop::collection::vec(0usize..2, 0..3)),
                1..5,
            ),
            requests in prop::collection::vec(
                (0usize..5, prop::collection::vec(0usize..7, 0..4), 0usize..5, any::<bool>(), 0usize..5),
                1..24,
            ),
        ) {
            let authorizer = Authorizer::new(&config(&groups, &assignments, exclusive));
            let recipients = recipients();
            // Callers share SID lists with different policies.
            let built: Vec<Caller> = callers
                .iter()
                .map(|(list, policies)| {
                    let sids = subject_sids(&sid_lists[list % sid_lists.len()]);
                    let policies: Vec<String> =
                        policies.iter().map(|p| POLICIES[*p].to_owned()).collect();
                    Caller::new(sids.first().copied().unwrap_or(user(0)), sids, policies)
                })
                .collect();
            for _look in 0..2 {
                for (cmdlet, params, target, write, caller) in &requests {
                    let caller = &built[caller % built.len()];
                    let subject = caller.subject();
                    let parameters: Vec<String> =
                        params.iter().map(|p| PARAMETERS[*p].to_owned()).collect();
                    let request = Request {
                        cmdlet: CMDLETS[*cmdlet],
                        parameters: &parameters,
                        target: recipients
                            .get(*target)
                            .map_or(Target::None, |r| Target::Recipient(r)),
                        access: if *write { Access::Write } else { Access::Read },
                    };
                    let cached = authorizer.check(&subject, &request);
                    prop_assert_eq!(cached, authorizer.check_uncached(&subject, &request));
                    prop_assert_eq!(cached, authorizer.check_caller(caller, &request));
                    prop_assert_eq!(
                        cached,
                        matches!(authorizer.explain(&subject, &request), Explanation::Allowed(_))
                    );
                }
            }
        }
    }

    /// A change to RBAC compiles a new authorizer whose cache starts empty:
    /// the caller the old one allowed (and cached) is denied by the new one,
    /// while the old one, still serving its snapshot, keeps its answer.
    #[test]
    fn a_change_to_rbac_is_not_hidden_by_the_cache() {
        let spec = |write| vec![(0usize, 0u8, 0u32, write, true)];
        let before = Authorizer::new(&config(&[vec![0]], &spec(0), false));
        let sids = [user(0), DOMAIN.with_rid(7001)];
        let subject = Subject {
            user: user(0),
            sids: &sids,
            policies: &[],
        };
        let parameters = ["Identity".to_owned(), "Office".to_owned()];
        let legal = &recipients()[1];
        let request = Request {
            cmdlet: "Set-Mailbox",
            parameters: &parameters,
            target: Target::Recipient(legal),
            access: Access::Write,
        };
        let caller = Caller::new(user(0), sids, Vec::new());
        assert!(before.check(&subject, &request));
        assert!(before.check(&subject, &request), "cached");
        assert!(before.check_caller(&caller, &request), "front");
        assert!(before.check_caller(&caller, &request), "front, cached");
        assert_eq!(before.cached_callers(), 1);
        // The assignment now writes only the East OU.
        let after = Authorizer::new(&config(&[vec![0]], &spec(3), false));
        assert_eq!(after.cached_callers(), 0);
        assert!(!after.check(&subject, &request));
        // The same caller on the same thread: the front's entry of the old
        // authorizer does not answer for the new one, nor the other way.
        for _ in 0..2 {
            assert!(!after.check_caller(&caller, &request));
            assert!(before.check_caller(&caller, &request));
        }
        assert!(before.check(&subject, &request));
        // A caller with one more SID is another key.
        let more = [user(0), DOMAIN.with_rid(7001), DOMAIN.with_rid(7002)];
        let other = Subject {
            sids: &more,
            ..subject
        };
        assert!(before.check(&other, &request));
        assert_eq!(before.cached_callers(), 2);
    }

    /// However many callers, the cache keeps at most `MAX_ENTRIES`.
    #[test]
    fn the_cache_is_bounded() {
        let authorizer = Authorizer::new(&config(&[vec![0]], &[(0, 0, 0, 0, true)], false));
        let parameters = ["Identity".to_owned()];
        let target = &recipients()[0];
        let request = Request {
            cmdlet: "Set-Mailbox",
            parameters: &parameters,
            target: Target::Recipient(target),
            access: Access::Write,
        };
        for i in 0..3 * MAX_ENTRIES as u32 {
            let sids = [user(0), DOMAIN.with_rid(100_000 + i)];
            let subject = Subject {
                user: user(0),
                sids: &sids,
                policies: &[],
            };
            assert!(authorizer.check(&subject, &request));
            assert!(authorizer.cached_callers() <= MAX_ENTRIES);
        }
        assert!(authorizer.cached_callers() > MAX_ENTRIES / 4);
    }
}
