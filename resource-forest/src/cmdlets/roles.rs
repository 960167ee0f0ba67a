//! New-, Get-, Remove-ManagementRole and Add-, Set-, Remove-,
//! Get-ManagementRoleEntry (R-ROLE-1..3). Built-in roles never change; a child
//! role starts as a copy of its parent and may only hold entries and
//! parameters its immediate parent has.

use std::collections::BTreeSet;

use super::parameters::{
    p, req,
    Kind::{List, Switch, Text},
    IDENTITY,
};
use super::registry::{
    Cmdlet,
    ConfirmImpact::{High, Medium},
    Handler,
};
use super::Record;
use super::{changed, invalid, listed, not_found, record, Args, CmdletError, Context, Outcome};
use crate::rbac::model::{ManagementRole, RoleEntry};
use crate::rbac::opath::wildcard_match;
use crate::rbac::{Access, Target};

/// The management role and role entry cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-ManagementRole",
        "Creates a management role from a parent role, or an unscoped top-level role.",
        Handler::Sync(new_management_role),
        ROLE_VIEW,
    )
    .with(&[
        req("Name", Text),
        p("Parent", Text),
        p("Description", Text),
        p("UnScopedTopLevel", Switch),
    ])
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-ManagementRole",
        "Lists management roles.",
        Handler::Sync(get_management_role),
        ROLE_VIEW,
    )
    .with(&[
        p("Identity", Text),
        p("RoleType", Text),
        p("Cmdlet", Text),
        p("CmdletParameters", List),
        p("GetChildren", Switch),
    ])
    .at("Identity"),
    Cmdlet::new(
        "Remove-ManagementRole",
        "Removes a custom management role.",
        Handler::Sync(remove_management_role),
        REMOVED_VIEW,
    )
    .with(&[req("Identity", Text), p("Recurse", Switch)])
    .at("Identity")
    .changes(High),
    Cmdlet::new(
        "Add-ManagementRoleEntry",
        "Adds a cmdlet and its parameters to a custom role.",
        Handler::Sync(add_entry),
        CHANGED_ENTRY_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("Parameters", List),
        p("UnScopedTopLevel", Switch),
        p("Type", Text),
    ])
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Set-ManagementRoleEntry",
        "Changes the parameters of a role entry.",
        Handler::Sync(set_entry),
        CHANGED_ENTRY_VIEW,
    )
    .with(&[
        req("Identity", Text),
        req("Parameters", List),
        p("AddParameter", Switch),
        p("RemoveParameter", Switch),
    ])
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Remove-ManagementRoleEntry",
        "Removes a role entry from a custom role.",
        Handler::Sync(remove_entry),
        ENTRY_VIEW,
    )
    .with(IDENTITY)
    .at("Identity")
    .changes(High),
    Cmdlet::new(
        "Get-ManagementRoleEntry",
        "Lists the cmdlets and parameters of a role.",
        Handler::Sync(get_entry),
        ENTRY_VIEW,
    )
    .with(&[req("Identity", Text), p("Parameters", List)])
    .at("Identity"),
];

/// EMS shows Name, RoleType.
const ROLE_VIEW: &[&str] = &["Name", "RoleType"];
/// EMS shows Name, Role, Parameters.
const ENTRY_VIEW: &[&str] = &["Name", "Role", "Parameters"];
/// What Add- and Set-ManagementRoleEntry return here: the entry as written.
const CHANGED_ENTRY_VIEW: &[&str] = &["Role", "Entry"];
/// What Remove-ManagementRole returns here for each removed role.
const REMOVED_VIEW: &[&str] = &["Name", "Removed"];

fn role<'a>(ctx: &'a Context<'_>, identity: &str) -> Result<&'a ManagementRole, CmdletError> {
    ctx.org
        .rbac
        .role(identity)
        .ok_or_else(|| not_found(identity))
}

fn role_record(r: &ManagementRole) -> Record {
    record([
        ("Name", r.name.clone()),
        (
            "RoleType",
            if r.unscoped {
                "UnScoped".into()
            } else {
                r.role_type.clone()
            },
        ),
        ("IsRootRole", super::ps_bool(r.parent.is_none())),
        ("Parent", r.parent.clone().unwrap_or_default()),
        ("IsEndUserRole", super::ps_bool(r.is_end_user())),
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
        ("Description", r.description.clone()),
    ])
}

