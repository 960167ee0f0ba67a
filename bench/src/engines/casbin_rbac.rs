//! The model in casbin (`casbin` crate): RBAC with two role hierarchies and
//! ABAC matcher conditions.
//!
//! * `g`: caller → each SID it carries and its policy; SID → role groups it
//!   is a direct member of; role group → role groups it is nested in.
//! * `g2`: action `"<Cmdlet> -<Parameter>"` → each role whose entry grants it.
//! * one `p` line per role assignment: holder, role, the OU domain it is
//!   confined to (`keyMatch` on the canonical OU path, `*` for none), the
//!   filter scope's Department and City prefix, `Self`/`MyGAL` flags, the
//!   exclusive value it writes and whether it is a regular assignment (which
//!   no recipient an exclusive scope protects can be written through).
//!
//! [`Casbin::sliced`] gives each caller an enforcer of its own, built once and
//! kept: the `p` lines whose subject the caller's `g` links reach and those
//! links only; unsliced, every request is matched against every `p` line.
//!
//! The request's object is the recipient as a map (its OU path, Department,
//! City, SID, hidden flag and CustomAttribute15, lower-cased), so the
//! matcher evaluates the scopes itself.

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, bail, Context as _, Result};
use casbin::prelude::*;
use serde::Serialize;

use super::Engine;
use crate::model::{Caller, Model};
use crate::rules::{actions_of, ou_key, Condition, Holder, Rules};
use crate::stream::{RequestKind, StreamRequest};

/// The casbin model text; `{unprotected}` becomes `r.obj.ca15 != "v1" && …`
/// over the protected CustomAttribute15 values.
const MODEL: &str = r#"
[request_definition]
r = sub, act, obj

[policy_definition]
p = sub, role, ou, dept, city, own, gal, excl, reg

[role_definition]
g = _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g2(r.act, p.role) && g(r.sub, p.sub) && keyMatch(r.obj.ou, p.ou) && (p.dept == "" || r.obj.dept == p.dept) && keyMatch(r.obj.city, p.city) && (p.own == "" || r.obj.sid == r.sub) && (p.gal == "" || r.obj.hidden == "") && (p.excl == "" || r.obj.ca15 == p.excl) && (p.reg == "" || ({unprotected}))
"#;

/// A recipient as the matcher sees it (`r.obj`).
#[derive(Debug, Clone, Serialize, Hash)]
pub struct CasbinRecipient {
    ou: String,
    dept: String,
    city: String,
    sid: String,
    hidden: String,
    ca15: String,
}

/// The translated model: casbin's model text, its `p` lines and `g`/`g2`
/// links, and the request parts, built once.
struct Translated {
    text: String,
    lines: Vec<Vec<String>>,
    links: Vec<Vec<String>>,
    action_links: Vec<Vec<String>>,
    users: Vec<String>,
    recipients: Vec<CasbinRecipient>,
    kinds: Vec<Vec<String>>,
}

/// Whole: one enforcer with every `p` line; per caller: each caller's own
/// enforcer, built once and kept, with only the `p` lines whose subject its
/// SIDs reach and the `g` links on the way there (the slicing a deployment
/// would put in front of casbin).
enum Enforcers {
    Whole(Box<Enforcer>),
    PerCaller(Vec<Enforcer>),
}

/// casbin on the translated model: every request against every `p` line, or,
/// [`Casbin::sliced`], against its caller's enforcer.
pub struct Casbin {
    translated: std::sync::Arc<Translated>,
    enforcers: Enforcers,
    /// Number of `p` lines, for reports.
    pub policy_count: usize,
    /// Mean number of `p` lines in a caller's enforcer (the sliced engine),
    /// for reports.
    pub mean_slice: f64,
}

