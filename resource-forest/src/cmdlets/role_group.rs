//! New-, Get-, Remove-RoleGroup and Add-, Remove-, Get-RoleGroupMember, with
//! linked role groups (R-LRG-1..7) and ManagedBy (R-RG-5).

use std::collections::BTreeSet;

use crossforest_shared::Sid;

use super::{record, Args, CmdletError, Context, Outcome};
use crate::rbac::config::new_role_group_assignment_name;
use crate::rbac::model::{
    Assignee, Delegation, RecipientWriteScope, RoleAssignment, RoleGroup, RoleGroupKind,
};
use crate::rbac::{Access, Target};
use crate::trust::linked::resolve_foreign_group;

const LINKED: [&str; 3] = [
    "LinkedForeignGroup",
    "LinkedDomainController",
    "LinkedCredential",
];

fn role_group<'a>(ctx: &'a Context<'_>, identity: &str) -> Result<&'a RoleGroup, CmdletError> {
    ctx.org
        .rbac
        .role_group(identity)
        .ok_or_else(|| crate::org::OrgError::NotFound(identity.to_owned()).into())
}

fn names(ctx: &Context<'_>, sids: &BTreeSet<Sid>) -> String {
    sids.iter()
        .map(|s| ctx.org.sid_name(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `New-RoleGroup`, standard or linked.
pub async fn new_role_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let name = args.required("Name", ctx.cmdlet)?.trim().to_owned();
    if name.is_empty() || name.len() > 64 || name.contains(['\\', '/', ',', '"']) {
        return Err(CmdletError::InvalidValue {
            parameter: "Name".into(),
            reason: format!("`{name}` must be 1 to 64 characters without \\ / , or quotes"),
        });
    }
    if ctx.org.rbac.role_group(&name).is_some() || ctx.org.mailbox(&name).is_ok() {
        return Err(crate::org::OrgError::Exists(name).into());
    }
    let linked_given = LINKED.iter().any(|p| args.has(p));
    if linked_given && args.has("Members") {
        return Err(CmdletError::Conflict(
            "-Members cannot be combined with -LinkedForeignGroup, -LinkedDomainController or -LinkedCredential: a linked role group has no members of its own (R-LRG-7)".into(),
        ));
    }
    let mut warnings = Vec::new();
    let kind = if linked_given {
        let group = args.text("LinkedForeignGroup").ok_or_else(|| {
            CmdletError::Conflict(
                "-LinkedDomainController and -LinkedCredential need -LinkedForeignGroup".into(),
            )
        })?;
        let dc = args.text("LinkedDomainController").ok_or_else(|| {
            CmdletError::Conflict(
                "-LinkedForeignGroup requires -LinkedDomainController (R-LRG-7)".into(),
            )
        })?;
        let credential = args.text("LinkedCredential").ok_or_else(|| CmdletError::Conflict(
            "-LinkedForeignGroup requires -LinkedCredential: a credential the account forest issued (R-LRG-2)".into(),
        ))?;
        let (domain, _) = group
            .split_once('\\')
            .ok_or_else(|| crate::trust::linked::LinkedError::GroupName(group.to_owned()))?;
        if ctx.trusts.own_forest().answers_to(domain) {
            return Err(CmdletError::Conflict(format!(
                "`{group}` is in this forest; a linked role group must link to a group in another forest (R-LRG-7)"
            )));
        }
        let trust = ctx.trusts.by_domain(domain).ok_or_else(|| {
            CmdletError::Refused(format!(
                "`{domain}` is not a forest this organization trusts (R-LRG-5)"
            ))
        })?;
        let link = resolve_foreign_group(trust, group, dc, credential).await?;
        if !(name.to_ascii_lowercase().contains(trust.forest.netbios())) {
            warnings.push(format!(
                "the name `{name}` doesn't mention `{}`; since a SID is the only identity of the foreign group, name linked role groups after their forest (R-LRG-6)",
                trust.forest
            ));
        }
        RoleGroupKind::Linked(link)
    } else {
        let members = args
            .list("Members")
            .unwrap_or_default()
            .iter()
            .map(|m| ctx.org.principal_sid(m))
            .collect::<Result<BTreeSet<Sid>, _>>()?;
        RoleGroupKind::Standard { members }
    };
    let managed_by = args
        .list("ManagedBy")
        .unwrap_or_default()
        .iter()
        .map(|m| ctx.org.principal_sid(m))
        .collect::<Result<BTreeSet<Sid>, _>>()?;
    let mut next = ctx.org.clone();
    let mut assignment_names = Vec::new();
    for role in args.list("Roles").unwrap_or_default() {
        let role = next
            .rbac
            .role(role)
            .ok_or_else(|| CmdletError::Org(crate::org::OrgError::NotFound(role.clone())))?
            .name
            .clone();
        let assignment = new_role_group_assignment_name(&role, &name, Delegation::Regular);
        assignment_names.push(assignment.clone());
        next.rbac.assignments.insert(
            assignment.to_ascii_lowercase(),
            RoleAssignment {
                name: assignment,
                role,
                assignee: Assignee::RoleGroup(name.clone()),
                delegation: Delegation::Regular,
                recipient_write_scope: RecipientWriteScope::Implicit,
                enabled: true,
            },
        );
    }
    let group = RoleGroup {
        sid: next.allocate_sid()?,
        name: name.clone(),
        description: args.text("Description").unwrap_or_default().to_owned(),
        kind,
        managed_by,
        builtin: false,
    };
    let records = vec![group_record(&next, &group)];
    next.rbac
        .role_groups
        .insert(name.to_ascii_lowercase(), group);
    Ok(Outcome {
        records,
        warnings,
        change: Some(next),
        target: Some(name),
    })
}

fn group_record(org: &crate::org::Organization, g: &RoleGroup) -> Vec<(String, String)> {
    let roles: Vec<String> = org
        .rbac
        .assignments_of_group(&g.name)
        .map(|a| a.role.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let assignments: Vec<String> = org
        .rbac
        .assignments_of_group(&g.name)
        .map(|a| a.name.clone())
        .collect();
    let (members, linked_group, linked_forest) = match &g.kind {
        RoleGroupKind::Standard { members } => (
            members
                .iter()
                .map(|s| org.sid_name(s))
                .collect::<Vec<_>>()
                .join(", "),
            String::new(),
            String::new(),
        ),
        RoleGroupKind::Linked(link) => (String::new(), link.sid.to_string(), link.name.clone()),
    };
    record([
        ("Name", g.name.clone()),
        ("RoleGroupType", g.role_group_type().to_owned()),
        ("LinkedGroup", linked_group),
        ("LinkedForeignGroup", linked_forest),
        ("Roles", roles.join(", ")),
        ("RoleAssignments", assignments.join(", ")),
        ("Members", members),
        (
            "ManagedBy",
            g.managed_by
                .iter()
                .map(|s| org.sid_name(s))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("Description", g.description.clone()),
        ("SID", g.sid.to_string()),
    ])
}

/// `Get-RoleGroup`.
pub fn get_role_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let groups: Vec<&RoleGroup> = match args.text("Identity") {
        Some(identity) => vec![role_group(ctx, identity)?],
        None => ctx.org.rbac.role_groups.values().collect(),
    };
    Ok(Outcome {
        records: groups.iter().map(|g| group_record(ctx.org, g)).collect(),
        ..Outcome::default()
    })
}

/// ManagedBy (R-RG-5): when set, only the listed principals may change the group,
/// unless the caller bypasses with `-BypassSecurityGroupManagerCheck` (open to
/// Role Management holders, which the caller is once authorised).
fn check_managed_by(ctx: &Context<'_>, group: &RoleGroup, args: &Args) -> Result<(), CmdletError> {
    if group.managed_by.is_empty() || args.switch("BypassSecurityGroupManagerCheck") {
        return Ok(());
    }
    if ctx.caller.sids.iter().any(|s| group.managed_by.contains(s)) {
        return Ok(());
    }
    Err(CmdletError::Refused(format!(
        "you aren't in the ManagedBy list of `{}` ({}); use -BypassSecurityGroupManagerCheck if you hold Role Management (R-RG-5)",
        group.name,
        names(ctx, &group.managed_by)
    )))
}

/// `Remove-RoleGroup`: built-in groups cannot be removed.
pub fn remove_role_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let group = role_group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    if group.builtin {
        return Err(CmdletError::Refused(format!(
            "`{}` is a built-in role group and can't be removed",
            group.name
        )));
    }
    check_managed_by(ctx, group, args)?;
    let mut next = ctx.org.clone();
    next.rbac
        .role_groups
        .remove(&group.name.to_ascii_lowercase());
    next.rbac
        .assignments
        .retain(|_, a| !matches!(&a.assignee, Assignee::RoleGroup(g) if g.eq_ignore_ascii_case(&group.name)));
    for other in next.rbac.role_groups.values_mut() {
        if let RoleGroupKind::Standard { members } = &mut other.kind {
            members.remove(&group.sid);
        }
    }
    Ok(Outcome {
        change: Some(next),
        target: Some(group.name.clone()),
        ..Outcome::default()
    })
}

/// `Add-RoleGroupMember` / `Remove-RoleGroupMember`; refused on linked groups (R-LRG-3).
pub fn change_member(ctx: &Context<'_>, args: &Args, add: bool) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let group = role_group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    if let RoleGroupKind::Linked(link) = &group.kind {
        return Err(CmdletError::Refused(format!(
            "`{}` is a linked role group: its members are the members of `{}` ({}) and are managed in {}, not here (R-LRG-3)",
            group.name, link.name, link.sid, link.forest
        )));
    }
    check_managed_by(ctx, group, args)?;
    let member_name = args.required("Member", ctx.cmdlet)?;
    let member = ctx.org.principal_sid(member_name)?;
    if member == group.sid {
        return Err(CmdletError::Refused(format!(
            "`{}` can't be a member of itself",
            group.name
        )));
    }
    let mut next = ctx.org.clone();
    let key = group.name.to_ascii_lowercase();
    if let Some(RoleGroup {
        kind: RoleGroupKind::Standard { members },
        ..
    }) = next.rbac.role_groups.get_mut(&key)
    {
        let changed = if add {
            members.insert(member)
        } else {
            members.remove(&member)
        };
        if !changed {
            return Err(CmdletError::Refused(format!(
                "`{member_name}` is {} a member of `{}`",
                if add { "already" } else { "not" },
                group.name
            )));
        }
    }
    Ok(Outcome {
        change: Some(next),
        target: Some(group.name.clone()),
        ..Outcome::default()
    })
}

/// `Get-RoleGroupMember`.
pub fn get_role_group_member(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let group = role_group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    match &group.kind {
        RoleGroupKind::Standard { members } => Ok(Outcome {
            records: members
                .iter()
                .map(|s| {
                    let kind = if ctx.org.rbac.role_group_by_sid(s).is_some() {
                        "RoleGroup"
                    } else {
                        "User"
                    };
                    record([
                        ("Name", ctx.org.sid_name(s)),
                        ("RecipientType", kind.to_owned()),
                        ("SID", s.to_string()),
                    ])
                })
                .collect(),
            ..Outcome::default()
        }),
        RoleGroupKind::Linked(link) => Ok(Outcome {
            warnings: vec![format!(
                "`{}` is linked to `{}` ({}); its members are managed in {}",
                group.name, link.name, link.sid, link.forest
            )],
            ..Outcome::default()
        }),
    }
}
