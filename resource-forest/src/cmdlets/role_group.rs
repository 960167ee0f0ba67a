//! New-, Get-, Remove-RoleGroup and Add-, Remove-, Get-RoleGroupMember, with
//! linked role groups (R-LRG-1..7) and ManagedBy (R-RG-5).

use std::collections::BTreeSet;

use crossforest_shared::Sid;

use super::assignments::scopes_from;
use super::parameters::{
    p, req,
    Kind::{List, Switch, Text},
    Param, IDENTITY,
};
use super::registry::{
    example, Cmdlet,
    ConfirmImpact::{High, Medium},
    Example, Handler,
};
use super::Record;
use super::{changed, record, Args, CmdletError, Context, Outcome};
use crate::rbac::config::new_role_group_assignment_name;
use crate::rbac::model::{
    Assignee, Delegation, LinkedGroup, RoleAssignment, RoleGroup, RoleGroupKind,
};
use crate::rbac::{Access, Target};
use crate::trust::linked::resolve_foreign_group;
use crate::trust::Trusts;

const GET_ROLE_GROUP_EXAMPLES: &[Example] = &[
    example(
        "Get-RoleGroup",
        "Lists every role group with its roles, members and links.",
    ),
    example(
        "Get-RoleGroup \"Recipient Management\" | Format-List",
        "Shows every property of the Recipient Management role group.",
    ),
];

const ADD_ROLE_GROUP_MEMBER_EXAMPLES: &[Example] = &[example(
    "Add-RoleGroupMember \"Recipient Management\" -Member dana",
    "Makes dana a member of Recipient Management.",
)];

/// The role group cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-RoleGroup",
        "Creates a role group, linked to a foreign group or not, with its roles.",
        Handler::Async(|ctx, args| Box::pin(new_role_group(ctx, args))),
        ROLE_GROUP_VIEW,
    )
    .with(&[
        req("Name", Text),
        p("Description", Text),
        p("DisplayName", Text),
        p("Roles", List),
        p("Members", List),
        p("ManagedBy", List),
        p("LinkedForeignGroup", Text),
        p("LinkedDomainController", Text),
        p("LinkedCredential", Text),
        p("RecipientOrganizationalUnitScope", Text),
        p("CustomRecipientWriteScope", Text),
        p("CustomConfigWriteScope", Text),
    ])
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-RoleGroup",
        "Lists role groups with their roles, members and links.",
        Handler::Sync(get_role_group),
        ROLE_GROUP_VIEW,
    )
    .examples(GET_ROLE_GROUP_EXAMPLES)
    .with(&[
        p("Identity", Text),
        p("Filter", Text),
        p("ResultSize", Text),
    ])
    .at("Identity"),
    Cmdlet::new(
        "Set-RoleGroup",
        "Changes a role group: name, managers, linked foreign group.",
        Handler::Async(|ctx, args| Box::pin(set_role_group(ctx, args))),
        ROLE_GROUP_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("Name", Text),
        p("Description", Text),
        p("DisplayName", Text),
        p("ManagedBy", List),
        p("LinkedForeignGroup", Text),
        p("LinkedDomainController", Text),
        p("LinkedCredential", Text),
        p("BypassSecurityGroupManagerCheck", Switch),
    ])
    .at("Identity")
    .changes(Medium)
    .for_managers(&[
        "Identity",
        "Name",
        "Description",
        "DisplayName",
        "ManagedBy",
    ]),
    Cmdlet::new(
        "Remove-RoleGroup",
        "Removes a role group and its role assignments.",
        Handler::Sync(remove_role_group),
        ROLE_GROUP_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("BypassSecurityGroupManagerCheck", Switch),
    ])
    .at("Identity")
    .changes(High),
    Cmdlet::new(
        "Add-RoleGroupMember",
        "Adds a member to a role group.",
        Handler::Sync(|ctx, args| change_member(ctx, args, true)),
        MEMBER_VIEW,
    )
    .examples(ADD_ROLE_GROUP_MEMBER_EXAMPLES)
    .with(MEMBER)
    .at("Identity")
    .changes(Medium)
    .for_managers(&["Identity", "Member"]),
    Cmdlet::new(
        "Remove-RoleGroupMember",
        "Removes a member from a role group.",
        Handler::Sync(|ctx, args| change_member(ctx, args, false)),
        MEMBER_VIEW,
    )
    .with(MEMBER)
    .at("Identity")
    .changes(High)
    .for_managers(&["Identity", "Member"]),
    Cmdlet::new(
        "Update-RoleGroupMember",
        "Replaces every member of a role group.",
        Handler::Sync(update_members),
        MEMBER_VIEW,
    )
    .with(&[
        req("Identity", Text),
        req("Members", List),
        p("BypassSecurityGroupManagerCheck", Switch),
    ])
    .at("Identity")
    .changes(High)
    .for_managers(&["Identity", "Members"]),
    Cmdlet::new(
        "Get-RoleGroupMember",
        "Lists the members of a role group.",
        Handler::Sync(get_role_group_member),
        MEMBER_VIEW,
    )
    .with(IDENTITY)
    .at("Identity"),
];

