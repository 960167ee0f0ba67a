//! New-, Get-, Set- and Remove-ManagementScope (R-SCOPE-1..7). Filters are
//! parsed when given, so a bad filter is refused with the column it broke at.

use super::parameters::{
    p, req,
    Kind::{Bool, List, Switch, Text},
    IDENTITY,
};
use super::registry::{
    Cmdlet,
    ConfirmImpact::{High, Medium},
    Handler,
};
use super::{changed, invalid, listed, not_found, record, Args, CmdletError, Context, Outcome};
use super::{Field, Record};
use crate::rbac::scope::{parse_config_filter, parse_recipient_filter, ManagementScope, ScopeRule};
use crate::rbac::{Access, Target};

/// The management scope cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-ManagementScope",
        "Creates a regular or exclusive management scope.",
        Handler::Sync(new_scope),
        SCOPE_VIEW,
    )
    .with(&[
        req("Name", Text),
        p("RecipientRoot", Text),
        p("RecipientRestrictionFilter", Text),
        p("ServerList", List),
        p("ServerRestrictionFilter", Text),
        p("DatabaseList", List),
        p("DatabaseRestrictionFilter", Text),
        p("Exclusive", Switch),
        p("Force", Switch),
    ])
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-ManagementScope",
        "Lists management scopes.",
        Handler::Sync(get_scope),
        SCOPE_VIEW,
    )
    .with(&[
        p("Identity", Text),
        p("Exclusive", Bool),
        p("Orphan", Switch),
    ])
    .at("Identity"),
    Cmdlet::new(
        "Set-ManagementScope",
        "Changes a management scope.",
        Handler::Sync(set_scope),
        SCOPE_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("Name", Text),
        p("RecipientRoot", Text),
        p("RecipientRestrictionFilter", Text),
        p("ServerList", List),
        p("ServerRestrictionFilter", Text),
        p("DatabaseList", List),
        p("DatabaseRestrictionFilter", Text),
    ])
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Remove-ManagementScope",
        "Removes a management scope no assignment uses.",
        Handler::Sync(remove_scope),
        SCOPE_VIEW,
    )
    .with(IDENTITY)
    .at("Identity")
    .changes(High),
];

/// EMS shows Name, ScopeRestrictionType, Exclusive, RecipientRoot,
/// RecipientFilter, ServerFilter.
const SCOPE_VIEW: &[&str] = &[
    "Name",
    "ScopeRestrictionType",
    "Exclusive",
    "RecipientRoot",
    "RecipientFilter",
    "ServerFilter",
];

const RULES: [&str; 5] = [
    "RecipientRestrictionFilter",
    "ServerList",
    "ServerRestrictionFilter",
    "DatabaseList",
    "DatabaseRestrictionFilter",
];

