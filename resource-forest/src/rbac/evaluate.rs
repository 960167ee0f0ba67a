//! Authorisation: who may run which cmdlet, with which parameters, on which object.
//!
//! [`Authorizer`] is compiled from an [`RbacConfig`] whenever the configuration
//! changes. Role-group closures (nested groups, linked groups' foreign SIDs) are
//! precomputed and cycle-safe; the caller's SIDs arrive with the request and are
//! joined at request time. A check is then set look-ups plus one scope test per
//! candidate assignment.

use std::collections::{BTreeSet, HashMap};

use crossforest_shared::Sid;

use super::config::RbacConfig;
use super::model::{
    Assignee, ConfigScope, Delegation, ManagementRole, RecipientScope, RecipientWriteScope,
    RoleGroupKind,
};
use crate::org::ou::OrganizationalUnit;

/// PowerShell's common parameters: every cmdlet accepts them and no role entry
/// lists them.
pub const COMMON_PARAMETERS: [&str; 15] = [
    "Verbose",
    "Debug",
    "ErrorAction",
    "WarningAction",
    "InformationAction",
    "ErrorVariable",
    "WarningVariable",
    "InformationVariable",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
    "WhatIf",
    "Confirm",
    "DomainController",
    "IgnoreDefaultScope",
];

/// Whether `name` is a common parameter.
pub fn is_common_parameter(name: &str) -> bool {
    COMMON_PARAMETERS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// Who is asking: the user's SID and every group SID kept after SID filtering.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The user.
    pub user: Sid,
    /// The user and all its (filtered) group SIDs.
    pub sids: &'a [Sid],
    /// Role assignment policies that apply (the user's mailbox policy).
    pub policies: &'a [String],
}

/// A recipient, as scopes see it.
#[derive(Debug, Clone, Copy)]
pub struct RecipientRef<'a> {
    /// Display identity, for messages.
    pub name: &'a str,
    /// Where it lives.
    pub ou: &'a OrganizationalUnit,
    /// Its security principal, if any.
    pub sid: Option<Sid>,
}

/// What the request acts on.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// No particular object (a listing, or a cmdlet without one).
    None,
    /// A recipient in the domain partition.
    Recipient(RecipientRef<'a>),
    /// An object of the configuration partition (role groups, roles, servers).
    Config,
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

/// How the subject reached an assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Through a role group, because of one of the subject's SIDs (the user, a
    /// group, or a foreign group of a linked role group).
    RoleGroup {
        /// The role group.
        group: String,
        /// The subject SID that is a member, directly or nested.
        member: Sid,
        /// True when the group is linked and `member` is the foreign group.
        linked: bool,
    },
    /// Assigned to one of the subject's SIDs directly.
    Principal(Sid),
    /// Through a role assignment policy.
    Policy(String),
}

/// One assignment that contributed to an allowed decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Assignment name.
    pub assignment: String,
    /// Role name.
    pub role: String,
    /// How the subject reached it.
    pub via: Via,
}

/// Why a request was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No regular, enabled assignment reaching the subject has the cmdlet.
    CmdletNotAvailable {
        /// The cmdlet.
        cmdlet: String,
    },
    /// The cmdlet is available, but these parameters are granted by no role.
    ParametersNotGranted {
        /// The cmdlet.
        cmdlet: String,
        /// The missing parameters.
        parameters: Vec<String>,
    },
    /// The cmdlet and parameters are granted, but not on this object.
    OutOfScope {
        /// The cmdlet.
        cmdlet: String,
        /// The object.
        target: String,
        /// The scopes of the assignments that had the cmdlet.
        scopes: Vec<String>,
    },
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CmdletNotAvailable { cmdlet } => write!(
                f,
                "`{cmdlet}` isn't available to you: none of your role assignments includes it (R-ROLE-1)"
            ),
            Self::ParametersNotGranted { cmdlet, parameters } => write!(
                f,
                "you can run `{cmdlet}` but not with {}: no role assigned to you grants {} (R-ROLE-1)",
                parameters.iter().map(|p| format!("`-{p}`")).collect::<Vec<_>>().join(", "),
                if parameters.len() == 1 { "it" } else { "them" }
            ),
            Self::OutOfScope { cmdlet, target, scopes } => write!(
                f,
                "`{target}` isn't within the write scope of any assignment that grants `{cmdlet}` to you (scopes: {}) (R-ASG-3)",
                scopes.join("; ")
            ),
        }
    }
}

/// The answer to a request, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, by these assignments.
    Allowed(Vec<Grant>),
    /// Denied, for this reason.
    Denied(Denial),
}

#[derive(Debug)]
struct CompiledAssignment {
    name: String,
    role: usize,
    scope: RecipientWriteScope,
}

