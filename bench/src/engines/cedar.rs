//! The model in Cedar (`cedar-policy`): one `permit` per role assignment and
//! an entity store with the membership and OU hierarchies.
//!
//! Entities: `User` (a caller: parents are the `Sid`s it carries and the
//! `Policy` that applies to it), `Sid` (parents: the role groups it is a
//! direct member of), `RoleGroup` (parents: the role groups it is nested in),
//! `Policy`, `OU` (parent: the enclosing OU) and `Recipient` (parent: its OU;
//! attributes `sid`, `department`, `city`, `hidden` and, when set, `ca15`,
//! lower-cased as OPATH compares case-insensitively). Actions are
//! `Action::"<Cmdlet> -<Parameter>"`, each a member of `Action::"role:<role>"`
//! for every role whose entry grants it.
//!
//! A regular assignment's permit carries `unless { <an exclusive scope
//! matches> }`; an exclusive assignment's does not. A `forbid` for the
//! exclusive scopes would also override the exclusive assignments that may
//! write there, so the protection lives in the regular permits instead.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use anyhow::{anyhow, Context as _, Result};
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression,
};
use crossforest_shared::Sid;

use super::Engine;
use crate::model::{Caller, Model};
use crate::rules::{actions_of, ou_key, Condition, Holder, Rules};
use crate::stream::{RequestKind, StreamRequest};

/// The policy set, the entity store and the request parts, built once.
struct Translated {
    authorizer: Authorizer,
    policies: PolicySet,
    /// Per caller, only the permits whose principal scope can match them
    /// (its own SIDs, the role groups they reach, its policies): the slicing
    /// a deployment would put in front of Cedar.
    by_caller: Vec<PolicySet>,
    entities: Entities,
    users: Vec<EntityUid>,
    recipients: Vec<EntityUid>,
    kinds: Vec<Vec<EntityUid>>,
}

/// Cedar on the translated model: every request against the whole policy
/// set, or, [`Cedar::sliced`], against the caller's slice.
pub struct Cedar {
    translated: std::sync::Arc<Translated>,
    sliced: bool,
    /// Number of policies, for reports.
    pub policy_count: usize,
    /// Mean number of policies in a caller's slice, for reports.
    pub mean_slice: f64,
}

fn uid(kind: &str, id: &str) -> Result<EntityUid> {
    let kind = EntityTypeName::from_str(kind).map_err(|e| anyhow!("entity type {kind}: {e}"))?;
    Ok(EntityUid::from_type_name_and_id(kind, EntityId::new(id)))
}

/// A Cedar string literal.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn role_action(role: &str) -> String {
    format!("role:{role}")
}

fn condition(c: &Condition) -> String {
    match c {
        Condition::OwnMailbox => "resource.sid == principal.sid".to_owned(),
        Condition::NotHidden => "!resource.hidden".to_owned(),
        Condition::Within(ou) => format!("resource in OU::{}", quote(ou)),
        Condition::Filter {
            department,
            city_prefix,
        } => format!(
            "resource.department == {} && resource.city like {}",
            quote(department),
            quote(&format!("{city_prefix}*"))
        ),
        Condition::Protects(value) => {
            format!("resource has ca15 && resource.ca15 == {}", quote(value))
        }
    }
}

/// The policy text of the translated rules.
pub fn policy_text(rules: &Rules) -> String {
    policy_text_where(rules, |_| true)
}

/// The entity a rule's principal scope names.
fn holder_uid(holder: &Holder) -> Result<EntityUid> {
    match holder {
        Holder::RoleGroup(g) => uid("RoleGroup", g),
        Holder::Policy(p) => uid("Policy", p),
        Holder::Sid(s) => uid("Sid", &s.to_string()),
    }
}

