//! `Get-Command` and `Get-Help`, as the Exchange Management Shell answers them:
//! only the cmdlets and parameters the caller's roles grant exist for the
//! caller. A cmdlet outside them is "not recognized", exactly as when it is run.
//! Every authenticated caller may ask (the cmdlets authorise themselves). A
//! role group's managers also see what ManagedBy lets them run (R-RG-5).

use super::spec::{self, CmdletSpec, Kind, Param};
use super::{invalid, listed, record, Args, CmdletError, Context, Outcome};
use crate::rbac::opath::wildcard_match;

/// Cmdlets every caller may run about themselves, with the parameters that
/// need no role; a role granting the cmdlet adds the rest.
const SELF_SERVICE: &[(&str, &[&str])] = &[
    ("Get-Command", &["Name", "Verb", "Noun"]),
    ("Get-Help", &["Name", "Parameter"]),
    (
        "Test-CmdletPermission",
        &["Cmdlet", "Parameters", "Identity", "Write"],
    ),
    ("Get-EffectivePermission", &["Cmdlet"]),
];

/// What a role group's managers may run on the groups they manage, whatever
/// their roles (R-RG-5).
const MANAGERS: &[(&str, &[&str])] = &[
    (
        "Set-RoleGroup",
        &[
            "Identity",
            "Name",
            "Description",
            "DisplayName",
            "ManagedBy",
        ],
    ),
    ("Add-RoleGroupMember", &["Identity", "Member"]),
    ("Remove-RoleGroupMember", &["Identity", "Member"]),
    ("Update-RoleGroupMember", &["Identity", "Members"]),
];

/// One line on what each cmdlet does.
const SYNOPSES: &[(&str, &str)] = &[
    ("New-Mailbox", "Creates a user account and its mailbox."),
    (
        "New-MailUser",
        "Creates a mail user: an account with an external e-mail address.",
    ),
    (
        "New-MailContact",
        "Creates a mail contact for an external address.",
    ),
    (
        "Enable-Mailbox",
        "Mail-enables an existing user with a mailbox.",
    ),
    (
        "Disable-Mailbox",
        "Removes the mailbox of a user and keeps the account.",
    ),
    ("Get-Mailbox", "Lists mailboxes in your read scope."),
    (
        "Get-Recipient",
        "Lists recipients of every type in your read scope.",
    ),
    ("Get-User", "Lists user accounts in your read scope."),
    ("Get-MailUser", "Lists mail users in your read scope."),
    ("Get-MailContact", "Lists mail contacts in your read scope."),
    ("Set-Mailbox", "Changes the properties of a mailbox."),
    ("Set-User", "Changes the directory properties of a user."),
    ("Remove-Mailbox", "Removes a mailbox and its user account."),
    ("Remove-MailUser", "Removes a mail user."),
    ("Remove-MailContact", "Removes a mail contact."),
    (
        "New-DistributionGroup",
        "Creates a distribution or mail-enabled security group.",
    ),
    ("Get-DistributionGroup", "Lists distribution groups."),
    ("Remove-DistributionGroup", "Removes a distribution group."),
    (
        "Add-DistributionGroupMember",
        "Adds a member to a distribution group.",
    ),
    (
        "Remove-DistributionGroupMember",
        "Removes a member from a distribution group.",
    ),
    (
        "Get-DistributionGroupMember",
        "Lists the members of a distribution group.",
    ),
    (
        "Update-DistributionGroupMember",
        "Replaces every member of a distribution group.",
    ),
    (
        "New-RoleGroup",
        "Creates a role group, linked to a foreign group or not, with its roles.",
    ),
    (
        "Get-RoleGroup",
        "Lists role groups with their roles, members and links.",
    ),
    (
        "Set-RoleGroup",
        "Changes a role group: name, managers, linked foreign group.",
    ),
    (
        "Remove-RoleGroup",
        "Removes a role group and its role assignments.",
    ),
    ("Add-RoleGroupMember", "Adds a member to a role group."),
    (
        "Remove-RoleGroupMember",
        "Removes a member from a role group.",
    ),
    (
        "Update-RoleGroupMember",
        "Replaces every member of a role group.",
    ),
    ("Get-RoleGroupMember", "Lists the members of a role group."),
    (
        "New-ManagementRole",
        "Creates a management role from a parent role, or an unscoped top-level role.",
    ),
    ("Get-ManagementRole", "Lists management roles."),
    ("Remove-ManagementRole", "Removes a custom management role."),
    (
        "Add-ManagementRoleEntry",
        "Adds a cmdlet and its parameters to a custom role.",
    ),
    (
        "Set-ManagementRoleEntry",
        "Changes the parameters of a role entry.",
    ),
    (
        "Remove-ManagementRoleEntry",
        "Removes a role entry from a custom role.",
    ),
    (
        "Get-ManagementRoleEntry",
        "Lists the cmdlets and parameters of a role.",
    ),
    (
        "New-ManagementRoleAssignment",
        "Assigns a role to a role group, user, security group or policy.",
    ),
    (
        "Get-ManagementRoleAssignment",
        "Lists role assignments; answers who can write a recipient.",
    ),
    (
        "Set-ManagementRoleAssignment",
        "Changes the scope of a role assignment or disables it.",
    ),
    (
        "Remove-ManagementRoleAssignment",
        "Removes a role assignment.",
    ),
    (
        "New-ManagementScope",
        "Creates a regular or exclusive management scope.",
    ),
    ("Get-ManagementScope", "Lists management scopes."),
    ("Set-ManagementScope", "Changes a management scope."),
    (
        "Remove-ManagementScope",
        "Removes a management scope no assignment uses.",
    ),
    (
        "New-RoleAssignmentPolicy",
        "Creates a role assignment policy for mailbox users.",
    ),
    (
        "Get-RoleAssignmentPolicy",
        "Lists role assignment policies.",
    ),
    (
        "Set-RoleAssignmentPolicy",
        "Changes a role assignment policy or makes it the default.",
    ),
    ("Get-ExchangeServer", "Lists Exchange servers."),
    (
        "Search-AdminAuditLog",
        "Searches the admin audit log of allowed and denied requests.",
    ),
    (
        "Set-ExchangeServer",
        "Changes the settings of an Exchange server.",
    ),
    (
        "New-MailboxDatabase",
        "Creates a mailbox database on a server.",
    ),
    ("Get-MailboxDatabase", "Lists mailbox databases."),
    (
        "Set-MailboxDatabase",
        "Changes the quotas of a mailbox database.",
    ),
    (
        "New-ADUser",
        "Creates a user in the directory (the domain Administrator's tool, outside RBAC).",
    ),
    (
        "New-ReceiveConnector",
        "Creates a Receive connector on a server.",
    ),
    ("Get-ReceiveConnector", "Lists Receive connectors."),
    (
        "Add-ADPermission",
        "Adds a permission to a directory object.",
    ),
    (
        "Get-ADPermission",
        "Lists the permissions of a directory object.",
    ),
    (
        "Test-CmdletPermission",
        "Explains whether you (or a user) may run a cmdlet with parameters on an object.",
    ),
    (
        "Get-EffectivePermission",
        "Lists the cmdlets you (or a user) may run and what grants them.",
    ),
    ("Get-Command", "Lists the cmdlets you may run."),
    (
        "Get-Help",
        "Shows the synopsis, syntax and parameters of a cmdlet you may run.",
    ),
];