/// The scope rule given on the command line, if any, changing `current`
/// (the scope's rule, for `Set-ManagementScope`): a recipient scope keeps
/// its root or filter when only the other is given. `-RecipientRoot` needs
/// a recipient filter, given or kept, as Exchange requires.
fn rule_from(
    ctx: &Context<'_>,
    args: &Args,
    current: Option<&ScopeRule>,
) -> Result<Option<ScopeRule>, CmdletError> {
    let given: Vec<&str> = RULES.into_iter().filter(|r| args.has(r)).collect();
    let (kept_root, kept_filter) = match current {
        Some(ScopeRule::Recipients { root, filter }) => (root.clone(), filter.clone()),
        _ => (None, None),
    };
    let root = args
        .text("RecipientRoot")
        .map(|r| ctx.org.ou(r))
        .transpose()?;
    if given.len() > 1
        || (root.is_some() && given.iter().any(|g| *g != "RecipientRestrictionFilter"))
    {
        return Err(CmdletError::Conflict(format!(
            "a scope has one kind of rule: {} can't be combined",
            given
                .iter()
                .map(|g| format!("-{g}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let text = |p: &str| args.text(p).unwrap_or_default().to_owned();
    let list = |p: &str| args.list(p).unwrap_or_default().to_vec();
    let canonical =
        |p: &str, parsed: Result<crate::rbac::opath::Filter, crate::rbac::opath::OpathError>| {
            parsed
                .map(|f| f.to_string())
                .map_err(|e| invalid(p, format!("isn't a valid OPATH filter: {e}")))
        };
    Ok(match given.first().copied() {
        None if root.is_some() => match kept_filter {
            Some(filter) => Some(ScopeRule::Recipients {
                root,
                filter: Some(filter),
            }),
            None => {
                return Err(CmdletError::Conflict(
                    "-RecipientRoot needs -RecipientRestrictionFilter: a recipient scope is a filter, applied under the root".into(),
                ))
            }
        },
        None => None,
        Some(p @ "RecipientRestrictionFilter") => Some(ScopeRule::Recipients {
            root: root.or(kept_root),
            filter: Some(canonical(p, parse_recipient_filter(&text(p)))?),
        }),
        Some(p @ "ServerRestrictionFilter") => Some(ScopeRule::ServerFilter(canonical(
            p,
            parse_config_filter(&text(p)),
        )?)),
        Some(p @ "DatabaseRestrictionFilter") => Some(ScopeRule::DatabaseFilter(canonical(
            p,
            parse_config_filter(&text(p)),
        )?)),
        Some(p @ "ServerList") => Some(ScopeRule::ServerList(list(p))),
        Some(p) => Some(ScopeRule::DatabaseList(list(p))),
    })
}

/// A server or database list as the filter it stands for.
fn list_filter(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("Name -eq '{}'", n.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" -or ")
}

fn scope_record(ctx: &Context<'_>, s: &ManagementScope) -> Record {
    let (mut root, mut recipients, mut servers, mut databases) =
        (String::new(), String::new(), String::new(), String::new());
    match &s.rule {
        ScopeRule::Recipients { root: r, filter } => {
            root = r.as_ref().map(ToString::to_string).unwrap_or_default();
            recipients = filter.clone().unwrap_or_default();
        }
        ScopeRule::ServerFilter(f) => servers = f.clone(),
        ScopeRule::DatabaseFilter(f) => databases = f.clone(),
        ScopeRule::ServerList(l) => servers = list_filter(l),
        ScopeRule::DatabaseList(l) => databases = list_filter(l),
    }
    let used = ctx
        .org
        .rbac
        .assignments
        .values()
        .filter(|a| a.scope_names().any(|n| n.eq_ignore_ascii_case(&s.name)))
        .count();
    record([
        ("Name", s.name.as_str().into()),
        (
            "ScopeRestrictionType",
            s.restriction_type().to_string().into(),
        ),
        ("Exclusive", s.exclusive.into()),
        ("RecipientRoot", root.into()),
        ("RecipientFilter", recipients.into()),
        ("ServerFilter", servers.into()),
        ("DatabaseFilter", databases.into()),
        ("Assignments", Field::from(used)),
    ])
}

/// `New-ManagementScope`. An exclusive scope protects what it matches from the
/// moment it exists (R-SCOPE-3), so creating one warns.
pub fn new_scope(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let name = super::check_name("Name", args.required("Name", ctx.cmdlet)?)?;
    if ctx.org.rbac.scope(&name).is_some() {
        return Err(crate::org::OrgError::Exists(name).into());
    }
    let rule = rule_from(ctx, args, None)?.ok_or_else(|| {
        CmdletError::Conflict(
            "a scope needs -RecipientRoot, -RecipientRestrictionFilter, -ServerList, -ServerRestrictionFilter, -DatabaseList or -DatabaseRestrictionFilter".into(),
        )
    })?;
    let scope = ManagementScope {
        name: name.clone(),
        rule,
        exclusive: args.switch("Exclusive"),
    };
    let mut warnings = Vec::new();
    if scope.exclusive {
        warnings.push(format!(
            "`{name}` is exclusive: from now on, objects it matches can be changed only through assignments that use it (R-SCOPE-3)"
        ));
    }
    let records = vec![scope_record(ctx, &scope)];
    let mut next = ctx.org.clone();
    next.rbac_mut()
        .scopes
        .insert(name.to_ascii_lowercase(), scope);
    Ok(Outcome {
        warnings,
        ..changed(next, &name, records)
    })
}

/// `Get-ManagementScope`, with `-Exclusive` and `-Orphan` (unused scopes).
pub fn get_scope(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let identity = args.text("Identity");
    let exclusive = args.boolean("Exclusive");
    let orphan = args.switch("Orphan");
    let scopes: Vec<&ManagementScope> = match identity {
        Some(i) => vec![ctx.org.rbac.scope(i).ok_or_else(|| not_found(i))?],
        None => ctx.org.rbac.scopes.values().collect(),
    };
    Ok(listed(
        scopes
            .into_iter()
            .filter(|s| exclusive.is_none_or(|e| s.exclusive == e))
            .map(|s| scope_record(ctx, s))
            .filter(|r| !orphan || super::shown(r, "Assignments") == Some("0"))
            .collect(),
    ))
}

/// The scope `-Identity` names, once the caller may change scopes.
fn existing<'a>(ctx: &'a Context<'_>, args: &Args) -> Result<&'a ManagementScope, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let identity = args.required("Identity", ctx.cmdlet)?;
    ctx.org
        .rbac
        .scope(identity)
        .ok_or_else(|| not_found(identity))
}

/// `Set-ManagementScope`: a new rule or name; every assignment that uses the
/// scope follows it (R-SCOPE-7). The kind of a scope can't change while
/// assignments use it.
pub fn set_scope(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let current = existing(ctx, args)?;
    let mut updated = current.clone();
    let users: Vec<String> = ctx
        .org
        .rbac
        .assignments
        .values()
        .filter(|a| {
            a.scope_names()
                .any(|n| n.eq_ignore_ascii_case(&current.name))
        })
        .map(|a| a.name.clone())
        .collect();
    if let Some(rule) = rule_from(ctx, args, Some(&current.rule))? {
        updated.rule = rule;
        if updated.restriction_type() != current.restriction_type() && !users.is_empty() {
            return Err(CmdletError::Refused(format!(
                "`{}` is a {} used by {}; its kind can't change",
                current.name,
                current.restriction_type(),
                users.join(", ")
            )));
        }
    }
    let mut next = ctx.org.clone();
    if let Some(new_name) = args.text("Name") {
        let new_name = super::check_name("Name", new_name)?;
        if !new_name.eq_ignore_ascii_case(&current.name) && ctx.org.rbac.scope(&new_name).is_some()
        {
            return Err(crate::org::OrgError::Exists(new_name).into());
        }
        use crate::rbac::model::{ConfigWriteScope, RecipientWriteScope};
        for a in next.rbac_mut().assignments.values_mut() {
            match &mut a.recipient_write_scope {
                RecipientWriteScope::Custom(s) | RecipientWriteScope::Exclusive(s)
                    if s.eq_ignore_ascii_case(&current.name) =>
                {
                    *s = new_name.clone()
                }
                _ => {}
            }
            match &mut a.config_write_scope {
                ConfigWriteScope::Custom(s) | ConfigWriteScope::Exclusive(s)
                    if s.eq_ignore_ascii_case(&current.name) =>
                {
                    *s = new_name.clone()
                }
                _ => {}
            }
        }
        updated.name = new_name;
    }
    next.rbac_mut()
        .scopes
        .remove(&current.name.to_ascii_lowercase());
    let records = vec![scope_record(ctx, &updated)];
    next.rbac_mut()
        .scopes
        .insert(updated.name.to_ascii_lowercase(), updated);
    Ok(changed(next, &current.name, records))
}

/// `Remove-ManagementScope`: refused while an assignment uses it (R-SCOPE-7).
pub fn remove_scope(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let current = existing(ctx, args)?;
    if let Some(a) = ctx.org.rbac.assignments.values().find(|a| {
        a.scope_names()
            .any(|n| n.eq_ignore_ascii_case(&current.name))
    }) {
        return Err(CmdletError::Refused(format!(
            "`{}` is used by assignment `{}`; a scope can't be removed while an assignment uses it (R-SCOPE-7)",
            current.name, a.name
        )));
    }
    let mut next = ctx.org.clone();
    next.rbac_mut()
        .scopes
        .remove(&current.name.to_ascii_lowercase());
    Ok(changed(next, &current.name, Vec::new()))
}
