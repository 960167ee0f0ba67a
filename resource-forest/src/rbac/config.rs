//! The stored RBAC configuration of an organization: roles, role groups and
//! assignments, keyed by lower-case name (Exchange names are case-insensitive).

use std::collections::BTreeMap;

use crossforest_shared::{DomainSid, Sid};
use serde::{Deserialize, Serialize};

use super::catalogue::{Catalogue, DEFAULT_POLICY};
use super::model::{
    Assignee, Delegation, ManagementRole, RoleAssignment, RoleGroup, RoleGroupKind,
};
use super::scope::ManagementScope;

/// Roles, role groups, assignments, management scopes and role assignment
/// policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RbacConfig {
    /// Management roles by lower-case name.
    pub roles: BTreeMap<String, ManagementRole>,
    /// Role groups by lower-case name.
    pub role_groups: BTreeMap<String, RoleGroup>,
    /// Role assignments by lower-case name.
    pub assignments: BTreeMap<String, RoleAssignment>,
    /// Management scopes by lower-case name.
    #[serde(default)]
    pub scopes: BTreeMap<String, ManagementScope>,
    /// Role assignment policies by lower-case name.
    #[serde(default)]
    pub policies: BTreeMap<String, RoleAssignmentPolicy>,
}

/// A role assignment policy (R-ROLE-4): end-user roles for mailboxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignmentPolicy {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// New mailboxes get the default policy.
    pub is_default: bool,
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
                    display_name: String::new(),
                    kind: RoleGroupKind::Standard { members },
                    managed_by: Default::default(),
                    builtin: true,
                },
            );
            for a in assignments {
                let name = builtin_assignment_name(&a.role, group, a.delegation);
                config.insert_assignment(RoleAssignment::new(
                    name,
                    a.role.clone(),
                    Assignee::RoleGroup(group.clone()),
                    a.delegation,
                ));
            }
        }
        for (policy, roles) in &catalogue.policies {
            config.policies.insert(
                policy.to_ascii_lowercase(),
                RoleAssignmentPolicy {
                    name: policy.clone(),
                    description: String::new(),
                    is_default: policy == DEFAULT_POLICY,
                },
            );
            for role in roles {
                let name = builtin_assignment_name(role, policy, Delegation::Regular);
                config.insert_assignment(RoleAssignment::new(
                    name,
                    role.clone(),
                    Assignee::Policy(policy.clone()),
                    Delegation::Regular,
                ));
            }
        }
        debug_assert!(catalogue.policies.iter().any(|(p, _)| p == DEFAULT_POLICY));
        config
    }

    /// Adds or replaces an assignment, keyed by its name.
    pub fn insert_assignment(&mut self, assignment: RoleAssignment) {
        self.assignments
            .insert(assignment.name.to_ascii_lowercase(), assignment);
    }

    /// A management scope by name.
    pub fn scope(&self, name: &str) -> Option<&ManagementScope> {
        self.scopes.get(&name.to_ascii_lowercase())
    }

    /// A role assignment policy by name.
    pub fn policy(&self, name: &str) -> Option<&RoleAssignmentPolicy> {
        self.policies.get(&name.to_ascii_lowercase())
    }

    /// The default role assignment policy.
    pub fn default_policy(&self) -> Option<&RoleAssignmentPolicy> {
        self.policies.values().find(|p| p.is_default)
    }

    /// A role's ancestors, nearest first (the role itself excluded); stops on a
    /// missing parent or a cycle.
    pub fn ancestors(&self, role: &str) -> Vec<&ManagementRole> {
        let mut out: Vec<&ManagementRole> = Vec::new();
        let mut next = self.role(role).and_then(|r| r.parent.clone());
        while let Some(name) = next {
            match self.role(&name) {
                Some(r) if !out.iter().any(|o| o.name == r.name) => {
                    next = r.parent.clone();
                    out.push(r);
                }
                _ => break,
            }
        }
        out
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
        self.assignments
            .values()
            .filter(move |a| a.assignee.is_role_group(name))
    }
}
