//! Object regions: recipients grouped by the set of scopes that match them.
//!
//! The "scopes" are every recipient management scope of the model (regular
//! and exclusive, root and filter) and every OU an assignment writes through
//! `-RecipientOrganizationalUnitScope`. Two recipients matched by the same
//! set are indistinguishable to every assignment's own scope and to every
//! exclusive scope, so one representative answers for its whole class.
//!
//! The objects classified are the model's recipients (the tests file's
//! `[[Object]]`s, or a generated organization's), two plain ones (a mailbox
//! and a distribution group in the Users container), and one synthetic
//! object per scope and per (scope, exclusive scope) pair, derived from the
//! filters' own values; a class no object falls in is not examined.
//!
//! Cost: each scope is evaluated once per distinct OU and once per distinct
//! tuple of the properties filters read (not once per recipient), then the
//! two halves are combined per recipient with a bitset AND: O(recipients ×
//! scopes / 64) plus O(distinct values × scopes).

use std::collections::HashMap;

use crossforest_shared::ou::OrganizationalUnit;

use super::super::assertions::recipient;
use super::super::tests_file::ObjectSpec;
use super::super::{Model, ModelError};
use crate::org::recipients::{Recipient, RecipientType};
use crate::rbac::model::RecipientWriteScope;
use crate::rbac::opath::{Filter, Properties};
use crate::rbac::scope::{parse_recipient_filter, ScopeRule};

/// Most property-value combinations tried for one synthetic object.
const SEARCH_LIMIT: usize = 20_000;

/// A scope objects are classified by.
#[derive(Debug, Clone)]
pub struct Atom {
    /// `scope `Seattle Users`` or `OU contoso.com/Seattle`.
    pub label: String,
    /// The management scope's name, for a management scope.
    pub scope: Option<String>,
    /// An exclusive scope.
    pub exclusive: bool,
    root: Option<OrganizationalUnit>,
    filter: Option<Filter>,
    /// A stored filter that doesn't parse: matches nothing.
    broken: bool,
}

/// A class of objects: those matched by exactly the same atoms.
#[derive(Debug, Clone)]
pub struct Class {
    /// The object that stands for the class.
    pub representative: Recipient,
    /// Atoms matching, as a bitset over [`Regions::atoms`].
    pub bits: Vec<u64>,
    /// Recipients of the model in the class (0: only a synthetic object).
    pub objects: usize,
}

impl Class {
    /// Whether atom `i` matches the class.
    pub fn has(&self, i: usize) -> bool {
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }
}

/// The classes of a model's objects.
#[derive(Debug, Default)]
pub struct Regions {
    /// What classes are told apart by.
    pub atoms: Vec<Atom>,
    /// The classes, model recipients' first.
    pub classes: Vec<Class>,
    /// Synthetic objects that opened a class of their own.
    pub synthetic: usize,
}

impl Regions {
    /// The labels of the atoms matching `class`.
    pub fn describe(&self, class: &Class) -> String {
        let labels: Vec<&str> = (0..self.atoms.len())
            .filter(|i| class.has(*i))
            .map(|i| self.atoms[i].label.as_str())
            .collect();
        let place = if labels.is_empty() {
            "in no scope".to_owned()
        } else {
            format!("in {}", labels.join(", "))
        };
        match class.objects {
            0 => format!("{place}; synthetic"),
            1 => format!("{place}; 1 object"),
            n => format!("{place}; {n} objects"),
        }
    }

    /// The atom of the management scope `name`.
    pub fn scope_atom(&self, name: &str) -> Option<usize> {
        self.atoms.iter().position(|a| {
            a.scope
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(name))
        })
    }

    /// The atom of an OU write scope.
    pub fn ou_atom(&self, ou: &OrganizationalUnit) -> Option<usize> {
        self.atoms
            .iter()
            .position(|a| a.scope.is_none() && a.root.as_ref() == Some(ou))
    }

    /// Whether an exclusive scope matches `class`.
    pub fn protected(&self, class: &Class) -> bool {
        self.atoms
            .iter()
            .enumerate()
            .any(|(i, a)| a.exclusive && class.has(i))
    }
}