/// An enforcer of `text` with these `p` lines and `g`/`g2` links.
fn enforcer(
    runtime: &tokio::runtime::Runtime,
    text: &str,
    lines: Vec<Vec<String>>,
    links: Vec<Vec<String>>,
    action_links: Vec<Vec<String>>,
) -> Result<Enforcer> {
    runtime.block_on(async move {
        let m = DefaultModel::from_str(text)
            .await
            .map_err(|e| anyhow!("casbin model: {e}"))?;
        let mut e = Enforcer::new(m, MemoryAdapter::default())
            .await
            .map_err(|e| anyhow!("casbin enforcer: {e}"))?;
        e.add_policies(lines)
            .await
            .map_err(|e| anyhow!("casbin policies: {e}"))?;
        e.add_grouping_policies(links)
            .await
            .map_err(|e| anyhow!("casbin g links: {e}"))?;
        e.add_named_grouping_policies("g2", action_links)
            .await
            .map_err(|e| anyhow!("casbin g2 links: {e}"))?;
        Ok(e)
    })
}

/// A runtime for casbin's async set-up.
fn setup_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .context("tokio runtime for casbin's async set-up")
}

/// Every `g` node reachable from `user` (itself included).
fn reach<'a>(user: &'a str, links: &'a [Vec<String>]) -> HashSet<&'a str> {
    let mut next: HashMap<&str, Vec<&str>> = HashMap::new();
    for link in links {
        if let [from, to] = link.as_slice() {
            next.entry(from.as_str()).or_default().push(to.as_str());
        }
    }
    let mut seen = HashSet::from([user]);
    let mut queue = vec![user];
    while let Some(node) = queue.pop() {
        for to in next.get(node).into_iter().flatten() {
            if seen.insert(to) {
                queue.push(to);
            }
        }
    }
    seen
}

fn sid_node(sid: &impl std::fmt::Display) -> String {
    format!("sid:{sid}")
}

/// One `p` line for a rule.
fn policy_line(rule: &crate::rules::Rule) -> Result<Vec<String>> {
    let sub = match &rule.holder {
        Holder::RoleGroup(g) => format!("rg:{g}"),
        Holder::Policy(p) => format!("policy:{p}"),
        Holder::Sid(s) => sid_node(s),
    };
    let (mut ou, mut dept, mut city, mut own, mut gal, mut excl) = (
        "*".to_owned(),
        String::new(),
        "*".to_owned(),
        String::new(),
        String::new(),
        String::new(),
    );
    let mut seen_ou = false;
    for c in &rule.conditions {
        match c {
            Condition::OwnMailbox => own = "1".to_owned(),
            Condition::NotHidden => gal = "1".to_owned(),
            Condition::Within(o) if !seen_ou => {
                seen_ou = true;
                ou = format!("{o}/*");
            }
            Condition::Filter {
                department,
                city_prefix,
            } if dept.is_empty() => {
                dept = department.clone();
                city = format!("{city_prefix}*");
            }
            Condition::Protects(v) if excl.is_empty() => excl = v.clone(),
            other => bail!("casbin line: a second {other:?} in one rule is not translated"),
        }
    }
    let reg = if rule.unprotected_only { "1" } else { "" };
    Ok(vec![
        sub,
        format!("role:{}", rule.role),
        ou,
        dept,
        city,
        own,
        gal,
        excl,
        reg.to_owned(),
    ])
}

