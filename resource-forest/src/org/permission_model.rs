//! The permission models of SPEC §6: shared (the default), RBAC split (a
//! manual reconfiguration of assignments) and Active Directory split, which
//! setup switches on and off (`/PrepareAD /ActiveDirectorySplitPermissions`).

use super::Organization;
use crate::rbac::model::Delegation;

/// Role types that create security principals in the domain partition.
pub const SECURITY_PRINCIPAL_ROLE_TYPES: [&str; 2] = [
    "MailRecipientCreation",
    "SecurityGroupCreationAndMembership",
];

/// The cmdlets no one may run under Active Directory split permissions
/// (R-SPLIT-3).
pub const UNAVAILABLE_UNDER_AD_SPLIT: [&str; 8] = [
    "New-Mailbox",
    "Remove-Mailbox",
    "New-MailContact",
    "Remove-MailContact",
    "New-MailUser",
    "Remove-MailUser",
    "New-RemoteMailbox",
    "Remove-RemoteMailbox",
];

/// Why a cmdlet fails under Active Directory split permissions, if it does
/// before running: the eight creation and removal cmdlets.
pub fn unavailable(org: &Organization, cmdlet: &str) -> Option<String> {
    (org.active_directory_split_permissions
        && UNAVAILABLE_UNDER_AD_SPLIT
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cmdlet)))
    .then(|| {
        format!(
            "`{cmdlet}` isn't available: this organization uses Active Directory split permissions, so security principals are created with the directory's own tools and then mail-enabled with Enable-Mailbox (R-SPLIT-3)"
        )
    })
}

/// The refusal of a group creation, removal or membership change under
/// Active Directory split permissions (R-SPLIT-3): the cmdlet is reachable,
/// but the Exchange trusted subsystem may not write security principals.
/// `what` names the change, `directory_tool` the directory's own tool that
/// makes it instead. Distribution groups and role groups (universal security
/// groups too) are refused here, so the wording and the rule live in one place.
pub fn refuse_group_write(
    org: &Organization,
    what: &str,
    directory_tool: &str,
) -> Result<(), String> {
    if org.active_directory_split_permissions {
        return Err(format!(
            "{what} failed: under Active Directory split permissions the Exchange trusted subsystem can't create or remove groups or change their membership in the domain partition; use the directory's own tools ({directory_tool}) (R-SPLIT-3)"
        ));
    }
    Ok(())
}

/// `setup /PrepareAD [/ActiveDirectorySplitPermissions:true|false]`: the
/// organization after the switch and, line by line, what changed — seed 001's
/// table: turning AD split on creates the OU Microsoft Exchange Protected
/// Groups and moves Exchange Windows Permissions there, takes the Exchange
/// Trusted Subsystem out of that group (Exchange can no longer create
/// security principals), removes every regular assignment of a role that
/// creates security principals (delegating ones stay, R-SPLIT-3) and the
/// group's rights on the root domain object; turning it off reverses the
/// directory changes and recreates no assignment (R-SPLIT-4). `split` `None`
/// keeps the current model. An unchanged model reports the directory's state.
pub fn prepare_ad(org: &Organization, split: Option<bool>) -> (Organization, Vec<String>) {
    let mut next = org.clone();
    let mut changes = Vec::new();
    let want = split.unwrap_or(org.active_directory_split_permissions);
    if want == org.active_directory_split_permissions {
        changes.push(format!(
            "the organization already uses {}; nothing changed",
            model_name(want)
        ));
        changes.extend(org.directory_preparation().describe(org.forest.as_str()));
        return (next, changes);
    }
    next.active_directory_split_permissions = want;
    changes.push(format!(
        "permission model: {} → {}",
        model_name(org.active_directory_split_permissions),
        model_name(want)
    ));
    changes.extend(switch_directory(&mut next, want));
    if want {
        let creating: Vec<String> = org
            .rbac
            .roles
            .values()
            .filter(|r| SECURITY_PRINCIPAL_ROLE_TYPES.contains(&r.role_type.as_str()))
            .map(|r| r.name.to_ascii_lowercase())
            .collect();
        next.rbac_mut().assignments.retain(|_, a| {
            let remove = a.delegation == Delegation::Regular
                && creating.contains(&a.role.to_ascii_lowercase());
            if remove {
                changes.push(format!(
                    "removed regular assignment `{}` ({} → {})",
                    a.name,
                    a.role,
                    match &a.assignee {
                        crate::rbac::model::Assignee::RoleGroup(g)
                        | crate::rbac::model::Assignee::Policy(g) => g.clone(),
                        crate::rbac::model::Assignee::User(s)
                        | crate::rbac::model::Assignee::SecurityGroup(s) => org.sid_name(s),
                    }
                ));
            }
            !remove
        });
        changes.push("delegating assignments were kept".into());
    } else {
        changes.push(
            "no assignment was recreated: assign Mail Recipient Creation and Security Group Creation and Membership again where you want them (R-SPLIT-4)".into(),
        );
    }
    (next, changes)
}

/// The directory side of switching Active Directory split permissions on
/// (`split`) or off, applied to `next`: the OU of Exchange Windows
/// Permissions, the Exchange Trusted Subsystem's membership in it, and the
/// group's rights on the root domain object (other domains follow with
/// `/PrepareDomain` or `/PrepareAllDomains`).
fn switch_directory(next: &mut Organization, split: bool) -> Vec<String> {
    use super::preparation::{PROTECTED_GROUPS_OU, SECURITY_GROUPS_OU};
    let forest = next.forest.to_string();
    let mut state = next.directory_preparation();
    let mut changes = Vec::new();
    if split {
        changes.push(format!(
            "created the organizational unit {forest}/{PROTECTED_GROUPS_OU}"
        ));
        changes.push(format!(
            "moved Exchange Windows Permissions to {forest}/{PROTECTED_GROUPS_OU}"
        ));
    } else {
        changes.push(format!(
            "moved Exchange Windows Permissions to {forest}/{SECURITY_GROUPS_OU}"
        ));
        changes.push(format!(
            "removed the organizational unit {forest}/{PROTECTED_GROUPS_OU}"
        ));
    }
    state.protected_groups_ou = split;
    if state.trusted_subsystem_in_windows_permissions == split {
        state.trusted_subsystem_in_windows_permissions = !split;
        changes.push(if split {
            "removed the Exchange Trusted Subsystem from Exchange Windows Permissions: Exchange can no longer create security principals".to_owned()
        } else {
            "added the Exchange Trusted Subsystem to Exchange Windows Permissions".to_owned()
        });
    }
    if let Some(root) = state.domains.get_mut(&forest.to_ascii_lowercase()) {
        if root.windows_permissions_aces == split {
            root.windows_permissions_aces = !split;
            changes.push(format!(
                "{} the access control entries of Exchange Windows Permissions {} the domain object of {forest}",
                if split { "removed" } else { "added" },
                if split { "from" } else { "to" }
            ));
        }
    }
    next.preparation = Some(state);
    changes
}

/// The permission model's name as setup reports it.
pub(crate) fn model_name(split: bool) -> &'static str {
    if split {
        "Active Directory split permissions"
    } else {
        "shared or RBAC split permissions"
    }
}