/// EMS shows Name, AssignedRoles, RoleAssignments, ManagedBy.
const ROLE_GROUP_VIEW: &[&str] = &["Name", "Roles", "RoleAssignments", "ManagedBy"];
const MEMBER_VIEW: &[&str] = &["Name", "RecipientType"];

const MEMBER: &[Param] = &[
    req("Identity", Text),
    req("Member", Text),
    p("BypassSecurityGroupManagerCheck", Switch),
];

const LINKED: [&str; 3] = [
    "LinkedForeignGroup",
    "LinkedDomainController",
    "LinkedCredential",
];

/// The directory's tools that create and remove role groups and change
/// their membership under Active Directory split permissions.
pub(crate) const DIRECTORY_ROLE_GROUP_TOOLS: &str =
    "Active Directory Users and Computers, New-ADGroup, Add-ADGroupMember in the Microsoft Exchange Security Groups OU";

/// Under Active Directory split permissions, R-SPLIT-3 takes role groups out
/// of the Exchange tools as universal security groups: creating or removing
/// one, and changing a standard role group's membership (New-RoleGroup,
/// New-RoleGroup -Members, Remove-RoleGroup, Add-/Remove-/Update-RoleGroupMember)
/// are done with the directory's tools. "Linked role groups, whose membership
/// lives in the account forest, are unaffected": we read this as the whole
/// linked role group — creating (`-LinkedForeignGroup`), re-pointing and
/// removing it stay in the Exchange tools. The rule exempts linked groups as
/// such, not only their membership (which R-LRG-3 already keeps out of the
/// Exchange tools, so an exemption of membership alone would say nothing),
/// and what AD split guards — who becomes a security principal with access —
/// is decided by the account forest's administrators for a linked group. It
/// is also the only way left to delegate to the account forests' admins
/// under AD split. Called after the caller is authorised and before any
/// change is computed.
fn refuse_standard_under_ad_split(
    ctx: &Context<'_>,
    linked: bool,
    what: &str,
) -> Result<(), CmdletError> {
    if linked {
        return Ok(());
    }
    ctx.refuse_group_write(what, DIRECTORY_ROLE_GROUP_TOOLS)
}

/// The role group `identity` names: by name, SID, or as `Get-RoleGroup`
/// shows its Identity (`contoso.com/Microsoft Exchange Security Groups/x`)
/// or DistinguishedName (`CN=x,OU=…`), so a pipeline can pass it on.
fn role_group<'a>(ctx: &'a Context<'_>, identity: &str) -> Result<&'a RoleGroup, CmdletError> {
    let canonical = format!("{}/{SECURITY_GROUPS}/", ctx.org.forest);
    let name = match identity.get(..canonical.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(&canonical) => &identity[canonical.len()..],
        _ => identity,
    };
    let by_dn = || {
        ctx.org
            .rbac
            .role_groups
            .values()
            .find(|g| group_dn(ctx.org, g).eq_ignore_ascii_case(identity))
    };
    ctx.org
        .rbac
        .role_group(name)
        .or_else(|| identity.contains('=').then(by_dn).flatten())
        .ok_or_else(|| crate::org::OrgError::NotFound(identity.to_owned()).into())
}

fn names(ctx: &Context<'_>, sids: &BTreeSet<Sid>) -> String {
    sorted_names(ctx.org, sids)
}

/// Whether any of the three `-Linked*` parameters is given.
pub fn has_link_parameters(args: &Args) -> bool {
    LINKED.iter().any(|p| args.has(p))
}

