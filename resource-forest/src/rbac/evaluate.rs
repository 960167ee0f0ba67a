//! Authorisation: who may run which cmdlet, with which parameters, on which object.
//!
//! [`Authorizer`] is compiled from an [`RbacConfig`] whenever the configuration
//! changes. Role-group closures (nested groups, linked groups' foreign SIDs) are
//! precomputed and cycle-safe, and assignments are indexed by cmdlet and by
//! group, so that a check is a few hash look-ups per caller SID plus one scope
//! test per candidate assignment. The caller's SIDs arrive with the request
//! and are joined at request time; the join's result for a SID list and a
//! cmdlet is kept, bounded, while this compiled form lives (`reach`), so a
//! caller's next check is one look-up plus the scope tests.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use crossforest_shared::Sid;
use rustc_hash::{FxHashMap, FxHashSet};

use super::common_parameters::is_common_parameter;
use super::config::RbacConfig;
use super::explain::{Chain, Denial, Explanation, Link};
use super::model::{
    Assignee, ConfigScope, ConfigWriteScope, Delegation, ImplicitScopes, RecipientScope,
    RecipientWriteScope, RoleGroupKind,
};
use super::reach::{Caller, Reach, ReachCache, RoleReach};
use super::scope::{CompiledScope, ConfigObject, RecipientObject, ScopeRestrictionType};
use crossforest_shared::ou::OrganizationalUnit;

/// Who is asking: the user's SID and every group SID kept after SID filtering.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The user.
    pub user: Sid,
    /// The user and all its (filtered) group SIDs.
    pub sids: &'a [Sid],
    /// Role assignment policies that apply (the user's mailbox policy).
    pub policies: &'a [String],
}

/// What the request acts on.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// No particular object (a listing, or the cmdlet-level check).
    None,
    /// A recipient in the domain partition.
    Recipient(&'a dyn RecipientObject),
    /// An Exchange server (configuration partition).
    Server(&'a dyn ConfigObject),
    /// A mailbox database (configuration partition).
    Database(&'a dyn ConfigObject),
    /// Another object of the configuration partition (role groups, roles,
    /// scopes, policies, connectors).
    Config,
}

impl std::fmt::Debug for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Recipient(r) => write!(f, "Recipient({})", r.name()),
            Self::Server(s) => write!(f, "Server({})", s.name()),
            Self::Database(d) => write!(f, "Database({})", d.name()),
            Self::Config => f.write_str("Config"),
        }
    }
}

impl Target<'_> {
    /// The object's name, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::None => "the object".to_owned(),
            Self::Recipient(r) => r.name().to_owned(),
            Self::Server(s) => format!("server {}", s.name()),
            Self::Database(d) => format!("database {}", d.name()),
            Self::Config => "the configuration object".to_owned(),
        }
    }
}

/// Reading or writing the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Implicit read scopes apply.
    Read,
    /// Write scopes apply.
    Write,
}

/// A request to authorise.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Cmdlet name.
    pub cmdlet: &'a str,
    /// Names of the parameters used.
    pub parameters: &'a [String],
    /// The object.
    pub target: Target<'a>,
    /// Read or write.
    pub access: Access,
}

/// How the subject reached an assignment (indices into the compiled form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ViaIx {
    /// Through role group `group`, because of the subject's SID at `sid`.
    Group { group: u32, sid: u32 },
    /// Assigned directly to the subject's SID at `sid`.
    Principal { sid: u32 },
    /// Through the subject's policy at `policy`.
    Policy { policy: u32 },
}

#[derive(Debug, PartialEq)]
enum RecipientWrite {
    Implicit,
    Relative(RecipientScope),
    Ou(OrganizationalUnit),
    Custom(u32),
    Exclusive(u32),
    /// Names a scope that does not exist: covers nothing.
    Missing,
}

#[derive(Debug, PartialEq)]
enum ConfigWrite {
    Implicit,
    Custom(u32),
    Exclusive(u32),
    Missing,
}

#[derive(Debug)]
struct CompiledAssignment {
    name: String,
    role: u32,
    recipient: RecipientWrite,
    config: ConfigWrite,
}

#[derive(Debug)]
struct CompiledRole {
    name: String,
    scopes: ImplicitScopes,
    /// Cmdlet id → granted parameter ids, sorted.
    entries: FxHashMap<u32, Arc<[u32]>>,
    /// Entry text by cmdlet id, for explanations.
    entry_text: FxHashMap<u32, String>,
}

/// Regular, enabled assignments granting one cmdlet, by whom they reach.
#[derive(Debug, Default)]
struct CmdletIndex {
    groups: FxHashMap<u32, Vec<u32>>,
    policies: FxHashMap<String, Vec<u32>>,
}

/// Interned names: exact spelling first, lower case as a fallback.
#[derive(Debug, Default)]
struct Names {
    exact: FxHashMap<String, u32>,
    folded: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.exact.insert(name.to_owned(), id);
        self.folded.insert(name.to_ascii_lowercase(), id);
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.exact
            .get(name)
            .or_else(|| self.folded.get(&name.to_ascii_lowercase()))
            .copied()
    }
}

/// The compiled, immutable form of an [`RbacConfig`], built once per change.
#[derive(Debug)]
pub struct Authorizer {
    cmdlets: Names,
    parameters: Names,
    roles: Vec<CompiledRole>,
    role_index: FxHashMap<String, u32>,
    assignments: Vec<CompiledAssignment>,
    scopes: Vec<CompiledScope>,
    /// Exclusive recipient scopes that aren't simple equalities.
    exclusive_recipient: Vec<u32>,
    /// Exclusive recipient scopes of the form `P -eq 'v'`, by property and
    /// lower-cased value: one property read per property, not per scope.
    exclusive_by_value: Vec<(&'static str, FxHashMap<String, Vec<u32>>)>,
    exclusive_config: Vec<u32>,
    group_names: Vec<String>,
    group_sids: Vec<Sid>,
    group_linked: Vec<Option<String>>,
    group_index: FxHashMap<String, u32>,
    /// Direct membership: member SID → role groups (linked: the foreign SID).
    direct: FxHashMap<Sid, Vec<u32>>,
    /// Leaf SID → every role group it is in (closed over nesting) and the
    /// regular assignments made to it directly: one look-up per caller SID.
    sid_groups: FxHashMap<Sid, SidEntry>,
    /// Regular, enabled assignments by cmdlet id.
    by_cmdlet: Vec<CmdletIndex>,
    /// Enabled delegating assignments: (role, assignee).
    delegating: Vec<(u32, Assignee, String)>,
    /// Regular, enabled assignments: (assignment, assignee).
    regular: Vec<(u32, Assignee)>,
    /// What each recent caller reaches per cmdlet.
    reach: ReachCache,
}

/// What one SID reaches.
#[derive(Debug, Default)]
struct SidEntry {
    /// Role groups, sorted, nesting closed.
    groups: Box<[u32]>,
    /// Regular, enabled assignments to the SID itself (`-User`, `-SecurityGroup`).
    direct: Vec<u32>,
}

/// A candidate assignment for one request.
type Candidate = (u32, ViaIx);

/// The exclusive scopes protecting a write's target, computed at most once per
/// request and only if some candidate's own scope matches (R-SCOPE-3).
struct Protected<'t> {
    target: Target<'t>,
    scopes: std::cell::OnceCell<Vec<u32>>,
}

