//! New-, Get-, Remove-DistributionGroup and Add-, Remove-,
//! Get-DistributionGroupMember. Groups are recipients: RBAC scopes apply to
//! them, and their owners (ManagedBy) are the `MyDistributionGroups` scope.

use std::collections::BTreeSet;

use crossforest_shared::Sid;

use super::mailbox::{build, target};
use super::parameters::{
    p, req,
    Kind::{List, Switch, Text},
    Param, IDENTITY,
};
use super::registry::{
    Cmdlet,
    ConfirmImpact::{High, Medium},
    Handler,
};
use super::Record;
use super::{changed, invalid, listed, record, Args, CmdletError, Context, Outcome};
use crate::org::recipients::{Recipient, RecipientType};
use crate::rbac::Access;

/// The distribution group cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-DistributionGroup",
        "Creates a distribution or mail-enabled security group.",
        Handler::Sync(new_distribution_group),
        GROUP_VIEW,
    )
    .with(&[
        req("Name", Text),
        p("Alias", Text),
        p("DisplayName", Text),
        p("OrganizationalUnit", Text),
        p("PrimarySmtpAddress", Text),
        p("Type", Text),
        p("ManagedBy", List),
        p("Members", List),
    ])
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-DistributionGroup",
        "Lists distribution groups.",
        Handler::Sync(get_distribution_group),
        GROUP_VIEW,
    )
    .with(&[
        p("Identity", Text),
        p("OrganizationalUnit", Text),
        p("ResultSize", Text),
    ])
    .at("Identity"),
    Cmdlet::new(
        "Remove-DistributionGroup",
        "Removes a distribution group.",
        Handler::Sync(remove_distribution_group),
        GROUP_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("BypassSecurityGroupManagerCheck", Switch),
    ])
    .at("Identity")
    .changes(High),
    Cmdlet::new(
        "Add-DistributionGroupMember",
        "Adds a member to a distribution group.",
        Handler::Sync(|ctx, args| change_member(ctx, args, true)),
        MEMBER_VIEW,
    )
    .with(MEMBER)
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Remove-DistributionGroupMember",
        "Removes a member from a distribution group.",
        Handler::Sync(|ctx, args| change_member(ctx, args, false)),
        MEMBER_VIEW,
    )
    .with(MEMBER)
    .at("Identity")
    .changes(High),
    Cmdlet::new(
        "Get-DistributionGroupMember",
        "Lists the members of a distribution group.",
        Handler::Sync(get_member),
        MEMBER_VIEW,
    )
    .with(IDENTITY)
    .at("Identity"),
    Cmdlet::new(
        "Update-DistributionGroupMember",
        "Replaces every member of a distribution group.",
        Handler::Sync(update_members),
        MEMBER_VIEW,
    )
    .with(&[
        req("Identity", Text),
        req("Members", List),
        p("BypassSecurityGroupManagerCheck", Switch),
    ])
    .at("Identity")
    .changes(High),
];

/// EMS shows Name, DisplayName, GroupType, PrimarySmtpAddress; the group
/// type is the recipient type here.
const GROUP_VIEW: &[&str] = &["Name", "RecipientType", "PrimarySmtpAddress"];
const MEMBER_VIEW: &[&str] = &["Name", "RecipientType"];

const MEMBER: &[Param] = &[
    req("Identity", Text),
    req("Member", Text),
    p("BypassSecurityGroupManagerCheck", Switch),
];

const GROUPS: &[RecipientType] = &[
    RecipientType::MailUniversalDistributionGroup,
    RecipientType::MailUniversalSecurityGroup,
];

fn group<'a>(ctx: &'a Context<'_>, identity: &str) -> Result<&'a Recipient, CmdletError> {
    Ok(ctx.org.recipient(identity, GROUPS)?)
}

fn member_sids(ctx: &Context<'_>, names: &[String]) -> Result<BTreeSet<Sid>, CmdletError> {
    names
        .iter()
        .map(|m| ctx.org.recipient(m, &[]).map(|r| r.sid).map_err(Into::into))
        .collect()
}

/// The directory's tools that create distribution groups and change their
/// membership under Active Directory split permissions.
const DIRECTORY_GROUP_TOOLS: &str =
    "Active Directory Users and Computers, New-ADGroup, Add-ADGroupMember";

fn split_refusal(ctx: &Context<'_>, what: &str) -> Result<(), CmdletError> {
    ctx.refuse_group_write(what, DIRECTORY_GROUP_TOOLS)
}

/// `New-DistributionGroup`: `-Type Distribution` (default) or `Security`.
/// The creator is its owner unless `-ManagedBy` says otherwise.
pub fn new_distribution_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let recipient_type = match args.text("Type") {
        None => RecipientType::MailUniversalDistributionGroup,
        Some(t) if t.eq_ignore_ascii_case("Distribution") => {
            RecipientType::MailUniversalDistributionGroup
        }
        Some(t) if t.eq_ignore_ascii_case("Security") => RecipientType::MailUniversalSecurityGroup,
        Some(t) => {
            return Err(invalid(
                "Type",
                format!("expects Distribution or Security; got `{t}`"),
            ))
        }
    };
    let mut next = ctx.org.clone();
    let mut created = build(ctx, args, &mut next, recipient_type)?;
    created.managed_by = match args.list("ManagedBy") {
        Some(owners) => owners
            .iter()
            .map(|o| ctx.org.principal_sid(o))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![ctx.caller.user],
    };
    created.members = member_sids(ctx, args.list("Members").unwrap_or_default())?;
    ctx.authorize(target(&created), Access::Write)?;
    split_refusal(ctx, "creating the group")?;
    let name = created.name.clone();
    let records = vec![group_record(ctx, &created)];
    next.recipients.insert(name.to_ascii_lowercase(), created);
    Ok(changed(next, &name, records))
}

