//! Receive connectors (configuration partition) and the Active Directory
//! permissions Exchange adds to objects with `Add-ADPermission`.

use serde::{Deserialize, Serialize};

/// A Receive connector of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveConnector {
    /// Name, unique per server.
    pub name: String,
    /// The server it belongs to.
    pub server: String,
    /// Local addresses and ports.
    pub bindings: Vec<String>,
    /// Remote address ranges it accepts.
    pub remote_ip_ranges: Vec<String>,
    /// Its usage type.
    pub usage: String,
}

impl ReceiveConnector {
    /// `Server\Name`, as Exchange names it.
    pub fn identity(&self) -> String {
        format!("{}\\{}", self.server, self.name)
    }
}

/// One permission entry added by `Add-ADPermission`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdPermission {
    /// The object's identity.
    pub object: String,
    /// `domain` or `configuration`.
    pub partition: String,
    /// The principal granted.
    pub user: String,
    /// Access or extended rights.
    pub rights: Vec<String>,
}
