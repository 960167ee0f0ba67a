//! The Exchange organization: its forest, OUs, recipients, local accounts and RBAC
//! configuration, as one value that changes only by replacement. A copy is
//! cheap: the recipients are a persistent tree with its index
//! ([`Recipients`]) and the RBAC configuration is shared behind an [`Arc`]
//! until a change makes it its own ([`Organization::rbac_mut`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use crossforest_shared::sid::rid;
use crossforest_shared::{DomainSid, ForestName, Sid};
use serde::{Deserialize, Serialize};

use super::identity_index::Recipients;
use super::ou::OrganizationalUnit;
use super::recipients::{Recipient, RecipientType};
use crate::rbac::catalogue::Catalogue;
use crate::rbac::RbacConfig;

/// Why an organization operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    /// No object with that identity.
    #[error("the operation couldn't be performed because object `{0}` couldn't be found")]
    NotFound(String),
    /// More than one object matches.
    #[error("`{0}` matches more than one object; use a unique identity such as the alias or SID")]
    Ambiguous(String),
    /// The name is already taken.
    #[error("an object named `{0}` already exists")]
    Exists(String),
    /// The OU does not exist in this organization.
    #[error("organizational unit `{0}` doesn't exist in this organization")]
    NoSuchOu(String),
    /// RIDs exhausted.
    #[error("the resource forest has no relative identifiers left")]
    RidsExhausted,
}

/// First RID of the built-in role groups.
pub const BUILTIN_ROLE_GROUP_FIRST_RID: u32 = 1001;

/// The organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// The resource forest.
    pub forest: ForestName,
    /// Its domain SID.
    pub domain_sid: DomainSid,
    /// Next RID to allocate.
    pub next_rid: u32,
    /// OUs that exist.
    pub organizational_units: Vec<OrganizationalUnit>,
    /// Local accounts without mailboxes (the built-in Administrator), by SID.
    pub local_accounts: BTreeMap<Sid, String>,
    /// Recipients by lower-case name, indexed by every identity form.
    pub recipients: Recipients,
    /// Roles, role groups, assignments: shared between copies until one
    /// changes it ([`Self::rbac_mut`]).
    pub rbac: Arc<RbacConfig>,
    /// Exchange servers (configuration partition) by lower-case name.
    #[serde(default)]
    pub servers: std::collections::BTreeMap<String, super::servers::ExchangeServer>,
    /// Mailbox databases by lower-case name.
    #[serde(default)]
    pub databases: std::collections::BTreeMap<String, super::servers::MailboxDatabase>,
    /// Clusters formed for clustered mailbox servers, by lower-case name.
    #[serde(default)]
    pub clusters: std::collections::BTreeMap<String, super::servers::Cluster>,
    /// Receive connectors by lower-case `Server\Name`.
    #[serde(default)]
    pub receive_connectors: std::collections::BTreeMap<String, super::connectors::ReceiveConnector>,
    /// Permissions added with `Add-ADPermission`.
    #[serde(default)]
    pub ad_permissions: Vec<super::connectors::AdPermission>,
    /// Active Directory split permissions (SPEC §6): set by setup.
    #[serde(default)]
    pub active_directory_split_permissions: bool,
    /// What setup wrote to the directory; `None` for an organization stored
    /// before it was recorded (see [`Self::directory_preparation`]).
    #[serde(default)]
    pub preparation: Option<super::preparation::DirectoryPreparation>,
    /// The admin audit log configuration (`Get-/Set-AdminAuditLogConfig`).
    #[serde(default)]
    pub admin_audit_log_config: crate::audit::AdminAuditLogConfig,
}

