//! The built-in invariants of `model verify`, each named as the report shows
//! it: `lockout`, `permission-model`,
//! `no-account-forest-reaches-role-management`, `no-dead-assignment`,
//! `exclusive-scopes-through-exclusive-assignments`.

use std::collections::{BTreeSet, HashMap};

use crossforest_shared::Sid;

use super::super::assertions::Outcome;
use super::super::convert;
use super::super::ModelError;
use super::{outcome, Verifier};
use crate::org::permission_model::{SECURITY_PRINCIPAL_ROLE_TYPES, UNAVAILABLE_UNDER_AD_SPLIT};
use crate::rbac::catalogue::ORGANIZATION_MANAGEMENT;
use crate::rbac::lockout;
use crate::rbac::model::{
    Assignee, ConfigWriteScope, Delegation, RecipientScope, RecipientWriteScope, RoleAssignment,
};
use crate::rbac::{Subject, Target};

/// Runs every built-in invariant; `declared` is the tests file's
/// `PermissionModel`.
pub fn run(v: &Verifier, declared: Option<&str>) -> Result<Vec<Outcome>, ModelError> {
    Ok(vec![
        lockout_rules(v)?,
        permission_model(v, declared)?,
        role_management(v),
        dead(v),
        exclusive(v),
    ])
}

/// `DOMAIN\name`, a role group's or a policy's name.
pub fn assignee_name(v: &Verifier, a: &Assignee) -> String {
    match a {
        Assignee::RoleGroup(g) | Assignee::Policy(g) => g.clone(),
        Assignee::User(s) | Assignee::SecurityGroup(s) => v.model.name_of(s),
    }
}

fn live(v: &Verifier) -> impl Iterator<Item = &RoleAssignment> {
    v.model.org.rbac.assignments.values().filter(|a| a.enabled)
}

fn lockout_rules(v: &Verifier) -> Result<Outcome, ModelError> {
    let org = &v.model.org;
    let base = convert::base(
        &org.forest,
        org.domain_sid,
        org.active_directory_split_permissions,
    )?;
    let violations = match lockout::check(&base.rbac, &org.rbac) {
        Ok(()) => Vec::new(),
        Err(e) => vec![vec![format!(
            "going from what setup installs to this model: {e}"
        )]],
    };
    Ok(outcome(
        "lockout",
        "checked: R-LOCK-1..4 between what setup installs and the model".into(),
        violations,
    ))
}

/// The three permission models (R-SPLIT-1..3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PermissionModel {
    Shared,
    RbacSplit,
    ActiveDirectorySplit,
}

impl PermissionModel {
    const NAMES: [(&'static str, Self); 3] = [
        ("Shared", Self::Shared),
        ("RbacSplit", Self::RbacSplit),
        ("ActiveDirectorySplit", Self::ActiveDirectorySplit),
    ];

    fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("", |(n, _)| n)
    }
}

fn creates(v: &Verifier, a: &RoleAssignment, role_type: &str) -> bool {
    v.model
        .org
        .rbac
        .role(&a.role)
        .is_some_and(|r| r.role_type == role_type)
}