/// `New-ManagementRole -Parent` (a copy of the parent, R-ROLE-2) or
/// `-UnScopedTopLevel` (empty, R-ROLE-3; RBAC grants that parameter only
/// through Unscoped Role Management).
pub fn new_management_role(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let name = super::check_name("Name", args.required("Name", ctx.cmdlet)?)?;
    if ctx.org.rbac.role(&name).is_some() {
        return Err(crate::org::OrgError::Exists(name).into());
    }
    let unscoped = args.switch("UnScopedTopLevel");
    let created = match (args.text("Parent"), unscoped) {
        (Some(_), true) => {
            return Err(CmdletError::Conflict(
                "-Parent and -UnScopedTopLevel can't be combined: unscoped top-level roles have no parent (R-ROLE-3)".into(),
            ))
        }
        (None, false) => {
            return Err(CmdletError::Conflict(
                "a new role needs -Parent (a role to derive from) or -UnScopedTopLevel".into(),
            ))
        }
        (Some(parent), false) => {
            let parent = role(ctx, parent)?;
            if parent.unscoped {
                return Err(invalid(
                    "Parent",
                    format!("`{}` is an unscoped top-level role; roles can't derive from it", parent.name),
                ));
            }
            ManagementRole {
                name: name.clone(),
                builtin: false,
                parent: Some(parent.name.clone()),
                unscoped: false,
                ..parent.clone()
            }
        }
        (None, true) => {
            let none = crate::rbac::model::RecipientScope::None;
            let no_config = crate::rbac::model::ConfigScope::None;
            ManagementRole {
                name: name.clone(),
                role_type: "UnScoped".into(),
                builtin: false,
                parent: None,
                unscoped: true,
                description: String::new(),
                scopes: crate::rbac::model::ImplicitScopes {
                    recipient_read: none,
                    recipient_write: none,
                    config_read: no_config,
                    config_write: no_config,
                },
                entries: Default::default(),
            }
        }
    };
    let created = ManagementRole {
        description: args.text("Description").unwrap_or_default().to_owned(),
        ..created
    };
    let records = vec![role_record(&created)];
    let mut next = ctx.org.clone();
    next.rbac_mut()
        .roles
        .insert(name.to_ascii_lowercase(), created);
    Ok(changed(next, &name, records))
}

/// `Get-ManagementRole`, by identity (wildcards allowed), `-RoleType` or
/// `-Cmdlet` (roles with an entry for it).
pub fn get_management_role(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let identity = args.text("Identity");
    let role_type = args.text("RoleType");
    let cmdlet = args.text("Cmdlet");
    let parameters = args.list("CmdletParameters").unwrap_or_default();
    // The role's entries the filters look at: the one for `-Cmdlet`, or all.
    let has_entry = |r: &ManagementRole| match cmdlet {
        Some(c) => r
            .entry(c)
            .is_some_and(|e| parameters.iter().all(|p| e.grants(p))),
        None => r
            .entries
            .values()
            .any(|e| parameters.iter().all(|p| e.grants(p))),
    };
    // `-GetChildren`: the roles derived directly from the `-Identity` roles.
    let parents: Option<Vec<&str>> = if args.switch("GetChildren") {
        let identity = identity.ok_or_else(|| {
            CmdletError::Conflict(
                "-GetChildren needs -Identity: the role whose children to list".into(),
            )
        })?;
        let parents: Vec<&str> = ctx
            .org
            .rbac
            .roles
            .values()
            .filter(|r| wildcard_match(identity, &r.name))
            .map(|r| r.name.as_str())
            .collect();
        if parents.is_empty() {
            return Err(not_found(identity));
        }
        Some(parents)
    } else {
        None
    };
    let named = |r: &ManagementRole| match &parents {
        Some(parents) => r
            .parent
            .as_deref()
            .is_some_and(|p| parents.iter().any(|q| q.eq_ignore_ascii_case(p))),
        None => identity.is_none_or(|i| wildcard_match(i, &r.name)),
    };
    let records: Vec<_> = ctx
        .org
        .rbac
        .roles
        .values()
        .filter(|r| named(r))
        .filter(|r| role_type.is_none_or(|t| r.role_type.eq_ignore_ascii_case(t)))
        .filter(|r| (cmdlet.is_none() && parameters.is_empty()) || has_entry(r))
        .map(role_record)
        .collect();
    if let (Some(identity), true, None) = (identity, records.is_empty(), &parents) {
        if !identity.contains('*') {
            return Err(not_found(identity));
        }
    }
    Ok(listed(records))
}

