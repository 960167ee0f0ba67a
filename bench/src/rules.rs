//! The model's role assignments as engine-neutral rules, which the Cedar and
//! casbin translations render in their own languages.
//!
//! The rules follow `Authorizer`'s semantics for a write on a recipient
//! (R-SCOPE-3..6): an implicit write scope, or an explicit one within the
//! role's implicit read scope; a regular assignment only where no exclusive
//! scope protects the recipient, an exclusive one only inside its scope. A
//! request is allowed when each of its (non-common) parameters is granted for
//! the cmdlet by a rule that holds; the peers are therefore asked once per
//! parameter, with the action `"<Cmdlet> -<Parameter>"`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use crossforest_shared::Sid;
use resource_forest::rbac::common_parameters::is_common_parameter;
use resource_forest::rbac::model::{
    Assignee, Delegation, RecipientScope, RecipientWriteScope, RoleGroupKind,
};

use crate::model::{FilterSpec, Model};
use crate::stream::RequestKind;

/// Whom a rule is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Members of the role group (lower-case name), nesting and links included.
    RoleGroup(String),
    /// Users the policy (lower-case name) applies to.
    Policy(String),
    /// Callers carrying the SID.
    Sid(Sid),
}

/// One condition on the recipient; a rule holds when all of its hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The recipient is the caller's own mailbox (`Self`).
    OwnMailbox,
    /// The recipient is in the address lists (`MyGAL`).
    NotHidden,
    /// The recipient's OU is this one (lower-case canonical name) or below it.
    Within(String),
    /// `Department -eq d -and City -like 'p*'` (both lower-cased).
    Filter {
        /// Department.
        department: String,
        /// City prefix.
        city_prefix: String,
    },
    /// `CustomAttribute15 -eq v` (lower-cased): an exclusive scope matches.
    Protects(String),
}

/// A regular, enabled assignment as a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Whom it is for.
    pub holder: Holder,
    /// The role (lower-case name).
    pub role: String,
    /// What the recipient must satisfy.
    pub conditions: Vec<Condition>,
    /// A regular assignment grants only on recipients no exclusive scope
    /// protects; an exclusive one (false here) inside its own scope.
    pub unprotected_only: bool,
}

/// The translated model.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Rules, one per regular enabled assignment that can grant anything.
    pub rules: Vec<Rule>,
    /// Action `"<Cmdlet> -<Parameter>"` → roles (lower-case) granting it.
    pub actions: BTreeMap<String, BTreeSet<String>>,
    /// Role group (lower-case) → SIDs that are direct members (linked: the
    /// foreign group), role groups' own SIDs excluded.
    pub members: BTreeMap<String, BTreeSet<Sid>>,
    /// Role group (lower-case) → role groups (lower-case) it is a member of.
    pub nested_in: BTreeMap<String, BTreeSet<String>>,
    /// Every protected value of `CustomAttribute15` (lower-cased).
    pub protected_values: BTreeSet<String>,
}

/// The action name of one parameter of a cmdlet.
pub fn action(cmdlet: &str, parameter: &str) -> String {
    format!("{cmdlet} -{parameter}")
}

/// The actions a request of `kind` needs, one per non-common parameter.
pub fn actions_of(kind: &RequestKind) -> Vec<String> {
    kind.parameters
        .iter()
        .filter(|p| !is_common_parameter(p))
        .map(|p| action(kind.cmdlet, p))
        .collect()
}

/// A lower-cased canonical OU name.
pub fn ou_key(ou: &impl std::fmt::Display) -> String {
    ou.to_string().to_ascii_lowercase()
}

/// `None` when the implicit scope never holds for this model.
fn implicit(scope: RecipientScope) -> Option<Vec<Condition>> {
    match scope {
        RecipientScope::Organization => Some(Vec::new()),
        RecipientScope::Myself => Some(vec![Condition::OwnMailbox]),
        RecipientScope::MyGal => Some(vec![Condition::NotHidden]),
        // No recipient of the generated model has owners (checked below).
        RecipientScope::MyDistributionGroups | RecipientScope::None => None,
    }
}