fn permission_model(v: &Verifier, declared: Option<&str>) -> Result<Outcome, ModelError> {
    let split = v.model.org.active_directory_split_permissions;
    let [recipients, groups] = SECURITY_PRINCIPAL_ROLE_TYPES;
    let holds = |who: &str, role_type: &str, delegation: Delegation| {
        live(v).any(|a| {
            a.assignee.is_role_group(who) && a.delegation == delegation && creates(v, a, role_type)
        })
    };
    let inferred = if split {
        PermissionModel::ActiveDirectorySplit
    } else if holds(ORGANIZATION_MANAGEMENT, recipients, Delegation::Regular) {
        PermissionModel::Shared
    } else {
        PermissionModel::RbacSplit
    };
    let chosen = match declared {
        None => inferred,
        Some(d) => PermissionModel::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(d))
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                ModelError::Invalid(format!(
                    "PermissionModel `{d}` is not Shared, RbacSplit or ActiveDirectorySplit"
                ))
            })?,
    };
    let mut violations = Vec::new();
    if split != (chosen == PermissionModel::ActiveDirectorySplit) {
        violations.push(vec![format!(
            "the model's ActiveDirectorySplitPermissions is {split}, but the permission model is {}",
            chosen.name()
        )]);
    }
    match chosen {
        PermissionModel::Shared => {
            for (who, role_type, role) in [
                (
                    ORGANIZATION_MANAGEMENT,
                    recipients,
                    "Mail Recipient Creation",
                ),
                (
                    ORGANIZATION_MANAGEMENT,
                    groups,
                    "Security Group Creation and Membership",
                ),
                (
                    "Recipient Management",
                    recipients,
                    "Mail Recipient Creation",
                ),
            ] {
                if !holds(who, role_type, Delegation::Regular) {
                    violations.push(vec![format!(
                        "{who} has no regular assignment of {role} (R-SPLIT-1)"
                    )]);
                }
            }
        }
        PermissionModel::RbacSplit => violations.extend(rbac_split(v)),
        PermissionModel::ActiveDirectorySplit => {
            for a in live(v).filter(|a| {
                a.delegation == Delegation::Regular
                    && SECURITY_PRINCIPAL_ROLE_TYPES
                        .iter()
                        .any(|t| creates(v, a, t))
            }) {
                violations.push(vec![format!(
                    "regular assignment `{}` of {} to `{}`: under Active Directory split permissions no role that creates security principals is assigned regularly (R-SPLIT-3)",
                    a.name,
                    a.role,
                    assignee_name(v, &a.assignee)
                )]);
            }
        }
    }
    Ok(outcome(
        "permission-model",
        format!(
            "checked: {} ({})",
            chosen.name(),
            if declared.is_some() {
                "declared by the tests file"
            } else {
                "as the model's assignments show it"
            }
        ),
        violations,
    ))
}

/// RBAC split (R-SPLIT-2): the directory groups hold regular and delegating
/// assignments of both creation roles, and only they may run the eight
/// creation and removal cmdlets.
fn rbac_split(v: &Verifier) -> Vec<Vec<String>> {
    let mut directory: Vec<&Assignee> = Vec::new();
    for a in live(v).filter(|a| a.assignee.is_group()) {
        let all = SECURITY_PRINCIPAL_ROLE_TYPES.iter().all(|t| {
            [Delegation::Regular, Delegation::Delegating]
                .iter()
                .all(|d| {
                    live(v)
                        .any(|b| b.assignee == a.assignee && b.delegation == *d && creates(v, b, t))
                })
        });
        if all && !directory.contains(&&a.assignee) {
            directory.push(&a.assignee);
        }
    }
    let mut violations = Vec::new();
    if directory.is_empty() {
        violations.push(vec![
            "no role group or USG holds regular and delegating assignments of both Mail Recipient Creation and Security Group Creation and Membership (R-SPLIT-2)".to_owned(),
        ]);
    }
    violations.extend(only(v, &UNAVAILABLE_UNDER_AD_SPLIT, &|a| {
        directory.contains(&a)
    }));
    violations
}

/// Violations of "only assignees that `allowed` accepts may run `cmdlets`":
/// every regular, enabled assignment whose role has one of them.
pub fn only(
    v: &Verifier,
    cmdlets: &[&str],
    allowed: &dyn Fn(&Assignee) -> bool,
) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for a in live(v).filter(|a| a.delegation == Delegation::Regular && !allowed(&a.assignee)) {
        let Some(role) = v.model.org.rbac.role(&a.role) else {
            continue;
        };
        for cmdlet in cmdlets.iter().filter(|c| role.entry(c).is_some()) {
            let mut lines = match v.reaching(&a.assignee) {
                Some((who, sids, policies)) => {
                    let mut lines = vec![format!(
                        "`{who}` can run `{cmdlet}` through assignment `{}`",
                        a.name
                    )];
                    lines.extend(v.chains(&sids, &policies, cmdlet, Some(&a.name)));
                    lines
                }
                None => vec![format!(
                    "assignment `{}` grants `{cmdlet}` to role group `{}`, which no one is a member of yet",
                    a.name,
                    assignee_name(v, &a.assignee)
                )],
            };
            if lines.len() == 1 {
                lines.push(format!("role {} → entry {cmdlet}", a.role));
            }
            out.push(lines);
        }
    }
    out
}

