//! `crossforest model verify`: named invariants checked exhaustively over a
//! model, each failure with a counterexample and its chain.
//!
//! # Method
//! * Principals: permissions are a union over the assignments a token
//!   reaches, and reaching more never takes a permission away (exclusive
//!   scopes deny by object, not by caller). So "no principal of forest X may
//!   do R" holds for every token of X iff it holds for the *union token*
//!   that carries every SID of X the model knows (plus every role
//!   assignment policy, since such a principal may have a mailbox): SIDs the
//!   model doesn't know reach nothing. "Only G may run C" holds iff every
//!   regular, enabled assignment whose role has C is to G. A counterexample
//!   names the single SID (or the union) that breaks it, with the chain.
//! * Objects: [`regions`] groups recipients by the set of scopes matching
//!   them; one representative per class answers for the class.
//! * Every decision is the server's own: the compiled `Authorizer` decides
//!   and explains, the cmdlet registry resolves names.
//!
//! # Layout
//! * [`regions`]: object classes; [`builtin`]: the built-in invariants;
//!   [`user`]: the tests file's `[[Invariant]]`s.

pub mod builtin;
pub mod regions;
pub mod user;

use std::collections::HashMap;

use crossforest_shared::Sid;

use super::assertions::{chain_text, Outcome};
use super::tests_file::{ObjectSpec, TestsFile};
use super::{Model, ModelError};
use crate::rbac::model::Assignee;
use crate::rbac::{Access, Authorizer, Explanation, Request, Subject, Target};
use regions::{Class, Regions};

/// The model with its objects, compiled once for every invariant.
pub struct Verifier {
    /// The model, with the tests file's objects and the synthetic ones.
    pub model: Model,
    /// Its compiled configuration.
    pub authorizer: Authorizer,
    /// Its object classes.
    pub regions: Regions,
    /// Regular, enabled assignments, numbered as the authorizer numbers them.
    pub assignments: Vec<String>,
    /// Role group (lower case) → a leaf SID that reaches it.
    reacher: HashMap<String, Sid>,
}

impl Verifier {
    /// Compiles `model` with the objects of `tests`.
    pub fn new(model: &Model, tests: &TestsFile) -> Result<Self, ModelError> {
        let mut model = model.clone();
        for o in &tests.objects {
            add_object(&mut model, o)?;
        }
        let regions = regions::build(&mut model)?;
        let authorizer = Authorizer::new(&model.org.rbac);
        let assignments = authorizer
            .regular_assignment_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut principals = authorizer.principals();
        principals.sort_unstable();
        let mut reacher = HashMap::new();
        for sid in principals {
            let sids = [sid];
            let subject = Subject {
                user: sid,
                sids: &sids,
                policies: &[],
            };
            for (group, _) in authorizer.role_groups_of(&subject) {
                reacher.entry(group.to_ascii_lowercase()).or_insert(sid);
            }
        }
        Ok(Self {
            model,
            authorizer,
            regions,
            assignments,
            reacher,
        })
    }

    /// A token that reaches `assignee`: its SIDs and policies, and its name.
    pub fn reaching(&self, assignee: &Assignee) -> Option<(String, Vec<Sid>, Vec<String>)> {
        match assignee {
            Assignee::RoleGroup(g) => self
                .reacher
                .get(&g.to_ascii_lowercase())
                .map(|sid| (self.model.name_of(sid), vec![*sid], Vec::new())),
            Assignee::User(sid) | Assignee::SecurityGroup(sid) => {
                Some((self.model.name_of(sid), vec![*sid], Vec::new()))
            }
            Assignee::Policy(p) => Some((
                format!("a mailbox with policy {p}"),
                Vec::new(),
                vec![p.clone()],
            )),
        }
    }

    /// Whether some leaf SID reaches role group `name`.
    pub fn reached(&self, name: &str) -> bool {
        self.reacher.contains_key(&name.to_ascii_lowercase())
    }

    /// The chains explaining why the token may run `cmdlet` (no object),
    /// only those through `assignment` if given.
    pub fn chains(
        &self,
        sids: &[Sid],
        policies: &[String],
        cmdlet: &str,
        assignment: Option<&str>,
    ) -> Vec<String> {
        let subject = Subject {
            user: sids.first().copied().unwrap_or_else(nobody),
            sids,
            policies,
        };
        let request = Request {
            cmdlet,
            parameters: &[],
            target: Target::None,
            access: Access::Write,
        };
        match self.authorizer.explain(&subject, &request) {
            Explanation::Allowed(chains) => chains
                .iter()
                .filter(|c| assignment.is_none_or(|a| c.assignment.eq_ignore_ascii_case(a)))
                .map(|c| format!("chain: {}", chain_text(&self.model, c)))
                .collect(),
            Explanation::Denied(_) => Vec::new(),
        }
    }

    /// A class's representative.
    pub fn representative<'c>(&self, class: &'c Class) -> &'c crate::org::recipients::Recipient {
        &class.representative
    }

    /// The widest subject for scope questions on `class`: the object's own
    /// user (Self) and its managers (MyDistributionGroups).
    pub fn owner(&self, class: &Class) -> (Sid, Vec<Sid>) {
        let r = self.representative(class);
        (r.sid, r.managed_by.clone())
    }
}

/// A SID no one has, for subjects that are only policies.
pub fn nobody() -> Sid {
    crossforest_shared::DomainSid::new(0, 0, 0).with_rid(0)
}

fn add_object(model: &mut Model, o: &ObjectSpec) -> Result<(), ModelError> {
    let name = o
        .name
        .clone()
        .ok_or_else(|| ModelError::Invalid("an [[Object]] needs a Name".into()))?;
    let r = super::assertions::recipient(model, &name, o)?;
    model.org.recipients.insert(name.to_ascii_lowercase(), r);
    Ok(())
}

/// Runs the built-in invariants and the tests file's, in that order.
pub fn run(model: &Model, tests: &TestsFile) -> Result<Vec<Outcome>, ModelError> {
    let verifier = Verifier::new(model, tests)?;
    let mut out = builtin::run(&verifier, tests.permission_model.as_deref())?;
    out.extend(tests.invariants.iter().map(|i| user::check(&verifier, i)));
    Ok(out)
}

/// An outcome from its violations (none: passed) and what was covered.
pub fn outcome(name: &str, covered: String, violations: Vec<Vec<String>>) -> Outcome {
    const SHOWN: usize = 10;
    let mut lines = Vec::new();
    let total = violations.len();
    for v in violations.into_iter().take(SHOWN) {
        let mut v = v.into_iter();
        if let Some(first) = v.next() {
            lines.push(format!("counterexample: {first}"));
        }
        lines.extend(v.map(|l| format!("  {l}")));
    }
    if total > SHOWN {
        lines.push(format!("… and {} more", total - SHOWN));
    }
    lines.push(covered);
    Outcome {
        name: name.to_owned(),
        passed: total == 0,
        lines,
    }
}
