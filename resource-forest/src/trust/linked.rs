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
    /// `-LinkedDomainController` names no domain controller of the forest.
    #[error("`{server}` is not a domain controller of `{forest}`: name the forest, one of its domain controllers (`dc01.{forest}`) or its configured endpoint; nothing was contacted")]
    NotADomainController {
        /// What was given.
        server: String,
        /// The forest.
        forest: String,
    },
    /// The directory server did not answer in time (connection, TLS
    /// handshake and call together).
    #[error("the directory server `{server}` of `{forest}` did not answer within {secs} s (the trust's timeout_secs); nothing was changed")]
    TimedOut {
        /// The server.
        server: String,
        /// The forest.
        forest: String,
        /// The timeout.
        secs: u64,
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

/// A directory client of `trust`'s forest at `address`, authenticated with the
/// linked credential.
async fn directory(
    trust: &Trust,
    address: &str,
    linked: &super::LinkedCredential,
) -> Result<pb::directory_client::DirectoryClient<tonic::transport::Channel>, LinkedError> {
    let endpoint = ForestEndpoint {
        address: address.to_owned(),
        ..trust.endpoint.clone()
    };
    let connected = connect(&endpoint, &linked.credential).await;
    trust
        .metrics
        .trust_link(trust.forest.as_str(), connected.is_ok());
    let channel = connected.map_err(|e| LinkedError::Directory {
        server: address.to_owned(),
        forest: trust.forest.to_string(),
        reason: e.to_string(),
    })?;
    Ok(pb::directory_client::DirectoryClient::new(channel))
}

/// The trust's configured directory, with its linked credential.
async fn configured_directory(
    trust: &Trust,
) -> Result<pb::directory_client::DirectoryClient<tonic::transport::Channel>, LinkedError> {
    let linked = trust
        .linked_credential
        .as_ref()
        .ok_or_else(|| LinkedError::NoCredential {
            requested: "(the configured one)".into(),
            forest: trust.forest.to_string(),
            held: " (none is configured for this trust)".into(),
        })?;
    directory(trust, &trust.endpoint.address, linked).await
}

fn directory_error(trust: &Trust, status: &tonic::Status) -> LinkedError {
    // The directory refusing the linked credential, or being unreachable,
    // means the link is down; a name that does not resolve does not.
    if matches!(
        status.code(),
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied | tonic::Code::Unavailable
    ) {
        trust.metrics.trust_link(trust.forest.as_str(), false);
    }
    LinkedError::Directory {
        server: trust.endpoint.address.clone(),
        forest: trust.forest.to_string(),
        reason: status.message().to_owned(),
    }
}

/// The SIDs of `p` if it is under one of the trust's domains (R-TRUST-3).
fn vouched(trust: &Trust, p: &pb::Principal) -> Option<Sid> {
    p.sid
        .parse::<Sid>()
        .ok()
        .filter(|sid| trust.domain_sids.iter().any(|d| d.contains(sid)))
}

/// The users of the foreign group `group` (nesting expanded), read with the
/// linked credential (R-LRG-8); SIDs the forest may not vouch for are dropped.
pub async fn foreign_members(
    trust: &Trust,
    group: &Sid,
) -> Result<Vec<(Sid, String)>, LinkedError> {
    within_timeout(trust, &trust.endpoint.address, async {
        let mut client = configured_directory(trust).await?;
        let response = client
            .expand_group(pb::ExpandGroupRequest {
                group_sid: group.to_string(),
            })
            .await
            .map_err(|s| directory_error(trust, &s))?
            .into_inner();
        Ok(response
            .users
            .iter()
            .filter_map(|u| {
                vouched(trust, u)
                    .map(|sid| (sid, format!("{}\\{}", trust.forest.netbios(), u.name)))
            })
            .collect())
    })
    .await
}

/// A foreign user's SID and its groups' SIDs, read with the linked credential
/// and SID-filtered (R-TRUST-3): what its token would carry.
pub async fn foreign_user(trust: &Trust, name: &str) -> Result<(Sid, Vec<Sid>), LinkedError> {
    within_timeout(trust, &trust.endpoint.address, async {
        let mut client = configured_directory(trust).await?;
        let principal = client
            .lookup_principal(pb::LookupPrincipalRequest {
                name: name.to_owned(),
            })
            .await
            .map_err(|s| directory_error(trust, &s))?
            .into_inner()
            .principal
            .ok_or_else(|| directory_error(trust, &tonic::Status::not_found(name.to_owned())))?;
        if principal.kind != pb::PrincipalKind::User as i32 {
            return Err(LinkedError::Directory {
                server: trust.endpoint.address.clone(),
                forest: trust.forest.to_string(),
                reason: format!("`{name}` is not a user"),
            });
        }
        let user = vouched(trust, &principal).ok_or_else(|| LinkedError::ForeignSid {
            name: name.to_owned(),
            sid: principal.sid.clone(),
            forest: trust.forest.to_string(),
        })?;
        let groups = client
            .resolve_token_groups(pb::ResolveTokenGroupsRequest {
                user_sid: user.to_string(),
            })
            .await
            .map_err(|s| directory_error(trust, &s))?
            .into_inner()
            .groups;
        Ok((
            user,
            groups.iter().filter_map(|g| vouched(trust, g)).collect(),
        ))
    })
    .await
}

/// Runs `call` to `server` of `trust`'s forest, failing with
/// [`LinkedError::TimedOut`] past the trust's timeout: a server that accepts
/// a connection and never completes the TLS handshake must not hold a
/// cmdlet (or anything it waits for) for long.
async fn within_timeout<T>(
    trust: &Trust,
    server: &str,
    call: impl std::future::Future<Output = Result<T, LinkedError>>,
) -> Result<T, LinkedError> {
    match tokio::time::timeout(trust.timeout, call).await {
        Ok(result) => result,
        Err(_) => {
            trust.metrics.trust_link(trust.forest.as_str(), false);
            Err(LinkedError::TimedOut {
                server: server.to_owned(),
                forest: trust.forest.to_string(),
                secs: trust.timeout.as_secs(),
            })
        }
    }
}

/// Where `-LinkedDomainController` leads: only ever to the trust's configured
/// endpoint. The forest's own name (`fabrikam.com`, `fabrikam`), the name of
/// a domain controller in it (`dc01.fabrikam.com`, with or without a port)
/// and the endpoint's address itself all mean that endpoint; anything else is
/// refused before any connection is tried, so the parameter cannot make the
/// resource forest reach other hosts or ports.
pub fn domain_controller_address(
    trust: &Trust,
    domain_controller: &str,
) -> Result<String, LinkedError> {
    let host = match domain_controller.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => domain_controller,
    };
    let forest = trust.forest.as_str();
    let in_forest = host.len() > forest.len() + 1
        && host.is_char_boundary(host.len() - forest.len() - 1)
        && host[host.len() - forest.len() - 1..].eq_ignore_ascii_case(&format!(".{forest}"));
    if trust.forest.answers_to(domain_controller)
        || in_forest
        || domain_controller.eq_ignore_ascii_case(&trust.endpoint.address)
    {
        Ok(trust.endpoint.address.clone())
    } else {
        Err(LinkedError::NotADomainController {
            server: domain_controller.to_owned(),
            forest: trust.forest.to_string(),
        })
    }
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
    let address = domain_controller_address(trust, domain_controller)?;
    let fail = |reason: String| LinkedError::Directory {
        server: address.clone(),
        forest: trust.forest.to_string(),
        reason,
    };
    let principal = within_timeout(trust, &address, async {
        let mut client = directory(trust, &address, linked).await?;
        client
            .lookup_principal(pb::LookupPrincipalRequest {
                name: group.to_owned(),
            })
            .await
            .map_err(|s| fail(s.message().to_owned()))?
            .into_inner()
            .principal
            .ok_or_else(|| fail("the server returned no principal".into()))
    })
    .await?;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn fabrikam() -> Trust {
        Trust {
            forest: "fabrikam.com".parse().unwrap(),
            endpoint: ForestEndpoint {
                forest: "fabrikam.com".parse().unwrap(),
                address: "127.0.0.1:7101".into(),
                ca_pem: String::new(),
            },
            domain_sids: Vec::new(),
            linked_credential: None,
            metrics: Arc::new(crossforest_shared::metrics::Metrics::new()),
            max_staleness: Duration::from_secs(300),
            timeout: Duration::from_secs(5),
            max_token_lifetime: Duration::from_secs(36_000),
        }
    }

    #[test]
    fn linked_domain_controller_leads_only_to_the_trusts_endpoint() {
        let trust = fabrikam();
        for named in [
            "fabrikam.com",
            "FABRIKAM",
            "dc01.fabrikam.com",
            "DC01.Fabrikam.com:389",
            "127.0.0.1:7101",
        ] {
            assert_eq!(
                domain_controller_address(&trust, named).unwrap(),
                "127.0.0.1:7101",
                "{named}"
            );
        }
        for other in [
            "127.0.0.1:22",
            "127.0.0.1:7102",
            "localhost:7101",
            "evilfabrikam.com",
            "dc01.fabrikam.com.evil.net",
            "dc01.tailspin.com",
            "",
        ] {
            let e = domain_controller_address(&trust, other).unwrap_err();
            assert!(
                e.to_string().contains("nothing was contacted"),
                "{other}: {e}"
            );
        }
    }
}