/// The account forest (NetBIOS name, lower case) of a SID the model names.
pub fn forest_of(v: &Verifier, sid: &Sid) -> Option<String> {
    let org = &v.model.org;
    if org.domain_sid.contains(sid) {
        return Some(org.forest.netbios().to_ascii_lowercase());
    }
    if let Some(f) = v.model.foreign.get(sid) {
        return Some(f.domain.clone());
    }
    org.rbac.role_groups.values().find_map(|g| match &g.kind {
        crate::rbac::model::RoleGroupKind::Linked(l) if l.sid == *sid => {
            Some(l.forest.netbios().to_ascii_lowercase())
        }
        _ => None,
    })
}

fn role_management(v: &Verifier) -> Outcome {
    let org = &v.model.org;
    let local = org.forest.netbios().to_ascii_lowercase();
    let mut forests: HashMap<String, Vec<Sid>> = HashMap::new();
    for f in v.model.foreign.values() {
        forests.entry(f.domain.clone()).or_default();
    }
    for sid in v.authorizer.principals() {
        if let Some(f) = forest_of(v, &sid).filter(|f| *f != local) {
            forests.entry(f).or_default().push(sid);
        }
    }
    let roles: Vec<(&str, Vec<&str>)> = org
        .rbac
        .roles
        .values()
        .filter(|r| r.role_type == "RoleManagement")
        .map(|r| {
            let mut parents = Vec::new();
            let mut at = r.parent.as_deref();
            while let Some(p) = at {
                parents.push(p);
                at = org.rbac.role(p).and_then(|r| r.parent.as_deref());
            }
            (r.name.as_str(), parents)
        })
        .collect();
    let reaches = |sids: &[Sid]| -> Option<(&str, bool)> {
        let subject = Subject {
            user: sids.first().copied().unwrap_or_else(super::nobody),
            sids,
            policies: &[],
        };
        roles.iter().find_map(|(role, parents)| {
            if v.authorizer.holds_role(&subject, role) {
                Some((*role, true))
            } else {
                v.authorizer
                    .delegating_assignment(&subject, role, parents)
                    .map(|_| (*role, false))
            }
        })
    };
    let mut names: Vec<&String> = forests.keys().collect();
    names.sort();
    let mut violations = Vec::new();
    for forest in &names {
        let sids = &forests[*forest];
        if reaches(sids).is_none() {
            continue;
        }
        for sid in sids {
            if let Some((role, regular)) = reaches(&[*sid]) {
                let mut lines = vec![format!(
                    "`{}` of {forest} {} {role}",
                    v.model.name_of(sid),
                    if regular {
                        "holds"
                    } else {
                        "may assign itself"
                    }
                )];
                if let Some(cmdlet) = org
                    .rbac
                    .role(role)
                    .and_then(|r| r.entries.values().next())
                    .map(|e| e.cmdlet.as_str())
                {
                    lines.extend(v.chains(&[*sid], &[], cmdlet, None));
                }
                violations.push(lines);
            }
        }
    }
    let covered = if names.is_empty() {
        "checked: the model names no account forest".to_owned()
    } else {
        format!(
            "checked: every principal of {} (a token of a forest's SIDs together, and each SID alone)",
            names
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    outcome(
        "no-account-forest-reaches-role-management",
        covered,
        violations,
    )
}

/// The regions' class indices by atom, unprotected classes first.
fn members(v: &Verifier) -> (Vec<Vec<usize>>, Vec<usize>) {
    let regions = &v.regions;
    let mut order: Vec<usize> = (0..regions.classes.len()).collect();
    order.sort_by_key(|c| regions.protected(&regions.classes[*c]));
    let mut by_atom = vec![Vec::new(); regions.atoms.len()];
    for &c in &order {
        for (i, list) in by_atom.iter_mut().enumerate() {
            if regions.classes[c].has(i) {
                list.push(c);
            }
        }
    }
    (by_atom, order)
}

/// The classes an assignment's own recipient write scope may cover: `None`
/// when it writes no recipient.
fn candidates<'a>(
    v: &Verifier,
    a: &RoleAssignment,
    by_atom: &'a [Vec<usize>],
    all: &'a [usize],
) -> Option<&'a [usize]> {
    let empty: &[usize] = &[];
    Some(match &a.recipient_write_scope {
        RecipientWriteScope::Custom(s) | RecipientWriteScope::Exclusive(s) => v
            .regions
            .scope_atom(s)
            .map_or(empty, |i| by_atom[i].as_slice()),
        RecipientWriteScope::OrganizationalUnit(ou) => v
            .regions
            .ou_atom(ou)
            .map_or(empty, |i| by_atom[i].as_slice()),
        RecipientWriteScope::Relative(RecipientScope::None) => return None,
        RecipientWriteScope::Relative(_) => all,
        RecipientWriteScope::Implicit => {
            let role = v.model.org.rbac.role(&a.role)?;
            if role.scopes.recipient_write == RecipientScope::None {
                return None;
            }
            all
        }
    })
}