/// The synopsis of `cmdlet`.
pub fn synopsis(cmdlet: &str) -> &'static str {
    SYNOPSES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(cmdlet))
        .map_or("", |(_, s)| s)
}

/// A cmdlet available to the caller, with the parameters it may use.
struct Available {
    spec: &'static CmdletSpec,
    parameters: Vec<Param>,
}

/// Every cmdlet the caller may run, with the parameters its roles grant (R-ROLE-1);
/// cmdlets the permission model makes unavailable are left out (R-SPLIT-3).
fn available(ctx: &Context<'_>) -> Vec<Available> {
    let permissions = ctx.authorizer.permissions_of(&ctx.subject());
    let manager = ctx
        .org
        .rbac
        .role_groups
        .values()
        .any(|g| ctx.caller.sids.iter().any(|s| g.managed_by.contains(s)));
    let own_of = |name: &str| {
        SELF_SERVICE
            .iter()
            .chain(MANAGERS.iter().filter(|_| manager))
            .filter(|(n, _)| *n == name)
            .flat_map(|(_, params)| params.iter().copied())
            .collect::<Vec<&str>>()
    };
    spec::CMDLETS
        .iter()
        .filter(|s| crate::org::permission_model::unavailable(ctx.org, s.name).is_none())
        .filter_map(|s| {
            let granted = permissions
                .iter()
                .find(|p| p.cmdlet.eq_ignore_ascii_case(s.name))
                .map(|p| p.parameters.as_slice());
            let own = own_of(s.name);
            if granted.is_none() && own.is_empty() {
                return None;
            }
            let allowed = |name: &str| {
                granted.is_some_and(|g| g.iter().any(|p| p.eq_ignore_ascii_case(name)))
                    || own.contains(&name)
            };
            Some(Available {
                spec: s,
                parameters: s
                    .parameters
                    .iter()
                    .filter(|p| allowed(p.name))
                    .copied()
                    .collect(),
            })
        })
        .collect()
}