/// The compiled, immutable form of an [`RbacConfig`], built once per change.
#[derive(Debug)]
pub struct Authorizer {
    roles: Vec<ManagementRole>,
    assignments: Vec<CompiledAssignment>,
    group_names: Vec<String>,
    group_linked: Vec<bool>,
    /// SID → role groups it is in, closed over nesting: (group, linked-direct?).
    sid_groups: HashMap<Sid, Vec<usize>>,
    /// Regular, enabled assignments by role group.
    group_assignments: Vec<Vec<usize>>,
    /// Regular, enabled assignments made directly to a user or USG.
    principal_assignments: HashMap<Sid, Vec<usize>>,
    /// Regular, enabled assignments by policy (lower-case name).
    policy_assignments: HashMap<String, Vec<usize>>,
}

impl Authorizer {
    /// Compiles `config`. Circular role-group nesting is allowed and terminates.
    pub fn new(config: &RbacConfig) -> Self {
        let roles: Vec<ManagementRole> = config.roles.values().cloned().collect();
        let role_index: HashMap<String, usize> = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.to_ascii_lowercase(), i))
            .collect();
        let groups: Vec<_> = config.role_groups.values().collect();
        let group_index: HashMap<String, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.to_ascii_lowercase(), i))
            .collect();
        let group_by_sid: HashMap<Sid, usize> =
            groups.iter().enumerate().map(|(i, g)| (g.sid, i)).collect();

        // Direct membership: member SID → groups.
        let mut direct: HashMap<Sid, Vec<usize>> = HashMap::new();
        for (i, g) in groups.iter().enumerate() {
            match &g.kind {
                RoleGroupKind::Standard { members } => {
                    for m in members {
                        direct.entry(*m).or_default().push(i);
                    }
                }
                RoleGroupKind::Linked(link) => direct.entry(link.sid).or_default().push(i),
            }
        }
        // Close over nesting: a member of group G is a member of every group G is in.
        let close = |start: &[usize]| -> Vec<usize> {
            let mut seen: BTreeSet<usize> = BTreeSet::new();
            let mut stack: Vec<usize> = start.to_vec();
            while let Some(g) = stack.pop() {
                if seen.insert(g) {
                    if let Some(parents) = direct.get(&groups[g].sid) {
                        stack.extend(parents.iter().copied());
                    }
                }
            }
            seen.into_iter().collect()
        };
        let sid_groups: HashMap<Sid, Vec<usize>> = direct
            .iter()
            .filter(|(sid, _)| !group_by_sid.contains_key(sid))
            .map(|(sid, start)| (*sid, close(start)))
            .collect();

        let mut assignments = Vec::new();
        let mut group_assignments = vec![Vec::new(); groups.len()];
        let mut principal_assignments: HashMap<Sid, Vec<usize>> = HashMap::new();
        let mut policy_assignments: HashMap<String, Vec<usize>> = HashMap::new();
        for a in config.assignments.values() {
            if !a.enabled || a.delegation != Delegation::Regular {
                continue;
            }
            let Some(role) = role_index.get(&a.role.to_ascii_lowercase()) else {
                continue;
            };
            let index = assignments.len();
            assignments.push(CompiledAssignment {
                name: a.name.clone(),
                role: *role,
                scope: a.recipient_write_scope.clone(),
            });
            match &a.assignee {
                Assignee::RoleGroup(g) => {
                    if let Some(g) = group_index.get(&g.to_ascii_lowercase()) {
                        group_assignments[*g].push(index);
                    }
                }
                Assignee::Principal(sid) => {
                    principal_assignments.entry(*sid).or_default().push(index)
                }
                Assignee::Policy(p) => policy_assignments
                    .entry(p.to_ascii_lowercase())
                    .or_default()
                    .push(index),
            }
        }
        Self {
            roles,
            assignments,
            group_names: groups.iter().map(|g| g.name.clone()).collect(),
            group_linked: groups
                .iter()
                .map(|g| matches!(g.kind, RoleGroupKind::Linked(_)))
                .collect(),
            sid_groups,
            group_assignments,
            principal_assignments,
            policy_assignments,
        }
    }

    /// The role groups `subject` reaches, with the SID that got it there.
    pub fn role_groups_of(&self, subject: &Subject<'_>) -> Vec<(String, Sid)> {
        let mut out: Vec<(String, Sid)> = Vec::new();
        for sid in subject.sids {
            for g in self.sid_groups.get(sid).into_iter().flatten() {
                if !out.iter().any(|(name, _)| *name == self.group_names[*g]) {
                    out.push((self.group_names[*g].clone(), *sid));
                }
            }
        }
        out
    }

    /// Every regular, enabled assignment reaching `subject`, and how.
    fn reachable(&self, subject: &Subject<'_>) -> Vec<(usize, Via)> {
        let mut out: Vec<(usize, Via)> = Vec::new();
        let mut seen: BTreeSet<usize> = BTreeSet::new();
        for sid in subject.sids {
            for g in self.sid_groups.get(sid).into_iter().flatten() {
                for a in &self.group_assignments[*g] {
                    if seen.insert(*a) {
                        out.push((
                            *a,
                            Via::RoleGroup {
                                group: self.group_names[*g].clone(),
                                member: *sid,
                                linked: self.group_linked[*g],
                            },
                        ));
                    }
                }
            }
            for a in self.principal_assignments.get(sid).into_iter().flatten() {
                if seen.insert(*a) {
                    out.push((*a, Via::Principal(*sid)));
                }
            }
        }
        for p in subject.policies {
            for a in self
                .policy_assignments
                .get(&p.to_ascii_lowercase())
                .into_iter()
                .flatten()
            {
                if seen.insert(*a) {
                    out.push((*a, Via::Policy(p.clone())));
                }
            }
        }
        out
    }

    fn recipient_scope_contains(
        scope: RecipientScope,
        subject: &Subject<'_>,
        r: &RecipientRef<'_>,
    ) -> bool {
        match scope {
            RecipientScope::Organization => true,
            RecipientScope::Myself => r.sid == Some(subject.user),
            // Read-only address-book view; and groups the caller manages, which
            // this product does not model yet: neither grants a write.
            RecipientScope::MyGal | RecipientScope::MyDistributionGroups | RecipientScope::None => {
                false
            }
        }
    }

    fn in_scope(
        &self,
        a: &CompiledAssignment,
        subject: &Subject<'_>,
        request: &Request<'_>,
    ) -> bool {
        let role = &self.roles[a.role];
        match (request.target, request.access) {
            (Target::None, _) => true,
            (Target::Config, Access::Read) => {
                role.scopes.config_read == ConfigScope::OrganizationConfig
            }
            (Target::Config, Access::Write) => {
                role.scopes.config_write == ConfigScope::OrganizationConfig
            }
            (Target::Recipient(r), Access::Read) => {
                Self::recipient_scope_contains(role.scopes.recipient_read, subject, &r)
            }
            (Target::Recipient(r), Access::Write) => match &a.scope {
                RecipientWriteScope::Implicit => {
                    Self::recipient_scope_contains(role.scopes.recipient_write, subject, &r)
                }
                // An explicit scope replaces the implicit write scope but never
                // reaches outside the implicit read scope (R-SCOPE-5).
                RecipientWriteScope::OrganizationalUnit(ou) => {
                    r.ou.is_within(ou)
                        && Self::recipient_scope_contains(role.scopes.recipient_read, subject, &r)
                }
            },
        }
    }

    fn scope_text(&self, a: &CompiledAssignment, access: Access) -> String {
        let role = &self.roles[a.role];
        let implicit = match access {
            Access::Read => role.scopes.recipient_read,
            Access::Write => role.scopes.recipient_write,
        };
        match (&a.scope, access) {
            (RecipientWriteScope::OrganizationalUnit(ou), Access::Write) => {
                format!("{}: OU {ou}", a.name)
            }
            _ => format!("{}: {implicit}", a.name),
        }
    }

    /// Decides `request` for `subject` (R-ROLE-1, R-ASG-2, R-ASG-3): every
    /// parameter must be granted for the cmdlet by some regular, enabled
    /// assignment whose scope contains the object; parameters may come from
    /// different roles.
    pub fn authorize(&self, subject: &Subject<'_>, request: &Request<'_>) -> Decision {
        let candidates: Vec<(usize, Via)> = self
            .reachable(subject)
            .into_iter()
            .filter(|(a, _)| {
                self.roles[self.assignments[*a].role]
                    .entry(request.cmdlet)
                    .is_some()
            })
            .collect();
        if candidates.is_empty() {
            return Decision::Denied(Denial::CmdletNotAvailable {
                cmdlet: request.cmdlet.to_owned(),
            });
        }
        let missing = |chosen: &[&(usize, Via)]| -> Vec<String> {
            request
                .parameters
                .iter()
                .filter(|p| !is_common_parameter(p))
                .filter(|p| {
                    !chosen.iter().any(|(a, _)| {
                        self.roles[self.assignments[*a].role]
                            .entry(request.cmdlet)
                            .is_some_and(|e| e.grants(p))
                    })
                })
                .cloned()
                .collect()
        };
        let all: Vec<&(usize, Via)> = candidates.iter().collect();
        let not_granted = missing(&all);
        if !not_granted.is_empty() {
            return Decision::Denied(Denial::ParametersNotGranted {
                cmdlet: request.cmdlet.to_owned(),
                parameters: not_granted,
            });
        }
        let in_scope: Vec<&(usize, Via)> = candidates
            .iter()
            .filter(|(a, _)| self.in_scope(&self.assignments[*a], subject, request))
            .collect();
        if in_scope.is_empty() || !missing(&in_scope).is_empty() {
            let target = match request.target {
                Target::Recipient(r) => r.name.to_owned(),
                Target::Config => "the configuration object".to_owned(),
                Target::None => "the object".to_owned(),
            };
            return Decision::Denied(Denial::OutOfScope {
                cmdlet: request.cmdlet.to_owned(),
                target,
                scopes: candidates
                    .iter()
                    .map(|(a, _)| self.scope_text(&self.assignments[*a], request.access))
                    .collect(),
            });
        }
        Decision::Allowed(
            in_scope
                .into_iter()
                .map(|(a, via)| Grant {
                    assignment: self.assignments[*a].name.clone(),
                    role: self.roles[self.assignments[*a].role].name.clone(),
                    via: via.clone(),
                })
                .collect(),
        )
    }
}
