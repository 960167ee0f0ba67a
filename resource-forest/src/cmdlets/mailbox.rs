//! Recipient cmdlets: New-, Get-, Set-, Remove-Mailbox, Enable-Mailbox,
//! New-MailUser, New-MailContact, Get-Recipient, Get-User, Set-User and their
//! Get-/Remove- companions (the remote mailbox cmdlets beside reuse them).
//! Every write authorises the recipient before and after the change
//! (R-ASG-3).

use super::parameters::{
    p, req,
    Kind::{Bool, List, Text},
    Param, IDENTITY,
};
use super::registry::{
    example, Cmdlet,
    ConfirmImpact::{High, Medium},
    Example, Handler,
};
use super::{changed, invalid, record, Args, CmdletError, Context, Outcome};
use crate::org::recipients::{Recipient, RecipientType};
use crate::org::OrgError;
use crate::rbac::scope::parse_recipient_filter;
use crate::rbac::{Access, Target};

const NEW_MAILBOX_EXAMPLES: &[Example] = &[example(
    "New-Mailbox -Name dana -OrganizationalUnit contoso.com/Sales",
    "Creates the user dana and her mailbox in the Sales OU.",
)];

const GET_MAILBOX_EXAMPLES: &[Example] = &[
    example(
        "Get-Mailbox -OrganizationalUnit contoso.com/Sales",
        "Lists the mailboxes of the Sales OU.",
    ),
    example(
        "Get-Mailbox dana | Format-List",
        "Shows every property of dana's mailbox.",
    ),
];

const SET_MAILBOX_EXAMPLES: &[Example] = &[
    example(
        "Set-Mailbox -Identity dana -Office Seattle",
        "Sets the office of dana's mailbox.",
    ),
    example(
        "Get-Mailbox -OrganizationalUnit contoso.com/Sales | Set-Mailbox -CustomAttribute1 Sales",
        "Sets CustomAttribute1 on every mailbox of the Sales OU.",
    ),
];

/// The recipient cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-Mailbox",
        "Creates a user account and its mailbox.",
        Handler::Sync(|ctx, args| new_recipient(ctx, args, RecipientType::UserMailbox)),
        MAILBOX_VIEW,
    )
    .examples(NEW_MAILBOX_EXAMPLES)
    .with(NEW_RECIPIENT)
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "New-MailUser",
        "Creates a mail user: an account with an external e-mail address.",
        Handler::Sync(|ctx, args| new_recipient(ctx, args, RecipientType::MailUser)),
        MAIL_USER_VIEW,
    )
    .with(NEW_RECIPIENT)
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "New-MailContact",
        "Creates a mail contact for an external address.",
        Handler::Sync(|ctx, args| new_recipient(ctx, args, RecipientType::MailContact)),
        MAIL_CONTACT_VIEW,
    )
    .with(NEW_RECIPIENT)
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Enable-Mailbox",
        "Mail-enables an existing user with a mailbox.",
        Handler::Sync(enable_mailbox),
        MAILBOX_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("Alias", Text),
        p("Database", Text),
        p("PrimarySmtpAddress", Text),
    ])
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Disable-Mailbox",
        "Removes the mailbox of a user and keeps the account.",
        Handler::Sync(disable_mailbox),
        USER_VIEW,
    )
    .with(IDENTITY)
    .at("Identity")
    .changes(High),
    Cmdlet::new(
        "Get-Mailbox",
        "Lists mailboxes in your read scope.",
        Handler::Sync(|ctx, args| get_recipients(ctx, args, MAILBOXES)),
        MAILBOX_VIEW,
    )
    .examples(GET_MAILBOX_EXAMPLES)
    .with(GET_RECIPIENT)
    .at("Identity"),
    Cmdlet::new(
        "Get-Recipient",
        "Lists recipients of every type in your read scope.",
        Handler::Sync(|ctx, args| get_recipients(ctx, args, RECIPIENTS)),
        RECIPIENT_VIEW,
    )
    .with(GET_RECIPIENT)
    .at("Identity"),
    Cmdlet::new(
        "Get-User",
        "Lists user accounts in your read scope.",
        Handler::Sync(|ctx, args| get_recipients(ctx, args, USERS)),
        USER_VIEW,
    )
    .with(GET_RECIPIENT)
    .at("Identity"),
    Cmdlet::new(
        "Get-MailUser",
        "Lists mail users in your read scope.",
        Handler::Sync(|ctx, args| get_recipients(ctx, args, MAIL_USERS)),
        MAIL_USER_VIEW,
    )
    .with(GET_RECIPIENT)
    .at("Identity"),
    Cmdlet::new(
        "Get-MailContact",
        "Lists mail contacts in your read scope.",
        Handler::Sync(|ctx, args| get_recipients(ctx, args, MAIL_CONTACTS)),
        MAIL_CONTACT_VIEW,
    )
    .with(GET_RECIPIENT)
    .at("Identity"),
    Cmdlet::new(
        "Set-Mailbox",
        "Changes the properties of a mailbox.",
        Handler::Sync(|ctx, args| set_recipient(ctx, args, MAILBOXES)),
        MAILBOX_VIEW,
    )
    .examples(SET_MAILBOX_EXAMPLES)
    .with(SET_MAILBOX)
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Set-User",
        "Changes the directory properties of a user.",
        Handler::Sync(|ctx, args| set_recipient(ctx, args, USERS)),
        USER_VIEW,
    )
    .with(SET_USER)
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Remove-Mailbox",
        "Removes a mailbox and its user account.",
        Handler::Sync(|ctx, args| remove_recipient(ctx, args, MAILBOXES)),
        REMOVED_VIEW,
    )
    .with(&[req("Identity", Text), p("Permanent", Bool)])
    .at("Identity")
    .changes(High),
    Cmdlet::new(
        "Remove-MailUser",
        "Removes a mail user.",
        Handler::Sync(|ctx, args| remove_recipient(ctx, args, MAIL_USERS)),
        REMOVED_VIEW,
    )
    .with(IDENTITY)
    .at("Identity")
    .changes(High),
    Cmdlet::new(
        "Remove-MailContact",
        "Removes a mail contact.",
        Handler::Sync(|ctx, args| remove_recipient(ctx, args, MAIL_CONTACTS)),
        REMOVED_VIEW,
    )
    .with(IDENTITY)
    .at("Identity")
    .changes(High),
];