/// Resolves the three `-Linked*` parameters of New-/Set-RoleGroup to the
/// foreign group over the network (R-LRG-2, R-LRG-7); `None` when none is
/// given. The request path calls it once the caller may run the cmdlet with
/// these parameters and before it takes the writer lock, so that a slow
/// directory server holds up no other change; the cmdlet then finds the
/// group in [`Context::linked`].
pub async fn resolve_link(
    trusts: &Trusts,
    args: &Args,
) -> Result<Option<LinkedGroup>, CmdletError> {
    if !has_link_parameters(args) {
        return Ok(None);
    }
    if args.has("Members") {
        return Err(CmdletError::Conflict(
            "-Members cannot be combined with -LinkedForeignGroup, -LinkedDomainController or -LinkedCredential: a linked role group has no members of its own (R-LRG-7)".into(),
        ));
    }
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
    if trusts.own_forest().answers_to(domain) {
        return Err(CmdletError::Conflict(format!(
            "`{group}` is in this forest; a linked role group must link to a group in another forest (R-LRG-7)"
        )));
    }
    let trust = trusts.by_domain(domain).ok_or_else(|| {
        CmdletError::Refused(format!(
            "`{domain}` is not a forest this organization trusts (R-LRG-5)"
        ))
    })?;
    Ok(Some(
        resolve_foreign_group(trust, group, dc, credential).await?,
    ))
}

/// The foreign group the request path resolved for this cmdlet, with a
/// warning when `name` doesn't mention its forest (R-LRG-6).
fn resolved_link(
    ctx: &Context<'_>,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<LinkedGroup, CmdletError> {
    let link = ctx.linked.cloned().ok_or_else(|| {
        CmdletError::Conflict("-LinkedForeignGroup was not resolved for this request".into())
    })?;
    if !(name.to_ascii_lowercase().contains(link.forest.netbios())) {
        warnings.push(format!(
            "the name `{name}` doesn't mention `{}`; since a SID is the only identity of the foreign group, name linked role groups after their forest (R-LRG-6)",
            link.forest
        ));
    }
    Ok(link)
}

fn sids(ctx: &Context<'_>, names: Option<&[String]>) -> Result<BTreeSet<Sid>, CmdletError> {
    names
        .unwrap_or_default()
        .iter()
        .map(|m| ctx.org.principal_sid(m).map_err(Into::into))
        .collect()
}

/// `New-RoleGroup`, standard or linked. `-Roles` creates one regular assignment
/// per role, named `Role_Group`, each with the scope given (R-RG-6); the caller
/// needs a delegating assignment of every role (R-ASG-1).
pub async fn new_role_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let name = super::check_name("Name", args.required("Name", ctx.cmdlet)?)?;
    if ctx.org.name_taken(&name, "", "").is_some() {
        return Err(crate::org::OrgError::Exists(name).into());
    }
    let linked_given = LINKED.iter().any(|p| args.has(p));
    refuse_standard_under_ad_split(ctx, linked_given, "creating the role group")?;
    let (recipient_scope, config_scope) = scopes_from(ctx, args)?;
    let mut roles = Vec::new();
    for role in args.list("Roles").unwrap_or_default() {
        let role = ctx
            .org
            .rbac
            .role(role)
            .ok_or_else(|| super::not_found(role))?;
        ctx.require_delegating(&role.name)?;
        if role.unscoped && (recipient_scope.is_some() || config_scope.is_some()) {
            return Err(CmdletError::Conflict(format!(
                "`{}` is an unscoped top-level role and can't be scoped (R-ROLE-3)",
                role.name
            )));
        }
        roles.push(role.name.clone());
    }
    let mut warnings = Vec::new();
    let kind = if linked_given {
        RoleGroupKind::Linked(resolved_link(ctx, &name, &mut warnings)?)
    } else {
        RoleGroupKind::Standard {
            members: sids(ctx, args.list("Members"))?,
        }
    };
    let managed_by = sids(ctx, args.list("ManagedBy"))?;
    let mut next = ctx.org.clone();
    for role in roles {
        let mut assignment = RoleAssignment::new(
            new_role_group_assignment_name(&role, &name, Delegation::Regular),
            role,
            Assignee::RoleGroup(name.clone()),
            Delegation::Regular,
        );
        if let Some(scope) = &recipient_scope {
            assignment.recipient_write_scope = scope.clone();
        }
        if let Some(scope) = &config_scope {
            assignment.config_write_scope = scope.clone();
        }
        next.rbac_mut().insert_assignment(assignment);
    }
    let group = RoleGroup {
        sid: next.allocate_sid()?,
        name: name.clone(),
        description: args.text("Description").unwrap_or_default().to_owned(),
        display_name: display_name(args)?.unwrap_or(&name).to_owned(),
        kind,
        managed_by,
        builtin: false,
    };
    let records = vec![group_record(&next, &group)];
    next.rbac_mut()
        .role_groups
        .insert(name.to_ascii_lowercase(), group);
    Ok(Outcome {
        warnings,
        ..changed(next, &name, records)
    })
}

