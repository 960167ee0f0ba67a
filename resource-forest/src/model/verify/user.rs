//! The tests file's `[[Invariant]]`s: `Cannot` for every principal of a
//! forest (on every object of a scope, or on the cmdlet itself), and `Only`.

use crossforest_shared::Sid;

use super::super::assertions::{chain_text, resolved, Outcome};
use super::super::names;
use super::super::tests_file::{CmdletSpec, InvariantSpec};
use super::super::ModelError;
use super::builtin::{forest_of, only};
use super::{outcome, Verifier};
use crate::cmdlets::registry;
use crate::org::permission_model::unavailable;
use crate::rbac::model::Assignee;
use crate::rbac::{Explanation, Request, Subject, Target};

/// Checks one invariant; a malformed one fails with the reason.
pub fn check(v: &Verifier, spec: &InvariantSpec) -> Outcome {
    let result = match (&spec.cannot, &spec.only) {
        (Some(c), None) => cannot(v, spec, c),
        (None, Some(names)) => only_these(v, spec, names),
        _ => Err(ModelError::Invalid(
            "give exactly one of Cannot and Only".into(),
        )),
    };
    result.unwrap_or_else(|e| Outcome {
        name: spec.name.clone(),
        passed: false,
        lines: vec![format!("error: {e}")],
    })
}

/// The SIDs `ForAll` quantifies over, and how to say it.
fn principals(v: &Verifier, for_all: Option<&str>) -> Result<(Vec<Sid>, String), ModelError> {
    let text = for_all.unwrap_or("principals").trim();
    let forest = if text.eq_ignore_ascii_case("principals") {
        None
    } else {
        let rest = text
            .strip_prefix("principals of ")
            .or_else(|| text.strip_prefix("Principals of "))
            .ok_or_else(|| {
                ModelError::Invalid(format!(
                    "ForAll `{text}` is not `principals` or `principals of FOREST`"
                ))
            })?;
        Some(rest.trim().to_ascii_lowercase())
    };
    let matches = |netbios: &str| match &forest {
        None => true,
        Some(f) => {
            f == netbios
                || f.split('.').next() == Some(netbios)
                || (v.model.org.forest.answers_to(f)
                    && v.model.org.forest.netbios().eq_ignore_ascii_case(netbios))
        }
    };
    let mut sids: Vec<Sid> = v
        .authorizer
        .principals()
        .into_iter()
        .filter(|s| forest_of(v, s).is_some_and(|f| matches(&f)))
        .collect();
    sids.sort_unstable();
    Ok((sids, text.to_owned()))
}

