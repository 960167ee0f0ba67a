//! Runs a tests file against a model, offline, with the resource forest's
//! own code: the cmdlet registry resolves names, the compiled `Authorizer`
//! decides and explains (chains, nearest misses, who-can, what-can), and
//! Active Directory split permissions make the same cmdlets unavailable.

use std::collections::BTreeMap;

use crossforest_shared::Sid;

use super::names::{self, SidTable};
use super::tests_file::{AssertSpec, ObjectSpec, TestsFile};
use super::{Model, ModelError};
use crate::cmdlets::query::{resolve, Query, Resolved};
use crate::org::permission_model::unavailable;
use crate::org::recipients::{Recipient, RecipientType};
use crate::org::Organization;
use crate::rbac::evaluate::WhoCan;
use crate::rbac::{Authorizer, Explanation, Subject};

/// The outcome of one assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The assertion's name.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What explains it: the chain, the nearest miss, the difference.
    pub lines: Vec<String>,
}

/// A principal as its token would present it.
struct Token {
    user: Sid,
    sids: Vec<Sid>,
    policies: Vec<String>,
}

/// The model with the tests file's principals and objects added.
struct World {
    model: Model,
    tokens: BTreeMap<String, Token>,
    authorizer: Authorizer,
}

/// Runs every assertion of `tests` on `model`. A malformed principal or
/// object is an error; an assertion that can't be evaluated (an unknown
/// cmdlet, parameter or object) fails with the reason.
pub fn run(model: &Model, tests: &TestsFile) -> Result<Vec<Outcome>, ModelError> {
    let world = world(model, tests)?;
    Ok(tests
        .asserts
        .iter()
        .map(|a| {
            let (passed, lines) = match check(&world, a) {
                Ok(result) => result,
                Err(e) => (false, vec![format!("error: {e}")]),
            };
            Outcome {
                name: a.name.clone(),
                passed,
                lines,
            }
        })
        .collect())
}

fn world(model: &Model, tests: &TestsFile) -> Result<World, ModelError> {
    let mut model = model.clone();
    let none = SidTable::default();
    let mut tokens = BTreeMap::new();
    for p in &tests.principals {
        let what = format!("[[Principal]] `{}`", p.name);
        let Some((domain, _)) = names::split(&p.name) else {
            return Err(ModelError::Invalid(format!(
                "{what}: write it `DOMAIN\\name`"
            )));
        };
        let user = names::principal(&mut model, &none, &p.name)?;
        let mut sids = vec![user];
        for group in &p.member_of {
            if model.org.rbac.role_group(group).is_some()
                || names::split(group).is_some_and(|(d, n)| {
                    model.org.forest.answers_to(d) && model.org.rbac.role_group(n).is_some()
                })
            {
                return Err(ModelError::Invalid(format!(
                    "{what}: `{group}` is a role group; its members are the model's (Members)"
                )));
            }
            let same_forest = names::split(group).is_some_and(|(d, _)| {
                d.eq_ignore_ascii_case(domain)
                    || (model.org.forest.answers_to(d) && model.org.forest.answers_to(domain))
            });
            if !same_forest {
                return Err(ModelError::Invalid(format!(
                    "{what}: `{group}` is not of the principal's own forest; SID filtering drops such a SID from its token (R-TRUST-3)"
                )));
            }
            sids.push(names::principal(&mut model, &none, group)?);
        }
        let policies = match &p.role_assignment_policy {
            Some(name) => vec![model
                .org
                .rbac
                .policy(name)
                .ok_or_else(|| {
                    ModelError::Invalid(format!(
                        "{what}: RoleAssignmentPolicy `{name}` is not a policy of the model"
                    ))
                })?
                .name
                .clone()],
            None => Vec::new(),
        };
        tokens.insert(
            p.name.to_ascii_lowercase(),
            Token {
                user,
                sids,
                policies,
            },
        );
    }
    for o in &tests.objects {
        let name = o
            .name
            .clone()
            .ok_or_else(|| ModelError::Invalid("an [[Object]] needs a Name".into()))?;
        let recipient = recipient(&mut model, &name, o)?;
        model
            .org
            .recipients
            .insert(name.to_ascii_lowercase(), recipient);
    }
    let authorizer = Authorizer::new(&model.org.rbac);
    Ok(World {
        model,
        tokens,
        authorizer,
    })
}