/// As EMS: Name, Alias, ServerName, ProhibitSendQuota.
const MAILBOX_VIEW: &[&str] = &["Name", "Alias", "ServerName", "ProhibitSendQuota"];
const MAIL_USER_VIEW: &[&str] = &["Name", "RecipientType"];
const MAIL_CONTACT_VIEW: &[&str] = &["Name", "Alias", "RecipientType"];
const USER_VIEW: &[&str] = &["Name", "RecipientType"];
const RECIPIENT_VIEW: &[&str] = &["Name", "RecipientType"];
/// What the Remove- cmdlets here return for each removed recipient.
pub const REMOVED_VIEW: &[&str] = &["Name", "Removed"];

const NEW_RECIPIENT: &[Param] = &[
    req("Name", Text),
    p("Alias", Text),
    p("DisplayName", Text),
    p("FirstName", Text),
    p("LastName", Text),
    p("OrganizationalUnit", Text),
    p("UserPrincipalName", Text),
    p("Password", Text),
    p("Database", Text),
    p("PrimarySmtpAddress", Text),
    p("ExternalEmailAddress", Text),
];

const GET_RECIPIENT: &[Param] = &[
    p("Identity", Text),
    p("OrganizationalUnit", Text),
    p("ResultSize", Text),
    p("Anr", Text),
    p("Filter", Text),
    p("RecipientTypeDetails", List),
];

const SET_MAILBOX: &[Param] = &[
    req("Identity", Text),
    p("DisplayName", Text),
    p("Alias", Text),
    p("PrimarySmtpAddress", Text),
    p("Office", Text),
    p("Languages", List),
    p("HiddenFromAddressListsEnabled", Bool),
    p("ProhibitSendQuota", Text),
    p("IssueWarningQuota", Text),
    p("CustomAttribute1", Text),
    p("CustomAttribute2", Text),
    p("CustomAttribute3", Text),
    p("CustomAttribute4", Text),
    p("CustomAttribute5", Text),
    p("CustomAttribute6", Text),
    p("CustomAttribute7", Text),
    p("CustomAttribute8", Text),
    p("CustomAttribute9", Text),
    p("CustomAttribute10", Text),
    p("CustomAttribute11", Text),
    p("CustomAttribute12", Text),
    p("CustomAttribute13", Text),
    p("CustomAttribute14", Text),
    p("CustomAttribute15", Text),
];

const SET_USER: &[Param] = &[
    req("Identity", Text),
    p("City", Text),
    p("Department", Text),
    p("Company", Text),
    p("Office", Text),
    p("Title", Text),
    p("StateOrProvince", Text),
    p("CountryOrRegion", Text),
    p("FirstName", Text),
    p("LastName", Text),
    p("DisplayName", Text),
];

