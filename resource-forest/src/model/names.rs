//! Names and SIDs: a model names principals (`contoso\Ray`, `fabrikam\Exchange
//! Admins`) and role groups; the organization works on SIDs. A name gets the
//! SID the model's `[Sids]` table gives it, or a new one: in the
//! organization's domain for its own principals, in a domain of the account
//! forest's own (derived from its name) for foreign ones.

use std::collections::{BTreeMap, BTreeSet};

use crossforest_shared::{DomainSid, Sid};

use super::{ForeignPrincipal, Model, ModelError};

/// The `[Sids]` table, parsed: lower-case name → SID.
#[derive(Debug, Clone, Default)]
pub struct SidTable {
    by_name: BTreeMap<String, Sid>,
    taken: BTreeSet<Sid>,
}

impl SidTable {
    /// Parses the table; every value must be a SID.
    pub fn parse(table: &BTreeMap<String, String>) -> Result<Self, ModelError> {
        let mut out = Self::default();
        for (name, sid) in table {
            let sid: Sid = sid.parse().map_err(|e| {
                ModelError::Invalid(format!("[Sids] `{name}`: `{sid}` is not a SID: {e}"))
            })?;
            out.by_name.insert(name.to_ascii_lowercase(), sid);
            out.taken.insert(sid);
        }
        Ok(out)
    }

    /// The SID given to `name`.
    pub fn get(&self, name: &str) -> Option<Sid> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }
}

/// `DOMAIN\name` split at the backslash.
pub fn split(name: &str) -> Option<(&str, &str)> {
    name.split_once('\\')
        .filter(|(d, n)| !d.is_empty() && !n.is_empty())
}

/// The domain SID a model gives a forest it has no SID for: derived from the
/// name (FNV-1a), so that the same name always gets the same SID.
pub fn domain_sid_of(name: &str) -> DomainSid {
    let mut parts = [0u32; 3];
    for (i, part) in parts.iter_mut().enumerate() {
        let mut hash: u32 = 0x811c_9dc5 ^ i as u32;
        for b in name.to_ascii_lowercase().bytes() {
            hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        *part = hash;
    }
    DomainSid::new(parts[0], parts[1], parts[2])
}

/// First RID given to a foreign principal without a SID.
const FIRST_FOREIGN_RID: u32 = 1101;

/// A new SID in the organization's domain that the table doesn't give anyone.
pub fn fresh_local(model: &mut Model, table: &SidTable) -> Result<Sid, ModelError> {
    loop {
        let sid = model
            .org
            .allocate_sid()
            .map_err(|e| ModelError::Invalid(e.to_string()))?;
        if !table.taken.contains(&sid) {
            return Ok(sid);
        }
    }
}

/// The SID of a principal the model already knows: a SID as text, a local
/// account, a recipient or a foreign principal (role groups are not).
pub fn find(model: &Model, name: &str) -> Option<Sid> {
    if let Ok(sid) = name.parse::<Sid>() {
        return Some(sid);
    }
    let (domain, account) = split(name)?;
    if model.org.forest.answers_to(domain) {
        return model
            .org
            .local_accounts
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(account))
            .map(|(sid, _)| *sid)
            .or_else(|| {
                model
                    .org
                    .recipients
                    .named(account, "", "")
                    .next()
                    .map(|r| r.sid)
            });
    }
    model
        .foreign
        .iter()
        .find(|(_, f)| f.name.eq_ignore_ascii_case(name))
        .map(|(sid, _)| *sid)
}

/// The SID of the principal `name`: a SID as text, a role group of the
/// model, `DOMAIN\name` of the organization (a local account, created if
/// new) or of an account forest (a foreign principal, recorded if new).
pub fn principal(model: &mut Model, table: &SidTable, name: &str) -> Result<Sid, ModelError> {
    let Some((domain, account)) = split(name) else {
        if let Ok(sid) = name.parse::<Sid>() {
            return Ok(sid);
        }
        return model.org.rbac.role_group(name).map(|g| g.sid).ok_or_else(|| {
            ModelError::Invalid(format!(
                "`{name}` is neither a role group of the model nor a principal written `DOMAIN\\name`"
            ))
        });
    };
    let local = model.org.forest.answers_to(domain);
    if local {
        if let Some(g) = model.org.rbac.role_group(account) {
            return Ok(g.sid);
        }
    }
    if let Some(sid) = find(model, name) {
        return Ok(sid);
    }
    if local {
        let sid = match table.get(name) {
            Some(sid) => sid,
            None => fresh_local(model, table)?,
        };
        model.org.local_accounts.insert(sid, account.to_owned());
        return Ok(sid);
    }
    let sid = match table.get(name) {
        Some(sid) => sid,
        None => {
            let domain_sid = domain_sid_of(domain);
            let used = model
                .foreign
                .keys()
                .filter(|s| domain_sid.contains(s))
                .count() as u32;
            domain_sid.with_rid(FIRST_FOREIGN_RID + used)
        }
    };
    model.foreign.insert(
        sid,
        ForeignPrincipal {
            name: name.to_owned(),
            domain: domain.to_ascii_lowercase(),
        },
    );
    Ok(sid)
}
