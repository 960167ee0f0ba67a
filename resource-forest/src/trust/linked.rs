//! Resolving a foreign group through a directory server of an account forest,
//! with the linked credential that forest issued (R-LRG-2, R-TRUST-2).

use crossforest_shared::client::{connect, ForestEndpoint};
use crossforest_shared::proto::directory::v1 as pb;
use crossforest_shared::Sid;

use super::Trust;
use crate::rbac::model::LinkedGroup;

/// Why a foreign group could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkedError {
    /// `-LinkedForeignGroup` is not `DOMAIN\group`.
    #[error("-LinkedForeignGroup `{0}` must name the group as `DOMAIN\\group`")]
    GroupName(String),
    /// No linked credential matching `-LinkedCredential` is held for the trust.
    #[error("no linked credential `{requested}` is held for `{forest}`{held}")]
    NoCredential {
        /// What was asked for.
        requested: String,
        /// The trust.
        forest: String,
        /// What is held, if anything.
        held: String,
    },
    /// The directory server could not be reached or refused the credential.
    #[error("the directory server `{server}` of `{forest}` could not be used: {reason}")]
    Directory {
        /// The server.
        server: String,
        /// The forest.
        forest: String,
        /// Why.
        reason: String,
    },
    /// The name resolved to a user, not a group.
    #[error(
        "`{0}` is not a universal security group; a linked role group links to a USG (R-LRG-1)"
    )]
    NotAGroup(String),
    /// The group's SID is not under the forest's domain SIDs.
    #[error("`{name}` resolved to `{sid}`, which is not in a domain of `{forest}`; refusing it (R-TRUST-3)")]
    ForeignSid {
        /// The group.
        name: String,
        /// Its SID.
        sid: String,
        /// The forest.
        forest: String,
    },
}

/// Looks up `group` (`DOMAIN\name`) in `trust`'s forest through `domain_controller`
/// (an address, or the forest's name for its configured endpoint) using the
/// linked credential named `credential`.
pub async fn resolve_foreign_group(
    trust: &Trust,
    group: &str,
    domain_controller: &str,
    credential: &str,
) -> Result<LinkedGroup, LinkedError> {
    let linked = trust
        .linked_credential
        .as_ref()
        .filter(|l| l.user.eq_ignore_ascii_case(credential))
        .ok_or_else(|| LinkedError::NoCredential {
            requested: credential.to_owned(),
            forest: trust.forest.to_string(),
            held: trust
                .linked_credential
                .as_ref()
                .map(|l| format!(" (this organization holds `{}`)", l.user))
                .unwrap_or_else(|| " (none is configured for this trust)".to_owned()),
        })?;
    let address = if trust.forest.answers_to(domain_controller) {
        trust.endpoint.address.clone()
    } else {
        domain_controller.to_owned()
    };
    let endpoint = ForestEndpoint {
        address: address.clone(),
        ..trust.endpoint.clone()
    };
    let fail = |reason: String| LinkedError::Directory {
        server: address.clone(),
        forest: trust.forest.to_string(),
        reason,
    };
    let channel = connect(&endpoint, &linked.credential)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut client = pb::directory_client::DirectoryClient::new(channel);
    let principal = client
        .lookup_principal(pb::LookupPrincipalRequest {
            name: group.to_owned(),
        })
        .await
        .map_err(|s| fail(s.message().to_owned()))?
        .into_inner()
        .principal
        .ok_or_else(|| fail("the server returned no principal".into()))?;
    if principal.kind != pb::PrincipalKind::UniversalSecurityGroup as i32 {
        return Err(LinkedError::NotAGroup(group.to_owned()));
    }
    let sid: Sid = principal
        .sid
        .parse()
        .map_err(|e: crossforest_shared::sid::SidError| fail(e.to_string()))?;
    if !trust.domain_sids.iter().any(|d| d.contains(&sid)) {
        return Err(LinkedError::ForeignSid {
            name: group.to_owned(),
            sid: sid.to_string(),
            forest: trust.forest.to_string(),
        });
    }
    Ok(LinkedGroup {
        sid,
        forest: trust.forest.clone(),
        name: format!("{}\\{}", trust.forest.netbios(), principal.name),
        domain_controller: domain_controller.to_owned(),
        credential: linked.user.clone(),
    })
}