fn writes(v: &Verifier, index: usize, class: usize) -> bool {
    let class = &v.regions.classes[class];
    let (user, sids) = v.owner(class);
    let subject = Subject {
        user,
        sids: &sids,
        policies: &[],
    };
    v.authorizer
        .writes_at(index, &subject, Target::Recipient(v.representative(class)))
}

fn dead(v: &Verifier) -> Outcome {
    let rbac = &v.model.org.rbac;
    let index: HashMap<String, usize> = v
        .assignments
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_ascii_lowercase(), i))
        .collect();
    let (by_atom, all) = members(v);
    let mut violations = Vec::new();
    let mut checked = 0;
    for a in live(v) {
        checked += 1;
        let why = if rbac.role(&a.role).is_none() {
            Some(format!("role `{}` doesn't exist", a.role))
        } else if let Some(s) = a
            .scope_names()
            .find(|s| !rbac.scopes.contains_key(&s.to_ascii_lowercase()))
        {
            Some(format!("its scope `{s}` doesn't exist"))
        } else if let Assignee::RoleGroup(g) = &a.assignee {
            match rbac.role_group(g) {
                None => Some(format!("role group `{g}` doesn't exist")),
                Some(group) if !group.builtin && !v.reached(g) => Some(format!(
                    "no one reaches role group `{g}`: it has no member (directly or nested)"
                )),
                Some(_) => None,
            }
        } else {
            None
        };
        let why = why.or_else(|| {
            if a.delegation != Delegation::Regular {
                return None;
            }
            let i = *index.get(&a.name.to_ascii_lowercase())?;
            let classes = candidates(v, a, &by_atom, &all)?;
            if classes.iter().any(|c| writes(v, i, *c)) {
                return None;
            }
            Some(shadowed(v, a, classes))
        });
        if let Some(why) = why {
            violations.push(vec![format!(
                "assignment `{}` ({} → {}) is dead: {why}",
                a.name,
                a.role,
                assignee_name(v, &a.assignee)
            )]);
        }
    }
    outcome(
        "no-dead-assignment",
        format!(
            "checked: {checked} enabled assignments; write scopes over {} object classes ({} synthetic)",
            v.regions.classes.len(),
            v.regions.synthetic
        ),
        violations,
    )
}

