//! Exchange servers and clusters in the configuration partition, and delegated
//! setup (SPEC §7, R-DS-1..4): an Organization Management member provisions a
//! server for a delegate (an account or a security group); the delegate
//! completes the installation of provisioned servers only. A clustered mailbox
//! server (seed 000) is provisioned with temporary objects for the cluster's
//! nodes, removed when the Mailbox role is installed on the first passive node.

use std::collections::BTreeSet;

use crossforest_shared::Sid;
use serde::{Deserialize, Serialize};

use super::Organization;
use crate::rbac::opath::Properties;
use crate::rbac::scope::ConfigObject;

/// Where a server is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerState {
    /// Its objects exist; the delegate may complete the installation.
    Provisioned {
        /// The account or security group allowed to install it.
        delegate: Sid,
        /// The delegate's name, for output.
        delegate_name: String,
    },
    /// Installed (on these nodes, for a clustered mailbox server).
    Installed,
}

/// An Exchange server object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeServer {
    /// Name.
    pub name: String,
    /// Active Directory site.
    pub site: String,
    /// Provisioned or installed.
    pub state: ServerState,
    /// Installed server roles (`Mailbox`, …).
    pub roles: BTreeSet<String>,
    /// The cluster of a clustered mailbox server.
    pub cluster: Option<String>,
    /// Nodes the Mailbox role is installed on (clustered mailbox servers).
    pub installed_nodes: Vec<String>,
    /// For a temporary node object: the clustered mailbox server it serves.
    pub temporary_for: Option<String>,
    /// Settings changed with Set-ExchangeServer.
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, String>,
}

impl Properties for ExchangeServer {
    fn property(&self, name: &str) -> Option<&str> {
        match name {
            "Name" => Some(&self.name),
            "ServerSite" => Some(&self.site),
            other => self.settings.get(other).map(String::as_str),
        }
    }
}

impl ConfigObject for ExchangeServer {
    fn name(&self) -> &str {
        &self.name
    }
}

/// A mailbox database (configuration partition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxDatabase {
    /// Name, unique in the organization.
    pub name: String,
    /// The server that hosts it.
    pub server: String,
    /// Settings changed with Set-MailboxDatabase.
    pub settings: std::collections::BTreeMap<String, String>,
}

impl Properties for MailboxDatabase {
    fn property(&self, name: &str) -> Option<&str> {
        match name {
            "Name" => Some(&self.name),
            "Server" => Some(&self.server),
            other => self.settings.get(other).map(String::as_str),
        }
    }
}

impl ConfigObject for MailboxDatabase {
    fn name(&self) -> &str {
        &self.name
    }
}

/// A failover cluster formed for a clustered mailbox server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Name.
    pub name: String,
    /// Node computers; the first is the active node.
    pub nodes: Vec<String>,
    /// The computer object of the clustered mailbox server, once created.
    pub computer: Option<String>,
}

/// What the caller is, as delegated setup needs it.
#[derive(Debug, Clone, Copy)]
pub struct SetupCaller<'a> {
    /// The caller's SIDs (user and groups).
    pub sids: &'a [Sid],
    /// A member of Organization Management.
    pub organization_management: bool,
    /// A member of Delegated Setup.
    pub delegated_setup: bool,
    /// Holds Server Management's `Exchange Servers` role.
    pub server_management: bool,
}

/// One setup operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupOperation {
    /// Step 1 of seed 000: form a cluster of `nodes`.
    FormCluster {
        /// Cluster name.
        cluster: String,
        /// Node computers, active first.
        nodes: Vec<String>,
    },
    /// Step 2: the computer object of the clustered mailbox server.
    NewClusterComputer {
        /// The clustered mailbox server's name.
        server: String,
        /// Its cluster.
        cluster: String,
    },
    /// `/NewProvisionedServer:<name>` for `delegate` (R-DS-1, R-DS-4).
    NewProvisionedServer {
        /// Server name.
        server: String,
        /// The delegate's SID and name.
        delegate: (Sid, String),
    },
    /// `/RemoveProvisionedServer:<name>` before installation (R-DS-4).
    RemoveProvisionedServer {
        /// Server name.
        server: String,
    },
    /// Install `roles` on `server` (on `node` for a clustered server).
    Install {
        /// Server name.
        server: String,
        /// Roles, e.g. `Mailbox`.
        roles: Vec<String>,
        /// The cluster node, for a clustered mailbox server.
        node: Option<String>,
        /// Site of a server installed without provisioning.
        site: String,
    },
    /// Uninstall `server` (Server Management, never a delegate, R-DS-4).
    Uninstall {
        /// Server name.
        server: String,
    },
}

