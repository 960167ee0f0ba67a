//! Lockout protections (R-LOCK-1..4): invariants that every change of the RBAC
//! configuration must keep, checked by comparing the configuration before and
//! after the change. Checking the invariant rather than each cmdlet means no
//! path (removing an assignment, disabling it, removing a role group, changing
//! the permission model) can break it.

use super::catalogue::ORGANIZATION_MANAGEMENT;
use super::config::RbacConfig;
use super::model::{Delegation, RoleAssignment};

/// The role that manages RBAC itself.
pub const ROLE_MANAGEMENT: &str = "Role Management";

/// The roles whose delegating assignment may leave Organization Management,
/// and only by moving to a role group or USG (R-LOCK-1): Role Management to
/// "permission owners" and the two creation roles to directory administrators
/// (seed 003, R-SPLIT-2). Every other role's delegating assignment stays.
pub const MOVABLE_DELEGATING: [&str; 3] = [
    ROLE_MANAGEMENT,
    "Mail Recipient Creation",
    "Security Group Creation and Membership",
];

/// Whether Organization Management's delegating assignment of `role` may move
/// to another role group or USG (R-LOCK-1).
pub fn may_leave_organization_management(role: &str) -> bool {
    MOVABLE_DELEGATING
        .iter()
        .any(|r| r.eq_ignore_ascii_case(role))
}

/// A change that would lock the organization out of its own administration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockoutError {
    /// R-LOCK-1, for a role whose delegating assignment may move.
    #[error("the delegating assignment of `{role}` to Organization Management can't be removed or disabled unless it moves: give a role group or USG a delegating assignment of `{role}` first (R-LOCK-1)")]
    OrganizationManagementDelegating {
        /// The role.
        role: String,
    },
    /// R-LOCK-1, for every other role: its delegating assignment never leaves.
    #[error("the delegating assignment of `{role}` to Organization Management can't be removed or disabled, whatever else holds it; only those of Role Management, Mail Recipient Creation and Security Group Creation and Membership may move (R-LOCK-1)")]
    OrganizationManagementDelegatingFixed {
        /// The role.
        role: String,
    },
    /// R-LOCK-2.
    #[error("the Role Management role can't be removed from Organization Management unless it moves: give a role group or USG the same assignment first (R-LOCK-2)")]
    RoleManagementFromOrganizationManagement,
    /// R-LOCK-3.
    #[error("`{role}` would have no delegating assignment left on a role group or universal security group; at least one must remain, and one to a single user doesn't count (R-LOCK-3)")]
    LastDelegating {
        /// The role.
        role: String,
    },
    /// R-LOCK-4.
    #[error("Role Management would have no regular assignment left on a role group or universal security group; at least one must remain (R-LOCK-4)")]
    LastRoleManagement,
}

fn live(config: &RbacConfig) -> impl Iterator<Item = &RoleAssignment> {
    config.assignments.values().filter(|a| a.enabled)
}

fn has(config: &RbacConfig, pred: impl Fn(&RoleAssignment) -> bool) -> bool {
    live(config).any(pred)
}

