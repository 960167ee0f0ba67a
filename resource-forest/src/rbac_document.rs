//! Export and import of an organization's RBAC configuration (issue 6): role
//! groups, roles, assignments, scopes, role assignment policies, the
//! trusts they rely on and the admin audit log configuration, as one versioned JSON document for backup and for
//! review in code.
//!
//! ```json
//! { "format": "crossforest.rbac/1", "organization": "contoso.com",
//!   "revision": 42, "trusts": [...], "roles": {...}, "role_groups": {...},
//!   "assignments": {...}, "scopes": {...}, "policies": {...},
//!   "admin_audit_log_config": {...} }
//! ```
//!
//! An import is validated whole before anything changes: the format, the
//! organization, every reference (roles, parents, role groups, policies,
//! scopes, users and groups, the trusts of linked role groups), unique SIDs,
//! and the lockout rules (R-LOCK-1..4) against the current configuration.

use std::collections::BTreeMap;

use crossforest_shared::{DomainSid, ForestName, Sid};
use serde::{Deserialize, Serialize};

use crate::audit::AdminAuditLogConfig;
use crate::org::Organization;
use crate::rbac::config::RoleAssignmentPolicy;
use crate::rbac::model::{Assignee, ManagementRole, RoleAssignment, RoleGroup, RoleGroupKind};
use crate::rbac::scope::ManagementScope;
use crate::rbac::RbacConfig;
use crate::trust::config::TrustConfig;

/// The format this binary writes and reads.
pub const FORMAT: &str = "crossforest.rbac/1";

/// A trust as the document records it: what linked role groups rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRecord {
    /// The account forest.
    pub forest: ForestName,
    /// Its directory server.
    pub endpoint: String,
    /// The domain SIDs it may vouch for.
    pub domain_sids: Vec<DomainSid>,
    /// The linked credential's account, if any (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_credential: Option<String>,
}

/// The document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbacDocument {
    /// Always [`FORMAT`].
    pub format: String,
    /// The organization (forest) it was exported from.
    pub organization: ForestName,
    /// The revision it was exported at.
    pub revision: u64,
    /// Trusted account forests.
    pub trusts: Vec<TrustRecord>,
    /// Management roles by lower-case name.
    pub roles: BTreeMap<String, ManagementRole>,
    /// Role groups by lower-case name.
    pub role_groups: BTreeMap<String, RoleGroup>,
    /// Role assignments by lower-case name.
    pub assignments: BTreeMap<String, RoleAssignment>,
    /// Management scopes by lower-case name.
    pub scopes: BTreeMap<String, ManagementScope>,
    /// Role assignment policies by lower-case name.
    pub policies: BTreeMap<String, RoleAssignmentPolicy>,
    /// The admin audit log configuration (`Get-AdminAuditLogConfig`); a
    /// document without it leaves the organization's as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_audit_log_config: Option<AdminAuditLogConfig>,
    /// The organization's domain SID; for readers, import ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_sid: Option<DomainSid>,
    /// Whether setup installed Active Directory split permissions; for
    /// readers (setup switches them), import ignores it.
    #[serde(default)]
    pub active_directory_split_permissions: bool,
    /// `DOMAIN\name` of every principal the configuration names by SID
    /// (members, managers, assignees, foreign groups); for readers and the
    /// permission model export, import ignores it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<Sid, String>,
}

/// Why a document cannot be imported; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Not JSON of this shape.
    #[error("the document is not a crossforest RBAC export: {0}")]
    Parse(String),
    /// Another format or version.
    #[error("the document's format is `{found}`; this resource-forest reads `{FORMAT}`")]
    Format {
        /// What the document says.
        found: String,
    },
    /// Exported from another organization.
    #[error("the document is of organization `{found}`, not `{expected}`")]
    Organization {
        /// In the document.
        found: String,
        /// This node's.
        expected: String,
    },
    /// A reference or key that does not hold.
    #[error("{0}")]
    Invalid(String),
}

impl RbacDocument {
    /// The RBAC configuration of `org` at `revision`, with `trusts`.
    pub fn export(org: &Organization, revision: u64, trusts: &[TrustConfig]) -> Self {
        let rbac = &org.rbac;
        Self {
            format: FORMAT.to_owned(),
            organization: org.forest.clone(),
            revision,
            trusts: trusts
                .iter()
                .map(|t| TrustRecord {
                    forest: t.forest.clone(),
                    endpoint: t.endpoint.clone(),
                    domain_sids: t.domain_sids.clone(),
                    linked_credential: t.linked_credential.as_ref().map(|l| l.user.clone()),
                })
                .collect(),
            roles: rbac.roles.clone(),
            role_groups: rbac.role_groups.clone(),
            assignments: rbac.assignments.clone(),
            scopes: rbac.scopes.clone(),
            policies: rbac.policies.clone(),
            admin_audit_log_config: Some(org.admin_audit_log_config.clone()),
            domain_sid: Some(org.domain_sid),
            active_directory_split_permissions: org.active_directory_split_permissions,
            names: referenced_sids(rbac)
                .map(|sid| (sid, crate::request::principal::principal_name(org, &sid)))
                .collect(),
        }
    }

    /// Parses a document, refusing another format.
    pub fn parse(text: &str) -> Result<Self, ImportError> {
        #[derive(Deserialize)]
        struct Header {
            format: String,
        }
        let header: Header =
            serde_json::from_str(text).map_err(|e| ImportError::Parse(e.to_string()))?;
        if header.format != FORMAT {
            return Err(ImportError::Format {
                found: header.format,
            });
        }
        serde_json::from_str(text).map_err(|e| ImportError::Parse(e.to_string()))
    }