impl Organization {
    /// A new organization with the built-in roles, role groups and policy; the
    /// built-in Administrator is a member of Organization Management.
    pub fn new(
        forest: ForestName,
        domain_sid: DomainSid,
        catalogue: &Catalogue,
        extra_ous: &[String],
    ) -> Result<Self, crate::org::ou::OuError> {
        let administrator = domain_sid.with_rid(rid::ADMINISTRATOR);
        let root = forest.as_str();
        let mut ous: Vec<OrganizationalUnit> = ["Users", "Microsoft Exchange Security Groups"]
            .iter()
            .map(|n| format!("{root}/{n}").parse())
            .collect::<Result<_, _>>()?;
        for extra in extra_ous {
            ous.push(format!("{root}/{extra}").parse()?);
        }
        let mut org = Self {
            rbac: Arc::new(RbacConfig::from_catalogue(
                catalogue,
                domain_sid,
                BUILTIN_ROLE_GROUP_FIRST_RID,
                &[administrator],
            )),
            forest,
            domain_sid,
            next_rid: rid::FIRST_ALLOCATED,
            organizational_units: ous,
            local_accounts: BTreeMap::from([(administrator, "Administrator".to_owned())]),
            recipients: Recipients::new(),
            active_directory_split_permissions: false,
            admin_audit_log_config: Default::default(),
            servers: Default::default(),
            clusters: Default::default(),
            databases: Default::default(),
            receive_connectors: Default::default(),
            ad_permissions: Vec::new(),
            preparation: None,
        };
        org.preparation = Some(super::preparation::DirectoryPreparation::installed(
            &org, false,
        ));
        Ok(org)
    }

    /// What setup wrote to the directory: as recorded, or for an
    /// organization stored before it was, what `/PrepareAD` leaves in its
    /// permission model.
    pub fn directory_preparation(&self) -> super::preparation::DirectoryPreparation {
        self.preparation.clone().unwrap_or_else(|| {
            super::preparation::DirectoryPreparation::installed(
                self,
                self.active_directory_split_permissions,
            )
        })
    }

    /// Allocates a new SID in the resource forest.
    pub fn allocate_sid(&mut self) -> Result<Sid, OrgError> {
        let rid = self.next_rid;
        self.next_rid = rid.checked_add(1).ok_or(OrgError::RidsExhausted)?;
        Ok(self.domain_sid.with_rid(rid))
    }

    /// The default OU for new users.
    pub fn users_ou(&self) -> Result<OrganizationalUnit, OrgError> {
        self.ou(&format!("{}/Users", self.forest))
    }

    /// An existing OU by canonical name or DN.
    pub fn ou(&self, name: &str) -> Result<OrganizationalUnit, OrgError> {
        let parsed: OrganizationalUnit = name
            .parse()
            .map_err(|_| OrgError::NoSuchOu(name.to_owned()))?;
        self.organizational_units
            .iter()
            .find(|o| **o == parsed)
            .cloned()
            .ok_or_else(|| OrgError::NoSuchOu(name.to_owned()))
    }

    /// The recipient `identity` names, of one of `types` (any type when empty).
    pub fn recipient(
        &self,
        identity: &str,
        types: &[RecipientType],
    ) -> Result<&Recipient, OrgError> {
        let of_type = |r: &&Recipient| types.is_empty() || types.contains(&r.recipient_type);
        only_one(self.recipients.find(identity).filter(of_type), identity)
    }

    /// The RBAC configuration, to change: this organization's own copy (a
    /// copy of the organization shares it until then, and the compiled
    /// authorizer of a snapshot is kept while it is shared).
    pub fn rbac_mut(&mut self) -> &mut RbacConfig {
        Arc::make_mut(&mut self.rbac)
    }

    /// The mailbox `identity` names.
    pub fn mailbox(&self, identity: &str) -> Result<&Recipient, OrgError> {
        self.recipient(identity, &[RecipientType::UserMailbox])
    }

    /// Whether a name, alias or UPN is already taken by a recipient or role group.
    pub fn name_taken(&self, name: &str, alias: &str, upn: &str) -> Option<String> {
        if self.rbac.role_group(name).is_some() {
            return Some(name.to_owned());
        }
        self.recipients
            .named(name, alias, upn)
            .next()
            .map(|r| r.name.clone())
    }

    /// The display name of a SID of this forest or of a linked group, for output.
    pub fn sid_name(&self, sid: &Sid) -> String {
        if let Some(name) = self.local_accounts.get(sid) {
            return name.clone();
        }
        if let Some(m) = self.recipients.by_sid(sid).next() {
            return m.name.clone();
        }
        if let Some(g) = self.rbac.role_group_by_sid(sid) {
            return g.name.clone();
        }
        sid.to_string()
    }