fn verb_noun(name: &str) -> (&str, &str) {
    name.split_once('-').unwrap_or((name, ""))
}

/// `Get-Command [[-Name] <wildcard>] [-Verb <wildcard>] [-Noun <wildcard>]`.
pub fn get_command(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let name = args.text("Name").unwrap_or("*");
    let verb = args.text("Verb").unwrap_or("*");
    let noun = args.text("Noun").unwrap_or("*");
    let records: Vec<_> = available(ctx)
        .into_iter()
        .filter(|a| {
            let (v, n) = verb_noun(a.spec.name);
            wildcard_match(name, a.spec.name) && wildcard_match(verb, v) && wildcard_match(noun, n)
        })
        .map(|a| {
            record([
                ("CommandType", "Cmdlet".to_owned()),
                ("Name", a.spec.name.to_owned()),
                ("Synopsis", synopsis(a.spec.name).to_owned()),
                (
                    "Parameters",
                    a.parameters
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ])
        })
        .collect();
    // A name without wildcards that matches nothing is an error, as in PowerShell.
    if records.is_empty() && !name.contains(['*', '?']) {
        return Err(CmdletError::NotRecognized(name.to_owned()));
    }
    Ok(listed(records))
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "String",
        Kind::List => "String[]",
        Kind::Bool => "Boolean",
        Kind::Switch => "SwitchParameter",
    }
}

/// One parameter in PowerShell's syntax notation.
fn syntax_of(spec: &CmdletSpec, p: &Param) -> String {
    let positional = spec.positional == Some(p.name);
    let name = if positional {
        format!("[-{}]", p.name)
    } else {
        format!("-{}", p.name)
    };
    let text = match p.kind {
        Kind::Switch => name,
        kind => format!("{name} <{}>", type_name(kind)),
    };
    if p.required {
        text
    } else {
        format!("[{text}]")
    }
}

/// `Get-Help <cmdlet> [-Parameter <wildcard>]`.
pub fn get_help(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let name = args.required("Name", ctx.cmdlet)?;
    let Some(cmdlet) = available(ctx)
        .into_iter()
        .find(|a| a.spec.name.eq_ignore_ascii_case(name))
    else {
        return Err(CmdletError::NotRecognized(name.to_owned()));
    };
    let spec = cmdlet.spec;
    if let Some(pattern) = args.text("Parameter") {
        let records: Vec<_> = cmdlet
            .parameters
            .iter()
            .filter(|p| wildcard_match(pattern, p.name))
            .map(|p| {
                record([
                    ("Name", p.name.to_owned()),
                    ("Type", type_name(p.kind).to_owned()),
                    ("Required", super::ps_bool(p.required)),
                    (
                        "Position",
                        if spec.positional == Some(p.name) {
                            "0".to_owned()
                        } else {
                            "Named".to_owned()
                        },
                    ),
                ])
            })
            .collect();
        if records.is_empty() {
            return Err(invalid(
                "Parameter",
                format!(
                    "`{pattern}` matches no parameter of `{}` that you may use",
                    spec.name
                ),
            ));
        }
        return Ok(listed(records));
    }
    let mut syntax: Vec<String> = std::iter::once(spec.name.to_owned())
        .chain(cmdlet.parameters.iter().map(|p| syntax_of(spec, p)))
        .collect();
    if spec.writes {
        syntax.push("[-WhatIf]".to_owned());
    }
    syntax.push("[<CommonParameters>]".to_owned());
    Ok(listed(vec![record([
        ("Name", spec.name.to_owned()),
        ("Synopsis", synopsis(spec.name).to_owned()),
        ("Syntax", syntax.join(" ")),
        (
            "Parameters",
            cmdlet
                .parameters
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ])]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cmdlet_has_a_synopsis() {
        for cmdlet in spec::CMDLETS {
            assert!(!synopsis(cmdlet.name).is_empty(), "{}", cmdlet.name);
        }
        for (name, params) in SELF_SERVICE.iter().chain(MANAGERS) {
            let spec = spec::find(name).unwrap();
            for p in *params {
                assert!(spec.parameters.iter().any(|q| q.name == *p), "{name} -{p}");
            }
        }
    }

    #[test]
    fn syntax_marks_positional_required_and_switches() {
        let spec = spec::find("Set-Mailbox").unwrap();
        let identity = spec.parameter("Identity").unwrap();
        let office = spec.parameter("Office").unwrap();
        assert_eq!(syntax_of(spec, &identity), "[-Identity] <String>");
        assert_eq!(syntax_of(spec, &office), "[-Office <String>]");
        let scope = spec::find("New-ManagementScope").unwrap();
        let exclusive = scope.parameter("Exclusive").unwrap();
        assert_eq!(syntax_of(scope, &exclusive), "[-Exclusive]");
    }
}