impl Casbin {
    /// Translates `model` (via `rules`) for `callers` and the request kinds.
    ///
    /// # Errors
    /// When casbin rejects the model or a policy.
    pub fn new(
        model: &Model,
        rules: &Rules,
        callers: &[Caller],
        kinds: &[RequestKind],
    ) -> Result<Self> {
        let unprotected: Vec<String> = rules
            .protected_values
            .iter()
            .map(|v| format!("r.obj.ca15 != \"{v}\""))
            .collect();
        let unprotected = if unprotected.is_empty() {
            "true".to_owned()
        } else {
            unprotected.join(" && ")
        };
        let text = MODEL.replace("{unprotected}", &unprotected);
        let lines = rules
            .rules
            .iter()
            .map(policy_line)
            .collect::<Result<Vec<_>>>()?;
        let mut links: Vec<Vec<String>> = Vec::new();
        for (group, members) in &rules.members {
            for sid in members {
                links.push(vec![sid_node(sid), format!("rg:{group}")]);
            }
        }
        for (inner, outer) in &rules.nested_in {
            for o in outer {
                links.push(vec![format!("rg:{inner}"), format!("rg:{o}")]);
            }
        }
        let mut users = Vec::with_capacity(callers.len());
        for caller in callers {
            let user = sid_node(&caller.user);
            for sid in caller.sids.iter().filter(|s| **s != caller.user) {
                links.push(vec![user.clone(), sid_node(sid)]);
            }
            for p in crate::model::policies() {
                links.push(vec![
                    user.clone(),
                    format!("policy:{}", p.to_ascii_lowercase()),
                ]);
            }
            users.push(user);
        }
        let action_links: Vec<Vec<String>> = rules
            .actions
            .iter()
            .flat_map(|(action, roles)| {
                roles
                    .iter()
                    .map(move |r| vec![action.clone(), format!("role:{r}")])
            })
            .collect();
        let recipients = model
            .recipients
            .iter()
            .map(|r| {
                let attribute = |name: &str| {
                    r.attributes
                        .get(name)
                        .map(|v| v.to_ascii_lowercase())
                        .unwrap_or_default()
                };
                CasbinRecipient {
                    ou: format!("{}/", ou_key(&r.organizational_unit)),
                    dept: attribute("Department"),
                    city: attribute("City"),
                    sid: sid_node(&r.sid),
                    hidden: if attribute("HiddenFromAddressListsEnabled") == "true" {
                        "1".to_owned()
                    } else {
                        String::new()
                    },
                    ca15: attribute("CustomAttribute15"),
                }
            })
            .collect();
        let policy_count = lines.len();
        let whole = enforcer(
            &setup_runtime()?,
            &text,
            lines.clone(),
            links.clone(),
            action_links.clone(),
        )?;
        Ok(Self {
            translated: std::sync::Arc::new(Translated {
                text,
                lines,
                links,
                action_links,
                users,
                recipients,
                kinds: kinds.iter().map(actions_of).collect(),
            }),
            enforcers: Enforcers::Whole(Box::new(whole)),
            policy_count,
            mean_slice: policy_count as f64,
        })
    }

    /// The same translation with an enforcer per caller, each holding only
    /// the `p` lines whose subject the caller's SIDs reach and the `g` links
    /// from the caller's nodes.
    ///
    /// # Errors
    /// When casbin rejects a caller's model or policies.
    pub fn sliced(&self) -> Result<Self> {
        let t = &*self.translated;
        let runtime = setup_runtime()?;
        let mut enforcers = Vec::with_capacity(t.users.len());
        let mut total = 0;
        for user in &t.users {
            let reached = reach(user, &t.links);
            let lines: Vec<Vec<String>> = t
                .lines
                .iter()
                .filter(|l| l.first().is_some_and(|s| reached.contains(s.as_str())))
                .cloned()
                .collect();
            let links: Vec<Vec<String>> = t
                .links
                .iter()
                .filter(|l| l.first().is_some_and(|s| reached.contains(s.as_str())))
                .cloned()
                .collect();
            total += lines.len();
            enforcers.push(enforcer(
                &runtime,
                &t.text,
                lines,
                links,
                t.action_links.clone(),
            )?);
        }
        Ok(Self {
            translated: self.translated.clone(),
            enforcers: Enforcers::PerCaller(enforcers),
            policy_count: self.policy_count,
            mean_slice: total as f64 / t.users.len().max(1) as f64,
        })
    }
}

impl Engine for Casbin {
    fn name(&self) -> &'static str {
        match self.enforcers {
            Enforcers::Whole(_) => "casbin",
            Enforcers::PerCaller(_) => "casbin-sliced",
        }
    }

    fn decide(&self, request: &StreamRequest) -> Result<bool> {
        let t = &*self.translated;
        let enforcer = match &self.enforcers {
            Enforcers::Whole(e) => e,
            Enforcers::PerCaller(each) => each
                .get(request.caller as usize)
                .context("caller out of range")?,
        };
        let (user, recipient, actions) =
            super::request_parts(&t.users, &t.recipients, &t.kinds, request)?;
        if actions.is_empty() {
            return Ok(false);
        }
        for action in actions {
            let allowed = enforcer
                .enforce((user.as_str(), action.as_str(), recipient))
                .map_err(|e| anyhow!("casbin enforce: {e}"))?;
            if !allowed {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
