//! The stored RBAC configuration of an organization: roles, role groups and
//! assignments, keyed by lower-case name (Exchange names are case-insensitive).

use std::collections::BTreeMap;

use crossforest_shared::{DomainSid, Sid};
use serde::{Deserialize, Serialize};

use super::catalogue::{Catalogue, DEFAULT_POLICY};
use super::model::{
    Assignee, Delegation, ManagementRole, RecipientWriteScope, RoleAssignment, RoleGroup,
    RoleGroupKind,
};

/// Roles, role groups and assignments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RbacConfig {
    /// Management roles by lower-case name.
    pub roles: BTreeMap<String, ManagementRole>,
    /// Role groups by lower-case name.
    pub role_groups: BTreeMap<String, RoleGroup>,
    /// Role assignments by lower-case name.
    pub assignments: BTreeMap<String, RoleAssignment>,
}

/// The name Exchange gives the assignment of `role` to a built-in `group`.
pub fn builtin_assignment_name(role: &str, group: &str, delegation: Delegation) -> String {
    match delegation {
        Delegation::Regular => format!("{role}-{group}"),
        Delegation::Delegating => format!("{role}-{group}-Delegating"),
    }
}

/// The name `New-RoleGroup -Roles` gives the assignment of `role` to `group` (R-RG-6).
pub fn new_role_group_assignment_name(role: &str, group: &str, delegation: Delegation) -> String {
    match delegation {
        Delegation::Regular => format!("{role}_{group}"),
        Delegation::Delegating => format!("{role}_{group}-Delegating"),
    }
}

impl RbacConfig {
    /// A fresh organization: the catalogue's roles, the twelve built-in role groups
    /// with SIDs `domain`-`first_rid`…, and their default assignments.
    /// `organization_admins` become the members of Organization Management.
    pub fn from_catalogue(
        catalogue: &Catalogue,
        domain: DomainSid,
        first_rid: u32,
        organization_admins: &[Sid],
    ) -> Self {
        let mut config = Self {
            roles: catalogue.roles.clone(),
            ..Self::default()
        };
        for (i, (group, assignments)) in catalogue.role_groups.iter().enumerate() {
            let members = if i == 0 {
                organization_admins.iter().copied().collect()
            } else {
                Default::default()
            };
            config.role_groups.insert(
                group.to_ascii_lowercase(),
                RoleGroup {
                    name: group.clone(),
                    sid: domain.with_rid(first_rid + i as u32),
                    description: String::new(),
                    kind: RoleGroupKind::Standard { members },
                    managed_by: Default::default(),
                    builtin: true,
                },
            );
            for a in assignments {
                let name = builtin_assignment_name(&a.role, group, a.delegation);
                config.assignments.insert(
                    name.to_ascii_lowercase(),
                    RoleAssignment {
                        name,
                        role: a.role.clone(),
                        assignee: Assignee::RoleGroup(group.clone()),
                        delegation: a.delegation,
                        recipient_write_scope: RecipientWriteScope::Implicit,
                        enabled: true,
                    },
                );
            }
        }
        for (policy, roles) in &catalogue.policies {
            for role in roles {
                let name = builtin_assignment_name(role, policy, Delegation::Regular);
                config.assignments.insert(
                    name.to_ascii_lowercase(),
                    RoleAssignment {
                        name,
                        role: role.clone(),
                        assignee: Assignee::Policy(policy.clone()),
                        delegation: Delegation::Regular,
                        recipient_write_scope: RecipientWriteScope::Implicit,
                        enabled: true,
                    },
                );
            }
        }
        debug_assert!(catalogue.policies.iter().any(|(p, _)| p == DEFAULT_POLICY));
        config
    }

    /// A role by name.
    pub fn role(&self, name: &str) -> Option<&ManagementRole> {
        self.roles.get(&name.to_ascii_lowercase())
    }

    /// A role group by name.
    pub fn role_group(&self, name: &str) -> Option<&RoleGroup> {
        self.role_groups.get(&name.to_ascii_lowercase())
    }

    /// A role group by its SID.
    pub fn role_group_by_sid(&self, sid: &Sid) -> Option<&RoleGroup> {
        self.role_groups.values().find(|g| g.sid == *sid)
    }

    /// Assignments to the role group `name`.
    pub fn assignments_of_group<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a RoleAssignment> + 'a {
        self.assignments.values().filter(
            move |a| matches!(&a.assignee, Assignee::RoleGroup(g) if g.eq_ignore_ascii_case(name)),
        )
    }
}
