//! Get-ManagementRole and Get-ManagementRoleAssignment.

use super::{record, Args, CmdletError, Context, Outcome};
use crate::rbac::model::{Assignee, Delegation, RecipientWriteScope};
use crate::rbac::{Access, Target};

/// `Get-ManagementRole`.
pub fn get_management_role(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let identity = args.text("Identity");
    let role_type = args.text("RoleType");
    let records: Vec<_> = ctx
        .org
        .rbac
        .roles
        .values()
        .filter(|r| identity.is_none_or(|i| r.name.eq_ignore_ascii_case(i)))
        .filter(|r| role_type.is_none_or(|t| r.role_type.eq_ignore_ascii_case(t)))
        .map(|r| {
            record([
                ("Name", r.name.clone()),
                ("RoleType", r.role_type.clone()),
                ("IsRootRole", r.parent.is_none().to_string()),
                (
                    "ImplicitRecipientReadScope",
                    r.scopes.recipient_read.to_string(),
                ),
                (
                    "ImplicitRecipientWriteScope",
                    r.scopes.recipient_write.to_string(),
                ),
                ("ImplicitConfigReadScope", r.scopes.config_read.to_string()),
                (
                    "ImplicitConfigWriteScope",
                    r.scopes.config_write.to_string(),
                ),
                (
                    "RoleEntries",
                    r.entries
                        .values()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ])
        })
        .collect();
    if let (Some(identity), true) = (identity, records.is_empty()) {
        return Err(crate::org::OrgError::NotFound(identity.to_owned()).into());
    }
    Ok(Outcome {
        records,
        ..Outcome::default()
    })
}

/// `Get-ManagementRoleAssignment`.
pub fn get_management_role_assignment(
    ctx: &Context<'_>,
    args: &Args,
) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let identity = args.text("Identity");
    let role = args.text("Role");
    let assignee = args.text("RoleAssignee");
    let delegating = args.boolean("Delegating");
    let enabled = args.boolean("Enabled");
    let records = ctx
        .org
        .rbac
        .assignments
        .values()
        .filter(|a| identity.is_none_or(|i| a.name.eq_ignore_ascii_case(i)))
        .filter(|a| role.is_none_or(|r| a.role.eq_ignore_ascii_case(r)))
        .filter(|a| delegating.is_none_or(|d| (a.delegation == Delegation::Delegating) == d))
        .filter(|a| enabled.is_none_or(|e| a.enabled == e))
        .filter_map(|a| {
            let (name, kind) = match &a.assignee {
                Assignee::RoleGroup(g) => (g.clone(), "RoleGroup"),
                Assignee::Principal(sid) => (ctx.org.sid_name(sid), "User"),
                Assignee::Policy(p) => (p.clone(), "RoleAssignmentPolicy"),
            };
            if assignee.is_some_and(|x| !x.eq_ignore_ascii_case(&name)) {
                return None;
            }
            let scope = match &a.recipient_write_scope {
                RecipientWriteScope::Implicit => String::new(),
                RecipientWriteScope::OrganizationalUnit(ou) => ou.to_string(),
            };
            Some(record([
                ("Name", a.name.clone()),
                ("Role", a.role.clone()),
                ("RoleAssigneeName", name),
                ("RoleAssigneeType", kind.to_owned()),
                (
                    "RoleAssignmentDelegationType",
                    format!("{:?}", a.delegation),
                ),
                ("RecipientOrganizationalUnitScope", scope),
                ("Enabled", a.enabled.to_string()),
            ]))
        })
        .collect();
    Ok(Outcome {
        records,
        ..Outcome::default()
    })
}
