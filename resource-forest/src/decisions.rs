//! Questions about decisions, answered without running a cmdlet: the shared
//! resolution of a (cmdlet, parameters, target) question against one snapshot,
//! used by `Test-CmdletPermission` and by the `Authorization` service.

use crossforest_shared::Sid;

use std::collections::BTreeSet;

use crate::cmdlets::{registry, CmdletError};
use crate::org::recipients::Recipient;
use crate::org::Organization;
use crate::rbac::Authorizer;
use crate::rbac::{Access, Request, Subject, Target};
use crate::trust::authenticate::Caller;

/// Most checks answered in one bulk call.
pub const MAX_BULK: usize = 1000;

/// A question as asked: names as typed.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Cmdlet name.
    pub cmdlet: &'a str,
    /// Parameter names, with or without the dash.
    pub parameters: &'a [String],
    /// The recipient acted on; empty for none.
    pub target: &'a str,
    /// Write or read; `None` for the cmdlet's own kind.
    pub write: Option<bool>,
}

/// A question resolved against an organization: canonical names, the target
/// found.
#[derive(Debug)]
pub struct Resolved<'o> {
    /// Canonical cmdlet name.
    pub cmdlet: &'static str,
    /// Canonical parameter names.
    pub parameters: Vec<String>,
    /// The recipient, if one was named.
    pub target: Option<&'o Recipient>,
    /// Read or write.
    pub access: Access,
}

impl Resolved<'_> {
    /// The request for the RBAC core.
    pub fn request(&self) -> Request<'_> {
        Request {
            cmdlet: self.cmdlet,
            parameters: &self.parameters,
            target: match self.target {
                Some(r) => Target::Recipient(r),
                None => Target::None,
            },
            access: self.access,
        }
    }
}

/// Resolves `query`: the cmdlet and every parameter must exist, and so must
/// the target.
pub fn resolve<'o>(org: &'o Organization, query: &Query<'_>) -> Result<Resolved<'o>, CmdletError> {
    let tested = registry::find(query.cmdlet)
        .ok_or_else(|| CmdletError::NotRecognized(query.cmdlet.to_owned()))?;
    let parameters = query
        .parameters
        .iter()
        .map(|p| {
            tested
                .parameter(p.trim_start_matches('-'))
                .map(|q| q.name.to_owned())
                .ok_or_else(|| CmdletError::UnknownParameter {
                    cmdlet: tested.name.to_owned(),
                    parameter: p.clone(),
                    valid: tested
                        .parameters
                        .iter()
                        .map(|q| q.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect::<Result<_, _>>()?;
    let target = if query.target.is_empty() {
        None
    } else {
        Some(org.recipient(query.target, &[])?)
    };
    let access = match query.write {
        Some(true) => Access::Write,
        Some(false) => Access::Read,
        None if tested.writes() => Access::Write,
        None => Access::Read,
    };
    Ok(Resolved {
        cmdlet: tested.name,
        parameters,
        target,
        access,
    })
}

/// The SIDs RBAC sees for `caller`: a local caller's certificate names only
/// its user, so its security groups come from this forest's directory
/// (R-ASG-2); a foreign caller's come from its SID-filtered token.
pub fn caller_sids(org: &Organization, caller: &Caller) -> Vec<Sid> {
    let mut sids = caller.sids.clone();
    if caller.local {
        sids.extend(org.security_groups_of(&caller.user));
    }
    sids
}

/// A subject over `sids` and `policies` for `caller`.
pub fn subject<'a>(caller: &Caller, sids: &'a [Sid], policies: &'a [String]) -> Subject<'a> {
    Subject {
        user: caller.user,
        sids,
        policies,
    }
}

/// A principal's name for reports: `DOMAIN\name` for this forest's, the
/// linked group's name for a foreign group SID, else the SID.
pub fn principal_name(org: &Organization, sid: &Sid) -> String {
    if org.domain_sid.contains(sid) {
        return format!("{}\\{}", org.forest.netbios(), org.sid_name(sid));
    }
    org.rbac
        .role_groups
        .values()
        .find_map(|g| match &g.kind {
            crate::rbac::model::RoleGroupKind::Linked(l) if l.sid == *sid => Some(l.name.clone()),
            _ => None,
        })
        .unwrap_or_else(|| sid.to_string())
}

/// `DOMAIN\name` of an authenticated caller: a local principal is named by
/// the organization's directory (`contoso\dana`), a foreign one by its token.
pub fn caller_name(org: &Organization, caller: &Caller) -> String {
    if caller.local {
        principal_name(org, &caller.user)
    } else {
        caller.display_name.clone()
    }
}

/// The cmdlets `sid` (alone, as a member of whatever reaches it) may run
/// under `org`'s permission model.
fn cmdlets_of(org: &Organization, authorizer: &Authorizer, sid: Sid) -> BTreeSet<String> {
    let sids = [sid];
    let policies = org.policies_of(&sid);
    let subject = Subject {
        user: sid,
        sids: &sids,
        policies: &policies,
    };
    authorizer
        .permissions_of(&subject)
        .into_iter()
        .map(|p| p.cmdlet)
        .filter(|c| crate::org::permission_model::unavailable(org, c).is_none())
        .collect()
}

/// One principal's change in a what-if.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionChange {
    /// The principal's name.
    pub principal: String,
    /// Cmdlets it could not run before and could after.
    pub gained: Vec<String>,
    /// Cmdlets it could run before and could not after.
    pub lost: Vec<String>,
}

/// Who gains and who loses which cmdlets if `before` becomes `after`: the
/// what-if of a change (`-WhatIf`, `setup --what-if`). Principals are every
/// user, USG and foreign group SID an assignment or role group reaches, in
/// either configuration.
pub fn permission_diff(
    before: (&Organization, &Authorizer),
    after: &Organization,
) -> Vec<PermissionChange> {
    let after_authorizer = Authorizer::new(&after.rbac);
    let mut principals: BTreeSet<Sid> = before.1.principals().into_iter().collect();
    principals.extend(after_authorizer.principals());
    principals
        .into_iter()
        .filter_map(|sid| {
            let old = cmdlets_of(before.0, before.1, sid);
            let new = cmdlets_of(after, &after_authorizer, sid);
            let gained: Vec<String> = new.difference(&old).cloned().collect();
            let lost: Vec<String> = old.difference(&new).cloned().collect();
            (!gained.is_empty() || !lost.is_empty()).then(|| PermissionChange {
                principal: principal_name(after, &sid),
                gained,
                lost,
            })
        })
        .collect()
}
