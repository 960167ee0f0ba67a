//! The first stage of every request: the authenticated caller, resolved
//! against one snapshot of the organization into the subject RBAC evaluates.
//! This is the only place that makes a caller's [`Subject`]: Invoke, setup,
//! the Authorization service and WhoAmI all take it from here, so the same
//! caller is the same subject everywhere.

use crossforest_shared::Sid;

use crate::org::Organization;
use crate::rbac::model::RoleGroupKind;
use crate::rbac::Subject;
use crate::trust::authenticate::Caller;

/// A caller as RBAC sees it on one snapshot.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The caller, its SIDs completed: SID-filtered token SIDs for a foreign
    /// caller; for a local caller (whose certificate names only its user)
    /// also the security groups this forest's directory puts it in (R-ASG-2).
    pub caller: Caller,
    /// The role assignment policies that apply to it (its mailbox's).
    pub policies: Vec<String>,
    /// `DOMAIN\name`, for the audit log and WhoAmI.
    pub name: String,
}

impl Principal {
    /// Resolves `caller` against `org`.
    pub fn resolve(org: &Organization, caller: &Caller) -> Self {
        let mut sids = caller.sids.clone();
        if caller.local {
            for group in org.security_groups_of(&caller.user) {
                if !sids.contains(&group) {
                    sids.push(group);
                }
            }
        }
        Self {
            caller: Caller {
                sids,
                ..caller.clone()
            },
            policies: org.policies_of(&caller.user),
            name: caller_name(org, caller),
        }
    }

    /// The subject the RBAC core evaluates.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            user: self.caller.user,
            sids: &self.caller.sids,
            policies: &self.policies,
        }
    }

    /// The caller's SIDs after its user SID: its groups.
    pub fn group_sids(&self) -> &[Sid] {
        self.caller.sids.get(1..).unwrap_or_default()
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
            RoleGroupKind::Linked(l) if l.sid == *sid => Some(l.name.clone()),
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