fn atoms(model: &Model) -> Vec<Atom> {
    let mut out = Vec::new();
    for scope in model.org.rbac.scopes.values() {
        let ScopeRule::Recipients { root, filter } = &scope.rule else {
            continue;
        };
        let parsed = filter.as_deref().map(parse_recipient_filter);
        out.push(Atom {
            label: format!(
                "{}scope `{}`",
                if scope.exclusive { "exclusive " } else { "" },
                scope.name
            ),
            scope: Some(scope.name.clone()),
            exclusive: scope.exclusive,
            root: root.clone(),
            broken: matches!(parsed, Some(Err(_))),
            filter: parsed.and_then(Result::ok),
        });
    }
    let mut ous: Vec<&OrganizationalUnit> = model
        .org
        .rbac
        .assignments
        .values()
        .filter_map(|a| match &a.recipient_write_scope {
            RecipientWriteScope::OrganizationalUnit(ou) => Some(ou),
            _ => None,
        })
        .collect();
    ous.sort_by_key(|ou| ou.to_string().to_ascii_lowercase());
    ous.dedup();
    out.extend(ous.into_iter().map(|ou| Atom {
        label: format!("OU {ou}"),
        scope: None,
        exclusive: false,
        root: Some(ou.clone()),
        filter: None,
        broken: false,
    }));
    out
}

/// Classifies recipients, memoising each half of every atom's test.
struct Classifier<'a> {
    atoms: &'a [Atom],
    properties: Vec<&'static str>,
    words: usize,
    by_ou: HashMap<String, Vec<u64>>,
    by_values: HashMap<Vec<String>, Vec<u64>>,
    by_bits: HashMap<Vec<u64>, usize>,
    classes: Vec<Class>,
}

impl<'a> Classifier<'a> {
    fn new(atoms: &'a [Atom]) -> Self {
        let mut properties = vec!["RecipientTypeDetails", "HiddenFromAddressListsEnabled"];
        for p in atoms
            .iter()
            .filter_map(|a| a.filter.as_ref())
            .flat_map(Filter::properties)
        {
            if !properties.contains(&p) {
                properties.push(p);
            }
        }
        Self {
            atoms,
            properties,
            words: atoms.len().div_ceil(64).max(1),
            by_ou: HashMap::new(),
            by_values: HashMap::new(),
            by_bits: HashMap::new(),
            classes: Vec::new(),
        }
    }

