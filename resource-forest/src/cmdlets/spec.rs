//! The cmdlets this organization implements and the parameters each accepts.
//! Binding checks names and kinds here; RBAC then decides which of them the
//! caller may use (R-ROLE-1).

/// How a parameter binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One string.
    Text,
    /// A comma list.
    List,
    /// `$true` / `$false`.
    Bool,
    /// A switch.
    Switch,
}

/// One parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Name as Exchange spells it.
    pub name: &'static str,
    /// How it binds.
    pub kind: Kind,
    /// Whether it must be given.
    pub required: bool,
}

/// One cmdlet.
#[derive(Debug, Clone, Copy)]
pub struct CmdletSpec {
    /// Name, e.g. `New-Mailbox`.
    pub name: &'static str,
    /// The parameter a positional value binds to.
    pub positional: Option<&'static str>,
    /// Parameters, common ones excluded.
    pub parameters: &'static [Param],
    /// Whether the cmdlet changes the organization.
    pub writes: bool,
}

impl CmdletSpec {
    /// A parameter by name (case-insensitive), common parameters included.
    pub fn parameter(&self, name: &str) -> Option<Param> {
        if let Some(p) = self
            .parameters
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            return Some(*p);
        }
        COMMON
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .copied()
    }
}

const fn p(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        required: false,
    }
}

const fn req(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        required: true,
    }
}

use Kind::{Bool, List, Switch, Text};

/// PowerShell common parameters, bound for every cmdlet.
const COMMON: &[Param] = &[
    p("Verbose", Switch),
    p("Debug", Switch),
    p("ErrorAction", Text),
    p("WarningAction", Text),
    p("WhatIf", Switch),
    p("Confirm", Switch),
    p("DomainController", Text),
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

/// Every implemented cmdlet.
pub const CMDLETS: &[CmdletSpec] = &[
    CmdletSpec {
        name: "New-Mailbox",
        positional: Some("Name"),
        writes: true,
        parameters: &[
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
        ],
    },
    CmdletSpec {
        name: "Get-Mailbox",
        positional: Some("Identity"),
        writes: false,
        parameters: &[
            p("Identity", Text),
            p("OrganizationalUnit", Text),
            p("ResultSize", Text),
            p("Anr", Text),
        ],
    },
    CmdletSpec {
        name: "Set-Mailbox",
        positional: Some("Identity"),
        writes: true,
        parameters: SET_MAILBOX,
    },
    CmdletSpec {
        name: "Remove-Mailbox",
        positional: Some("Identity"),
        writes: true,
        parameters: &[req("Identity", Text), p("Permanent", Bool)],
    },
    CmdletSpec {
        name: "New-RoleGroup",
        positional: Some("Name"),
        writes: true,
        parameters: &[
            req("Name", Text),
            p("Description", Text),
            p("Roles", List),
            p("Members", List),
            p("ManagedBy", List),
            p("LinkedForeignGroup", Text),
            p("LinkedDomainController", Text),
            p("LinkedCredential", Text),
        ],
    },
    CmdletSpec {
        name: "Get-RoleGroup",
        positional: Some("Identity"),
        writes: false,
        parameters: &[p("Identity", Text)],
    },
    CmdletSpec {
        name: "Remove-RoleGroup",
        positional: Some("Identity"),
        writes: true,
        parameters: &[
            req("Identity", Text),
            p("BypassSecurityGroupManagerCheck", Switch),
        ],
    },
    CmdletSpec {
        name: "Add-RoleGroupMember",
        positional: Some("Identity"),
        writes: true,
        parameters: &[
            req("Identity", Text),
            req("Member", Text),
            p("BypassSecurityGroupManagerCheck", Switch),
        ],
    },
    CmdletSpec {
        name: "Remove-RoleGroupMember",
        positional: Some("Identity"),
        writes: true,
        parameters: &[
            req("Identity", Text),
            req("Member", Text),
            p("BypassSecurityGroupManagerCheck", Switch),
        ],
    },
    CmdletSpec {
        name: "Get-RoleGroupMember",
        positional: Some("Identity"),
        writes: false,
        parameters: &[req("Identity", Text)],
    },
    CmdletSpec {
        name: "Get-ManagementRole",
        positional: Some("Identity"),
        writes: false,
        parameters: &[p("Identity", Text), p("RoleType", Text)],
    },
    CmdletSpec {
        name: "Get-ManagementRoleAssignment",
        positional: Some("Identity"),
        writes: false,
        parameters: &[
            p("Identity", Text),
            p("Role", Text),
            p("RoleAssignee", Text),
            p("Delegating", Bool),
            p("Enabled", Bool),
        ],
    },
];

/// The cmdlet named `name` (case-insensitive).
pub fn find(name: &str) -> Option<&'static CmdletSpec> {
    CMDLETS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}