/// The recipient `spec` describes, named `name`.
pub(crate) fn recipient(
    model: &mut Model,
    name: &str,
    spec: &ObjectSpec,
) -> Result<Recipient, ModelError> {
    let what = format!("object `{name}`");
    let kinds = RecipientType::ALL;
    let recipient_type = match &spec.recipient_type {
        None => RecipientType::UserMailbox,
        Some(t) => kinds
            .into_iter()
            .find(|k| k.details().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                ModelError::Invalid(format!(
                    "{what}: RecipientType `{t}` is not one of {}",
                    kinds.map(|k| k.details()).join(", ")
                ))
            })?,
    };
    let ou = spec
        .organizational_unit
        .clone()
        .unwrap_or_else(|| format!("{}/Users", model.org.forest));
    let organizational_unit = ou
        .parse()
        .map_err(|e| ModelError::Invalid(format!("{what}: OrganizationalUnit `{ou}`: {e}")))?;
    let mut attributes = crate::org::attributes::Attributes::new();
    for (k, v) in &spec.attributes {
        attributes.insert(k, v);
    }
    Ok(Recipient {
        name: name.to_owned(),
        recipient_type,
        alias: name.to_owned(),
        display_name: name.to_owned(),
        sid: names::fresh_local(model, &SidTable::default())?,
        organizational_unit,
        user_principal_name: String::new(),
        primary_smtp_address: String::new(),
        external_email_address: String::new(),
        role_assignment_policy: String::new(),
        members: Default::default(),
        managed_by: Vec::new(),
        attributes,
    })
}

impl World {
    fn subject_sids(&self, name: &str) -> Result<(Sid, Vec<Sid>, Vec<String>), ModelError> {
        if let Some(t) = self.tokens.get(&name.to_ascii_lowercase()) {
            return Ok((t.user, t.sids.clone(), t.policies.clone()));
        }
        let sid = names::find(&self.model, name).ok_or_else(|| {
            ModelError::Invalid(format!(
                "`{name}` is neither named by the model nor declared as a [[Principal]]"
            ))
        })?;
        Ok((sid, vec![sid], Vec::new()))
    }
}

/// The request `cmdlet` with `parameters` on `target` makes in `org`, as the
/// server resolves it; a name it doesn't know is the model's error.
pub(crate) fn resolved<'o>(
    org: &'o Organization,
    cmdlet: &str,
    parameters: &[String],
    target: &str,
    write: Option<bool>,
) -> Result<Resolved<'o>, ModelError> {
    resolve(
        org,
        &Query {
            cmdlet,
            parameters,
            target,
            write,
        },
    )
    .map_err(|e| ModelError::Invalid(e.to_string()))
}

fn access(a: &AssertSpec) -> Result<Option<bool>, ModelError> {
    match a.access.as_deref() {
        None => Ok(None),
        Some(x) if x.eq_ignore_ascii_case("write") => Ok(Some(true)),
        Some(x) if x.eq_ignore_ascii_case("read") => Ok(Some(false)),
        Some(x) => Err(ModelError::Invalid(format!(
            "Access `{x}` is not Read or Write"
        ))),
    }
}

/// The organization the request is asked on (with an inline object) and
/// the target's name.
fn target_org(world: &World, a: &AssertSpec) -> Result<(Organization, String), ModelError> {
    match (&a.target, &a.object) {
        (Some(_), Some(_)) => Err(ModelError::Invalid(
            "give Target or Object, not both".into(),
        )),
        (Some(t), None) => {
            if world
                .model
                .org
                .recipients
                .get(&t.to_ascii_lowercase())
                .is_none()
            {
                return Err(ModelError::Invalid(format!(
                    "Target `{t}` is not an [[Object]] of the tests file"
                )));
            }
            Ok((world.model.org.clone(), t.clone()))
        }
        (None, Some(o)) => {
            let name = o
                .name
                .clone()
                .unwrap_or_else(|| "the object described".into());
            let mut model = world.model.clone();
            let r = recipient(&mut model, &name, o)?;
            model.org.recipients.insert(name.to_ascii_lowercase(), r);
            Ok((model.org, name))
        }
        (None, None) => Ok((world.model.org.clone(), String::new())),
    }
}

fn check(world: &World, a: &AssertSpec) -> Result<(bool, Vec<String>), ModelError> {
    let kinds = [&a.can, &a.cannot, &a.who_can, &a.what_can]
        .iter()
        .filter(|k| k.is_some())
        .count();
    if kinds != 1 {
        return Err(ModelError::Invalid(
            "give exactly one of Can, Cannot, WhoCan, WhatCan".into(),
        ));
    }
    if let Some(who) = a.can.as_ref().or(a.cannot.as_ref()) {
        return can(world, a, who, a.can.is_some());
    }
    if let Some(cmdlet) = &a.who_can {
        return who_can(world, a, cmdlet);
    }
    what_can(world, a, a.what_can.as_deref().unwrap_or_default())
}