/// The policy text of the rules whose holder `keep` accepts.
fn policy_text_where(rules: &Rules, keep: impl Fn(&Holder) -> bool) -> String {
    let protected = rules
        .protected_values
        .iter()
        .map(|v| quote(v))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = String::new();
    for rule in rules.rules.iter().filter(|r| keep(&r.holder)) {
        let principal = match &rule.holder {
            Holder::RoleGroup(g) => format!("RoleGroup::{}", quote(g)),
            Holder::Policy(p) => format!("Policy::{}", quote(p)),
            Holder::Sid(s) => format!("Sid::{}", quote(&s.to_string())),
        };
        out.push_str(&format!(
            "permit(principal in {principal}, action in Action::{}, resource)",
            quote(&role_action(&rule.role))
        ));
        if !rule.conditions.is_empty() {
            let when: Vec<String> = rule.conditions.iter().map(condition).collect();
            out.push_str(&format!(" when {{ {} }}", when.join(" && ")));
        }
        if rule.unprotected_only && !rules.protected_values.is_empty() {
            out.push_str(&format!(
                " unless {{ resource has ca15 && [{protected}].contains(resource.ca15) }}"
            ));
        }
        out.push_str(";\n");
    }
    out
}

/// The enclosing OU of a lower-case canonical OU name.
fn parent_ou(ou: &str) -> Option<&str> {
    ou.rfind('/').map(|i| &ou[..i])
}

