//! The RBAC model's objects, with Exchange's names: management roles and their
//! entries, role assignments, role groups.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crossforest_shared::{ForestName, Sid};
use serde::{Deserialize, Serialize};

use crossforest_shared::ou::OrganizationalUnit;

/// An implicit recipient scope of a role (R-SCOPE-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecipientScope {
    /// Every recipient of the organization.
    Organization,
    /// Recipients in the global address list (read only).
    #[serde(rename = "MyGAL")]
    MyGal,
    /// The caller's own mailbox.
    #[serde(rename = "Self")]
    Myself,
    /// Distribution groups the caller manages.
    MyDistributionGroups,
    /// Nothing.
    None,
}

/// An implicit configuration scope of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConfigScope {
    /// The whole configuration partition.
    OrganizationConfig,
    /// Nothing.
    None,
}

/// The four implicit scope slots of a role (R-SCOPE-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImplicitScopes {
    /// Recipients the role may read.
    pub recipient_read: RecipientScope,
    /// Recipients the role may write.
    pub recipient_write: RecipientScope,
    /// Configuration the role may read.
    pub config_read: ConfigScope,
    /// Configuration the role may write.
    pub config_write: ConfigScope,
}

/// One cmdlet a role may run, with the parameters it may use (R-ROLE-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleEntry {
    /// Cmdlet name as Exchange spells it, e.g. `Set-Mailbox`.
    pub cmdlet: String,
    /// Parameter names as Exchange spells them.
    pub parameters: BTreeSet<String>,
}

impl RoleEntry {
    /// Whether the entry grants `parameter` (case-insensitive, as PowerShell).
    pub fn grants(&self, parameter: &str) -> bool {
        self.parameters
            .iter()
            .any(|p| p.eq_ignore_ascii_case(parameter))
    }
}

impl fmt::Display for RoleEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cmdlet)?;
        for p in &self.parameters {
            write!(f, " -{p}")?;
        }
        Ok(())
    }
}

/// A management role: a named set of entries with a role type and implicit scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagementRole {
    /// Name, e.g. `Mail Recipients`.
    pub name: String,
    /// Role type, e.g. `MailRecipients`.
    pub role_type: String,
    /// Built-in roles cannot be changed or removed.
    pub builtin: bool,
    /// The parent of a custom role.
    pub parent: Option<String>,
    /// An unscoped top-level role (R-ROLE-3): no parent, no scopes, scripts and
    /// non-Exchange cmdlets only.
    #[serde(default)]
    pub unscoped: bool,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Implicit scopes.
    pub scopes: ImplicitScopes,
    /// Entries by lower-case cmdlet name.
    pub entries: BTreeMap<String, RoleEntry>,
}

impl ManagementRole {
    /// The entry for `cmdlet`, if the role has one.
    pub fn entry(&self, cmdlet: &str) -> Option<&RoleEntry> {
        self.entries.get(&cmdlet.to_ascii_lowercase())
    }

    /// Whether the role is an end-user role (the only kind a role assignment
    /// policy takes, R-ROLE-4): Exchange names them `My…`.
    pub fn is_end_user(&self) -> bool {
        self.role_type.starts_with("My")
    }
}

/// Whom an assignment is to (R-ASG-1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Assignee {
    /// A role group, by name.
    RoleGroup(String),
    /// A user, by SID (`-User`).
    User(Sid),
    /// A universal security group, by SID (`-SecurityGroup`).
    SecurityGroup(Sid),
    /// A role assignment policy, by name (`-Policy`).
    Policy(String),
}

impl Assignee {
    /// `RoleGroup`, `User`, `SecurityGroup` or `RoleAssignmentPolicy`, as
    /// `Get-ManagementRoleAssignment` shows `RoleAssigneeType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::RoleGroup(_) => "RoleGroup",
            Self::User(_) => "User",
            Self::SecurityGroup(_) => "SecurityGroup",
            Self::Policy(_) => "RoleAssignmentPolicy",
        }
    }

    /// Whether the assignee is a role group or USG: the kinds that keep a
    /// lockout-protected assignment alive (R-LOCK-3, R-LOCK-4).
    pub fn is_group(&self) -> bool {
        matches!(self, Self::RoleGroup(_) | Self::SecurityGroup(_))
    }

    /// Whether this is the role group `name`.
    pub fn is_role_group(&self, name: &str) -> bool {
        matches!(self, Self::RoleGroup(g) if g.eq_ignore_ascii_case(name))
    }
}

/// Regular assignments grant use of a role; delegating ones only the right to
/// assign it (R-ASG-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Delegation {
    /// Grants use of the role.
    Regular,
    /// Grants the right to assign the role.
    Delegating,
}

impl fmt::Display for Delegation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Regular => "Regular",
            Self::Delegating => "Delegating",
        })
    }
}