    /// `org` with the document's RBAC configuration, every reference checked
    /// against `org` and `trusts`. The caller checks the lockout rules.
    pub fn apply(
        &self,
        org: &Organization,
        trusts: &[TrustConfig],
    ) -> Result<Organization, ImportError> {
        if self.format != FORMAT {
            return Err(ImportError::Format {
                found: self.format.clone(),
            });
        }
        if self.organization != org.forest {
            return Err(ImportError::Organization {
                found: self.organization.to_string(),
                expected: org.forest.to_string(),
            });
        }
        let rbac = RbacConfig {
            roles: self.roles.clone(),
            role_groups: self.role_groups.clone(),
            assignments: self.assignments.clone(),
            scopes: self.scopes.clone(),
            policies: self.policies.clone(),
        };
        validate(&rbac, org, trusts)?;
        let mut next = org.clone();
        next.rbac = std::sync::Arc::new(rbac);
        if let Some(config) = &self.admin_audit_log_config {
            next.admin_audit_log_config = config.clone();
        }
        Ok(next)
    }
}

/// Every SID `rbac` names a principal by, role groups' own excepted.
fn referenced_sids(rbac: &RbacConfig) -> impl Iterator<Item = Sid> + '_ {
    let groups = rbac.role_groups.values().flat_map(|g| {
        let members: Vec<Sid> = match &g.kind {
            RoleGroupKind::Standard { members } => members.iter().copied().collect(),
            RoleGroupKind::Linked(l) => vec![l.sid],
        };
        members.into_iter().chain(g.managed_by.iter().copied())
    });
    let assignees = rbac.assignments.values().filter_map(|a| match a.assignee {
        Assignee::User(sid) | Assignee::SecurityGroup(sid) => Some(sid),
        _ => None,
    });
    groups
        .chain(assignees)
        .filter(|sid| rbac.role_group_by_sid(sid).is_none())
}

fn invalid(message: String) -> ImportError {
    ImportError::Invalid(message)
}

fn keyed<V>(
    what: &str,
    map: &BTreeMap<String, V>,
    name: impl Fn(&V) -> &str,
) -> Result<(), ImportError> {
    for (key, value) in map {
        if *key != name(value).to_ascii_lowercase() {
            return Err(invalid(format!(
                "{what} `{}` is filed under `{key}`; the key must be its lower-case name",
                name(value)
            )));
        }
    }
    Ok(())
}

/// Every key and reference of `rbac` holds in `org`.
fn validate(
    rbac: &RbacConfig,
    org: &Organization,
    trusts: &[TrustConfig],
) -> Result<(), ImportError> {
    keyed("role", &rbac.roles, |r| &r.name)?;
    keyed("role group", &rbac.role_groups, |g| &g.name)?;
    keyed("assignment", &rbac.assignments, |a| &a.name)?;
    keyed("scope", &rbac.scopes, |s| &s.name)?;
    keyed("role assignment policy", &rbac.policies, |p| &p.name)?;
    for role in rbac.roles.values() {
        if let Some(parent) = &role.parent {
            if rbac.role(parent).is_none() {
                return Err(invalid(format!(
                    "role `{}` has parent `{parent}`, which the document doesn't define",
                    role.name
                )));
            }
        }
    }
    let mut sids = std::collections::BTreeSet::new();
    for group in rbac.role_groups.values() {
        if !sids.insert(group.sid) {
            return Err(invalid(format!(
                "role group `{}` has SID {}, which another role group has too",
                group.name, group.sid
            )));
        }
        if let RoleGroupKind::Linked(linked) = &group.kind {
            let trusted = trusts
                .iter()
                .any(|t| t.forest == linked.forest && t.domain_sids.contains(&linked.sid.domain()));
            if !trusted {
                return Err(invalid(format!(
                    "linked role group `{}` maps {} of `{}`, which no configured trust vouches for; add the trust first",
                    group.name, linked.sid, linked.forest
                )));
            }
        }
    }
    let principal = |sid: &crossforest_shared::Sid| {
        org.local_accounts.contains_key(sid)
            || org.recipients.by_sid(sid).next().is_some()
            || rbac.role_group_by_sid(sid).is_some()
    };
    for a in rbac.assignments.values() {
        if rbac.role(&a.role).is_none() {
            return Err(invalid(format!(
                "assignment `{}` is of role `{}`, which the document doesn't define",
                a.name, a.role
            )));
        }
        let known = match &a.assignee {
            Assignee::RoleGroup(g) => rbac.role_group(g).is_some(),
            Assignee::Policy(p) => rbac.policies.contains_key(&p.to_ascii_lowercase()),
            Assignee::User(sid) | Assignee::SecurityGroup(sid) => principal(sid),
        };
        if !known {
            return Err(invalid(format!(
                "assignment `{}` is to {:?}, which doesn't exist in the organization or the document",
                a.name, a.assignee
            )));
        }
        for scope in a.scope_names() {
            if !rbac.scopes.contains_key(&scope.to_ascii_lowercase()) {
                return Err(invalid(format!(
                    "assignment `{}` uses scope `{scope}`, which the document doesn't define",
                    a.name
                )));
            }
        }
    }
    Ok(())
}