impl Cedar {
    /// Translates `model` (via `rules`) for `callers` and the request kinds.
    ///
    /// # Errors
    /// When Cedar rejects a generated policy, entity or request.
    pub fn new(
        model: &Model,
        rules: &Rules,
        callers: &[Caller],
        kinds: &[RequestKind],
    ) -> Result<Self> {
        let text = policy_text(rules);
        let policies = PolicySet::from_str(&text).map_err(|e| anyhow!("Cedar policy set: {e}"))?;
        let mut entities: Vec<Entity> = Vec::new();

        // Membership: Sid → RoleGroup → RoleGroup.
        let mut sid_parents: BTreeMap<Sid, BTreeSet<&str>> = BTreeMap::new();
        for (group, members) in &rules.members {
            for sid in members {
                sid_parents.entry(*sid).or_default().insert(group);
            }
        }
        for (sid, groups) in &sid_parents {
            let parents = groups
                .iter()
                .map(|g| uid("RoleGroup", g))
                .collect::<Result<HashSet<_>>>()?;
            entities.push(Entity::new_no_attrs(uid("Sid", &sid.to_string())?, parents));
        }
        for group in rules.members.keys() {
            let parents = rules
                .nested_in
                .get(group)
                .into_iter()
                .flatten()
                .map(|g| uid("RoleGroup", g))
                .collect::<Result<HashSet<_>>>()?;
            entities.push(Entity::new_no_attrs(uid("RoleGroup", group)?, parents));
        }
        let policy_names: BTreeSet<String> = model
            .config
            .policies
            .values()
            .map(|p| p.name.to_ascii_lowercase())
            .collect();
        for p in &policy_names {
            entities.push(Entity::new_no_attrs(uid("Policy", p)?, HashSet::new()));
        }
        let mut users = Vec::with_capacity(callers.len());
        for caller in callers {
            let user = uid("User", &caller.user.to_string())?;
            let mut parents = caller
                .sids
                .iter()
                .map(|s| uid("Sid", &s.to_string()))
                .collect::<Result<HashSet<_>>>()?;
            for p in crate::model::policies() {
                parents.insert(uid("Policy", &p.to_ascii_lowercase())?);
            }
            let attrs = HashMap::from([(
                "sid".to_owned(),
                RestrictedExpression::new_string(caller.user.to_string()),
            )]);
            entities.push(Entity::new(user.clone(), attrs, parents).context("Cedar user")?);
            users.push(user);
        }

        // OUs: every recipient's and every scope's, with their ancestors.
        let mut ous: BTreeSet<String> = BTreeSet::new();
        let mut add_ou = |ou: &str| {
            let mut at = Some(ou);
            while let Some(o) = at {
                if !ous.insert(o.to_owned()) {
                    break;
                }
                at = parent_ou(o);
            }
        };
        for r in &model.recipients {
            add_ou(&ou_key(&r.organizational_unit));
        }
        for rule in &rules.rules {
            for c in &rule.conditions {
                if let Condition::Within(ou) = c {
                    add_ou(ou);
                }
            }
        }
        for ou in &ous {
            let parents = parent_ou(ou)
                .map(|p| uid("OU", p))
                .transpose()?
                .into_iter()
                .collect();
            entities.push(Entity::new_no_attrs(uid("OU", ou)?, parents));
        }
        let mut recipients = Vec::with_capacity(model.recipients.len());
        for (i, r) in model.recipients.iter().enumerate() {
            let id = uid("Recipient", &i.to_string())?;
            let attribute = |name: &str| r.attributes.get(name).map(|v| v.to_ascii_lowercase());
            let mut attrs = HashMap::from([
                (
                    "sid".to_owned(),
                    RestrictedExpression::new_string(r.sid.to_string()),
                ),
                (
                    "department".to_owned(),
                    RestrictedExpression::new_string(attribute("Department").unwrap_or_default()),
                ),
                (
                    "city".to_owned(),
                    RestrictedExpression::new_string(attribute("City").unwrap_or_default()),
                ),
                (
                    "hidden".to_owned(),
                    RestrictedExpression::new_bool(
                        attribute("HiddenFromAddressListsEnabled").as_deref() == Some("true"),
                    ),
                ),
            ]);
            if let Some(v) = attribute("CustomAttribute15").filter(|v| !v.is_empty()) {
                attrs.insert("ca15".to_owned(), RestrictedExpression::new_string(v));
            }
            let parents = HashSet::from([uid("OU", &ou_key(&r.organizational_unit))?]);
            entities.push(Entity::new(id.clone(), attrs, parents).context("Cedar recipient")?);
            recipients.push(id);
        }

        // Actions and the roles that grant them.
        let mut roles: BTreeSet<&str> = BTreeSet::new();
        for (action, granted_by) in &rules.actions {
            let parents = granted_by
                .iter()
                .map(|r| uid("Action", &role_action(r)))
                .collect::<Result<HashSet<_>>>()?;
            roles.extend(granted_by.iter().map(String::as_str));
            entities.push(Entity::new_no_attrs(uid("Action", action)?, parents));
        }
        for role in roles {
            entities.push(Entity::new_no_attrs(
                uid("Action", &role_action(role))?,
                HashSet::new(),
            ));
        }
        let entities =
            Entities::from_entities(entities, None).map_err(|e| anyhow!("Cedar entities: {e}"))?;
        let kinds = kinds
            .iter()
            .map(|k| {
                actions_of(k)
                    .iter()
                    .map(|a| uid("Action", a))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let by_caller = users
            .iter()
            .map(|user| {
                let mut reach: HashSet<EntityUid> = entities
                    .ancestors(user)
                    .map(|a| a.cloned().collect())
                    .unwrap_or_default();
                reach.insert(user.clone());
                let text = policy_text_where(rules, |holder| {
                    holder_uid(holder).is_ok_and(|u| reach.contains(&u))
                });
                PolicySet::from_str(&text).map_err(|e| anyhow!("Cedar policy slice: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let sliced_total: usize = by_caller.iter().map(|p| p.policies().count()).sum();
        Ok(Self {
            policy_count: policies.policies().count(),
            mean_slice: sliced_total as f64 / by_caller.len().max(1) as f64,
            sliced: false,
            translated: std::sync::Arc::new(Translated {
                authorizer: Authorizer::new(),
                policies,
                by_caller,
                entities,
                users,
                recipients,
                kinds,
            }),
        })
    }

    /// The same translation, each request decided against its caller's slice.
    pub fn sliced(&self) -> Self {
        Self {
            translated: self.translated.clone(),
            sliced: true,
            policy_count: self.policy_count,
            mean_slice: self.mean_slice,
        }
    }
}

impl Engine for Cedar {
    fn name(&self) -> &'static str {
        if self.sliced {
            "cedar-sliced"
        } else {
            "cedar"
        }
    }

    fn decide(&self, request: &StreamRequest) -> Result<bool> {
        let t = &*self.translated;
        let policies = if self.sliced {
            t.by_caller
                .get(request.caller as usize)
                .context("caller out of range")?
        } else {
            &t.policies
        };
        let (principal, resource, actions) =
            super::request_parts(&t.users, &t.recipients, &t.kinds, request)?;
        if actions.is_empty() {
            return Ok(false);
        }
        for action in actions {
            let r = Request::new(
                principal.clone(),
                action.clone(),
                resource.clone(),
                Context::empty(),
                None,
            )
            .map_err(|e| anyhow!("Cedar request: {e}"))?;
            let response = t.authorizer.is_authorized(&r, policies, &t.entities);
            if response.decision() != Decision::Allow {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
