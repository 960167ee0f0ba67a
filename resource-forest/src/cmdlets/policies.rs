//! New-, Get- and Set-RoleAssignmentPolicy (R-ROLE-4): end-user roles for
//! mailboxes; exactly one policy is the default.

use super::parameters::{
    p, req,
    Kind::{List, Switch, Text},
    OPTIONAL_IDENTITY,
};
use super::registry::{Cmdlet, ConfirmImpact::Medium, Handler};
use super::Record;
use super::{changed, listed, not_found, record, Args, CmdletError, Context, Outcome};
use crate::rbac::config::{builtin_assignment_name, RoleAssignmentPolicy};
use crate::rbac::model::{Assignee, Delegation, RoleAssignment};
use crate::rbac::{Access, Target};

/// The role assignment policy cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-RoleAssignmentPolicy",
        "Creates a role assignment policy for mailbox users.",
        Handler::Sync(new_policy),
        POLICY_VIEW,
    )
    .with(&[
        req("Name", Text),
        p("Description", Text),
        p("Roles", List),
        p("IsDefault", Switch),
    ])
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-RoleAssignmentPolicy",
        "Lists role assignment policies.",
        Handler::Sync(get_policy),
        POLICY_VIEW,
    )
    .with(OPTIONAL_IDENTITY)
    .at("Identity"),
    Cmdlet::new(
        "Set-RoleAssignmentPolicy",
        "Changes a role assignment policy or makes it the default.",
        Handler::Sync(set_policy),
        POLICY_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("Name", Text),
        p("Description", Text),
        p("IsDefault", Switch),
    ])
    .at("Identity")
    .changes(Medium),
];

/// EMS shows Name, AssignedRoles, RoleAssignments, IsDefault.
const POLICY_VIEW: &[&str] = &["Name", "AssignedRoles", "IsDefault"];

fn policy_record(org: &crate::org::Organization, p: &RoleAssignmentPolicy) -> Record {
    let roles: Vec<String> = org
        .rbac
        .assignments
        .values()
        .filter(|a| matches!(&a.assignee, Assignee::Policy(q) if q.eq_ignore_ascii_case(&p.name)))
        .map(|a| a.role.clone())
        .collect();
    record([
        ("Name", p.name.clone()),
        ("IsDefault", super::ps_bool(p.is_default)),
        ("AssignedRoles", roles.join(", ")),
        ("Description", p.description.clone()),
    ])
}

fn records_of(next: &crate::org::Organization, name: &str) -> Vec<Record> {
    next.rbac
        .policy(name)
        .map(|p| vec![policy_record(next, p)])
        .unwrap_or_default()
}

fn make_default(next: &mut crate::org::Organization, name: &str) {
    for p in next.rbac_mut().policies.values_mut() {
        p.is_default = p.name.eq_ignore_ascii_case(name);
    }
}

/// `New-RoleAssignmentPolicy -Roles …`: end-user roles only; the caller needs a
/// delegating assignment of each (R-ASG-1).
pub fn new_policy(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let name = super::check_name("Name", args.required("Name", ctx.cmdlet)?)?;
    if ctx.org.rbac.policy(&name).is_some() {
        return Err(crate::org::OrgError::Exists(name).into());
    }
    let mut next = ctx.org.clone();
    for role in args.list("Roles").unwrap_or_default() {
        let r = ctx.org.rbac.role(role).ok_or_else(|| not_found(role))?;
        if !r.is_end_user() {
            return Err(CmdletError::Refused(format!(
                "`{}` isn't an end-user role; only end-user roles go to role assignment policies (R-ROLE-4)",
                r.name
            )));
        }
        ctx.require_delegating(&r.name)?;
        next.rbac_mut().insert_assignment(RoleAssignment::new(
            builtin_assignment_name(&r.name, &name, Delegation::Regular),
            r.name.clone(),
            Assignee::Policy(name.clone()),
            Delegation::Regular,
        ));
    }
    let policy = RoleAssignmentPolicy {
        name: name.clone(),
        description: args.text("Description").unwrap_or_default().to_owned(),
        is_default: false,
    };
    next.rbac_mut()
        .policies
        .insert(name.to_ascii_lowercase(), policy);
    if args.switch("IsDefault") {
        make_default(&mut next, &name);
    }
    let records = records_of(&next, &name);
    Ok(changed(next, &name, records))
}

/// `Get-RoleAssignmentPolicy`.
pub fn get_policy(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let policies: Vec<&RoleAssignmentPolicy> = match args.text("Identity") {
        Some(i) => vec![ctx.org.rbac.policy(i).ok_or_else(|| not_found(i))?],
        None => ctx.org.rbac.policies.values().collect(),
    };
    Ok(listed(
        policies
            .into_iter()
            .map(|p| policy_record(ctx.org, p))
            .collect(),
    ))
}

/// `Set-RoleAssignmentPolicy`: description, name, `-IsDefault`.
pub fn set_policy(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let identity = args.required("Identity", ctx.cmdlet)?;
    let current = ctx
        .org
        .rbac
        .policy(identity)
        .ok_or_else(|| not_found(identity))?;
    let mut updated = current.clone();
    if let Some(d) = args.text("Description") {
        updated.description = d.to_owned();
    }
    let mut next = ctx.org.clone();
    if let Some(n) = args.text("Name") {
        let n = super::check_name("Name", n)?;
        if !n.eq_ignore_ascii_case(&current.name) && ctx.org.rbac.policy(&n).is_some() {
            return Err(crate::org::OrgError::Exists(n).into());
        }
        for a in next.rbac_mut().assignments.values_mut() {
            if matches!(&a.assignee, Assignee::Policy(q) if q.eq_ignore_ascii_case(&current.name)) {
                a.assignee = Assignee::Policy(n.clone());
            }
        }
        next.recipients.update_where(
            |r| r.role_assignment_policy.eq_ignore_ascii_case(&current.name),
            |r| r.role_assignment_policy = n.clone(),
        );
        updated.name = n;
    }
    next.rbac_mut()
        .policies
        .remove(&current.name.to_ascii_lowercase());
    let name = updated.name.clone();
    next.rbac_mut()
        .policies
        .insert(name.to_ascii_lowercase(), updated);
    if args.switch("IsDefault") {
        make_default(&mut next, &name);
    }
    let records = records_of(&next, &name);
    Ok(changed(next, &current.name, records))
}