impl<'t> Protected<'t> {
    fn new(target: Target<'t>) -> Self {
        Self {
            target,
            scopes: std::cell::OnceCell::new(),
        }
    }

    fn list(&self, authorizer: &Authorizer) -> &[u32] {
        self.scopes
            .get_or_init(|| authorizer.protecting(self.target))
    }
}

impl Authorizer {
    /// Compiles `config`. Circular role-group nesting is allowed and terminates.
    pub fn new(config: &RbacConfig) -> Self {
        let mut cmdlets = Names::default();
        let mut parameters = Names::default();
        let mut roles = Vec::with_capacity(config.roles.len());
        let mut role_index = FxHashMap::default();
        for role in config.roles.values() {
            let mut entries = FxHashMap::default();
            let mut entry_text = FxHashMap::default();
            for entry in role.entries.values() {
                let c = cmdlets.intern(&entry.cmdlet);
                let mut ps: Vec<u32> = entry
                    .parameters
                    .iter()
                    .map(|p| parameters.intern(p))
                    .collect();
                ps.sort_unstable();
                entries.insert(c, ps.into());
                entry_text.insert(c, entry.to_string());
            }
            role_index.insert(role.name.to_ascii_lowercase(), roles.len() as u32);
            roles.push(CompiledRole {
                name: role.name.clone(),
                scopes: role.scopes,
                entries,
                entry_text,
            });
        }

        let scopes: Vec<CompiledScope> = config.scopes.values().map(CompiledScope::new).collect();
        let scope_index: HashMap<String, u32> = scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.to_ascii_lowercase(), i as u32))
            .collect();
        let exclusive_of = |kinds: &[ScopeRestrictionType]| -> Vec<u32> {
            (0..scopes.len() as u32)
                .filter(|i| {
                    let s = &scopes[*i as usize];
                    s.exclusive && kinds.contains(&s.kind)
                })
                .collect()
        };
        let mut exclusive_recipient = Vec::new();
        let mut exclusive_by_value: Vec<(&'static str, FxHashMap<String, Vec<u32>>)> = Vec::new();
        for i in exclusive_of(&[ScopeRestrictionType::RecipientScope]) {
            match scopes[i as usize].as_equality() {
                Some((property, value)) => {
                    let at = match exclusive_by_value.iter().position(|(p, _)| *p == property) {
                        Some(at) => at,
                        None => {
                            exclusive_by_value.push((property, FxHashMap::default()));
                            exclusive_by_value.len() - 1
                        }
                    };
                    exclusive_by_value[at]
                        .1
                        .entry(value.to_lowercase())
                        .or_default()
                        .push(i);
                }
                None => exclusive_recipient.push(i),
            }
        }
        let exclusive_config = exclusive_of(&[
            ScopeRestrictionType::ServerScope,
            ScopeRestrictionType::DatabaseScope,
        ]);

        let groups: Vec<_> = config.role_groups.values().collect();
        let group_index: FxHashMap<String, u32> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.to_ascii_lowercase(), i as u32))
            .collect();
        let group_by_sid: FxHashSet<Sid> = groups.iter().map(|g| g.sid).collect();
        let mut direct: FxHashMap<Sid, Vec<u32>> = FxHashMap::default();
        for (i, g) in groups.iter().enumerate() {
            match &g.kind {
                RoleGroupKind::Standard { members } => {
                    for m in members {
                        direct.entry(*m).or_default().push(i as u32);
                    }
                }
                RoleGroupKind::Linked(link) => direct.entry(link.sid).or_default().push(i as u32),
            }
        }
        // Close over nesting: a member of group G is a member of every group G
        // is in. Memoised per group, cycle-safe by an explicit visited set.
        let mut closure_of_group: Vec<Option<Box<[u32]>>> = vec![None; groups.len()];
        for g in 0..groups.len() {
            let mut seen: FxHashSet<u32> = FxHashSet::default();
            let mut stack: Vec<u32> = vec![g as u32];
            while let Some(next) = stack.pop() {
                if !seen.insert(next) {
                    continue;
                }
                if let Some(Some(known)) = closure_of_group.get(next as usize) {
                    seen.extend(known.iter().copied());
                    continue;
                }
                if let Some(parents) = direct.get(&groups[next as usize].sid) {
                    stack.extend(parents.iter().copied());
                }
            }
            let mut closure: Vec<u32> = seen.into_iter().collect();
            closure.sort_unstable();
            closure_of_group[g] = Some(closure.into_boxed_slice());
        }
        let mut sid_groups: FxHashMap<Sid, SidEntry> = direct
            .iter()
            .filter(|(sid, _)| !group_by_sid.contains(sid))
            .map(|(sid, start)| {
                let mut all: Vec<u32> = start
                    .iter()
                    .flat_map(|g| closure_of_group[*g as usize].iter().flatten().copied())
                    .collect();
                all.sort_unstable();
                all.dedup();
                (
                    *sid,
                    SidEntry {
                        groups: all.into_boxed_slice(),
                        direct: Vec::new(),
                    },
                )
            })
            .collect();

        let mut assignments = Vec::new();
        let mut by_cmdlet: Vec<CmdletIndex> = (0..cmdlets.names.len())
            .map(|_| CmdletIndex::default())
            .collect();
        let mut delegating = Vec::new();
        let mut regular = Vec::new();
        for a in config.assignments.values() {
            let Some(role) = role_index.get(&a.role.to_ascii_lowercase()).copied() else {
                continue;
            };
            if !a.enabled {
                continue;
            }
            if a.delegation == Delegation::Delegating {
                delegating.push((role, a.assignee.clone(), a.name.clone()));
                continue;
            }
            let scope = |name: &str| scope_index.get(&name.to_ascii_lowercase()).copied();
            let recipient = match &a.recipient_write_scope {
                RecipientWriteScope::Implicit => RecipientWrite::Implicit,
                RecipientWriteScope::Relative(s) => RecipientWrite::Relative(*s),
                RecipientWriteScope::OrganizationalUnit(ou) => RecipientWrite::Ou(ou.clone()),
                RecipientWriteScope::Custom(s) => {
                    scope(s).map_or(RecipientWrite::Missing, RecipientWrite::Custom)
                }
                RecipientWriteScope::Exclusive(s) => {
                    scope(s).map_or(RecipientWrite::Missing, RecipientWrite::Exclusive)
                }
            };
            let config_scope = match &a.config_write_scope {
                ConfigWriteScope::Implicit => ConfigWrite::Implicit,
                ConfigWriteScope::Custom(s) => {
                    scope(s).map_or(ConfigWrite::Missing, ConfigWrite::Custom)
                }
                ConfigWriteScope::Exclusive(s) => {
                    scope(s).map_or(ConfigWrite::Missing, ConfigWrite::Exclusive)
                }
            };
            let index = assignments.len() as u32;
            assignments.push(CompiledAssignment {
                name: a.name.clone(),
                role,
                recipient,
                config: config_scope,
            });
            regular.push((index, a.assignee.clone()));
            if let Assignee::User(sid) | Assignee::SecurityGroup(sid) = &a.assignee {
                sid_groups.entry(*sid).or_default().direct.push(index);
            }
            for cmdlet in roles[role as usize].entries.keys() {
                let slot = &mut by_cmdlet[*cmdlet as usize];
                match &a.assignee {
                    Assignee::RoleGroup(g) => {
                        if let Some(g) = group_index.get(&g.to_ascii_lowercase()) {
                            slot.groups.entry(*g).or_default().push(index);
                        }
                    }
                    Assignee::User(_) | Assignee::SecurityGroup(_) => {}
                    Assignee::Policy(p) => {
                        // Under the name as stored and folded, so that the
                        // common exact look-up allocates nothing.
                        slot.policies.entry(p.clone()).or_default().push(index);
                        let folded = p.to_ascii_lowercase();
                        if folded != *p {
                            slot.policies.entry(folded).or_default().push(index);
                        }
                    }
                }
            }
        }
        Self {
            cmdlets,
            parameters,
            roles,
            role_index,
            assignments,
            scopes,
            exclusive_recipient,
            exclusive_by_value,
            exclusive_config,
            group_names: groups.iter().map(|g| g.name.clone()).collect(),
            group_sids: groups.iter().map(|g| g.sid).collect(),
            group_linked: groups
                .iter()
                .map(|g| match &g.kind {
                    RoleGroupKind::Linked(link) => Some(link.name.clone()),
                    RoleGroupKind::Standard { .. } => None,
                })
                .collect(),
            group_index,
            direct,
            sid_groups,
            by_cmdlet,
            delegating,
            regular,
            reach: ReachCache::default(),
        }
    }

    /// Every leaf SID (user, USG, foreign group) that reaches a role group or
    /// holds a direct assignment.
    pub fn principals(&self) -> Vec<Sid> {
        self.sid_groups.keys().copied().collect()
    }

    /// The role groups `subject` reaches, with the SID that got it there.
    pub fn role_groups_of(&self, subject: &Subject<'_>) -> Vec<(String, Sid)> {
        let mut out: Vec<(String, Sid)> = Vec::new();
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        for sid in subject.sids {
            for g in self
                .sid_groups
                .get(sid)
                .into_iter()
                .flat_map(|e| e.groups.iter())
            {
                if seen.insert(*g) {
                    out.push((self.group_names[*g as usize].clone(), *sid));
                }
            }
        }
        out
    }

    /// Whether `subject` is a member of the role group `name`, directly, nested
    /// or through a linked foreign group.
    pub fn is_member(&self, subject: &Subject<'_>, name: &str) -> bool {
        let Some(g) = self.group_index.get(&name.to_ascii_lowercase()) else {
            return false;
        };
        subject.sids.iter().any(|sid| {
            self.sid_groups
                .get(sid)
                .is_some_and(|e| e.groups.binary_search(g).is_ok())
        })
    }

    /// Whether an assignment to `assignee` reaches `subject`: directly, through
    /// a role group or USG it is in (nested), or through its policy (R-ASG-2).
    pub fn reaches(&self, subject: &Subject<'_>, assignee: &Assignee) -> bool {
        match assignee {
            Assignee::RoleGroup(name) => self.is_member(subject, name),
            Assignee::User(sid) | Assignee::SecurityGroup(sid) => subject.sids.contains(sid),
            Assignee::Policy(p) => subject.policies.iter().any(|q| q.eq_ignore_ascii_case(p)),
        }
    }

    /// Whether `subject` holds `role` through a regular, enabled assignment.
    pub fn holds_role(&self, subject: &Subject<'_>, role: &str) -> bool {
        let Some(r) = self.role_index.get(&role.to_ascii_lowercase()) else {
            return false;
        };
        self.regular
            .iter()
            .any(|(a, who)| self.assignments[*a as usize].role == *r && self.reaches(subject, who))
    }

    /// The delegating assignment that lets `subject` assign `role`, if any
    /// (R-ASG-1). A delegating assignment of a parent role covers the roles
    /// derived from it. `ancestors` are the role's parents, nearest first.
    pub fn delegating_assignment(
        &self,
        subject: &Subject<'_>,
        role: &str,
        ancestors: &[&str],
    ) -> Option<String> {
        let wanted: Vec<u32> = std::iter::once(role)
            .chain(ancestors.iter().copied())
            .filter_map(|r| self.role_index.get(&r.to_ascii_lowercase()).copied())
            .collect();
        self.delegating
            .iter()
            .find(|(r, who, _)| wanted.contains(r) && self.reaches(subject, who))
            .map(|(_, _, name)| name.clone())
    }

    fn candidates(&self, subject: &Subject<'_>, cmdlet: u32, out: &mut Vec<Candidate>) {
        let Some(index) = self.by_cmdlet.get(cmdlet as usize) else {
            return;
        };
        // Role groups first, each once (the first SID that reaches it): an
        // assignment has one assignee, so assignments are then unique too.
        let mut groups: Vec<(u32, u32)> = Vec::new();
        let mut direct = false;
        for (i, sid) in subject.sids.iter().enumerate() {
            let Some(entry) = self.sid_groups.get(sid) else {
                continue;
            };
            if !index.groups.is_empty() {
                groups.extend(entry.groups.iter().map(|g| (*g, i as u32)));
            }
            for a in &entry.direct {
                let role = &self.roles[self.assignments[*a as usize].role as usize];
                if role.entries.contains_key(&cmdlet) {
                    direct = true;
                    out.push((*a, ViaIx::Principal { sid: i as u32 }));
                }
            }
        }
        if groups.len() > 1 {
            groups.sort_by_key(|(g, _)| *g);
            groups.dedup_by_key(|(g, _)| *g);
        }
        for (g, sid) in groups {
            if let Some(list) = index.groups.get(&g) {
                out.extend(list.iter().map(|a| (*a, ViaIx::Group { group: g, sid })));
            }
        }
        if !index.policies.is_empty() {
            for (i, p) in subject.policies.iter().enumerate() {
                let list = index
                    .policies
                    .get(p)
                    .or_else(|| index.policies.get(&p.to_ascii_lowercase()));
                if let Some(list) = list {
                    out.extend(
                        list.iter()
                            .map(|a| (*a, ViaIx::Policy { policy: i as u32 })),
                    );
                }
            }
        }
        // A principal listed twice in the subject, or a policy named twice.
        if out.len() > 1 && (subject.policies.len() > 1 || direct) {
            out.sort_by_key(|(a, _)| *a);
            out.dedup_by_key(|(a, _)| *a);
        }
    }

    fn recipient_implicit(
        scope: RecipientScope,
        subject: &Subject<'_>,
        r: &dyn RecipientObject,
    ) -> bool {
        match scope {
            RecipientScope::Organization => true,
            RecipientScope::Myself => r.sid() == Some(subject.user),
            RecipientScope::MyGal => !r
                .property("HiddenFromAddressListsEnabled")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            RecipientScope::MyDistributionGroups => {
                r.is_group() && r.managed_by().iter().any(|m| subject.sids.contains(m))
            }
            RecipientScope::None => false,
        }
    }

    /// Exclusive scopes that match the target of a write (R-SCOPE-3).
    fn protecting(&self, target: Target<'_>) -> Vec<u32> {
        match target {
            Target::Recipient(r) => {
                let mut out: Vec<u32> = self
                    .exclusive_recipient
                    .iter()
                    .copied()
                    .filter(|s| self.scopes[*s as usize].matches_recipient(r))
                    .collect();
                for (property, by_value) in &self.exclusive_by_value {
                    if let Some(value) = r.property(property).filter(|v| !v.is_empty()) {
                        if let Some(scopes) = by_value.get(&value.to_lowercase()) {
                            out.extend(scopes);
                        }
                    }
                }
                out
            }
            Target::Server(o) => self
                .exclusive_config
                .iter()
                .copied()
                .filter(|s| {
                    self.scopes[*s as usize].matches_config(ScopeRestrictionType::ServerScope, o)
                })
                .collect(),
            Target::Database(o) => self
                .exclusive_config
                .iter()
                .copied()
                .filter(|s| {
                    self.scopes[*s as usize].matches_config(ScopeRestrictionType::DatabaseScope, o)
                })
                .collect(),
            Target::None | Target::Config => Vec::new(),
        }
    }

    /// Whether assignment `a` covers the request's target (R-SCOPE-4, R-SCOPE-5,
    /// R-SCOPE-3). The assignment's own scope is tested first; the exclusive
    /// scopes protecting the target are computed only when it matters. An
    /// exclusive assignment whose scope matches the target may write it (that
    /// scope protects it); a regular one only if no exclusive scope does.
    fn in_scope(
        &self,
        a: &CompiledAssignment,
        subject: &Subject<'_>,
        request: &Request<'_>,
        protected: &Protected<'_>,
    ) -> bool {
        let implicit = &self.roles[a.role as usize].scopes;
        let config_read = implicit.config_read == ConfigScope::OrganizationConfig;
        let config_write = implicit.config_write == ConfigScope::OrganizationConfig;
        let unprotected = || protected.list(self).is_empty();
        match (request.target, request.access) {
            (Target::None, _) => true,
            (Target::Config | Target::Server(_) | Target::Database(_), Access::Read) => config_read,
            (Target::Config, Access::Write) => {
                config_write && matches!(a.config, ConfigWrite::Implicit)
            }
            (Target::Server(o), Access::Write) | (Target::Database(o), Access::Write) => {
                let kind = if matches!(request.target, Target::Server(_)) {
                    ScopeRestrictionType::ServerScope
                } else {
                    ScopeRestrictionType::DatabaseScope
                };
                config_write
                    && match a.config {
                        ConfigWrite::Implicit => unprotected(),
                        ConfigWrite::Custom(s) => {
                            self.scopes[s as usize].matches_config(kind, o) && unprotected()
                        }
                        ConfigWrite::Exclusive(s) => {
                            self.scopes[s as usize].matches_config(kind, o)
                        }
                        ConfigWrite::Missing => false,
                    }
            }
            (Target::Recipient(r), Access::Read) => {
                Self::recipient_implicit(implicit.recipient_read, subject, r)
            }
            (Target::Recipient(r), Access::Write) => {
                // An explicit scope replaces the implicit write scope but never
                // reaches outside the implicit read scope (R-SCOPE-5).
                let read = || Self::recipient_implicit(implicit.recipient_read, subject, r);
                match &a.recipient {
                    RecipientWrite::Implicit => {
                        Self::recipient_implicit(implicit.recipient_write, subject, r)
                            && unprotected()
                    }
                    RecipientWrite::Relative(s) => {
                        Self::recipient_implicit(*s, subject, r) && read() && unprotected()
                    }
                    RecipientWrite::Ou(ou) => {
                        r.organizational_unit().is_within(ou) && read() && unprotected()
                    }
                    RecipientWrite::Custom(s) => {
                        self.scopes[*s as usize].matches_recipient(r) && read() && unprotected()
                    }
                    RecipientWrite::Exclusive(s) => {
                        self.scopes[*s as usize].matches_recipient(r) && read()
                    }
                    RecipientWrite::Missing => false,
                }
            }
        }
    }

    /// Whether the regular, enabled assignment `name` may write `target` for
    /// `subject` (its effective write scope, exclusive scopes included).
    pub fn assignment_writes(&self, name: &str, subject: &Subject<'_>, target: Target<'_>) -> bool {
        let request = Request {
            cmdlet: "",
            parameters: &[],
            target,
            access: Access::Write,
        };
        let protected = Protected::new(target);
        self.assignments
            .iter()
            .filter(|a| a.name.eq_ignore_ascii_case(name))
            .any(|a| self.in_scope(a, subject, &request, &protected))
    }

    /// The names of the regular, enabled assignments, numbered as
    /// [`Authorizer::writes_at`] takes them.
    pub fn regular_assignment_names(&self) -> Vec<&str> {
        self.assignments.iter().map(|a| a.name.as_str()).collect()
    }

    /// [`Authorizer::assignment_writes`] for the assignment numbered `index`
    /// in [`Authorizer::regular_assignment_names`]: one look-up, for
    /// verifiers that ask about every assignment.
    pub fn writes_at(&self, index: usize, subject: &Subject<'_>, target: Target<'_>) -> bool {
        let request = Request {
            cmdlet: "",
            parameters: &[],
            target,
            access: Access::Write,
        };
        self.assignments
            .get(index)
            .is_some_and(|a| self.in_scope(a, subject, &request, &Protected::new(target)))
    }

    fn grants(&self, a: u32, cmdlet: u32, parameter: u32) -> bool {
        self.roles[self.assignments[a as usize].role as usize]
            .entries
            .get(&cmdlet)
            .is_some_and(|ps| ps.binary_search(&parameter).is_ok())
    }

    /// Parameter ids of the request, common parameters left out; `None` for a
    /// parameter no role anywhere names.
    fn parameter_ids(&self, request: &Request<'_>) -> Vec<(usize, Option<u32>)> {
        request
            .parameters
            .iter()
            .enumerate()
            .filter(|(_, p)| !is_common_parameter(p))
            .map(|(i, p)| (i, self.parameters.get(p)))
            .collect()
    }

    /// Decides `request` for `subject` (R-ROLE-1, R-ASG-2, R-ASG-3): every
    /// parameter must be granted for the cmdlet by some regular, enabled
    /// assignment whose effective scope contains the object; parameters may come
    /// from different roles.
    ///
    /// What the caller reaches for the cmdlet is kept per SID list (the
    /// `reach` module); the decision is [`Authorizer::explain`]'s.
    pub fn check(&self, subject: &Subject<'_>, request: &Request<'_>) -> bool {
        self.check_with(subject, request, |cmdlet, decide| {
            let reach = self
                .reach
                .get_or_compute(cmdlet, subject.sids, subject.policies, || {
                    self.reach_of(subject, cmdlet)
                });
            decide(&reach)
        })
    }

    /// [`Authorizer::check`] for a caller built once (the `reach` module):
    /// what it reaches is found in this thread's front without a lock.
    pub fn check_caller(&self, caller: &Caller, request: &Request<'_>) -> bool {
        let subject = caller.subject();
        self.check_with(&subject, request, |cmdlet, decide| {
            self.reach
                .with_caller(cmdlet, caller, || self.reach_of(&subject, cmdlet), decide)
        })
    }

    /// The check, given how to find the caller's reach for a cmdlet id and
    /// hand it to the decision.
    fn check_with(
        &self,
        subject: &Subject<'_>,
        request: &Request<'_>,
        with_reach: impl FnOnce(u32, &dyn Fn(&Reach) -> bool) -> bool,
    ) -> bool {
        let Some(cmdlet) = self.cmdlets.get(request.cmdlet) else {
            return false;
        };
        let mut ids = [0u32; 32];
        let mut n = 0;
        for p in request.parameters {
            if is_common_parameter(p) {
                continue;
            }
            let Some(id) = self.parameters.get(p) else {
                return false;
            };
            if n == ids.len() {
                return self.evaluate(subject, request).is_ok();
            }
            ids[n] = id;
            n += 1;
        }
        let params = &ids[..n];
        with_reach(cmdlet, &|reach| {
            self.decide(reach, params, subject, request)
        })
    }

    /// Whether the caller's `reach` allows `request` with the parameter ids
    /// `params` (at most 32).
    fn decide(
        &self,
        reach: &Reach,
        params: &[u32],
        subject: &Subject<'_>,
        request: &Request<'_>,
    ) -> bool {
        let wanted = ((1u64 << params.len()) - 1) as u32;
        let granted = |role: &RoleReach| {
            params
                .iter()
                .enumerate()
                .filter(|(_, p)| role.params.binary_search(p).is_ok())
                .fold(0u32, |m, (i, _)| m | (1 << i))
        };
        // Every parameter granted by some role first: no scope is tested for
        // a parameter nobody grants.
        if reach.roles.iter().fold(0, |m, r| m | granted(r)) != wanted {
            return false;
        }
        let protected = Protected::new(request.target);
        let mut covered = 0;
        let mut any = false;
        for role in &reach.roles {
            let mask = granted(role);
            if any && mask & !covered == 0 {
                continue;
            }
            if role.assignments.iter().any(|a| {
                self.in_scope(&self.assignments[*a as usize], subject, request, &protected)
            }) {
                covered |= mask;
                any = true;
                if covered == wanted {
                    return true;
                }
            }
        }
        false
    }

    /// The decision without the per-caller cache: the reference the cached
    /// one is tested against.
    #[cfg(test)]
    pub(super) fn check_uncached(&self, subject: &Subject<'_>, request: &Request<'_>) -> bool {
        self.evaluate(subject, request).is_ok()
    }

    /// Entries in the per-caller cache.
    #[cfg(test)]
    pub(super) fn cached_callers(&self) -> usize {
        self.reach.len()
    }

    /// What `subject` reaches for `cmdlet`, by role (the `reach` module).
    fn reach_of(&self, subject: &Subject<'_>, cmdlet: u32) -> Box<[RoleReach]> {
        let mut candidates = Vec::new();
        self.candidates(subject, cmdlet, &mut candidates);
        let cost = |a: &CompiledAssignment| match a.recipient {
            RecipientWrite::Implicit | RecipientWrite::Relative(_) => 0,
            RecipientWrite::Ou(_) => 1,
            RecipientWrite::Custom(_) | RecipientWrite::Exclusive(_) => 2,
            RecipientWrite::Missing => 3,
        };
        let mut by_role: Vec<(u32, Vec<u32>)> = Vec::new();
        for (a, _) in candidates {
            let role = self.assignments[a as usize].role;
            match by_role.iter_mut().find(|(r, _)| *r == role) {
                Some((_, list)) => list.push(a),
                None => by_role.push((role, vec![a])),
            }
        }
        by_role
            .into_iter()
            .filter_map(|(role, mut list)| {
                let params = self.roles[role as usize].entries.get(&cmdlet)?.clone();
                list.sort_by_key(|a| cost(&self.assignments[*a as usize]));
                let mut kept: Vec<u32> = Vec::with_capacity(list.len());
                for a in list {
                    let this = &self.assignments[a as usize];
                    if !kept.iter().any(|k| {
                        let k = &self.assignments[*k as usize];
                        k.recipient == this.recipient && k.config == this.config
                    }) {
                        kept.push(a);
                    }
                }
                Some(RoleReach {
                    params,
                    assignments: kept.into_boxed_slice(),
                })
            })
            .collect()
    }

    /// Decides `request`; a denial says why (see [`Authorizer::explain`] for
    /// the full chain).
    pub fn authorize(&self, subject: &Subject<'_>, request: &Request<'_>) -> Result<(), Denial> {
        match self.check(subject, request) {
            true => Ok(()),
            false => match self.explain(subject, request) {
                Explanation::Denied(denial) => Err(denial),
                // Both paths share `evaluate`; this cannot disagree.
                Explanation::Allowed(_) => Ok(()),
            },
        }
    }

    /// The candidate assignments that together allow the request, or `Err`.
    /// Every parameter must be granted by an in-scope candidate. With `all`
    /// false it stops as soon as the parameters are covered and skips the
    /// scope test of candidates that would add nothing; with `all` it returns
    /// every in-scope candidate (for explanations).
    fn evaluate_with(
        &self,
        subject: &Subject<'_>,
        request: &Request<'_>,
        all: bool,
    ) -> Result<Vec<Candidate>, ()> {
        let cmdlet = self.cmdlets.get(request.cmdlet).ok_or(())?;
        let mut candidates = Vec::with_capacity(16);
        self.candidates(subject, cmdlet, &mut candidates);
        if candidates.is_empty() {
            return Err(());
        }
        let mut params: Vec<u32> = Vec::with_capacity(request.parameters.len());
        for p in request.parameters {
            if !is_common_parameter(p) {
                params.push(self.parameters.get(p).ok_or(())?);
            }
        }
        if params.len() > 128 {
            return Err(());
        }
        let wanted: u128 = if params.len() == 128 {
            u128::MAX
        } else {
            (1u128 << params.len()) - 1
        };
        let mut covered: u128 = 0;
        let protected = Protected::new(request.target);
        let mut used = Vec::new();
        for (a, via) in candidates {
            let granted = match self.roles[self.assignments[a as usize].role as usize]
                .entries
                .get(&cmdlet)
            {
                Some(ps) => params
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| ps.binary_search(p).is_ok())
                    .fold(0u128, |m, (i, _)| m | (1 << i)),
                None => 0,
            };
            if !all && !used.is_empty() && granted & !covered == 0 {
                continue;
            }
            if !self.in_scope(&self.assignments[a as usize], subject, request, &protected) {
                continue;
            }
            covered |= granted;
            used.push((a, via));
            if !all && covered == wanted {
                return Ok(used);
            }
        }
        if covered == wanted && !used.is_empty() {
            Ok(used)
        } else {
            Err(())
        }
    }

    fn evaluate(&self, subject: &Subject<'_>, request: &Request<'_>) -> Result<Vec<Candidate>, ()> {
        self.evaluate_with(subject, request, false)
    }

    /// Decides `request` and explains it: for an allowed request the chain of
    /// each assignment used (caller SID → group or linked group → role group →
    /// assignment → role → entry → scope), for a denial the nearest miss.
    pub fn explain(&self, subject: &Subject<'_>, request: &Request<'_>) -> Explanation {
        if let Ok(candidates) = self.evaluate_with(subject, request, true) {
            return Explanation::Allowed(
                candidates
                    .into_iter()
                    .map(|(a, via)| self.chain(subject, request, a, via))
                    .collect(),
            );
        }
        let cmdlet_name = request.cmdlet.to_owned();
        let Some(cmdlet) = self.cmdlets.get(request.cmdlet) else {
            return Explanation::Denied(Denial::CmdletNotAvailable {
                cmdlet: cmdlet_name,
                roles: Vec::new(),
            });
        };
        let mut candidates = Vec::new();
        self.candidates(subject, cmdlet, &mut candidates);
        if candidates.is_empty() {
            return Explanation::Denied(Denial::CmdletNotAvailable {
                cmdlet: cmdlet_name,
                roles: self.roles_with(cmdlet, None),
            });
        }
        let params = self.parameter_ids(request);
        let missing = |set: &[Candidate]| -> Vec<(String, Option<u32>)> {
            params
                .iter()
                .filter(|(_, p)| {
                    !p.is_some_and(|p| set.iter().any(|(a, _)| self.grants(*a, cmdlet, p)))
                })
                .map(|(i, p)| (request.parameters[*i].clone(), *p))
                .collect()
        };
        let not_granted = missing(&candidates);
        if !not_granted.is_empty() {
            let roles = not_granted
                .iter()
                .filter_map(|(_, p)| *p)
                .flat_map(|p| self.roles_with(cmdlet, Some(p)))
                .fold(Vec::new(), |mut acc: Vec<String>, r| {
                    if !acc.contains(&r) {
                        acc.push(r);
                    }
                    acc
                });
            return Explanation::Denied(Denial::ParametersNotGranted {
                cmdlet: cmdlet_name,
                parameters: not_granted.into_iter().map(|(n, _)| n).collect(),
                roles,
            });
        }
        let protected = Protected::new(request.target);
        let in_scope: Vec<Candidate> = candidates
            .iter()
            .copied()
            .filter(|(a, _)| {
                self.in_scope(&self.assignments[*a as usize], subject, request, &protected)
            })
            .collect();
        Explanation::Denied(Denial::OutOfScope {
            cmdlet: cmdlet_name,
            target: request.target.describe(),
            parameters: missing(&in_scope).into_iter().map(|(n, _)| n).collect(),
            scopes: candidates
                .iter()
                .map(|(a, _)| self.scope_text(*a, request.access))
                .collect(),
            exclusive: if request.access == Access::Write {
                protected
                    .list(self)
                    .iter()
                    .map(|s| self.scopes[*s as usize].name.clone())
                    .collect()
            } else {
                Vec::new()
            },
        })
    }

    /// Roles that have an entry for `cmdlet` (granting `parameter`, if given).
    fn roles_with(&self, cmdlet: u32, parameter: Option<u32>) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| {
                r.entries
                    .get(&cmdlet)
                    .is_some_and(|ps| parameter.is_none_or(|p| ps.binary_search(&p).is_ok()))
            })
            .map(|r| r.name.clone())
            .collect()
    }

    fn scope_text(&self, a: u32, access: Access) -> String {
        let a = &self.assignments[a as usize];
        let role = &self.roles[a.role as usize];
        let text = match (access, &a.recipient) {
            (Access::Read, _) => format!("implicit read {}", role.scopes.recipient_read),
            (Access::Write, RecipientWrite::Implicit) => {
                format!("implicit write {}", role.scopes.recipient_write)
            }
            (Access::Write, RecipientWrite::Relative(s)) => format!("relative {s}"),
            (Access::Write, RecipientWrite::Ou(ou)) => format!("OU {ou}"),
            (Access::Write, RecipientWrite::Custom(s) | RecipientWrite::Exclusive(s)) => {
                self.scopes[*s as usize].describe()
            }
            (Access::Write, RecipientWrite::Missing) => "a scope that no longer exists".into(),
        };
        let config = match &a.config {
            ConfigWrite::Implicit => String::new(),
            ConfigWrite::Custom(s) | ConfigWrite::Exclusive(s) => {
                format!(", config {}", self.scopes[*s as usize].describe())
            }
            ConfigWrite::Missing => ", config: a scope that no longer exists".into(),
        };
        format!("{}: {text}{config}", a.name)
    }

    /// The nesting path from `sid` up to role group `group`: the names of the
    /// role groups crossed, `group` last.
    fn path(&self, sid: &Sid, group: u32) -> Vec<String> {
        let mut previous: BTreeMap<u32, Option<u32>> = BTreeMap::new();
        let mut queue: VecDeque<u32> = VecDeque::new();
        for g in self.direct.get(sid).into_iter().flatten() {
            previous.entry(*g).or_insert(None);
            queue.push_back(*g);
        }
        while let Some(g) = queue.pop_front() {
            if g == group {
                let mut out = vec![self.group_names[g as usize].clone()];
                let mut at = g;
                while let Some(Some(p)) = previous.get(&at) {
                    out.push(self.group_names[*p as usize].clone());
                    at = *p;
                }
                out.reverse();
                return out;
            }
            for parent in self
                .direct
                .get(&self.group_sids[g as usize])
                .into_iter()
                .flatten()
            {
                if !previous.contains_key(parent) {
                    previous.insert(*parent, Some(g));
                    queue.push_back(*parent);
                }
            }
        }
        vec![self.group_names[group as usize].clone()]
    }

    fn chain(&self, subject: &Subject<'_>, request: &Request<'_>, a: u32, via: ViaIx) -> Chain {
        let assignment = &self.assignments[a as usize];
        let role = &self.roles[assignment.role as usize];
        let cmdlet = self.cmdlets.get(request.cmdlet);
        let links = match via {
            ViaIx::Group { group, sid } => {
                let sid = subject.sids[sid as usize];
                let mut links = vec![Link::Sid(sid)];
                if let Some(foreign) = &self.group_linked[group as usize] {
                    links.push(Link::ForeignGroup(foreign.clone()));
                }
                links.extend(self.path(&sid, group).into_iter().map(Link::RoleGroup));
                links
            }
            ViaIx::Principal { sid } => vec![Link::Sid(subject.sids[sid as usize])],
            ViaIx::Policy { policy } => {
                vec![Link::Policy(subject.policies[policy as usize].clone())]
            }
        };
        Chain {
            links,
            assignment: assignment.name.clone(),
            role: role.name.clone(),
            entry: cmdlet
                .and_then(|c| role.entry_text.get(&c).cloned())
                .unwrap_or_default(),
            scope: self.scope_text(a, request.access),
        }
    }

    /// Every leaf principal (user, USG or foreign group SID) and policy that may
    /// run `request`, each with the chain that allows it: the analogue of
    /// `Get-ManagementRoleAssignment -GetEffectiveUsers -WritableRecipient`.
    pub fn who_can(&self, request: &Request<'_>) -> Vec<(WhoCan, Vec<Chain>)> {
        // `sid_groups` holds every SID that reaches a role group or has a
        // direct assignment.
        let mut principals = self.principals();
        principals.sort_unstable();
        let self_sid = match request.target {
            Target::Recipient(r) => r.sid(),
            _ => None,
        };
        let mut out = Vec::new();
        for sid in principals {
            let sids = [sid];
            let subject = Subject {
                user: sid,
                sids: &sids,
                policies: &[],
            };
            if let Explanation::Allowed(chains) = self.explain(&subject, request) {
                out.push((WhoCan::Principal(sid), chains));
            }
        }
        let mut policies: Vec<String> = self
            .regular
            .iter()
            .filter_map(|(_, who)| match who {
                Assignee::Policy(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        policies.sort();
        policies.dedup();
        for policy in policies {
            // A policy applies to a mailbox's own user: Self scopes are tested
            // as the target's owner.
            let user = self_sid.unwrap_or(crossforest_shared::DomainSid::new(0, 0, 0).with_rid(0));
            let ps = [policy.clone()];
            let subject = Subject {
                user,
                sids: &[],
                policies: &ps,
            };
            if let Explanation::Allowed(chains) = self.explain(&subject, request) {
                out.push((WhoCan::Policy(policy), chains));
            }
        }
        out
    }

    /// What `subject` may run: each cmdlet with the parameters granted and the
    /// assignments (with scopes) that grant it, sorted by cmdlet.
    pub fn permissions_of(&self, subject: &Subject<'_>) -> Vec<Permission> {
        let mut out = Vec::new();
        for (c, name) in self.cmdlets.names.iter().enumerate() {
            let mut candidates = Vec::new();
            self.candidates(subject, c as u32, &mut candidates);
            if candidates.is_empty() {
                continue;
            }
            let mut parameters: Vec<String> = candidates
                .iter()
                .flat_map(|(a, _)| {
                    self.roles[self.assignments[*a as usize].role as usize]
                        .entries
                        .get(&(c as u32))
                        .into_iter()
                        .flat_map(|ps| ps.iter())
                        .map(|p| self.parameters.names[*p as usize].clone())
                })
                .collect();
            parameters.sort();
            parameters.dedup();
            out.push(Permission {
                cmdlet: name.clone(),
                parameters,
                grants: candidates
                    .iter()
                    .map(|(a, _)| self.scope_text(*a, Access::Write))
                    .collect(),
            });
        }
        out.sort_by(|a, b| a.cmdlet.cmp(&b.cmdlet));
        out
    }
}

/// A principal found by [`Authorizer::who_can`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhoCan {
    /// A user, USG or foreign group SID.
    Principal(Sid),
    /// Every mailbox with this role assignment policy.
    Policy(String),
}

/// One cmdlet a subject may run ([`Authorizer::permissions_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// The cmdlet.
    pub cmdlet: String,
    /// Every parameter some assignment grants.
    pub parameters: Vec<String>,
    /// The assignments, each with its write scope.
    pub grants: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::recipients::{Recipient, RecipientType};
    use crate::rbac::catalogue::builtin;
    use crate::rbac::model::{RoleAssignment, RoleGroup};
    use crate::rbac::scope::{ManagementScope, ScopeRule};
    use crossforest_shared::DomainSid;

    const DOMAIN: DomainSid = DomainSid::new(1, 2, 3);

    fn recipient(name: &str, ou: &str, department: &str) -> Recipient {
        Recipient {
            name: name.into(),
            recipient_type: RecipientType::UserMailbox,
            alias: name.into(),
            display_name: name.into(),
            sid: DOMAIN.with_rid(5000),
            organizational_unit: ou.parse().expect("ou"),
            user_principal_name: String::new(),
            primary_smtp_address: String::new(),
            external_email_address: String::new(),
            role_assignment_policy: String::new(),
            members: Default::default(),
            managed_by: Vec::new(),
            attributes: [("Department".to_owned(), department.to_owned())].into(),
        }
    }

    fn group(name: &str, rid: u32, members: &[Sid]) -> RoleGroup {
        RoleGroup {
            name: name.into(),
            sid: DOMAIN.with_rid(rid),
            description: String::new(),
            display_name: String::new(),
            kind: RoleGroupKind::Standard {
                members: members.iter().copied().collect(),
            },
            managed_by: Default::default(),
            builtin: false,
        }
    }

    fn config() -> RbacConfig {
        let mut c = RbacConfig::from_catalogue(
            &builtin().expect("catalogue"),
            DOMAIN,
            1001,
            &[DOMAIN.with_rid(500)],
        );
        // A ↔ B nest in each other (directories allow it); alice is in A.
        let alice = DOMAIN.with_rid(3000);
        let a = group("A", 2001, &[alice, DOMAIN.with_rid(2002)]);
        let b = group("B", 2002, &[DOMAIN.with_rid(2001)]);
        c.role_groups.insert("a".into(), a);
        c.role_groups.insert("b".into(), b);
        let mut assignment = RoleAssignment::new(
            "Mail Recipients_B".into(),
            "Mail Recipients".into(),
            Assignee::RoleGroup("B".into()),
            Delegation::Regular,
        );
        assignment.recipient_write_scope = RecipientWriteScope::Custom("Sales".into());
        c.insert_assignment(assignment);
        c.scopes.insert(
            "sales".into(),
            ManagementScope {
                name: "Sales".into(),
                rule: ScopeRule::Recipients {
                    root: Some("contoso.com/Users".parse().expect("ou")),
                    filter: Some("Department -eq 'Sales'".into()),
                },
                exclusive: false,
            },
        );
        c
    }

    fn request<'a>(target: Target<'a>, parameters: &'a [String]) -> Request<'a> {
        Request {
            cmdlet: "Set-Mailbox",
            parameters,
            target,
            access: Access::Write,
        }
    }

    #[test]
    fn circular_nesting_terminates_and_grants_through_both_groups() {
        let authorizer = Authorizer::new(&config());
        let sids = [DOMAIN.with_rid(3000)];
        let subject = Subject {
            user: sids[0],
            sids: &sids,
            policies: &[],
        };
        let mut groups: Vec<String> = authorizer
            .role_groups_of(&subject)
            .into_iter()
            .map(|(g, _)| g)
            .collect();
        groups.sort();
        assert_eq!(groups, ["A", "B"]);
        let params = ["Identity".to_owned(), "Office".to_owned()];
        let sales = recipient("s", "contoso.com/Users/East", "Sales");
        let other = recipient("o", "contoso.com/Users", "Legal");
        assert!(authorizer.check(&subject, &request(Target::Recipient(&sales), &params)));
        let Explanation::Allowed(chains) =
            authorizer.explain(&subject, &request(Target::Recipient(&sales), &params))
        else {
            panic!("allowed")
        };
        assert_eq!(
            chains[0].links,
            [
                Link::Sid(sids[0]),
                Link::RoleGroup("A".into()),
                Link::RoleGroup("B".into())
            ]
        );
        assert!(!authorizer.check(&subject, &request(Target::Recipient(&other), &params)));
        let params = ["Identity".to_owned(), "Password".to_owned()];
        assert!(matches!(
            authorizer.explain(&subject, &request(Target::Recipient(&sales), &params)),
            Explanation::Denied(Denial::ParametersNotGranted { .. })
        ));
    }

    #[test]
    fn an_exclusive_scope_protects_even_before_it_is_used() {
        let mut c = config();
        c.scopes.insert(
            "legal".into(),
            ManagementScope {
                name: "Legal".into(),
                rule: ScopeRule::Recipients {
                    root: None,
                    filter: Some("Department -eq 'Legal'".into()),
                },
                exclusive: true,
            },
        );
        let authorizer = Authorizer::new(&c);
        let admin = [DOMAIN.with_rid(500)];
        let subject = Subject {
            user: admin[0],
            sids: &admin,
            policies: &[],
        };
        let params = ["Identity".to_owned()];
        let legal = recipient("l", "contoso.com/Users", "Legal");
        let sales = recipient("s", "contoso.com/Users", "Sales");
        assert!(authorizer.check(&subject, &request(Target::Recipient(&sales), &params)));
        let denied = authorizer.explain(&subject, &request(Target::Recipient(&legal), &params));
        assert!(
            matches!(&denied, Explanation::Denied(Denial::OutOfScope { exclusive, .. }) if exclusive == &["Legal".to_owned()]),
            "{denied:?}"
        );
        // Reading is unaffected.
        let read = Request {
            access: Access::Read,
            cmdlet: "Get-Mailbox",
            ..request(Target::Recipient(&legal), &params)
        };
        assert!(authorizer.check(&subject, &read));
    }

    struct Server(&'static str, &'static str);

    impl crate::rbac::opath::Properties for Server {
        fn property(&self, name: &str) -> Option<&str> {
            match name {
                "Name" => Some(self.0),
                "ServerSite" => Some(self.1),
                _ => None,
            }
        }
    }

    impl ConfigObject for Server {
        fn name(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn server_scopes_limit_configuration_writes() {
        // R-SCOPE-1: a server list and a server filter on assignments of a role
        // whose implicit config write scope is the whole organization.
        let mut c = config();
        let admin = DOMAIN.with_rid(3100);
        c.role_groups.insert(
            "server admins".into(),
            group("Server Admins", 2100, &[admin]),
        );
        c.scopes.insert(
            "seattle servers".into(),
            ManagementScope {
                name: "Seattle Servers".into(),
                rule: ScopeRule::ServerFilter("ServerSite -eq 'Seattle'".into()),
                exclusive: false,
            },
        );
        let mut assignment = RoleAssignment::new(
            "Mail Recipients_Server Admins".into(),
            "Mail Recipients".into(),
            Assignee::RoleGroup("Server Admins".into()),
            Delegation::Regular,
        );
        assignment.config_write_scope = ConfigWriteScope::Custom("Seattle Servers".into());
        c.insert_assignment(assignment);
        let authorizer = Authorizer::new(&c);
        let sids = [admin];
        let subject = Subject {
            user: admin,
            sids: &sids,
            policies: &[],
        };
        let params = ["Identity".to_owned()];
        let sea = Server("EX01", "Seattle");
        let pdx = Server("EX02", "Portland");
        let write = |target| Request {
            cmdlet: "Set-Mailbox",
            parameters: &params,
            target,
            access: Access::Write,
        };
        assert!(authorizer.check(&subject, &write(Target::Server(&sea))));
        assert!(!authorizer.check(&subject, &write(Target::Server(&pdx))));
        // A server scope doesn't cover databases or other configuration.
        assert!(!authorizer.check(&subject, &write(Target::Database(&sea))));
        assert!(!authorizer.check(&subject, &write(Target::Config)));
    }
}