    /// Resolves a member identity (user, mail-enabled security group, local
    /// account or role group) to a SID.
    pub fn principal_sid(&self, identity: &str) -> Result<Sid, OrgError> {
        if let Some((sid, _)) = self.local_accounts.iter().find(|(sid, n)| {
            n.eq_ignore_ascii_case(identity) || sid.to_string().eq_ignore_ascii_case(identity)
        }) {
            return Ok(*sid);
        }
        if let Some(g) = self.rbac.role_group(identity) {
            return Ok(g.sid);
        }
        self.recipient(
            identity,
            &[
                RecipientType::UserMailbox,
                RecipientType::MailUser,
                RecipientType::RemoteUserMailbox,
                RecipientType::User,
                RecipientType::MailUniversalSecurityGroup,
            ],
        )
        .map(|m| m.sid)
    }

    /// Removes the recipient `name` and every reference to its SID: role group
    /// and distribution group membership, ManagedBy lists, direct assignments.
    pub fn forget(&mut self, sid: &Sid, name: &str) {
        self.recipients.remove(&name.to_ascii_lowercase());
        let referencing: Vec<String> = self
            .recipients
            .referencing(sid)
            .map(|r| r.name.to_ascii_lowercase())
            .collect();
        for key in referencing {
            self.recipients.update(&key, |r| {
                r.members.remove(sid);
                r.managed_by.retain(|m| m != sid);
            });
        }
        let assigned = |a: &crate::rbac::model::RoleAssignment| {
            matches!(
                a.assignee,
                crate::rbac::model::Assignee::User(s) | crate::rbac::model::Assignee::SecurityGroup(s) if s == *sid
            )
        };
        let in_group = |g: &crate::rbac::model::RoleGroup| {
            g.managed_by.contains(sid)
                || matches!(&g.kind, crate::rbac::model::RoleGroupKind::Standard { members } if members.contains(sid))
        };
        // The RBAC is copied (and recompiled) only when it names the SID.
        if !self.rbac.role_groups.values().any(in_group)
            && !self.rbac.assignments.values().any(assigned)
        {
            return;
        }
        let rbac = self.rbac_mut();
        for group in rbac.role_groups.values_mut() {
            if let crate::rbac::model::RoleGroupKind::Standard { members } = &mut group.kind {
                members.remove(sid);
            }
            group.managed_by.remove(sid);
        }
        rbac.assignments.retain(|_, a| !assigned(a));
    }

    /// The mail-enabled security groups `sid` is in, directly or nested
    /// (cycle-safe): a local caller's group SIDs (R-ASG-2).
    pub fn security_groups_of(&self, sid: &Sid) -> Vec<Sid> {
        let mut sids = vec![*sid];
        let mut i = 0;
        while i < sids.len() {
            let member = sids[i];
            for g in self.recipients.referencing(&member).filter(|r| {
                r.recipient_type == RecipientType::MailUniversalSecurityGroup
                    && r.members.contains(&member)
            }) {
                if !sids.contains(&g.sid) {
                    sids.push(g.sid);
                }
            }
            i += 1;
        }
        sids.remove(0);
        sids
    }

    /// The Receive connector `identity` names: `Server\Name`, or a name
    /// unique in the organization.
    pub fn receive_connector(
        &self,
        identity: &str,
    ) -> Option<&super::connectors::ReceiveConnector> {
        if let Some(c) = self.receive_connectors.get(&identity.to_ascii_lowercase()) {
            return Some(c);
        }
        let mut named = self
            .receive_connectors
            .values()
            .filter(|c| c.name.eq_ignore_ascii_case(identity));
        match (named.next(), named.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }

    /// The role assignment policies that apply to `sid` (its mailbox's policy).
    pub fn policies_of(&self, sid: &Sid) -> Vec<String> {
        self.recipients
            .by_sid(sid)
            .filter(|m| m.recipient_type == RecipientType::UserMailbox)
            .map(|m| m.role_assignment_policy.clone())
            .collect()
    }
}

/// The one recipient of `found`, or why there is not exactly one.
fn only_one<'a>(
    mut found: impl Iterator<Item = &'a Recipient>,
    identity: &str,
) -> Result<&'a Recipient, OrgError> {
    match (found.next(), found.next()) {
        (Some(m), None) => Ok(m),
        (Some(_), Some(_)) => Err(OrgError::Ambiguous(identity.to_owned())),
        (None, _) => Err(OrgError::NotFound(identity.to_owned())),
    }
}