/// `-DisplayName`: 1 to 256 characters.
fn display_name(args: &Args) -> Result<Option<&str>, CmdletError> {
    match args.text("DisplayName").map(str::trim) {
        Some(d) if d.is_empty() || d.chars().count() > 256 => {
            Err(super::invalid("DisplayName", "must be 1 to 256 characters"))
        }
        other => Ok(other),
    }
}

/// Names of `sids`, sorted as Exchange lists them.
fn sorted_names(org: &crate::org::Organization, sids: &BTreeSet<Sid>) -> String {
    let mut names: Vec<String> = sids.iter().map(|s| org.sid_name(s)).collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.join(", ")
}

fn group_record(org: &crate::org::Organization, g: &RoleGroup) -> Record {
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
        RoleGroupKind::Standard { members } => {
            (sorted_names(org, members), String::new(), String::new())
        }
        RoleGroupKind::Linked(link) => (String::new(), link.sid.to_string(), link.name.clone()),
    };
    let ou = format!("{}/{SECURITY_GROUPS}", org.forest);
    record([
        ("Name", g.name.clone()),
        ("Identity", format!("{ou}/{}", g.name)),
        ("DisplayName", g.display_name().to_owned()),
        ("DistinguishedName", group_dn(org, g)),
        ("OrganizationalUnit", ou),
        ("RoleGroupType", g.role_group_type().to_owned()),
        ("LinkedGroup", linked_group),
        ("LinkedForeignGroup", linked_forest),
        ("Roles", roles.join(", ")),
        ("RoleAssignments", assignments.join(", ")),
        ("Members", members),
        ("ManagedBy", sorted_names(org, &g.managed_by)),
        ("Description", g.description.clone()),
        ("SID", g.sid.to_string()),
    ])
}

/// The OU role groups are created in (R-RG-6).
const SECURITY_GROUPS: &str = "Microsoft Exchange Security Groups";

/// A role group's DN: `CN=<name>,OU=Microsoft Exchange Security Groups,DC=…`.
fn group_dn(org: &crate::org::Organization, g: &RoleGroup) -> String {
    format!("{}/{SECURITY_GROUPS}", org.forest)
        .parse::<crossforest_shared::ou::OrganizationalUnit>()
        .map(|ou| format!("CN={},{}", escape_rdn(&g.name), ou.distinguished_name()))
        .unwrap_or_default()
}

/// A DN attribute value with the characters a DN escapes escaped (names
/// never hold `,`, `\` or `"`: [`super::check_name`]).
fn escape_rdn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let leading = i == 0 && matches!(c, '#' | ' ');
        if leading || matches!(c, '+' | ';' | '<' | '>' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.insert(out.len() - 1, '\\');
    }
    out
}

/// The properties of a role group `-Filter` may name.
const FILTERABLE: &[&str] = &[
    "Name",
    "Identity",
    "DisplayName",
    "DistinguishedName",
    "Description",
    "RoleGroupType",
    "LinkedGroup",
    "LinkedForeignGroup",
    "Roles",
    "RoleAssignments",
    "Members",
    "ManagedBy",
    "SID",
];

/// A record as a filter reads it.
struct Shown<'a>(&'a [(String, super::Field)]);

impl crate::rbac::opath::Properties for Shown<'_> {
    fn property(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.text())
    }
}

/// `Get-RoleGroup [-Identity] [-Filter] [-ResultSize]`: `-Filter` is an OPATH
/// filter over the properties shown (e.g. `DisplayName -like 'Seattle*'`).
pub fn get_role_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let filter = args
        .text("Filter")
        .map(|f| {
            crate::rbac::opath::Filter::parse(f, &|p| {
                FILTERABLE
                    .iter()
                    .copied()
                    .find(|k| k.eq_ignore_ascii_case(p))
            })
        })
        .transpose()
        .map_err(|e| super::invalid("Filter", e.to_string()))?;
    super::result_size(args)?;
    let groups: Vec<&RoleGroup> = match args.text("Identity") {
        Some(identity) => vec![role_group(ctx, identity)?],
        None => ctx.org.rbac.role_groups.values().collect(),
    };
    super::first_results(
        args,
        groups
            .iter()
            .map(|g| group_record(ctx.org, g))
            .filter(|r| filter.as_ref().is_none_or(|f| f.matches(&Shown(r)))),
    )
}