/// The recipient as RBAC sees it.
pub fn target(r: &Recipient) -> Target<'_> {
    Target::Recipient(r)
}

/// Recipient types the mailbox cmdlets act on.
const MAILBOXES: &[RecipientType] = &[RecipientType::UserMailbox];
/// Recipient types the mail user cmdlets act on.
const MAIL_USERS: &[RecipientType] = &[RecipientType::MailUser];
/// Recipient types the mail contact cmdlets act on.
const MAIL_CONTACTS: &[RecipientType] = &[RecipientType::MailContact];
/// Recipient types the user cmdlets act on.
const USERS: &[RecipientType] = &RecipientType::USERS;
/// Recipient types `Get-Recipient` lists.
const RECIPIENTS: &[RecipientType] = &[
    RecipientType::UserMailbox,
    RecipientType::MailUser,
    RecipientType::RemoteUserMailbox,
    RecipientType::MailContact,
    RecipientType::MailUniversalDistributionGroup,
    RecipientType::MailUniversalSecurityGroup,
];

/// A recipient of `types`.
pub fn find<'a>(
    ctx: &'a Context<'_>,
    identity: &str,
    types: &[RecipientType],
) -> Result<&'a Recipient, CmdletError> {
    Ok(ctx.org.recipient(identity, types)?)
}

/// An alias from a name: letters, digits, `.`, `-` and `_`.
pub fn alias_for(args: &Args, name: &str) -> Result<String, CmdletError> {
    let alias = args.text("Alias").map(str::to_owned).unwrap_or_else(|| {
        name.chars()
            .filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
            .collect()
    });
    if alias.is_empty()
        || alias.len() > 64
        || !alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    {
        return Err(invalid(
            "Alias",
            format!("`{alias}` may use only letters, digits, `.`, `-` and `_`"),
        ));
    }
    Ok(alias)
}

fn smtp(parameter: &str, value: &str) -> Result<String, CmdletError> {
    let value = value.strip_prefix("SMTP:").unwrap_or(value);
    match value.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(value.to_owned()),
        _ => Err(invalid(
            parameter,
            format!("`{value}` is not an SMTP address"),
        )),
    }
}

/// `-OrganizationalUnit`, or `-OnPremisesOrganizationalUnit` of the remote
/// mailbox cmdlets.
fn organizational_unit(args: &Args) -> Option<&str> {
    args.text("OrganizationalUnit")
        .or_else(|| args.text("OnPremisesOrganizationalUnit"))
}

/// A new recipient of `recipient_type` from the common New-* parameters, with
/// a fresh SID; not yet authorised or stored.
pub fn build(
    ctx: &Context<'_>,
    args: &Args,
    next: &mut crate::org::Organization,
    recipient_type: RecipientType,
) -> Result<Recipient, CmdletError> {
    let name = super::check_name("Name", args.required("Name", ctx.cmdlet)?)?;
    let alias = alias_for(args, &name)?;
    let ou = match organizational_unit(args) {
        Some(ou) => ctx.org.ou(ou)?,
        None => ctx.org.users_ou()?,
    };
    let domain = ctx.org.forest.as_str();
    let user = recipient_type.is_user();
    let upn = match (user, args.text("UserPrincipalName")) {
        (true, Some(upn)) => smtp("UserPrincipalName", upn)?,
        (true, None) => format!("{alias}@{domain}"),
        (false, _) => String::new(),
    };
    let external = match recipient_type.external_address_parameter() {
        Some(parameter) => smtp(parameter, args.required(parameter, ctx.cmdlet)?)?,
        None if args.has("ExternalEmailAddress") => {
            return Err(CmdletError::Conflict(format!(
                "`{}` doesn't take -ExternalEmailAddress",
                ctx.cmdlet
            )))
        }
        None => String::new(),
    };
    let primary = match args.text("PrimarySmtpAddress") {
        Some(p) => smtp("PrimarySmtpAddress", p)?,
        None if recipient_type == RecipientType::MailContact => external.clone(),
        None => format!("{alias}@{domain}"),
    };
    if let Some(taken) = ctx.org.name_taken(&name, &alias, &upn) {
        return Err(OrgError::Exists(taken).into());
    }
    let mut attributes = crate::org::attributes::Attributes::new();
    for p in ["FirstName", "LastName"] {
        if let Some(v) = args.text(p) {
            attributes.insert(p, v);
        }
    }
    Ok(Recipient {
        display_name: args
            .text("DisplayName")
            .map(str::to_owned)
            .unwrap_or_else(|| name.clone()),
        recipient_type,
        user_principal_name: upn,
        primary_smtp_address: primary,
        external_email_address: external,
        sid: next.allocate_sid()?,
        organizational_unit: ou,
        role_assignment_policy: ctx
            .org
            .rbac
            .default_policy()
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        members: Default::default(),
        managed_by: Vec::new(),
        attributes,
        name,
        alias,
    })
}

