//! The resource forest's node configuration (`node.toml`).

use std::path::{Path, PathBuf};

use crossforest_shared::config::{read_toml, resolve, ConfigError};
use crossforest_shared::{DomainSid, ForestName};
use serde::{Deserialize, Serialize};

use crate::store::StoreConfig;
use crate::trust::config::TrustConfig;

/// Default tolerated clock difference between forests.
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 60;

/// One resource forest node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The forest's DNS name (also the organization's), e.g. `contoso.com`.
    pub forest: ForestName,
    /// The root domain's SID.
    pub domain_sid: DomainSid,
    /// `host:port` to listen on.
    pub listen: String,
    /// Directory holding the embedded store, `audit.jsonl` and `listening`.
    pub data_dir: PathBuf,
    /// Directory holding `ca.pem`, `ca.key` and `server.pem`.
    pub pki_dir: PathBuf,
    /// Tolerated clock difference when checking token validity.
    #[serde(default = "default_skew")]
    pub clock_skew_secs: u64,
    /// Where the organization is kept: `[store]`, embedded by default.
    #[serde(default, skip_serializing_if = "StoreConfig::is_embedded")]
    pub store: StoreConfig,
    /// Trusted account forests.
    #[serde(default, rename = "trust")]
    pub trusts: Vec<TrustConfig>,
}

fn default_skew() -> u64 {
    DEFAULT_CLOCK_SKEW_SECS
}

impl NodeConfig {
    /// Reads a node configuration; relative paths become relative to the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut config: Self = read_toml(path)?;
        config.data_dir = resolve(path, &config.data_dir);
        config.pki_dir = resolve(path, &config.pki_dir);
        for trust in &mut config.trusts {
            trust.ca_certificate = resolve(path, &trust.ca_certificate);
            if let Some(linked) = &mut trust.linked_credential {
                linked.credential = resolve(path, &linked.credential);
            }
        }
        Ok(config)
    }

    /// Where the organization is kept, for messages (never a password).
    pub fn store_description(&self) -> String {
        match &self.store {
            StoreConfig::Embedded => crate::store::embedded::EmbeddedStore::path(&self.data_dir)
                .display()
                .to_string(),
            other => other.describe(),
        }
    }

    /// The admin audit log.
    pub fn audit_file(&self) -> PathBuf {
        self.data_dir.join("audit.jsonl")
    }
}