/// `Remove-ManagementRole`: never a built-in role or one with assignments;
/// with children only with `-Recurse` (R-ROLE-2).
pub fn remove_management_role(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let target = role(ctx, args.required("Identity", ctx.cmdlet)?)?;
    if target.builtin {
        return Err(CmdletError::Refused(format!(
            "`{}` is a built-in role and can't be removed (R-ROLE-2)",
            target.name
        )));
    }
    let rbac = &ctx.org.rbac;
    let mut doomed = vec![target.name.clone()];
    let mut i = 0;
    while i < doomed.len() {
        let parent = doomed[i].clone();
        for child in rbac.roles.values().filter(|r| {
            r.parent
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(&parent))
        }) {
            if !args.switch("Recurse") {
                return Err(CmdletError::Refused(format!(
                    "`{}` has child role `{}`; remove the children first or use -Recurse (R-ROLE-2)",
                    target.name, child.name
                )));
            }
            if !doomed.contains(&child.name) {
                doomed.push(child.name.clone());
            }
        }
        i += 1;
    }
    for name in &doomed {
        if let Some(a) = rbac
            .assignments
            .values()
            .find(|a| a.role.eq_ignore_ascii_case(name))
        {
            return Err(CmdletError::Refused(format!(
                "`{name}` is assigned by `{}`; remove its assignments first (R-ROLE-2)",
                a.name
            )));
        }
    }
    let mut next = ctx.org.clone();
    for name in &doomed {
        next.rbac_mut().roles.remove(&name.to_ascii_lowercase());
    }
    Ok(changed(
        next,
        &target.name,
        doomed
            .iter()
            .map(|n| record([("Name", n.clone()), ("Removed", "True".into())]))
            .collect(),
    ))
}

/// `Role\Cmdlet` → (role, cmdlet).
fn split_entry(identity: &str) -> Result<(&str, &str), CmdletError> {
    identity
        .split_once('\\')
        .filter(|(r, c)| !r.is_empty() && !c.is_empty())
        .ok_or_else(|| {
            invalid(
                "Identity",
                format!("`{identity}` isn't of the form `Role\\Cmdlet`"),
            )
        })
}

/// The custom role an entry change applies to.
fn custom_role<'a>(ctx: &'a Context<'_>, name: &str) -> Result<&'a ManagementRole, CmdletError> {
    let r = role(ctx, name)?;
    if r.builtin {
        return Err(CmdletError::Refused(format!(
            "`{}` is a built-in role; its entries can't be changed (R-ROLE-2). Create a child role with New-ManagementRole -Parent",
            r.name
        )));
    }
    Ok(r)
}

fn parent_entry<'a>(
    ctx: &'a Context<'_>,
    r: &ManagementRole,
    cmdlet: &str,
) -> Result<&'a RoleEntry, CmdletError> {
    let parent = r.parent.as_deref().and_then(|p| ctx.org.rbac.role(p));
    parent.and_then(|p| p.entry(cmdlet)).ok_or_else(|| {
        CmdletError::Refused(format!(
            "`{cmdlet}` isn't an entry of `{}`, the parent of `{}`; a child role can only hold what its parent has (R-ROLE-2)",
            r.parent.as_deref().unwrap_or("(none)"),
            r.name
        ))
    })
}

fn check_parameters(
    parent: &RoleEntry,
    wanted: &BTreeSet<String>,
    role: &str,
) -> Result<(), CmdletError> {
    if let Some(extra) = wanted.iter().find(|p| !parent.grants(p)) {
        return Err(CmdletError::Refused(format!(
            "`-{extra}` isn't granted by the parent's entry `{parent}`; `{role}` can't add it (R-ROLE-2)"
        )));
    }
    Ok(())
}

fn canonical_parameters(parent: &RoleEntry, given: &[String]) -> BTreeSet<String> {
    given
        .iter()
        .map(|g| {
            parent
                .parameters
                .iter()
                .find(|p| p.eq_ignore_ascii_case(g))
                .cloned()
                .unwrap_or_else(|| g.clone())
        })
        .collect()
}

fn with_entry(
    ctx: &Context<'_>,
    r: &ManagementRole,
    entry: Option<RoleEntry>,
    cmdlet: &str,
) -> Outcome {
    let mut updated = r.clone();
    let key = cmdlet.to_ascii_lowercase();
    let records = match entry {
        Some(e) => {
            let rec = vec![record([("Role", r.name.clone()), ("Entry", e.to_string())])];
            updated.entries.insert(key, e);
            rec
        }
        None => {
            updated.entries.remove(&key);
            Vec::new()
        }
    };
    let mut next = ctx.org.clone();
    next.rbac_mut()
        .roles
        .insert(r.name.to_ascii_lowercase(), updated);
    changed(next, &format!("{}\\{cmdlet}", r.name), records)
}