/// Refuses `after` if it breaks a lockout rule that `before` kept.
pub fn check(before: &RbacConfig, after: &RbacConfig) -> Result<(), LockoutError> {
    if std::ptr::eq(before, after) {
        // A change that left the RBAC configuration shared (issue 15).
        return Ok(());
    }
    let om = |a: &RoleAssignment| a.assignee.is_role_group(ORGANIZATION_MANAGEMENT);
    let same = |a: &RoleAssignment, b: &RoleAssignment| {
        a.role.eq_ignore_ascii_case(&b.role) && a.delegation == b.delegation
    };
    // Organization Management's assignment may leave it only when it moves:
    // the same role, same kind, on another role group or USG. Seed 003 moves
    // Role Management to a "permission owners" group and creation roles to
    // directory administrators that way (R-SPLIT-2); dropping it is a lockout.
    let kept = |a: &RoleAssignment| has(after, |b| same(a, b) && (om(b) || b.assignee.is_group()));
    // R-LOCK-2 first: it is the more specific message for Role Management.
    for a in live(before).filter(|a| om(a) && a.role.eq_ignore_ascii_case(ROLE_MANAGEMENT)) {
        if !kept(a) {
            return Err(LockoutError::RoleManagementFromOrganizationManagement);
        }
    }
    // R-LOCK-1: only three roles' delegating assignments may move; every
    // other one must stay on Organization Management itself.
    for a in live(before).filter(|a| om(a) && a.delegation == Delegation::Delegating) {
        if !may_leave_organization_management(&a.role) {
            if !has(after, |b| same(a, b) && om(b)) {
                return Err(LockoutError::OrganizationManagementDelegatingFixed {
                    role: a.role.clone(),
                });
            }
        } else if !kept(a) {
            return Err(LockoutError::OrganizationManagementDelegating {
                role: a.role.clone(),
            });
        }
    }
    let group_delegating =
        |a: &RoleAssignment| a.delegation == Delegation::Delegating && a.assignee.is_group();
    let mut roles: Vec<&str> = live(before)
        .filter(|a| group_delegating(a))
        .map(|a| a.role.as_str())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    for role in roles {
        if !has(after, |b| {
            group_delegating(b) && b.role.eq_ignore_ascii_case(role)
        }) {
            return Err(LockoutError::LastDelegating {
                role: role.to_owned(),
            });
        }
    }
    let regular_rm = |a: &RoleAssignment| {
        a.delegation == Delegation::Regular
            && a.assignee.is_group()
            && a.role.eq_ignore_ascii_case(ROLE_MANAGEMENT)
    };
    if has(before, regular_rm) && !has(after, regular_rm) {
        return Err(LockoutError::LastRoleManagement);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::catalogue::builtin;
    use crate::rbac::model::{Assignee, RoleAssignment};
    use crossforest_shared::DomainSid;

    fn organization() -> RbacConfig {
        let domain = DomainSid::new(1, 2, 3);
        RbacConfig::from_catalogue(
            &builtin().expect("catalogue"),
            domain,
            1001,
            &[domain.with_rid(500)],
        )
    }

    #[test]
    fn last_regular_role_management_on_a_group_is_kept() {
        // R-LOCK-4, on its own: Role Management held regularly by one custom
        // group only (Organization Management's copy removed beforehand).
        let mut before = organization();
        before
            .assignments
            .retain(|_, a| !(a.role == ROLE_MANAGEMENT && a.delegation == Delegation::Regular));
        before.insert_assignment(RoleAssignment::new(
            "Role Management-RBAC Admins".into(),
            ROLE_MANAGEMENT.into(),
            Assignee::RoleGroup("RBAC Admins".into()),
            Delegation::Regular,
        ));
        let mut after = before.clone();
        after.assignments.remove("role management-rbac admins");
        assert_eq!(
            check(&before, &after),
            Err(LockoutError::LastRoleManagement)
        );
        // A user's assignment doesn't keep it alive.
        after.insert_assignment(RoleAssignment::new(
            "Role Management-katie".into(),
            ROLE_MANAGEMENT.into(),
            Assignee::User(DomainSid::new(1, 2, 3).with_rid(2000)),
            Delegation::Regular,
        ));
        assert_eq!(
            check(&before, &after),
            Err(LockoutError::LastRoleManagement)
        );
        // A USG's does.
        after.insert_assignment(RoleAssignment::new(
            "Role Management-usg".into(),
            ROLE_MANAGEMENT.into(),
            Assignee::SecurityGroup(DomainSid::new(1, 2, 3).with_rid(2001)),
            Delegation::Regular,
        ));
        assert_eq!(check(&before, &after), Ok(()));
    }

    #[test]
    fn organization_management_assignments_may_move_but_not_vanish() {
        // R-LOCK-1/R-LOCK-2 read with seed 003 and R-SPLIT-2: moving is allowed.
        let before = organization();
        let mut after = before.clone();
        after
            .assignments
            .remove("mail recipient creation-organization management-delegating");
        assert!(matches!(
            check(&before, &after),
            Err(LockoutError::OrganizationManagementDelegating { .. })
        ));
        after.insert_assignment(RoleAssignment::new(
            "Mail Recipient Creation-Directory Admins-Delegating".into(),
            "Mail Recipient Creation".into(),
            Assignee::RoleGroup("Directory Admins".into()),
            Delegation::Delegating,
        ));
        assert_eq!(check(&before, &after), Ok(()));
        // To a single user it doesn't count.
        let mut to_user = before.clone();
        to_user
            .assignments
            .remove("mail recipient creation-organization management-delegating");
        to_user.insert_assignment(RoleAssignment::new(
            "Mail Recipient Creation-katie-Delegating".into(),
            "Mail Recipient Creation".into(),
            Assignee::User(DomainSid::new(1, 2, 3).with_rid(2000)),
            Delegation::Delegating,
        ));
        assert!(check(&before, &to_user).is_err());
    }

    #[test]
    fn r_lock_1_other_delegating_assignments_never_leave_organization_management() {
        // Another group holding the delegating assignment of Mail Recipients
        // does not let Organization Management's go: only three roles move.
        let before = {
            let mut c = organization();
            c.insert_assignment(RoleAssignment::new(
                "Mail Recipients-Helpdesk Tier-Delegating".into(),
                "Mail Recipients".into(),
                Assignee::RoleGroup("Helpdesk Tier".into()),
                Delegation::Delegating,
            ));
            c.insert_assignment(RoleAssignment::new(
                "Mail Recipients-usg-Delegating".into(),
                "Mail Recipients".into(),
                Assignee::SecurityGroup(DomainSid::new(1, 2, 3).with_rid(2001)),
                Delegation::Delegating,
            ));
            c
        };
        let mut removed = before.clone();
        removed
            .assignments
            .remove("mail recipients-organization management-delegating");
        assert_eq!(
            check(&before, &removed),
            Err(LockoutError::OrganizationManagementDelegatingFixed {
                role: "Mail Recipients".into()
            })
        );
        let mut disabled = before.clone();
        if let Some(a) = disabled
            .assignments
            .get_mut("mail recipients-organization management-delegating")
        {
            a.enabled = false;
        }
        assert!(matches!(
            check(&before, &disabled),
            Err(LockoutError::OrganizationManagementDelegatingFixed { .. })
        ));
        // The three movable roles still move, each to a group or USG.
        for role in MOVABLE_DELEGATING {
            let mut moved = before.clone();
            moved.assignments.retain(|_, a| {
                !(a.assignee.is_role_group(ORGANIZATION_MANAGEMENT)
                    && a.delegation == Delegation::Delegating
                    && a.role == role)
            });
            moved.insert_assignment(RoleAssignment::new(
                format!("{role}-Owners-Delegating"),
                role.into(),
                Assignee::RoleGroup("Owners".into()),
                Delegation::Delegating,
            ));
            assert_eq!(check(&before, &moved), Ok(()), "{role}");
        }
    }

    #[test]
    fn unchanged_configuration_passes_and_om_rules_come_first() {
        let before = organization();
        assert_eq!(check(&before, &before), Ok(()));
        let mut after = before.clone();
        after
            .assignments
            .remove("role management-organization management");
        assert_eq!(
            check(&before, &after),
            Err(LockoutError::RoleManagementFromOrganizationManagement)
        );
        let mut after = before.clone();
        if let Some(a) = after
            .assignments
            .get_mut("mailbox search-organization management-delegating")
        {
            a.enabled = false;
        }
        assert!(matches!(
            check(&before, &after),
            Err(LockoutError::OrganizationManagementDelegatingFixed { .. })
        ));
    }
}