fn can(
    world: &World,
    a: &AssertSpec,
    who: &str,
    expected: bool,
) -> Result<(bool, Vec<String>), ModelError> {
    let cmdlet = a
        .cmdlet
        .as_deref()
        .ok_or_else(|| ModelError::Invalid("Can and Cannot need a Cmdlet".into()))?;
    let (user, sids, policies) = world.subject_sids(who)?;
    let subject = Subject {
        user,
        sids: &sids,
        policies: &policies,
    };
    let (org, target) = target_org(world, a)?;
    let resolved = resolved(&org, cmdlet, &a.parameters, &target, access(a)?)?;
    let authorizer;
    let authorizer = if a.object.is_some() {
        authorizer = Authorizer::new(&org.rbac);
        &authorizer
    } else {
        &world.authorizer
    };
    let explanation = authorizer.explain(&subject, &resolved.request());
    let unavailable = unavailable(&org, resolved.cmdlet);
    let allowed = explanation.is_allowed() && unavailable.is_none();
    let mut lines = Vec::new();
    if let Some(why) = unavailable {
        lines.push(format!("denied: {why}"));
    }
    match &explanation {
        Explanation::Allowed(chains) => lines.extend(
            chains
                .iter()
                .map(|c| format!("allowed by: {}", chain_text(&world.model, c))),
        ),
        Explanation::Denied(denial) => lines.push(format!("nearest miss: {denial}")),
    }
    Ok((allowed == expected, lines))
}

/// A chain with SIDs shown by name.
pub(crate) fn chain_text(model: &Model, chain: &crate::rbac::Chain) -> String {
    let mut text = chain.to_string();
    for link in &chain.links {
        if let crate::rbac::Link::Sid(sid) = link {
            text = text.replacen(&sid.to_string(), &model.name_of(sid), 1);
        }
    }
    text
}

fn who_can(world: &World, a: &AssertSpec, cmdlet: &str) -> Result<(bool, Vec<String>), ModelError> {
    let expected = a.equals.as_ref().ok_or_else(|| {
        ModelError::Invalid("WhoCan needs Equals (a list, possibly empty)".into())
    })?;
    let (org, target) = target_org(world, a)?;
    let resolved = resolved(&org, cmdlet, &a.parameters, &target, access(a)?)?;
    let authorizer = Authorizer::new(&org.rbac);
    let found: Vec<(String, Vec<String>)> = if unavailable(&org, resolved.cmdlet).is_some() {
        Vec::new()
    } else {
        authorizer
            .who_can(&resolved.request())
            .into_iter()
            .map(|(who, chains)| {
                let name = match who {
                    WhoCan::Principal(sid) => world.model.name_of(&sid),
                    WhoCan::Policy(p) => p,
                };
                (
                    name,
                    chains.iter().map(|c| chain_text(&world.model, c)).collect(),
                )
            })
            .collect()
    };
    let has = |list: &[String], n: &str| list.iter().any(|x| x.eq_ignore_ascii_case(n));
    let names: Vec<String> = found.iter().map(|(n, _)| n.clone()).collect();
    let missing: Vec<&String> = expected.iter().filter(|e| !has(&names, e)).collect();
    let extra: Vec<&(String, Vec<String>)> =
        found.iter().filter(|(n, _)| !has(expected, n)).collect();
    let mut lines = vec![format!(
        "who can: {}",
        if names.is_empty() {
            "no one".into()
        } else {
            names.join(", ")
        }
    )];
    for m in &missing {
        lines.push(format!("expected but can't: {m}"));
    }
    for (n, chains) in &extra {
        lines.push(format!("can but not expected: {n}"));
        lines.extend(chains.iter().map(|c| format!("  allowed by: {c}")));
    }
    Ok((missing.is_empty() && extra.is_empty(), lines))
}

fn what_can(world: &World, a: &AssertSpec, who: &str) -> Result<(bool, Vec<String>), ModelError> {
    let (user, sids, policies) = world.subject_sids(who)?;
    let subject = Subject {
        user,
        sids: &sids,
        policies: &policies,
    };
    let permissions = world.authorizer.permissions_of(&subject);
    let mut passed = true;
    let mut lines = Vec::new();
    for item in &a.contains {
        let mut words = item.split_whitespace();
        let cmdlet = words.next().unwrap_or_default();
        let wanted: Vec<String> = words
            .map(|w| w.trim_start_matches('-').to_owned())
            .collect();
        let resolved = resolve(
            &world.model.org,
            &Query {
                cmdlet,
                parameters: &wanted,
                target: "",
                write: Some(false),
            },
        )
        .map_err(|e| ModelError::Invalid(format!("`{item}`: {e}")))?;
        let held = permissions
            .iter()
            .find(|p| p.cmdlet.eq_ignore_ascii_case(resolved.cmdlet))
            .filter(|_| unavailable(&world.model.org, resolved.cmdlet).is_none());
        let missing: Vec<&String> = resolved
            .parameters
            .iter()
            .filter(|p| {
                !held.is_some_and(|h| h.parameters.iter().any(|q| q.eq_ignore_ascii_case(p)))
            })
            .collect();
        if held.is_some() && missing.is_empty() {
            lines.push(format!("has: {item}"));
        } else {
            passed = false;
            let why = match unavailable(&world.model.org, resolved.cmdlet) {
                Some(why) => why,
                None => match world.authorizer.explain(&subject, &resolved.request()) {
                    Explanation::Denied(d) => d.to_string(),
                    Explanation::Allowed(_) => String::new(),
                },
            };
            lines.push(format!("missing: {item}; nearest miss: {why}"));
        }
    }
    Ok((passed, lines))
}
