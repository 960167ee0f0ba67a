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
    /// Whether the cmdlet authorises itself instead of the cmdlet-level role
    /// check: a role group's ManagedBy may allow it without a role (R-RG-5), and
    /// anyone may test their own permissions.
    pub self_authorizing: bool,
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

const NEW_MAILBOX: &[Param] = &[
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

const IDENTITY: &[Param] = &[req("Identity", Text)];
const OPTIONAL_IDENTITY: &[Param] = &[p("Identity", Text)];

const ROLE_GROUP_MEMBER: &[Param] = &[
    req("Identity", Text),
    req("Member", Text),
    p("BypassSecurityGroupManagerCheck", Switch),
];

const GROUP_MEMBER: &[Param] = &[
    req("Identity", Text),
    req("Member", Text),
    p("BypassSecurityGroupManagerCheck", Switch),
];

const fn cmdlet(
    name: &'static str,
    positional: Option<&'static str>,
    writes: bool,
    parameters: &'static [Param],
) -> CmdletSpec {
    CmdletSpec {
        name,
        positional,
        parameters,
        writes,
        self_authorizing: false,
    }
}

const fn delegable(mut spec: CmdletSpec) -> CmdletSpec {
    spec.self_authorizing = true;
    spec
}

const NAME: Option<&str> = Some("Name");
const ID: Option<&str> = Some("Identity");

/// Every implemented cmdlet.
pub const CMDLETS: &[CmdletSpec] = &[
    cmdlet("New-Mailbox", NAME, true, NEW_MAILBOX),
    cmdlet("New-MailUser", NAME, true, NEW_MAILBOX),
    cmdlet("New-MailContact", NAME, true, NEW_MAILBOX),
    cmdlet(
        "Enable-Mailbox",
        ID,
        true,
        &[
            req("Identity", Text),
            p("Alias", Text),
            p("Database", Text),
            p("PrimarySmtpAddress", Text),
        ],
    ),
    cmdlet("Disable-Mailbox", ID, true, IDENTITY),
    cmdlet("Get-Mailbox", ID, false, GET_RECIPIENT),
    cmdlet("Get-Recipient", ID, false, GET_RECIPIENT),
    cmdlet("Get-User", ID, false, GET_RECIPIENT),
    cmdlet("Get-MailUser", ID, false, GET_RECIPIENT),
    cmdlet("Get-MailContact", ID, false, GET_RECIPIENT),
    cmdlet("Set-Mailbox", ID, true, SET_MAILBOX),
    cmdlet("Set-User", ID, true, SET_USER),
    cmdlet(
        "Remove-Mailbox",
        ID,
        true,
        &[req("Identity", Text), p("Permanent", Bool)],
    ),
    cmdlet("Remove-MailUser", ID, true, IDENTITY),
    cmdlet("Remove-MailContact", ID, true, IDENTITY),
    cmdlet(
        "New-DistributionGroup",
        NAME,
        true,
        &[
            req("Name", Text),
            p("Alias", Text),
            p("DisplayName", Text),
            p("OrganizationalUnit", Text),
            p("PrimarySmtpAddress", Text),
            p("Type", Text),
            p("ManagedBy", List),
            p("Members", List),
        ],
    ),
    cmdlet(
        "Get-DistributionGroup",
        ID,
        false,
        &[
            p("Identity", Text),
            p("OrganizationalUnit", Text),
            p("ResultSize", Text),
        ],
    ),
    cmdlet(
        "Remove-DistributionGroup",
        ID,
        true,
        &[
            req("Identity", Text),
            p("BypassSecurityGroupManagerCheck", Switch),
        ],
    ),
    cmdlet("Add-DistributionGroupMember", ID, true, GROUP_MEMBER),
    cmdlet("Remove-DistributionGroupMember", ID, true, GROUP_MEMBER),
    cmdlet("Get-DistributionGroupMember", ID, false, IDENTITY),
    cmdlet(
        "Update-DistributionGroupMember",
        ID,
        true,
        &[
            req("Identity", Text),
            req("Members", List),
            p("BypassSecurityGroupManagerCheck", Switch),
        ],
    ),
    cmdlet(
        "New-RoleGroup",
        NAME,
        true,
        &[
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
        ],
    ),
    cmdlet("Get-RoleGroup", ID, false, OPTIONAL_IDENTITY),
    delegable(cmdlet(
        "Set-RoleGroup",
        ID,
        true,
        &[
            req("Identity", Text),
            p("Name", Text),
            p("Description", Text),
            p("DisplayName", Text),
            p("ManagedBy", List),
            p("LinkedForeignGroup", Text),
            p("LinkedDomainController", Text),
            p("LinkedCredential", Text),
            p("BypassSecurityGroupManagerCheck", Switch),
        ],
    )),
    cmdlet(
        "Remove-RoleGroup",
        ID,
        true,
        &[
            req("Identity", Text),
            p("BypassSecurityGroupManagerCheck", Switch),
        ],
    ),
    delegable(cmdlet("Add-RoleGroupMember", ID, true, ROLE_GROUP_MEMBER)),
    delegable(cmdlet(
        "Remove-RoleGroupMember",
        ID,
        true,
        ROLE_GROUP_MEMBER,
    )),
    delegable(cmdlet(
        "Update-RoleGroupMember",
        ID,
        true,
        &[
            req("Identity", Text),
            req("Members", List),
            p("BypassSecurityGroupManagerCheck", Switch),
        ],
    )),
    cmdlet("Get-RoleGroupMember", ID, false, IDENTITY),
    cmdlet(
        "New-ManagementRole",
        NAME,
        true,
        &[
            req("Name", Text),
            p("Parent", Text),
            p("Description", Text),
            p("UnScopedTopLevel", Switch),
        ],
    ),
    cmdlet(
        "Get-ManagementRole",
        ID,
        false,
        &[p("Identity", Text), p("RoleType", Text), p("Cmdlet", Text)],
    ),
    cmdlet(
        "Remove-ManagementRole",
        ID,
        true,
        &[req("Identity", Text), p("Recurse", Switch)],
    ),
    cmdlet(
        "Add-ManagementRoleEntry",
        ID,
        true,
        &[
            req("Identity", Text),
            p("Parameters", List),
            p("UnScopedTopLevel", Switch),
            p("Type", Text),
        ],
    ),
    cmdlet(
        "Set-ManagementRoleEntry",
        ID,
        true,
        &[
            req("Identity", Text),
            req("Parameters", List),
            p("AddParameter", Switch),
            p("RemoveParameter", Switch),
        ],
    ),
    cmdlet("Remove-ManagementRoleEntry", ID, true, IDENTITY),
    cmdlet(
        "Get-ManagementRoleEntry",
        ID,
        false,
        &[req("Identity", Text), p("Parameters", List)],
    ),
    cmdlet("New-ManagementRoleAssignment", NAME, true, NEW_ASSIGNMENT),
    cmdlet(
        "Get-ManagementRoleAssignment",
        ID,
        false,
        &[
            p("Identity", Text),
            p("Role", Text),
            p("RoleAssignee", Text),
            p("Delegating", Bool),
            p("Enabled", Bool),
            p("GetEffectiveUsers", Switch),
            p("WritableRecipient", Text),
            p("WritableServer", Text),
            p("WritableDatabase", Text),
            p("CustomRecipientWriteScope", Text),
            p("ExclusiveRecipientWriteScope", Text),
        ],
    ),
    cmdlet("Set-ManagementRoleAssignment", ID, true, SET_ASSIGNMENT),
    cmdlet("Remove-ManagementRoleAssignment", ID, true, IDENTITY),
    cmdlet("New-ManagementScope", NAME, true, NEW_SCOPE),
    cmdlet(
        "Get-ManagementScope",
        ID,
        false,
        &[
            p("Identity", Text),
            p("Exclusive", Bool),
            p("Orphan", Switch),
        ],
    ),
    cmdlet("Set-ManagementScope", ID, true, SET_SCOPE),
    cmdlet("Remove-ManagementScope", ID, true, IDENTITY),
    cmdlet(
        "New-RoleAssignmentPolicy",
        NAME,
        true,
        &[
            req("Name", Text),
            p("Description", Text),
            p("Roles", List),
            p("IsDefault", Switch),
        ],
    ),
    cmdlet("Get-RoleAssignmentPolicy", ID, false, OPTIONAL_IDENTITY),
    cmdlet(
        "Set-RoleAssignmentPolicy",
        ID,
        true,
        &[
            req("Identity", Text),
            p("Name", Text),
            p("Description", Text),
            p("IsDefault", Switch),
        ],
    ),
    cmdlet("Get-ExchangeServer", ID, false, OPTIONAL_IDENTITY),
    cmdlet(
        "Search-AdminAuditLog",
        None,
        false,
        &[
            p("Cmdlets", List),
            p("Parameters", List),
            p("StartDate", Text),
            p("EndDate", Text),
            p("ObjectIds", List),
            p("UserIds", List),
            p("IsSuccess", Bool),
            p("ResultSize", Text),
        ],
    ),
    cmdlet(
        "Set-ExchangeServer",
        ID,
        true,
        &[
            req("Identity", Text),
            p("ErrorReportingEnabled", Bool),
            p("CustomerFeedbackEnabled", Bool),
        ],
    ),
    cmdlet(
        "New-MailboxDatabase",
        NAME,
        true,
        &[req("Name", Text), req("Server", Text)],
    ),
    cmdlet("Get-MailboxDatabase", ID, false, OPTIONAL_IDENTITY),
    cmdlet(
        "Set-MailboxDatabase",
        ID,
        true,
        &[
            req("Identity", Text),
            p("IssueWarningQuota", Text),
            p("ProhibitSendQuota", Text),
        ],
    ),
    delegable(cmdlet(
        "New-ADUser",
        NAME,
        true,
        &[
            req("Name", Text),
            p("SamAccountName", Text),
            p("Path", Text),
            p("UserPrincipalName", Text),
            p("DisplayName", Text),
        ],
    )),
    cmdlet(
        "New-ReceiveConnector",
        NAME,
        true,
        &[
            req("Name", Text),
            req("Server", Text),
            p("Bindings", List),
            p("RemoteIPRanges", List),
            p("Usage", Text),
        ],
    ),
    cmdlet("Get-ReceiveConnector", ID, false, OPTIONAL_IDENTITY),
    cmdlet(
        "Add-ADPermission",
        ID,
        true,
        &[
            req("Identity", Text),
            req("User", Text),
            p("AccessRights", List),
            p("ExtendedRights", List),
        ],
    ),
    cmdlet("Get-ADPermission", ID, false, IDENTITY),
    delegable(cmdlet(
        "Test-CmdletPermission",
        Some("Cmdlet"),
        false,
        &[
            req("Cmdlet", Text),
            p("Parameters", List),
            p("Identity", Text),
            p("User", Text),
            p("Write", Bool),
        ],
    )),
    delegable(cmdlet(
        "Get-EffectivePermission",
        ID,
        false,
        &[p("Identity", Text), p("Cmdlet", Text)],
    )),
    delegable(cmdlet(
        "Get-Command",
        NAME,
        false,
        &[p("Name", Text), p("Verb", Text), p("Noun", Text)],
    )),
    delegable(cmdlet(
        "Get-Help",
        NAME,
        false,
        &[req("Name", Text), p("Parameter", Text)],
    )),
];

const NEW_ASSIGNMENT: &[Param] = &[
    p("Name", Text),
    req("Role", Text),
    p("User", Text),
    p("SecurityGroup", Text),
    p("Policy", Text),
    p("Delegating", Switch),
    p("RecipientOrganizationalUnitScope", Text),
    p("CustomRecipientWriteScope", Text),
    p("ExclusiveRecipientWriteScope", Text),
    p("RecipientRelativeWriteScope", Text),
    p("CustomConfigWriteScope", Text),
    p("ExclusiveConfigWriteScope", Text),
];

const SET_ASSIGNMENT: &[Param] = &[
    req("Identity", Text),
    p("Enabled", Bool),
    p("RecipientOrganizationalUnitScope", Text),
    p("CustomRecipientWriteScope", Text),
    p("ExclusiveRecipientWriteScope", Text),
    p("RecipientRelativeWriteScope", Text),
    p("CustomConfigWriteScope", Text),
    p("ExclusiveConfigWriteScope", Text),
];

const NEW_SCOPE: &[Param] = &[
    req("Name", Text),
    p("RecipientRoot", Text),
    p("RecipientRestrictionFilter", Text),
    p("ServerList", List),
    p("ServerRestrictionFilter", Text),
    p("DatabaseList", List),
    p("DatabaseRestrictionFilter", Text),
    p("Exclusive", Switch),
    p("Force", Switch),
];

const SET_SCOPE: &[Param] = &[
    req("Identity", Text),
    p("Name", Text),
    p("RecipientRoot", Text),
    p("RecipientRestrictionFilter", Text),
    p("ServerList", List),
    p("ServerRestrictionFilter", Text),
    p("DatabaseList", List),
    p("DatabaseRestrictionFilter", Text),
];

/// The cmdlet named `name` (case-insensitive).
pub fn find(name: &str) -> Option<&'static CmdletSpec> {
    CMDLETS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}