/// A plain user (`New-ADUser`): `-SamAccountName` is its alias, `-Path` its OU.
pub fn build_user(
    ctx: &Context<'_>,
    args: &Args,
    next: &mut crate::org::Organization,
) -> Result<Recipient, CmdletError> {
    let mut user = build(ctx, args, next, RecipientType::User)?;
    if let Some(sam) = args.text("SamAccountName") {
        if sam.is_empty()
            || sam.len() > 20
            || !sam
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        {
            return Err(invalid(
                "SamAccountName",
                format!("`{sam}` must be 1 to 20 letters, digits, `.`, `-` or `_`"),
            ));
        }
        if args.text("UserPrincipalName").is_none() {
            user.user_principal_name = format!("{sam}@{}", ctx.org.forest);
        }
        if let Some(taken) = ctx
            .org
            .name_taken(&user.name, sam, &user.user_principal_name)
        {
            return Err(OrgError::Exists(taken).into());
        }
        user.alias = sam.to_owned();
    }
    if let Some(path) = args.text("Path") {
        user.organizational_unit = ctx.org.ou(path)?;
    }
    Ok(user)
}

/// `New-Mailbox`, `New-MailUser`, `New-MailContact`: the new object must fall
/// within the caller's write scope (R-ASG-3).
pub fn new_recipient(
    ctx: &Context<'_>,
    args: &Args,
    recipient_type: RecipientType,
) -> Result<Outcome, CmdletError> {
    let mut next = ctx.org.clone();
    let mut recipient = build(ctx, args, &mut next, recipient_type)?;
    if recipient_type == RecipientType::UserMailbox {
        super::recipient_view::place(ctx.org, args, &mut recipient)?;
    }
    ctx.authorize(target(&recipient), Access::Write)?;
    let records = vec![super::recipient_view::recipient_record(&recipient)];
    let name = recipient.name.clone();
    next.recipients.insert(name.to_ascii_lowercase(), recipient);
    Ok(changed(next, &name, records))
}

/// `Enable-Mailbox`: mail-enables an existing user (the way security principals
/// created with directory tools get a mailbox, R-SPLIT-3).
pub fn enable_mailbox(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let current = ctx
        .org
        .recipient(identity, &[RecipientType::User])
        .map_err(|e| match e {
            OrgError::NotFound(_) if ctx.org.recipient(identity, &[]).is_ok() => {
                CmdletError::Refused(format!("`{identity}` is already mail-enabled"))
            }
            other => other.into(),
        })?;
    ctx.authorize(target(current), Access::Write)?;
    let mut enabled = current.clone();
    enabled.recipient_type = RecipientType::UserMailbox;
    super::recipient_view::place(ctx.org, args, &mut enabled)?;
    enabled.alias = match args.text("Alias") {
        Some(_) => alias_for(args, &current.name)?,
        None if enabled.alias.is_empty() => alias_for(args, &current.name)?,
        None => enabled.alias,
    };
    enabled.primary_smtp_address = match args.text("PrimarySmtpAddress") {
        Some(p) => smtp("PrimarySmtpAddress", p)?,
        None => format!("{}@{}", enabled.alias, ctx.org.forest),
    };
    ctx.authorize(target(&enabled), Access::Write)?;
    let mut next = ctx.org.clone();
    let records = vec![super::recipient_view::recipient_record(&enabled)];
    next.recipients
        .insert(enabled.name.to_ascii_lowercase(), enabled);
    Ok(changed(next, &current.name, records))
}

/// `Disable-Mailbox`: removes the mailbox and keeps the user account (a
/// `User` again, which `Enable-Mailbox` can mail-enable).
pub fn disable_mailbox(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let current = find(ctx, identity, MAILBOXES)?;
    ctx.authorize(target(current), Access::Write)?;
    let mut user = current.clone();
    user.recipient_type = RecipientType::User;
    user.primary_smtp_address = String::new();
    let mut next = ctx.org.clone();
    let records = vec![super::recipient_view::recipient_record(&user)];
    next.recipients.insert(user.name.to_ascii_lowercase(), user);
    Ok(changed(next, &current.name, records))
}