    fn bits(&self, test: impl Fn(&Atom) -> bool) -> Vec<u64> {
        let mut bits = vec![0u64; self.words];
        for (i, atom) in self.atoms.iter().enumerate() {
            if test(atom) {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    }

    /// The class of `r`, and whether it is new.
    fn classify(&mut self, r: &Recipient) -> (usize, bool) {
        let ou = r.organizational_unit.to_string().to_ascii_lowercase();
        if !self.by_ou.contains_key(&ou) {
            let bits = self.bits(|a| {
                !a.broken
                    && a.root
                        .as_ref()
                        .is_none_or(|root| r.organizational_unit.is_within(root))
            });
            self.by_ou.insert(ou.clone(), bits);
        }
        let values: Vec<String> = self
            .properties
            .iter()
            .map(|p| r.property(p).unwrap_or_default().to_ascii_lowercase())
            .collect();
        if !self.by_values.contains_key(&values) {
            let bits = self.bits(|a| a.filter.as_ref().is_none_or(|f| f.matches(r)));
            self.by_values.insert(values.clone(), bits);
        }
        let bits: Vec<u64> = self.by_ou[&ou]
            .iter()
            .zip(&self.by_values[&values])
            .map(|(a, b)| a & b)
            .collect();
        if let Some(&i) = self.by_bits.get(&bits) {
            return (i, false);
        }
        let i = self.classes.len();
        self.by_bits.insert(bits.clone(), i);
        self.classes.push(Class {
            representative: r.clone(),
            bits,
            objects: 0,
        });
        (i, true)
    }
}

/// Classifies the model's recipients and adds to it the synthetic objects
/// that open new classes.
pub fn build(model: &mut Model) -> Result<Regions, ModelError> {
    let atoms = atoms(model);
    let mut classifier = Classifier::new(&atoms);
    for r in model.org.recipients.values() {
        let (i, _) = classifier.classify(r);
        classifier.classes[i].objects += 1;
    }
    let mut synthetic = 0;
    for candidate in synthetic_objects(model, &atoms)? {
        let key = candidate.name.to_ascii_lowercase();
        if model.org.recipients.get(&key).is_some() {
            continue;
        }
        if classifier.classify(&candidate).1 {
            synthetic += 1;
            model.org.recipients.insert(key, candidate);
        }
    }
    let classes = classifier.classes;
    Ok(Regions {
        atoms,
        classes,
        synthetic,
    })
}

/// Objects for the plain regions, each atom, and each atom with each
/// exclusive atom.
fn synthetic_objects(model: &mut Model, atoms: &[Atom]) -> Result<Vec<Recipient>, ModelError> {
    let mut out = Vec::new();
    for (name, kind) in [
        ("a mailbox in the Users container", None),
        (
            "a distribution group in the Users container",
            Some("MailUniversalDistributionGroup"),
        ),
    ] {
        let spec = ObjectSpec {
            recipient_type: kind.map(str::to_owned),
            ..ObjectSpec::default()
        };
        out.push(recipient(model, name, &spec)?);
    }
    let exclusive: Vec<usize> = (0..atoms.len()).filter(|i| atoms[*i].exclusive).collect();
    for i in 0..atoms.len() {
        if let Some(r) = witness(model, atoms, &[i])? {
            out.push(r);
        }
        for &e in exclusive.iter().filter(|e| **e != i) {
            if let Some(r) = witness(model, atoms, &[i, e])? {
                out.push(r);
            }
        }
    }
    Ok(out)
}

const KINDS: [RecipientType; 7] = RecipientType::ALL;

/// An object every atom of `wanted` matches, searched among the values the
/// filters compare with (wildcards filled in), empty and another value.
fn witness(
    model: &mut Model,
    atoms: &[Atom],
    wanted: &[usize],
) -> Result<Option<Recipient>, ModelError> {
    let chosen: Vec<&Atom> = wanted.iter().map(|i| &atoms[*i]).collect();
    if chosen.iter().any(|a| a.broken) {
        return Ok(None);
    }
    let roots: Vec<&OrganizationalUnit> = chosen.iter().filter_map(|a| a.root.as_ref()).collect();
    // The deepest root, when every other contains it; none: the Users
    // container the object is made in.
    let ou = match roots.iter().find(|r| roots.iter().all(|o| r.is_within(o))) {
        Some(r) => Some((*r).clone()),
        None if roots.is_empty() => None,
        None => return Ok(None),
    };
    let filters: Vec<&Filter> = chosen.iter().filter_map(|a| a.filter.as_ref()).collect();
    let mut values: Vec<(&'static str, Vec<String>)> = Vec::new();
    for (p, v) in filters.iter().flat_map(|f| f.compared_values()) {
        let at = match values.iter().position(|(q, _)| *q == p) {
            Some(at) => at,
            None => {
                let seed = if p.starts_with("RecipientType") {
                    KINDS.iter().map(|k| k.details().to_owned()).collect()
                } else {
                    vec![String::new(), "another value".to_owned()]
                };
                values.push((p, seed));
                values.len() - 1
            }
        };
        for candidate in [v.replace('*', ""), v.replace('*', "x")] {
            if !values[at].1.contains(&candidate) {
                values[at].1.push(candidate);
            }
        }
    }
    let labels: Vec<&str> = chosen.iter().map(|a| a.label.as_str()).collect();
    let name = format!("an object in {}", labels.join(" and "));
    let mut base = recipient(model, &name, &ObjectSpec::default())?;
    if let Some(ou) = ou {
        base.organizational_unit = ou;
    }
    let combinations = values
        .iter()
        .map(|(_, v)| v.len())
        .try_fold(1usize, |n, k| n.checked_mul(k))
        .unwrap_or(usize::MAX);
    for n in 0..combinations.min(SEARCH_LIMIT) {
        let mut r = base.clone();
        let mut rest = n;
        for (p, vs) in &values {
            set(&mut r, p, &vs[rest % vs.len()]);
            rest /= vs.len();
        }
        if filters.iter().all(|f| f.matches(&r)) {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

fn set(r: &mut Recipient, property: &str, value: &str) {
    match property {
        "Name" if !value.is_empty() => r.name = value.to_owned(),
        "Alias" => r.alias = value.to_owned(),
        "DisplayName" => r.display_name = value.to_owned(),
        "PrimarySmtpAddress" => r.primary_smtp_address = value.to_owned(),
        "UserPrincipalName" => r.user_principal_name = value.to_owned(),
        "RecipientType" | "RecipientTypeDetails" => {
            if let Some(k) = KINDS
                .iter()
                .find(|k| k.details().eq_ignore_ascii_case(value) || k.name() == value)
            {
                r.recipient_type = *k;
            }
        }
        _ => {
            r.attributes.insert(property, value);
        }
    }
}
