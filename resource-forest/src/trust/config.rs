//! Trusted account forests, configured in the node's TOML file as `[[trust]]`
//! entries, the equivalent of `New-ForestTrust` plus the linked credential.

use std::path::PathBuf;

use crossforest_shared::{DomainSid, ForestName};
use serde::{Deserialize, Serialize};

/// One one-way trust: this resource forest trusts `forest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// The account forest's DNS name.
    pub forest: ForestName,
    /// `host:port` of a directory server of the account forest.
    pub endpoint: String,
    /// The account forest's trust bundle: its CA certificate, or during a CA
    /// rotation the new and the old one (PEM file, one or more certificates).
    pub ca_certificate: PathBuf,
    /// The domain SIDs the forest may vouch for (R-TRUST-3).
    pub domain_sids: Vec<DomainSid>,
    /// The credential the account forest issued to this forest (R-TRUST-2).
    pub linked_credential: Option<LinkedCredentialConfig>,
    /// How long the forest's tokens are honoured while its change feed is
    /// unreachable; then its requests are refused until the link is back.
    #[serde(default = "default_max_staleness")]
    pub max_staleness_secs: u64,
    /// How long one call to the forest's directory may take, connection and
    /// TLS handshake included (resolving a linked group, looking up a user):
    /// a directory server that accepts a connection and never answers fails
    /// the cmdlet after this long, naming the server.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The longest validity (from issue to expiry) of a token of this forest
    /// that is honoured; a token valid for longer is refused with the reason.
    #[serde(default = "default_max_token_lifetime")]
    pub max_token_lifetime_secs: u64,
}

/// Ten hours, as Active Directory's default maximum Kerberos ticket lifetime.
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 10 * 60 * 60;

fn default_max_token_lifetime() -> u64 {
    DEFAULT_MAX_TOKEN_LIFETIME_SECS
}

fn default_max_staleness() -> u64 {
    super::freshness::DEFAULT_MAX_STALENESS_SECS
}

/// Seconds a call to a trusted forest's directory may take by default.
pub const DEFAULT_TIMEOUT_SECS: u64 = 5;

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

/// A linked credential: a service account of the account forest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkedCredentialConfig {
    /// The account, `DOMAIN\name`, as `-LinkedCredential` names it.
    pub user: String,
    /// Certificate and key file issued by the account forest.
    pub credential: PathBuf,
}