fn group_record(ctx: &Context<'_>, g: &Recipient) -> Record {
    let names = |sids: &mut dyn Iterator<Item = &Sid>| {
        sids.map(|s| ctx.org.sid_name(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    record([
        ("Name", g.name.clone()),
        ("RecipientType", g.recipient_type.to_string()),
        ("Alias", g.alias.clone()),
        ("PrimarySmtpAddress", g.primary_smtp_address.clone()),
        ("OrganizationalUnit", g.organizational_unit.to_string()),
        ("ManagedBy", names(&mut g.managed_by.iter())),
        ("Members", names(&mut g.members.iter())),
    ])
}

/// `Get-DistributionGroup`.
pub fn get_distribution_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let ou = args
        .text("OrganizationalUnit")
        .map(|o| ctx.org.ou(o))
        .transpose()?;
    let groups: Vec<&Recipient> = match args.text("Identity") {
        Some(identity) => {
            let g = group(ctx, identity)?;
            if !ctx.can_read(target(g)) {
                return Err(super::not_found(identity));
            }
            vec![g]
        }
        None => ctx
            .org
            .recipients
            .values()
            .filter(|r| r.recipient_type.is_group())
            .filter(|r| {
                ou.as_ref()
                    .is_none_or(|ou| r.organizational_unit.is_within(ou))
            })
            .filter(|r| ctx.can_read(target(r)))
            .collect(),
    };
    Ok(listed(
        groups.iter().map(|g| group_record(ctx, g)).collect(),
    ))
}

/// Owners only, unless the caller bypasses the check with a role that grants
/// `-BypassSecurityGroupManagerCheck` (RBAC has already checked that).
fn check_owner(ctx: &Context<'_>, g: &Recipient, args: &Args) -> Result<(), CmdletError> {
    if g.managed_by.is_empty()
        || args.switch("BypassSecurityGroupManagerCheck")
        || g.managed_by.iter().any(|m| ctx.caller.sids.contains(m))
    {
        return Ok(());
    }
    Err(CmdletError::Forbidden(format!(
        "you aren't an owner of `{}` (ManagedBy: {}); an administrator can use -BypassSecurityGroupManagerCheck",
        g.name,
        g.managed_by
            .iter()
            .map(|s| ctx.org.sid_name(s))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// `Remove-DistributionGroup`.
pub fn remove_distribution_group(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let g = group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    ctx.authorize(target(g), Access::Write)?;
    check_owner(ctx, g, args)?;
    split_refusal(ctx, "removing the group")?;
    let mut next = ctx.org.clone();
    next.forget(&g.sid, &g.name);
    Ok(changed(next, &g.name, Vec::new()))
}

/// `Add-DistributionGroupMember` / `Remove-DistributionGroupMember`.
pub fn change_member(ctx: &Context<'_>, args: &Args, add: bool) -> Result<Outcome, CmdletError> {
    let g = group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    ctx.authorize(target(g), Access::Write)?;
    check_owner(ctx, g, args)?;
    split_refusal(ctx, "changing the membership")?;
    let member_name = args.required("Member", ctx.cmdlet)?;
    let member = ctx.org.recipient(member_name, &[])?;
    if member.sid == g.sid {
        return Err(CmdletError::Refused(format!(
            "`{}` can't be a member of itself",
            g.name
        )));
    }
    let mut updated = g.clone();
    let done = if add {
        updated.members.insert(member.sid)
    } else {
        updated.members.remove(&member.sid)
    };
    if !done {
        return Err(CmdletError::Refused(format!(
            "`{}` is {} a member of `{}`",
            member.name,
            if add { "already" } else { "not" },
            g.name
        )));
    }
    let mut next = ctx.org.clone();
    next.recipients.insert(g.name.to_ascii_lowercase(), updated);
    Ok(changed(next, &g.name, Vec::new()))
}

/// `Update-DistributionGroupMember -Members`: replaces the membership.
pub fn update_members(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let g = group(ctx, args.required("Identity", ctx.cmdlet)?)?;
    ctx.authorize(target(g), Access::Write)?;
    check_owner(ctx, g, args)?;
    split_refusal(ctx, "changing the membership")?;
    let members = member_sids(ctx, args.list("Members").unwrap_or_default())?;
    if members.contains(&g.sid) {
        return Err(CmdletError::Refused(format!(
            "`{}` can't be a member of itself",
            g.name
        )));
    }
    let mut updated = g.clone();
    updated.members = members;
    let mut next = ctx.org.clone();
    next.recipients.insert(g.name.to_ascii_lowercase(), updated);
    Ok(changed(next, &g.name, Vec::new()))
}

/// `Get-DistributionGroupMember`.
pub fn get_member(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let g = group(ctx, identity)?;
    if !ctx.can_read(target(g)) {
        return Err(super::not_found(identity));
    }
    Ok(listed(
        g.members
            .iter()
            .map(|s| {
                let r = ctx.org.recipients.by_sid(s).next();
                record([
                    ("Name", ctx.org.sid_name(s)),
                    (
                        "RecipientType",
                        r.map(|r| r.recipient_type.to_string()).unwrap_or_default(),
                    ),
                ])
            })
            .collect(),
    ))
}
