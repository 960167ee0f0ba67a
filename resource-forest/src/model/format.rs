//! The permission model file: TOML, one table per Exchange object class, keys
//! spelled as Exchange's parameters (`Members`, `ManagedBy`,
//! `CustomRecipientWriteScope`), so that an administrator reads it as the
//! cmdlets that would build it. `docs/model.schema.json` is generated from
//! these types ([`schema`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The base every model starts from.
pub const BASE_EXCHANGE_2013: &str = "exchange-2013";

/// A permission model file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// The organization and what the model starts from.
    #[serde(rename = "Model")]
    pub model: Header,
    /// Custom management roles (built-in roles come from the base and are
    /// referred to by name).
    #[serde(
        rename = "ManagementRole",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub roles: Vec<RoleSpec>,
    /// Management scopes.
    #[serde(
        rename = "ManagementScope",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scopes: Vec<ScopeSpec>,
    /// Role groups: new ones, and built-in ones whose members, managers or
    /// description differ from the base.
    #[serde(rename = "RoleGroup", default, skip_serializing_if = "Vec::is_empty")]
    pub role_groups: Vec<RoleGroupSpec>,
    /// Role assignment policies other than the base's.
    #[serde(
        rename = "RoleAssignmentPolicy",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub policies: Vec<PolicySpec>,
    /// Role assignments beyond the base's, or replacing one of them (same
    /// name).
    #[serde(
        rename = "ManagementRoleAssignment",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub assignments: Vec<AssignmentSpec>,
    /// The SID behind a name (`contoso\Ray`, a role group, a foreign group).
    /// Written by export; names left out get SIDs of their own.
    #[serde(rename = "Sids", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sids: BTreeMap<String, String>,
}

/// `[Model]`: the organization and its base.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The resource forest, e.g. `contoso.com`.
    #[serde(rename = "Organization")]
    pub organization: String,
    /// `exchange-2013`: the built-in roles, the twelve built-in role groups
    /// with their assignments, the Default Role Assignment Policy, and the
    /// Administrator in Organization Management, as setup installs them.
    #[serde(rename = "Base")]
    pub base: String,
    /// Setup's `/ActiveDirectorySplitPermissions`: the base has no regular
    /// assignment of a role that creates security principals, and
    /// New-/Remove-Mailbox, -MailUser, -MailContact, -RemoteMailbox are
    /// unavailable to everyone.
    #[serde(
        rename = "ActiveDirectorySplitPermissions",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub active_directory_split_permissions: bool,
    /// Assignments of the base this model doesn't have, by name (e.g.
    /// `Mail Recipient Creation-Recipient Management`).
    #[serde(
        rename = "RemovedAssignments",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub removed_assignments: Vec<String>,
    /// The organization's domain SID (written by export).
    #[serde(rename = "DomainSid", default, skip_serializing_if = "Option::is_none")]
    pub domain_sid: Option<String>,
}

/// `[[ManagementRole]]`: a custom role (`New-ManagementRole`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// `-Name`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `-Parent`: the role it derives from; its type and scopes are the
    /// parent's.
    #[serde(rename = "Parent", default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// `-UnScopedTopLevel`: no parent, no scopes, scripts and non-Exchange
    /// cmdlets only.
    #[serde(
        rename = "UnScopedTopLevel",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub unscoped_top_level: bool,
    /// `-Description`.
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// Role entries as `Cmdlet -Parameter -Parameter`; each must be the
    /// parent's (a custom role only removes). Absent: a copy of the parent.
    #[serde(rename = "Entries", default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<String>>,
}

/// `[[ManagementScope]]` (`New-ManagementScope`): one kind of rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeSpec {
    /// `-Name`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `-RecipientRoot`: an OU, e.g. `contoso.com/Seattle`.
    #[serde(
        rename = "RecipientRoot",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recipient_root: Option<String>,
    /// `-RecipientRestrictionFilter`, in OPATH: `City -eq 'Seattle'`.
    #[serde(
        rename = "RecipientRestrictionFilter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recipient_restriction_filter: Option<String>,
    /// `-ServerList`.
    #[serde(
        rename = "ServerList",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_list: Option<Vec<String>>,
    /// `-ServerRestrictionFilter`.
    #[serde(
        rename = "ServerRestrictionFilter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_restriction_filter: Option<String>,
    /// `-DatabaseList`.
    #[serde(
        rename = "DatabaseList",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub database_list: Option<Vec<String>>,
    /// `-DatabaseRestrictionFilter`.
    #[serde(
        rename = "DatabaseRestrictionFilter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub database_restriction_filter: Option<String>,
    /// `-Exclusive`: what the scope matches is written only through
    /// assignments that use an exclusive scope matching it.
    #[serde(
        rename = "Exclusive",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub exclusive: bool,
}