/// Why a setup operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The operation doesn't fit the organization's state.
    #[error("{0}")]
    Refused(String),
}

fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn forbidden(message: impl Into<String>) -> SetupError {
    SetupError::Forbidden(message.into())
}

fn refused(message: impl Into<String>) -> SetupError {
    SetupError::Refused(message.into())
}

fn check_name(what: &str, name: &str) -> Result<(), SetupError> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(refused(format!(
            "`{name}` isn't a valid {what} name: 1 to 15 letters, digits or hyphens"
        )))
    }
}

/// Applies `operation` for `caller`: the organization after it, and what
/// changed, line by line.
pub fn apply(
    org: &Organization,
    caller: &SetupCaller<'_>,
    operation: &SetupOperation,
) -> Result<(Organization, Vec<String>), SetupError> {
    let mut next = org.clone();
    let mut changes = Vec::new();
    let subordinate = caller.organization_management || caller.delegated_setup;
    match operation {
        SetupOperation::FormCluster { cluster, nodes } => {
            if !subordinate {
                return Err(forbidden("forming a cluster for Exchange needs Delegated Setup or Organization Management"));
            }
            check_name("cluster", cluster)?;
            if nodes.len() < 2 {
                return Err(refused(
                    "a cluster needs at least two nodes (an active and a passive one)",
                ));
            }
            for n in nodes {
                check_name("node", n)?;
            }
            if org.clusters.contains_key(&key(cluster)) {
                return Err(refused(format!("cluster `{cluster}` already exists")));
            }
            next.clusters.insert(
                key(cluster),
                Cluster {
                    name: cluster.clone(),
                    nodes: nodes.clone(),
                    computer: None,
                },
            );
            changes.push(format!(
                "formed cluster `{cluster}` of {}",
                nodes.join(", ")
            ));
        }
        SetupOperation::NewClusterComputer { server, cluster } => {
            if !subordinate {
                return Err(forbidden(
                    "creating the computer object needs Delegated Setup or Organization Management",
                ));
            }
            check_name("server", server)?;
            let c = next.clusters.get_mut(&key(cluster)).ok_or_else(|| {
                refused(format!("cluster `{cluster}` doesn't exist: form it first"))
            })?;
            if let Some(existing) = &c.computer {
                return Err(refused(format!(
                    "cluster `{cluster}` already has computer object `{existing}`"
                )));
            }
            c.computer = Some(server.clone());
            changes.push(format!(
                "created computer object `{server}` in cluster `{cluster}`"
            ));
        }
        SetupOperation::NewProvisionedServer { server, delegate } => {
            if !caller.organization_management {
                return Err(forbidden(
                    "/NewProvisionedServer needs a member of Organization Management (R-DS-4)",
                ));
            }
            check_name("server", server)?;
            if !org
                .servers
                .values()
                .any(|s| s.state == ServerState::Installed && s.temporary_for.is_none())
            {
                return Err(refused("the first server of an organization can't be delegated: install it yourself (R-DS-4)"));
            }
            if org.servers.contains_key(&key(server)) {
                return Err(refused(format!("server `{server}` already exists")));
            }
            let state = ServerState::Provisioned {
                delegate: delegate.0,
                delegate_name: delegate.1.clone(),
            };
            let cluster = org.clusters.values().find(|c| {
                c.computer
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(server))
            });
            let site = org
                .servers
                .values()
                .next()
                .map(|s| s.site.clone())
                .unwrap_or_default();
            next.servers.insert(
                key(server),
                ExchangeServer {
                    name: server.clone(),
                    site: site.clone(),
                    state: state.clone(),
                    roles: BTreeSet::new(),
                    cluster: cluster.map(|c| c.name.clone()),
                    installed_nodes: Vec::new(),
                    temporary_for: None,
                    settings: Default::default(),
                },
            );
            changes.push(format!(
                "provisioned server `{server}` for `{}` (R-DS-1)",
                delegate.1
            ));
            for node in cluster.map(|c| c.nodes.clone()).unwrap_or_default() {
                if org.servers.contains_key(&key(&node)) {
                    return Err(refused(format!("a server object `{node}` already exists")));
                }
                next.servers.insert(
                    key(&node),
                    ExchangeServer {
                        name: node.clone(),
                        site: site.clone(),
                        state: state.clone(),
                        roles: BTreeSet::new(),
                        cluster: None,
                        installed_nodes: Vec::new(),
                        temporary_for: Some(server.clone()),
                        settings: Default::default(),
                    },
                );
                changes.push(format!(
                    "created temporary server object `{node}` for the cluster node"
                ));
            }
        }
        SetupOperation::RemoveProvisionedServer { server } => {
            if !caller.organization_management {
                return Err(forbidden(
                    "/RemoveProvisionedServer needs a member of Organization Management (R-DS-4)",
                ));
            }
            let s = org
                .servers
                .get(&key(server))
                .ok_or_else(|| refused(format!("server `{server}` doesn't exist")))?;
            if !matches!(s.state, ServerState::Provisioned { .. }) || s.temporary_for.is_some() {
                return Err(refused(format!("`{server}` isn't a provisioned server awaiting installation; installed servers are uninstalled")));
            }
            next.servers.retain(|_, t| {
                !t.name.eq_ignore_ascii_case(server)
                    && !t
                        .temporary_for
                        .as_deref()
                        .is_some_and(|f| f.eq_ignore_ascii_case(server))
            });
            changes.push(format!(
                "removed provisioned server `{server}` and its temporary objects"
            ));
        }
        SetupOperation::Install {
            server,
            roles,
            node,
            site,
        } => {
            install(
                org,
                &mut next,
                &mut changes,
                caller,
                server,
                roles,
                node.as_deref(),
                site,
            )?;
        }
        SetupOperation::Uninstall { server } => {
            if !(caller.organization_management || caller.server_management) {
                return Err(forbidden(format!(
                    "uninstalling `{server}` needs Server Management; Delegated Setup only completes installations (R-DS-4)"
                )));
            }
            let s = org
                .servers
                .get(&key(server))
                .ok_or_else(|| refused(format!("server `{server}` doesn't exist")))?;
            if s.state != ServerState::Installed {
                return Err(refused(format!(
                    "`{server}` isn't installed; use /RemoveProvisionedServer"
                )));
            }
            next.servers.remove(&key(server));
            changes.push(format!("uninstalled `{server}`"));
        }
    }
    Ok((next, changes))
}