/// The recipient write scope of an assignment (R-SCOPE-5, R-SCOPE-6): at most
/// one, regular or exclusive, predefined or custom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecipientWriteScope {
    /// The role's implicit write scope.
    Implicit,
    /// `-RecipientRelativeWriteScope`: a predefined scope.
    Relative(RecipientScope),
    /// `-RecipientOrganizationalUnitScope`: an OU and its subtree (R-SCOPE-6).
    OrganizationalUnit(OrganizationalUnit),
    /// `-CustomRecipientWriteScope`: a regular management scope, by name.
    Custom(String),
    /// `-ExclusiveRecipientWriteScope`: an exclusive management scope, by name.
    Exclusive(String),
}

impl RecipientWriteScope {
    /// The management scope this write scope names, if any.
    pub fn scope_name(&self) -> Option<&str> {
        match self {
            Self::Custom(s) | Self::Exclusive(s) => Some(s),
            _ => None,
        }
    }
}

/// The configuration write scope of an assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigWriteScope {
    /// The role's implicit configuration write scope.
    Implicit,
    /// `-CustomConfigWriteScope`: a server or database scope, by name.
    Custom(String),
    /// `-ExclusiveConfigWriteScope`: an exclusive server or database scope.
    Exclusive(String),
}

impl ConfigWriteScope {
    /// The management scope this write scope names, if any.
    pub fn scope_name(&self) -> Option<&str> {
        match self {
            Self::Custom(s) | Self::Exclusive(s) => Some(s),
            Self::Implicit => None,
        }
    }
}

/// A role assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// Name, e.g. `Mail Recipients_Seattle Recipient Management`.
    pub name: String,
    /// The role's name.
    pub role: String,
    /// Whom it is assigned to.
    pub assignee: Assignee,
    /// Regular or delegating.
    pub delegation: Delegation,
    /// Recipient write scope.
    pub recipient_write_scope: RecipientWriteScope,
    /// Configuration write scope.
    #[serde(default = "implicit_config")]
    pub config_write_scope: ConfigWriteScope,
    /// Disabled assignments grant nothing (R-ASG-4).
    pub enabled: bool,
}

fn implicit_config() -> ConfigWriteScope {
    ConfigWriteScope::Implicit
}

impl RoleAssignment {
    /// A regular or delegating assignment with the role's implicit scopes.
    pub fn new(name: String, role: String, assignee: Assignee, delegation: Delegation) -> Self {
        Self {
            name,
            role,
            assignee,
            delegation,
            recipient_write_scope: RecipientWriteScope::Implicit,
            config_write_scope: ConfigWriteScope::Implicit,
            enabled: true,
        }
    }

    /// The management scopes the assignment uses.
    pub fn scope_names(&self) -> impl Iterator<Item = &str> {
        self.recipient_write_scope
            .scope_name()
            .into_iter()
            .chain(self.config_write_scope.scope_name())
    }
}

/// Standard role groups have members; linked ones take their membership from a
/// universal security group of a trusted account forest (R-LRG-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoleGroupKind {
    /// Members are SIDs of the resource forest (users, groups, role groups).
    Standard {
        /// Direct members.
        members: BTreeSet<Sid>,
    },
    /// Linked to a foreign USG.
    Linked(LinkedGroup),
}

/// The foreign group a linked role group stands for (R-LRG-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedGroup {
    /// The foreign USG's SID: the link's only identity.
    pub sid: Sid,
    /// The account forest.
    pub forest: ForestName,
    /// The group's name when it was resolved, e.g. `fabrikam\Exchange Admins`.
    pub name: String,
    /// The directory server it was resolved through.
    pub domain_controller: String,
    /// The linked credential used, e.g. `fabrikam\svc-contoso`.
    pub credential: String,
}

/// A management role group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGroup {
    /// Name, e.g. `Organization Management`.
    pub name: String,
    /// The group's own SID in the resource forest.
    pub sid: Sid,
    /// Free text.
    pub description: String,
    /// `DisplayName`; empty (groups stored before it existed) shows the name.
    #[serde(default)]
    pub display_name: String,
    /// Standard or linked.
    pub kind: RoleGroupKind,
    /// Who may change the group (R-RG-5); empty means Role Management holders.
    pub managed_by: BTreeSet<Sid>,
    /// Built-in groups are standard and cannot be removed.
    pub builtin: bool,
}

impl RoleGroup {
    /// `DisplayName` as `Get-RoleGroup` shows it: the name unless set.
    pub fn display_name(&self) -> &str {
        if self.display_name.is_empty() {
            &self.name
        } else {
            &self.display_name
        }
    }

    /// `Standard` or `Linked`, as `Get-RoleGroup` shows it.
    pub fn role_group_type(&self) -> &'static str {
        if self.is_linked() {
            "Linked"
        } else {
            "Standard"
        }
    }

    /// Whether it is a linked role group (its members live in an account forest).
    pub fn is_linked(&self) -> bool {
        matches!(self.kind, RoleGroupKind::Linked(_))
    }
}

impl fmt::Display for RecipientScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Organization => "Organization",
            Self::MyGal => "MyGAL",
            Self::Myself => "Self",
            Self::MyDistributionGroups => "MyDistributionGroups",
            Self::None => "None",
        })
    }
}

impl fmt::Display for ConfigScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OrganizationConfig => "OrganizationConfig",
            Self::None => "None",
        })
    }
}