/// `Add-ManagementRoleEntry "Role\Cmdlet" [-Parameters …]`: the immediate
/// parent must have the entry and every parameter (R-ROLE-2). On an unscoped
/// top-level role (`-UnScopedTopLevel`), entries name scripts or non-Exchange
/// cmdlets only (R-ROLE-3).
pub fn add_entry(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let (role_name, cmdlet) = split_entry(args.required("Identity", ctx.cmdlet)?)?;
    let r = custom_role(ctx, role_name)?;
    if r.entry(cmdlet).is_some() {
        return Err(CmdletError::Refused(format!(
            "`{}` already has an entry for `{cmdlet}`; use Set-ManagementRoleEntry -AddParameter",
            r.name
        )));
    }
    let given = args.list("Parameters").unwrap_or_default();
    let entry = if r.unscoped {
        if !args.switch("UnScopedTopLevel") {
            return Err(CmdletError::Conflict(format!(
                "`{}` is an unscoped top-level role: add entries with -UnScopedTopLevel (R-ROLE-3)",
                r.name
            )));
        }
        if super::registry::find(cmdlet).is_some() {
            return Err(CmdletError::Refused(format!(
                "`{cmdlet}` is an Exchange cmdlet; unscoped top-level roles hold only scripts and non-Exchange cmdlets (R-ROLE-3)"
            )));
        }
        RoleEntry {
            cmdlet: cmdlet.to_owned(),
            parameters: given.iter().cloned().collect(),
        }
    } else {
        let parent = parent_entry(ctx, r, cmdlet)?;
        let parameters = if given.is_empty() {
            parent.parameters.clone()
        } else {
            canonical_parameters(parent, given)
        };
        check_parameters(parent, &parameters, &r.name)?;
        RoleEntry {
            cmdlet: parent.cmdlet.clone(),
            parameters,
        }
    };
    Ok(with_entry(ctx, r, Some(entry.clone()), &entry.cmdlet))
}

/// The custom role and its entry that `-Identity` (`Role\Cmdlet`) names.
fn existing_entry<'a>(
    ctx: &'a Context<'_>,
    args: &Args,
) -> Result<(&'a ManagementRole, &'a RoleEntry), CmdletError> {
    let (role_name, cmdlet) = split_entry(args.required("Identity", ctx.cmdlet)?)?;
    let r = custom_role(ctx, role_name)?;
    let entry = r
        .entry(cmdlet)
        .ok_or_else(|| not_found(&format!("{}\\{cmdlet}", r.name)))?;
    Ok((r, entry))
}

/// `Set-ManagementRoleEntry "Role\Cmdlet" -Parameters … [-AddParameter |
/// -RemoveParameter]`: replaces, adds or removes parameters of an entry of a
/// custom role; added ones must be the parent's (R-ROLE-2).
pub fn set_entry(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let (r, current) = existing_entry(ctx, args)?;
    let given = args.list("Parameters").unwrap_or_default();
    let (add, remove) = (args.switch("AddParameter"), args.switch("RemoveParameter"));
    if add && remove {
        return Err(CmdletError::Conflict(
            "-AddParameter and -RemoveParameter can't be combined".into(),
        ));
    }
    let mut parameters = current.parameters.clone();
    if remove {
        parameters.retain(|p| !given.iter().any(|g| g.eq_ignore_ascii_case(p)));
    } else {
        let wanted = if r.unscoped {
            given.iter().cloned().collect()
        } else {
            let parent = parent_entry(ctx, r, &current.cmdlet)?;
            let wanted = canonical_parameters(parent, given);
            check_parameters(parent, &wanted, &r.name)?;
            wanted
        };
        if add {
            parameters.extend(wanted);
        } else {
            parameters = wanted;
        }
    }
    let entry = RoleEntry {
        cmdlet: current.cmdlet.clone(),
        parameters,
    };
    Ok(with_entry(ctx, r, Some(entry), &current.cmdlet))
}

/// `Remove-ManagementRoleEntry "Role\Cmdlet"` (custom roles only).
pub fn remove_entry(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let (r, current) = existing_entry(ctx, args)?;
    let cmdlet = current.cmdlet.clone();
    Ok(with_entry(ctx, r, None, &cmdlet))
}

/// `Get-ManagementRoleEntry "Role\Cmdlet"`, wildcards on either side
/// (`"Mail Recipients\*"`, `"*\Set-Mailbox"`), optionally only entries with
/// every one of `-Parameters`.
pub fn get_entry(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let (role_pattern, cmdlet_pattern) = split_entry(args.required("Identity", ctx.cmdlet)?)?;
    let wanted = args.list("Parameters").unwrap_or_default();
    let mut records = Vec::new();
    for r in ctx
        .org
        .rbac
        .roles
        .values()
        .filter(|r| wildcard_match(role_pattern, &r.name))
    {
        for e in r
            .entries
            .values()
            .filter(|e| wildcard_match(cmdlet_pattern, &e.cmdlet))
        {
            if wanted.iter().all(|w| e.grants(w)) {
                records.push(record([
                    ("Name", e.cmdlet.clone()),
                    ("Role", r.name.clone()),
                    (
                        "Parameters",
                        e.parameters.iter().cloned().collect::<Vec<_>>().join(", "),
                    ),
                ]));
            }
        }
    }
    Ok(listed(records))
}
