//! New-, Get-, Set- and Remove-Mailbox.

use super::{record, Args, CmdletError, Context, Outcome};
use crate::org::recipients::Mailbox;
use crate::rbac::catalogue::DEFAULT_POLICY;
use crate::rbac::evaluate::RecipientRef;
use crate::rbac::{Access, Target};

fn target(m: &Mailbox) -> Target<'_> {
    Target::Recipient(RecipientRef {
        name: &m.name,
        ou: &m.organizational_unit,
        sid: Some(m.sid),
    })
}

/// `New-Mailbox`: creates the user account and its mailbox; the new object must
/// fall within the caller's write scope (R-ASG-3).
pub fn new_mailbox(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let org = ctx.org;
    let name = args.required("Name", ctx.cmdlet)?.trim().to_owned();
    if name.is_empty() || name.len() > 64 {
        return Err(CmdletError::InvalidValue {
            parameter: "Name".into(),
            reason: "must be 1 to 64 characters".into(),
        });
    }
    let alias = args.text("Alias").map(str::to_owned).unwrap_or_else(|| {
        name.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
            .collect()
    });
    if alias.is_empty()
        || !alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    {
        return Err(CmdletError::InvalidValue {
            parameter: "Alias".into(),
            reason: format!("`{alias}` may use only letters, digits, `.`, `-` and `_`"),
        });
    }
    let ou = match args.text("OrganizationalUnit") {
        Some(ou) => org.ou(ou)?,
        None => org.users_ou()?,
    };
    let domain = org.forest.as_str();
    let mut next = org.clone();
    let mailbox = Mailbox {
        display_name: args
            .text("DisplayName")
            .map(str::to_owned)
            .unwrap_or_else(|| name.clone()),
        user_principal_name: args
            .text("UserPrincipalName")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{alias}@{domain}")),
        primary_smtp_address: args
            .text("PrimarySmtpAddress")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{alias}@{domain}")),
        sid: next.allocate_sid()?,
        organizational_unit: ou,
        role_assignment_policy: DEFAULT_POLICY.to_owned(),
        attributes: Default::default(),
        name,
        alias,
    };
    ctx.authorize(target(&mailbox), Access::Write)?;
    if org.mailboxes.values().any(|m| {
        m.name.eq_ignore_ascii_case(&mailbox.name)
            || m.alias.eq_ignore_ascii_case(&mailbox.alias)
            || m.user_principal_name
                .eq_ignore_ascii_case(&mailbox.user_principal_name)
    }) || org.rbac.role_group(&mailbox.name).is_some()
    {
        return Err(CmdletError::Org(crate::org::OrgError::Exists(mailbox.name)));
    }
    let out = Outcome {
        records: vec![mailbox.properties()],
        target: Some(mailbox.name.clone()),
        ..Outcome::default()
    };
    next.mailboxes
        .insert(mailbox.name.to_ascii_lowercase(), mailbox);
    Ok(Outcome {
        change: Some(next),
        ..out
    })
}

/// `Get-Mailbox`: the mailboxes the caller may read (implicit read scopes).
pub fn get_mailbox(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let org = ctx.org;
    let ou = args
        .text("OrganizationalUnit")
        .map(|o| org.ou(o))
        .transpose()?;
    let limit = match args.text("ResultSize") {
        None => 1000,
        Some(s) if s.eq_ignore_ascii_case("unlimited") => usize::MAX,
        Some(s) => s.parse().map_err(|_| CmdletError::InvalidValue {
            parameter: "ResultSize".into(),
            reason: format!("expects a number or Unlimited; got `{s}`"),
        })?,
    };
    let anr = args.text("Anr").map(str::to_ascii_lowercase);
    let chosen: Vec<&Mailbox> = match args.text("Identity") {
        Some(identity) => {
            let m = org.mailbox(identity)?;
            // Outside the read scope the object does not exist for the caller.
            if !ctx.can_read(target(m)) {
                return Err(crate::org::OrgError::NotFound(identity.to_owned()).into());
            }
            vec![m]
        }
        None => org
            .mailboxes
            .values()
            .filter(|m| {
                ou.as_ref()
                    .is_none_or(|ou| m.organizational_unit.is_within(ou))
            })
            .filter(|m| {
                anr.as_ref().is_none_or(|a| {
                    [&m.name, &m.alias, &m.display_name, &m.primary_smtp_address]
                        .iter()
                        .any(|v| v.to_ascii_lowercase().starts_with(a.as_str()))
                })
            })
            .filter(|m| ctx.can_read(target(m)))
            .take(limit)
            .collect(),
    };
    Ok(Outcome {
        records: chosen.iter().map(|m| m.properties()).collect(),
        ..Outcome::default()
    })
}

/// `Set-Mailbox`: the mailbox must be in write scope before and after (R-ASG-3).
pub fn set_mailbox(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let current = ctx.org.mailbox(identity)?;
    ctx.authorize(target(current), Access::Write)?;
    let mut changed = current.clone();
    for (name, value) in args.iter() {
        let text = value.display();
        match name {
            "Identity" | "Verbose" | "Debug" | "ErrorAction" | "WarningAction" | "WhatIf"
            | "Confirm" | "DomainController" => {}
            "DisplayName" => changed.display_name = text,
            "Alias" => changed.alias = text,
            "PrimarySmtpAddress" => {
                if !text.contains('@') {
                    return Err(CmdletError::InvalidValue {
                        parameter: name.into(),
                        reason: format!("`{text}` is not an SMTP address"),
                    });
                }
                changed.primary_smtp_address = text;
            }
            other => {
                if text.is_empty() {
                    changed.attributes.remove(other);
                } else {
                    changed.attributes.insert(other.to_owned(), text);
                }
            }
        }
    }
    ctx.authorize(target(&changed), Access::Write)?;
    let mut next = ctx.org.clone();
    next.mailboxes.remove(&current.name.to_ascii_lowercase());
    next.mailboxes
        .insert(changed.name.to_ascii_lowercase(), changed);
    Ok(Outcome {
        change: Some(next),
        target: Some(current.name.clone()),
        ..Outcome::default()
    })
}

/// `Remove-Mailbox`: removes the mailbox and its user account.
pub fn remove_mailbox(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let current = ctx.org.mailbox(identity)?;
    ctx.authorize(target(current), Access::Write)?;
    let mut next = ctx.org.clone();
    next.mailboxes.remove(&current.name.to_ascii_lowercase());
    for group in next.rbac.role_groups.values_mut() {
        if let crate::rbac::model::RoleGroupKind::Standard { members } = &mut group.kind {
            members.remove(&current.sid);
        }
        group.managed_by.remove(&current.sid);
    }
    Ok(Outcome {
        records: vec![record([
            ("Name", current.name.clone()),
            ("Removed", "True".into()),
        ])],
        change: Some(next),
        target: Some(current.name.clone()),
        ..Outcome::default()
    })
}
