//! What if: a change computed and authorised but not committed, shown as who
//! would gain and who would lose which cmdlets (`-WhatIf`, `setup --what-if`,
//! `Import-RbacConfiguration -WhatIf`).

use std::collections::BTreeSet;

use crossforest_shared::Sid;

use super::principal::principal_name;
use crate::cmdlets::Record;
use crate::org::Organization;
use crate::rbac::{Authorizer, Subject};

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

impl PermissionChange {
    /// The change as a record: Principal, Gains, Loses.
    pub fn record(self) -> Record {
        vec![
            ("Principal".to_owned(), self.principal.into()),
            ("Gains".to_owned(), self.gained.into()),
            ("Loses".to_owned(), self.lost.into()),
        ]
    }

    /// The change as one line: `name gains A, B; loses C`.
    pub fn line(&self) -> String {
        let mut line = self.principal.clone();
        if !self.gained.is_empty() {
            line.push_str(&format!(" gains {}", self.gained.join(", ")));
        }
        if !self.lost.is_empty() {
            if !self.gained.is_empty() {
                line.push(';');
            }
            line.push_str(&format!(" loses {}", self.lost.join(", ")));
        }
        line
    }
}

/// What-if lines of a permission diff, for setup's output.
pub fn describe_changes(changes: &[PermissionChange]) -> Vec<String> {
    changes.iter().map(PermissionChange::line).collect()
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

/// Who gains and who loses which cmdlets if `before` becomes `after`.
/// Principals are every user, USG and foreign group SID an assignment or
/// role group reaches, in either configuration.
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