/// The SIDs that make the caller a manager when a ManagedBy lists one
/// (R-RG-5): its own and its security groups', the role groups it is a member
/// of (directly or nested; role groups are security groups too), and the
/// security groups those role groups are nested in.
pub(crate) fn manager_sids(ctx: &Context<'_>) -> BTreeSet<Sid> {
    let mut out: BTreeSet<Sid> = ctx.caller.sids.iter().copied().collect();
    for (name, _) in ctx.permissions.role_groups_of(&ctx.subject()) {
        if let Some(g) = ctx.org.rbac.role_groups.get(&name.to_ascii_lowercase()) {
            out.insert(g.sid);
            out.extend(ctx.org.security_groups_of(&g.sid));
        }
    }
    out
}

/// Whether the caller is among `group`'s managers: listed in its ManagedBy, or
/// a member (direct or nested) of a security group or role group listed
/// there (R-RG-5).
pub(crate) fn manages(ctx: &Context<'_>, group: &RoleGroup) -> bool {
    !group.managed_by.is_empty()
        && manager_sids(ctx)
            .iter()
            .any(|s| group.managed_by.contains(s))
}

/// Who may change a role group or its membership (R-RG-5). With ManagedBy set,
/// its managers may (being a manager grants none of the group's permissions),
/// and members of Organization Management or holders of Role Management may
/// with `-BypassSecurityGroupManagerCheck`. With ManagedBy empty, only
/// Organization Management members or Role Management holders may. `rbac` is
/// the outcome of the role check for the cmdlet and its parameters.
pub(crate) fn check_managed_by(
    ctx: &Context<'_>,
    group: &RoleGroup,
    args: &Args,
    rbac: Result<(), CmdletError>,
) -> Result<(), CmdletError> {
    let manager = manages(ctx, group);
    let administrator = ctx.is_role_administrator();
    if !group.managed_by.is_empty() {
        if manager {
            return Ok(());
        }
        if args.switch("BypassSecurityGroupManagerCheck") {
            return match (administrator, rbac) {
                (true, Ok(())) => Ok(()),
                (true, Err(e)) => Err(e),
                (false, _) => Err(CmdletError::Forbidden(format!(
                    "-BypassSecurityGroupManagerCheck is only for members of Organization Management or holders of Role Management; you can't change `{}` (R-RG-5)",
                    group.name
                ))),
            };
        }
        return Err(CmdletError::Forbidden(format!(
            "only the managers of `{}` ({}) may change it or its membership; members of Organization Management or holders of Role Management can use -BypassSecurityGroupManagerCheck (R-RG-5)",
            group.name,
            names(ctx, &group.managed_by)
        )));
    }
    match (administrator, rbac) {
        (true, Ok(())) => Ok(()),
        (true, Err(e)) => Err(e),
        (false, Err(CmdletError::Denied(d))) => Err(CmdletError::Denied(d)),
        (false, _) => Err(CmdletError::Forbidden(format!(
            "`{}` has no managers, so only members of Organization Management or holders of Role Management may change it (R-RG-5)",
            group.name
        ))),
    }
}

/// The role group to change, after the ManagedBy check.
fn changeable<'a>(ctx: &'a Context<'_>, args: &Args) -> Result<&'a RoleGroup, CmdletError> {
    let group = role_group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    let rbac = ctx.authorize(Target::Config, Access::Write);
    check_managed_by(ctx, group, args, rbac)?;
    Ok(group)
}