/// The Get- cmdlets of recipients: what the caller may read (implicit read
/// scopes), narrowed by `-OrganizationalUnit`, `-Anr`, `-Filter` (OPATH) and
/// `-ResultSize`.
pub fn get_recipients(
    ctx: &Context<'_>,
    args: &Args,
    types: &[RecipientType],
) -> Result<Outcome, CmdletError> {
    let org = ctx.org;
    let ou = organizational_unit(args).map(|o| org.ou(o)).transpose()?;
    super::result_size(args)?;
    let filter = args
        .text("Filter")
        .map(parse_recipient_filter)
        .transpose()
        .map_err(|e| invalid("Filter", e.to_string()))?;
    let details = args.list("RecipientTypeDetails").unwrap_or_default();
    let anr = args.text("Anr").map(str::to_ascii_lowercase);
    // A wildcard identity (`Get-Mailbox d*`) lists what it matches, as
    // Exchange's Get- cmdlets do.
    let pattern = args
        .text("Identity")
        .filter(|i| crate::rbac::compare::has_wildcard(i));
    let chosen: Vec<&Recipient> = match args.text("Identity") {
        Some(identity) if pattern.is_none() => {
            let r = org.recipient(identity, types)?;
            // Outside the read scope the object does not exist for the caller.
            if !ctx.can_read(target(r)) {
                return Err(super::not_found(identity));
            }
            vec![r]
        }
        _ => org
            .recipients
            .values()
            .filter(|r| types.contains(&r.recipient_type))
            .filter(|r| {
                pattern.is_none_or(|p| {
                    [&r.name, &r.alias, &r.display_name]
                        .iter()
                        .any(|v| crate::rbac::compare::wildcard_match(p, v))
                })
            })
            .filter(|r| {
                ou.as_ref()
                    .is_none_or(|ou| r.organizational_unit.is_within(ou))
            })
            .filter(|r| filter.as_ref().is_none_or(|f| f.matches(*r)))
            .filter(|r| {
                details.is_empty()
                    || details
                        .iter()
                        .any(|d| d.eq_ignore_ascii_case(r.recipient_type.details()))
            })
            .filter(|r| {
                anr.as_ref().is_none_or(|a| {
                    [&r.name, &r.alias, &r.display_name, &r.primary_smtp_address]
                        .iter()
                        .any(|v| v.to_ascii_lowercase().starts_with(a.as_str()))
                })
            })
            .filter(|r| ctx.can_read(target(r)))
            .collect(),
    };
    super::first_results(
        args,
        chosen
            .into_iter()
            .map(super::recipient_view::recipient_record),
    )
}

/// `Set-Mailbox`, `Set-User`: the recipient must be in write scope before and
/// after (R-ASG-3).
pub fn set_recipient(
    ctx: &Context<'_>,
    args: &Args,
    types: &[RecipientType],
) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let current = find(ctx, identity, types)?;
    ctx.authorize(target(current), Access::Write)?;
    let mut next_recipient = current.clone();
    for (name, value) in args.iter() {
        let text = match value {
            super::Value::Bool(b) => super::ps_bool(*b),
            other => other.display(),
        };
        match name {
            "Identity" => {}
            n if crate::rbac::common_parameters::is_common_parameter(n) => {}
            "DisplayName" => next_recipient.display_name = text,
            "Alias" => next_recipient.alias = alias_for(args, &current.name)?,
            "PrimarySmtpAddress" => next_recipient.primary_smtp_address = smtp(name, &text)?,
            other => {
                if text.is_empty() {
                    next_recipient.attributes.remove(other);
                } else {
                    next_recipient.attributes.insert(other, text);
                }
            }
        }
    }
    ctx.authorize(target(&next_recipient), Access::Write)?;
    let mut next = ctx.org.clone();
    next.recipients
        .insert(current.name.to_ascii_lowercase(), next_recipient);
    Ok(changed(next, &current.name, Vec::new()))
}

/// `Remove-Mailbox`, `Remove-MailUser`, `Remove-MailContact`: removes the
/// recipient (and its user account) and every membership it had.
pub fn remove_recipient(
    ctx: &Context<'_>,
    args: &Args,
    types: &[RecipientType],
) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let current = find(ctx, identity, types)?;
    ctx.authorize(target(current), Access::Write)?;
    let mut next = ctx.org.clone();
    next.forget(&current.sid, &current.name);
    Ok(changed(
        next,
        &current.name,
        vec![record([
            ("Name", current.name.clone()),
            ("Removed", "True".into()),
        ])],
    ))
}