fn filter_conditions(spec: &FilterSpec) -> Vec<Condition> {
    let mut out: Vec<Condition> = spec
        .root
        .iter()
        .map(|r| Condition::Within(ou_key(r)))
        .collect();
    out.push(Condition::Filter {
        department: spec.department.to_ascii_lowercase(),
        city_prefix: spec.city_prefix.to_ascii_lowercase(),
    });
    out
}

/// Translates `model`.
///
/// # Errors
/// When the model holds something these translations do not express (a
/// recipient with owners, a scope that is neither a generated filter nor an
/// exclusive `CustomAttribute15` scope): better to refuse than to compare
/// different models.
pub fn translate(model: &Model) -> Result<Rules> {
    if let Some(r) = model.recipients.iter().find(|r| !r.managed_by.is_empty()) {
        bail!(
            "recipient {} has owners: MyDistributionGroups is not translated",
            r.name
        );
    }
    let config = &model.config;
    let mut out = Rules {
        protected_values: model
            .exclusive
            .values()
            .map(|v| v.to_ascii_lowercase())
            .collect(),
        ..Rules::default()
    };
    for role in config.roles.values() {
        for entry in role.entries.values() {
            for p in &entry.parameters {
                out.actions
                    .entry(action(&entry.cmdlet, p))
                    .or_default()
                    .insert(role.name.to_ascii_lowercase());
            }
        }
    }
    let group_by_sid: BTreeMap<Sid, String> = config
        .role_groups
        .values()
        .map(|g| (g.sid, g.name.to_ascii_lowercase()))
        .collect();
    for g in config.role_groups.values() {
        let name = g.name.to_ascii_lowercase();
        let members = out.members.entry(name.clone()).or_default();
        match &g.kind {
            RoleGroupKind::Standard { members: m } => {
                for sid in m {
                    match group_by_sid.get(sid) {
                        Some(inner) => {
                            out.nested_in
                                .entry(inner.clone())
                                .or_default()
                                .insert(name.clone());
                        }
                        None => {
                            members.insert(*sid);
                        }
                    }
                }
            }
            RoleGroupKind::Linked(link) => {
                members.insert(link.sid);
            }
        }
    }
    for a in config.assignments.values() {
        if !a.enabled || a.delegation != Delegation::Regular {
            continue;
        }
        let Some(role) = config.role(&a.role) else {
            continue;
        };
        let holder = match &a.assignee {
            Assignee::RoleGroup(g) => Holder::RoleGroup(g.to_ascii_lowercase()),
            Assignee::Policy(p) => Holder::Policy(p.to_ascii_lowercase()),
            Assignee::User(sid) | Assignee::SecurityGroup(sid) => Holder::Sid(*sid),
        };
        let read = implicit(role.scopes.recipient_read);
        let scoped = |own: Option<Vec<Condition>>| -> Option<Vec<Condition>> {
            let mut own = own?;
            own.extend(read.clone()?);
            Some(own)
        };
        let lookup = |name: &str| name.to_ascii_lowercase();
        let (conditions, unprotected_only) = match &a.recipient_write_scope {
            RecipientWriteScope::Implicit => (implicit(role.scopes.recipient_write), true),
            RecipientWriteScope::Relative(s) => (scoped(implicit(*s)), true),
            RecipientWriteScope::OrganizationalUnit(ou) => {
                (scoped(Some(vec![Condition::Within(ou_key(ou))])), true)
            }
            RecipientWriteScope::Custom(s) | RecipientWriteScope::Exclusive(s) => {
                let exclusive =
                    matches!(a.recipient_write_scope, RecipientWriteScope::Exclusive(_));
                let key = lookup(s);
                let own = if let Some(spec) = model.filters.get(&key) {
                    Some(filter_conditions(spec))
                } else if let Some(value) = model.exclusive.get(&key) {
                    Some(vec![Condition::Protects(value.to_ascii_lowercase())])
                } else if config.scopes.contains_key(&key) {
                    bail!("scope `{s}` is not one the generator made: not translated");
                } else {
                    None // a missing scope covers nothing
                };
                (scoped(own), !exclusive)
            }
        };
        let Some(conditions) = conditions else {
            continue;
        };
        out.rules.push(Rule {
            holder,
            role: role.name.to_ascii_lowercase(),
            conditions,
            unprotected_only,
        });
    }
    Ok(out)
}