/// `Set-RoleGroup`: name, description, ManagedBy; the linked parameters may
/// re-point a linked group but never turn a standard group into a linked one
/// (R-LRG-7); re-pointing needs Role Management, not only ManagedBy.
pub async fn set_role_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let group = changeable(ctx, args)?;
    let mut updated = group.clone();
    let mut warnings = Vec::new();
    if LINKED.iter().any(|p| args.has(p)) {
        ctx.authorize(Target::Config, Access::Write)?;
        let RoleGroupKind::Linked(_) = &group.kind else {
            return Err(CmdletError::Refused(format!(
                "`{}` is a standard role group and can't become linked; create a linked role group and replicate its assignments (R-LRG-4, R-LRG-7)",
                group.name
            )));
        };
        updated.kind = RoleGroupKind::Linked(resolved_link(ctx, &group.name, &mut warnings)?);
    }
    if let Some(d) = args.text("Description") {
        updated.description = d.to_owned();
    }
    if let Some(d) = display_name(args)? {
        updated.display_name = d.to_owned();
    }
    if args.has("ManagedBy") {
        updated.managed_by = sids(ctx, args.list("ManagedBy"))?;
    }
    let mut next = ctx.org.clone();
    if let Some(new_name) = args.text("Name") {
        let new_name = super::check_name("Name", new_name)?;
        if group.builtin {
            return Err(CmdletError::Refused(format!(
                "`{}` is a built-in role group and can't be renamed",
                group.name
            )));
        }
        if !new_name.eq_ignore_ascii_case(&group.name)
            && ctx.org.name_taken(&new_name, "", "").is_some()
        {
            return Err(crate::org::OrgError::Exists(new_name).into());
        }
        for a in next.rbac_mut().assignments.values_mut() {
            if a.assignee.is_role_group(&group.name) {
                a.assignee = Assignee::RoleGroup(new_name.clone());
            }
        }
        updated.name = new_name;
    }
    next.rbac_mut()
        .role_groups
        .remove(&group.name.to_ascii_lowercase());
    let records = vec![group_record(&next, &updated)];
    next.rbac_mut()
        .role_groups
        .insert(updated.name.to_ascii_lowercase(), updated);
    Ok(Outcome {
        warnings,
        ..changed(next, &group.name, records)
    })
}

/// `Remove-RoleGroup`: built-in groups cannot be removed.
pub fn remove_role_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let group = changeable(ctx, args)?;
    if group.builtin {
        return Err(CmdletError::Refused(format!(
            "`{}` is a built-in role group and can't be removed",
            group.name
        )));
    }
    refuse_standard_under_ad_split(ctx, group.is_linked(), "removing the role group")?;
    let mut next = ctx.org.clone();
    next.rbac_mut()
        .role_groups
        .remove(&group.name.to_ascii_lowercase());
    next.rbac_mut()
        .assignments
        .retain(|_, a| !matches!(&a.assignee, Assignee::RoleGroup(g) if g.eq_ignore_ascii_case(&group.name)));
    for other in next.rbac_mut().role_groups.values_mut() {
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
fn refuse_linked(group: &RoleGroup) -> Result<(), CmdletError> {
    if let RoleGroupKind::Linked(link) = &group.kind {
        return Err(CmdletError::Refused(format!(
            "`{}` is a linked role group: its members are the members of `{}` ({}) and are managed in {}, not here (R-LRG-3)",
            group.name, link.name, link.sid, link.forest
        )));
    }
    Ok(())
}

/// `Update-RoleGroupMember -Members`: replaces the membership; refused on
/// linked groups (R-LRG-3).
pub fn update_members(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let group = role_group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    refuse_linked(group)?;
    let group = changeable(ctx, args)?;
    refuse_standard_under_ad_split(ctx, group.is_linked(), "changing the membership")?;
    let members = sids(ctx, args.list("Members"))?;
    if members.contains(&group.sid) {
        return Err(CmdletError::Refused(format!(
            "`{}` can't be a member of itself",
            group.name
        )));
    }
    let mut next = ctx.org.clone();
    if let Some(g) = next
        .rbac_mut()
        .role_groups
        .get_mut(&group.name.to_ascii_lowercase())
    {
        g.kind = RoleGroupKind::Standard { members };
    }
    Ok(changed(next, &group.name, Vec::new()))
}

/// `Add-RoleGroupMember` / `Remove-RoleGroupMember`; refused on linked groups (R-LRG-3).
pub fn change_member(ctx: &Context<'_>, args: &Args, add: bool) -> Result<Outcome, CmdletError> {
    let group = role_group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    refuse_linked(group)?;
    let group = changeable(ctx, args)?;
    refuse_standard_under_ad_split(ctx, group.is_linked(), "changing the membership")?;
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
    }) = next.rbac_mut().role_groups.get_mut(&key)
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