/// `[[RoleGroup]]` (`New-RoleGroup`): standard (with `Members`) or linked
/// (with `LinkedForeignGroup`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleGroupSpec {
    /// `-Name`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `-DisplayName`.
    #[serde(
        rename = "DisplayName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub display_name: String,
    /// `-Description`.
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// `-Members`: `contoso\Ray`, a security group `contoso\Helpdesk`, a
    /// role group by name, or a foreign principal `fabrikam\alice`.
    #[serde(rename = "Members", default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// `-ManagedBy`: who may change the group; grants none of its
    /// permissions.
    #[serde(rename = "ManagedBy", default, skip_serializing_if = "Vec::is_empty")]
    pub managed_by: Vec<String>,
    /// `-LinkedForeignGroup`: the account forest's universal security group
    /// this linked role group stands for, `fabrikam\Exchange Admins`.
    #[serde(
        rename = "LinkedForeignGroup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub linked_foreign_group: Option<String>,
    /// `-LinkedDomainController`: a directory server of the account forest,
    /// or its DNS name (`fabrikam.com`), which names the forest.
    #[serde(
        rename = "LinkedDomainController",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub linked_domain_controller: Option<String>,
    /// The account forest's DNS name, when `LinkedDomainController` doesn't
    /// name it (an address).
    #[serde(
        rename = "LinkedForest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub linked_forest: Option<String>,
    /// `-LinkedCredential`: the account forest's service account.
    #[serde(
        rename = "LinkedCredential",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub linked_credential: Option<String>,
}

/// `[[RoleAssignmentPolicy]]` (`New-RoleAssignmentPolicy`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// `-Name`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `-Description`.
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// `-IsDefault`.
    #[serde(
        rename = "IsDefault",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub is_default: bool,
}

/// `[[ManagementRoleAssignment]]` (`New-ManagementRoleAssignment`): a role
/// to exactly one of `SecurityGroup`, `User`, `Policy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSpec {
    /// `-Name`; absent: `Role-Assignee` (`-Delegating` appended for a
    /// delegating one), as Exchange names them.
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `-Role`.
    #[serde(rename = "Role")]
    pub role: String,
    /// `-SecurityGroup`: a role group by name, or a universal security
    /// group `contoso\Helpdesk`.
    #[serde(
        rename = "SecurityGroup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub security_group: Option<String>,
    /// `-User`: `contoso\Ray`.
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `-Policy`: a role assignment policy.
    #[serde(rename = "Policy", default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// `-Delegating`: the right to assign the role, not to use it.
    #[serde(
        rename = "Delegating",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub delegating: bool,
    /// `-Enabled:$false` switches the assignment off.
    #[serde(
        rename = "Enabled",
        default = "yes",
        skip_serializing_if = "Clone::clone"
    )]
    pub enabled: bool,
    /// `-RecipientRelativeWriteScope`: `Organization`, `MyGAL`, `Self`,
    /// `MyDistributionGroups` or `None`.
    #[serde(
        rename = "RecipientRelativeWriteScope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recipient_relative_write_scope: Option<String>,
    /// `-RecipientOrganizationalUnitScope`: an OU and its subtree.
    #[serde(
        rename = "RecipientOrganizationalUnitScope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recipient_organizational_unit_scope: Option<String>,
    /// `-CustomRecipientWriteScope`: a management scope.
    #[serde(
        rename = "CustomRecipientWriteScope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_recipient_write_scope: Option<String>,
    /// `-ExclusiveRecipientWriteScope`: an exclusive management scope.
    #[serde(
        rename = "ExclusiveRecipientWriteScope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exclusive_recipient_write_scope: Option<String>,
    /// `-CustomConfigWriteScope`: a server or database scope.
    #[serde(
        rename = "CustomConfigWriteScope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_config_write_scope: Option<String>,
    /// `-ExclusiveConfigWriteScope`: an exclusive server or database scope.
    #[serde(
        rename = "ExclusiveConfigWriteScope",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exclusive_config_write_scope: Option<String>,
}

fn yes() -> bool {
    true
}

/// The JSON Schema of the model file, for editors (`docs/model.schema.json`).
pub fn schema() -> String {
    let schema = schemars::schema_for!(ModelFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