/// Why an assignment writes none of `classes`, its scope's classes.
fn shadowed(v: &Verifier, a: &RoleAssignment, classes: &[usize]) -> String {
    let regions = &v.regions;
    let Some(first) = classes.first() else {
        return format!(
            "its write scope matches none of the {} object classes (no object declared in it, and none could be derived from its filter)",
            regions.classes.len()
        );
    };
    let class = &regions.classes[*first];
    let exclusive: BTreeSet<&str> = classes
        .iter()
        .flat_map(|c| {
            regions
                .atoms
                .iter()
                .enumerate()
                .filter(|(i, at)| at.exclusive && regions.classes[*c].has(*i))
                .filter_map(|(_, at)| at.scope.as_deref())
        })
        .collect();
    let example = &v.representative(class).name;
    if !exclusive.is_empty()
        && !matches!(a.recipient_write_scope, RecipientWriteScope::Exclusive(_))
    {
        format!(
            "every object in its write scope is protected by exclusive scope {} (e.g. `{example}`), so it writes none (R-SCOPE-3)",
            exclusive
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(
            "it writes none of the {} object classes in its write scope (e.g. `{example}`: outside the role's implicit read scope)",
            classes.len()
        )
    }
}

fn exclusive(v: &Verifier) -> Outcome {
    let rbac = &v.model.org.rbac;
    let mut violations = Vec::new();
    for a in live(v) {
        let named = match (&a.recipient_write_scope, &a.config_write_scope) {
            (RecipientWriteScope::Custom(s), _) | (_, ConfigWriteScope::Custom(s)) => Some(s),
            _ => None,
        };
        if let Some(s) = named.filter(|s| {
            rbac.scopes
                .get(&s.to_ascii_lowercase())
                .is_some_and(|m| m.exclusive)
        }) {
            violations.push(vec![format!(
                "assignment `{}` uses exclusive scope `{s}` as a regular (custom) scope",
                a.name
            )]);
        }
    }
    // Every write the evaluator allows on a protected object, by assignment.
    let (by_atom, all) = members(v);
    let regions = &v.regions;
    let mut everywhere = Vec::new();
    let mut by_scope: Vec<Vec<usize>> = vec![Vec::new(); regions.atoms.len()];
    let mut exclusive_atom: Vec<Option<usize>> = Vec::new();
    for (i, name) in v.assignments.iter().enumerate() {
        let a = &rbac.assignments[&name.to_ascii_lowercase()];
        exclusive_atom.push(match &a.recipient_write_scope {
            RecipientWriteScope::Exclusive(s) => regions.scope_atom(s),
            _ => None,
        });
        if candidates(v, a, &by_atom, &all).is_none() {
            continue;
        }
        let atom = match &a.recipient_write_scope {
            RecipientWriteScope::Custom(s) | RecipientWriteScope::Exclusive(s) => {
                regions.scope_atom(s)
            }
            RecipientWriteScope::OrganizationalUnit(ou) => regions.ou_atom(ou),
            _ => None,
        };
        match atom {
            Some(at) => by_scope[at].push(i),
            None if matches!(
                a.recipient_write_scope,
                RecipientWriteScope::Implicit | RecipientWriteScope::Relative(_)
            ) =>
            {
                everywhere.push(i)
            }
            None => {}
        }
    }
    let mut protected = 0;
    for (c, class) in regions.classes.iter().enumerate() {
        if !regions.protected(class) {
            continue;
        }
        protected += 1;
        let scoped = (0..regions.atoms.len())
            .filter(|at| class.has(*at))
            .flat_map(|at| by_scope[at].iter().copied());
        for i in everywhere.iter().copied().chain(scoped) {
            let through_exclusive = exclusive_atom[i].is_some_and(|at| class.has(at));
            if !through_exclusive && writes(v, i, c) {
                violations.push(vec![format!(
                    "assignment `{}` writes `{}` ({}) without an exclusive scope matching it",
                    v.assignments[i],
                    v.representative(class).name,
                    regions.describe(class)
                )]);
            }
        }
    }
    outcome(
        "exclusive-scopes-through-exclusive-assignments",
        format!(
            "checked: every assignment's writes on {protected} object classes an exclusive scope matches"
        ),
        violations,
    )
}