#[expect(
    clippy::too_many_arguments,
    reason = "one installation step reads the whole operation"
)]
fn install(
    org: &Organization,
    next: &mut Organization,
    changes: &mut Vec<String>,
    caller: &SetupCaller<'_>,
    server: &str,
    roles: &[String],
    node: Option<&str>,
    site: &str,
) -> Result<(), SetupError> {
    check_name("server", server)?;
    if roles.is_empty() {
        return Err(refused("name the roles to install, e.g. Mailbox"));
    }
    let Some(existing) = org.servers.get(&key(server)) else {
        // Not provisioned: only Organization Management installs (R-DS-3).
        if !caller.organization_management {
            return Err(forbidden(format!(
                "`{server}` wasn't provisioned: Delegated Setup members can install only servers provisioned beforehand (R-DS-3)"
            )));
        }
        next.servers.insert(
            key(server),
            ExchangeServer {
                name: server.to_owned(),
                site: site.to_owned(),
                state: ServerState::Installed,
                roles: roles.iter().cloned().collect(),
                cluster: None,
                installed_nodes: Vec::new(),
                temporary_for: None,
                settings: Default::default(),
            },
        );
        changes.push(format!("installed {} on `{server}`", roles.join(", ")));
        return Ok(());
    };
    if existing.temporary_for.is_some() {
        return Err(refused(format!(
            "`{server}` is a temporary object for a cluster node; install the clustered mailbox server `{}` on that node",
            existing.temporary_for.as_deref().unwrap_or_default()
        )));
    }
    match &existing.state {
        ServerState::Provisioned {
            delegate,
            delegate_name,
        } => {
            let allowed = caller.organization_management || caller.sids.contains(delegate);
            if !allowed {
                return Err(forbidden(format!(
                    "`{server}` was provisioned for `{delegate_name}`; you aren't it (R-DS-1, R-DS-2)"
                )));
            }
        }
        ServerState::Installed if existing.cluster.is_none() => {
            return Err(refused(format!("`{server}` is already installed")));
        }
        ServerState::Installed => {
            // Further nodes of an installed clustered server: Organization
            // Management or the Server Management role.
            if !(caller.organization_management || caller.server_management) {
                return Err(forbidden(format!(
                    "`{server}` is installed; managing it further needs Server Management (R-DS-4)"
                )));
            }
        }
    }
    let mut updated = existing.clone();
    match (&existing.cluster, node) {
        (None, Some(_)) => {
            return Err(refused(format!(
                "`{server}` isn't clustered; install without a node"
            )))
        }
        (None, None) => {
            updated.state = ServerState::Installed;
            updated.roles.extend(roles.iter().cloned());
            changes.push(format!(
                "installed {} on provisioned server `{server}`, adopting its objects (R-DS-2)",
                roles.join(", ")
            ));
        }
        (Some(_), None) => {
            return Err(refused(format!(
                "`{server}` is a clustered mailbox server: name the node to install on"
            )))
        }
        (Some(cluster_name), Some(node)) => {
            let cluster = org
                .clusters
                .get(&key(cluster_name))
                .ok_or_else(|| refused(format!("cluster `{cluster_name}` no longer exists")))?;
            let position = cluster
                .nodes
                .iter()
                .position(|n| n.eq_ignore_ascii_case(node))
                .ok_or_else(|| {
                    refused(format!("`{node}` isn't a node of cluster `{cluster_name}`"))
                })?;
            if updated
                .installed_nodes
                .iter()
                .any(|n| n.eq_ignore_ascii_case(node))
            {
                return Err(refused(format!(
                    "`{server}` is already installed on `{node}`"
                )));
            }
            if position > 0 && updated.installed_nodes.is_empty() {
                return Err(refused(format!(
                    "install `{server}` on the active node `{}` first",
                    cluster.nodes[0]
                )));
            }
            let first_passive = position > 0
                && !updated
                    .installed_nodes
                    .iter()
                    .any(|n| cluster.nodes[1..].iter().any(|p| p.eq_ignore_ascii_case(n)));
            updated
                .installed_nodes
                .push(cluster.nodes[position].clone());
            updated.roles.extend(roles.iter().cloned());
            // The delegate's installation completes with the first passive
            // node; until then the server stays provisioned for it.
            if first_passive {
                updated.state = ServerState::Installed;
            }
            changes.push(format!(
                "installed {} of `{server}` on {} node `{node}`",
                roles.join(", "),
                if position == 0 { "active" } else { "passive" }
            ));
            if first_passive && roles.iter().any(|r| r.eq_ignore_ascii_case("Mailbox")) {
                let before = next.servers.len();
                next.servers.retain(|_, s| {
                    !s.temporary_for
                        .as_deref()
                        .is_some_and(|f| f.eq_ignore_ascii_case(server))
                });
                changes.push(format!(
                    "removed {} temporary node object(s): the Mailbox role is on the first passive node (R-DS-2)",
                    before - next.servers.len()
                ));
            }
        }
    }
    next.servers.insert(key(server), updated);
    Ok(())
}