fn cannot(v: &Verifier, spec: &InvariantSpec, c: &CmdletSpec) -> Result<Outcome, ModelError> {
    let org = &v.model.org;
    let resolved = resolved(org, &c.cmdlet, &c.parameters, "", None)?;
    let (sids, who) = principals(v, spec.for_all.as_deref())?;
    let policies: Vec<String> = org.rbac.policies.values().map(|p| p.name.clone()).collect();
    let classes: Vec<usize> = match spec.objects.as_deref() {
        None => Vec::new(),
        Some(o) if o.eq_ignore_ascii_case("all") => (0..v.regions.classes.len()).collect(),
        Some(scope) => {
            let atom = v.regions.scope_atom(scope).ok_or_else(|| {
                ModelError::Invalid(format!(
                    "Objects `{scope}` is not `all` nor a recipient scope of the model"
                ))
            })?;
            (0..v.regions.classes.len())
                .filter(|c| v.regions.classes[*c].has(atom))
                .collect()
        }
    };
    let mut covered = format!(
        "checked: {who} ({} SIDs and every role assignment policy together, each alone for the counterexample) on {}",
        sids.len(),
        if spec.objects.is_none() {
            "the cmdlet itself".to_owned()
        } else {
            format!("{} object classes", classes.len())
        }
    );
    if let Some(why) = unavailable(org, resolved.cmdlet) {
        covered.push_str(&format!("; {why}"));
        return Ok(outcome(&spec.name, covered, Vec::new()));
    }
    let targets: Vec<Option<usize>> = if spec.objects.is_none() {
        vec![None]
    } else {
        classes.into_iter().map(Some).collect()
    };
    let mut violations = Vec::new();
    for class in targets {
        let rep = class.map(|c| v.representative(&v.regions.classes[c]));
        let request = Request {
            cmdlet: resolved.cmdlet,
            parameters: &resolved.parameters,
            target: rep.map_or(Target::None, |r| Target::Recipient(r)),
            access: resolved.access,
        };
        let user = rep.map_or_else(
            || sids.first().copied().unwrap_or_else(super::nobody),
            |r| r.sid,
        );
        let union = Subject {
            user,
            sids: &sids,
            policies: &policies,
        };
        if !v.authorizer.check(&union, &request) {
            continue;
        }
        // The smallest token that shows it: one SID, one policy, or all.
        let singles = sids
            .iter()
            .map(|s| (v.model.name_of(s), vec![*s], Vec::new()))
            .chain(policies.iter().map(|p| {
                (
                    format!("a mailbox with policy {p}"),
                    Vec::new(),
                    vec![p.clone()],
                )
            }));
        let (name, token_sids, token_policies) = singles
            .into_iter()
            .find(|(_, s, p)| {
                v.authorizer.check(
                    &Subject {
                        user,
                        sids: s,
                        policies: p,
                    },
                    &request,
                )
            })
            .unwrap_or_else(|| {
                (
                    format!("a principal in all of {} SIDs", sids.len()),
                    sids.clone(),
                    policies.clone(),
                )
            });
        let subject = Subject {
            user,
            sids: &token_sids,
            policies: &token_policies,
        };
        let mut lines = vec![format!(
            "`{name}` can run `{}{}`{}",
            resolved.cmdlet,
            resolved
                .parameters
                .iter()
                .map(|p| format!(" -{p}"))
                .collect::<String>(),
            match (rep, class) {
                (Some(r), Some(c)) => format!(
                    " on `{}` ({})",
                    r.name,
                    v.regions.describe(&v.regions.classes[c])
                ),
                _ => String::new(),
            }
        )];
        if let Explanation::Allowed(chains) = v.authorizer.explain(&subject, &request) {
            lines.extend(
                chains
                    .iter()
                    .map(|c| format!("chain: {}", chain_text(&v.model, c))),
            );
        }
        violations.push(lines);
    }
    Ok(outcome(&spec.name, covered, violations))
}

fn only_these(
    v: &Verifier,
    spec: &InvariantSpec,
    allowed: &[String],
) -> Result<Outcome, ModelError> {
    if spec.cmdlets.is_empty() {
        return Err(ModelError::Invalid("Only needs Cmdlets".into()));
    }
    let cmdlets: Vec<&str> = spec
        .cmdlets
        .iter()
        .map(|c| {
            registry::find(c)
                .map(|t| t.name)
                .ok_or_else(|| ModelError::Invalid(format!("Cmdlets: `{c}` is not a cmdlet")))
        })
        .collect::<Result<_, _>>()?;
    let sids: Vec<Sid> = allowed
        .iter()
        .filter_map(|n| {
            names::find(&v.model, n).or_else(|| {
                let group = names::split(n).map_or(n.as_str(), |(_, g)| g);
                v.model.org.rbac.role_group(group).map(|g| g.sid)
            })
        })
        .collect();
    let accepts = |a: &Assignee| match a {
        Assignee::RoleGroup(g) | Assignee::Policy(g) => allowed.iter().any(|n| {
            n.eq_ignore_ascii_case(g)
                || names::split(n).is_some_and(|(d, name)| {
                    v.model.org.forest.answers_to(d) && name.eq_ignore_ascii_case(g)
                })
        }),
        Assignee::User(s) | Assignee::SecurityGroup(s) => sids.contains(s),
    };
    let violations = only(v, &cmdlets, &accepts);
    Ok(outcome(
        &spec.name,
        format!(
            "checked: every regular, enabled assignment whose role has {}",
            cmdlets.join(", ")
        ),
        violations,
    ))
}
