//! The account forest's node configuration (`node.toml`).

use std::path::{Path, PathBuf};

use crossforest_shared::config::{read_toml, resolve, ConfigError, Operations, Problems};
use crossforest_shared::{DomainSid, ForestName};
use serde::{Deserialize, Serialize};

/// Default lifetime of forest tokens.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 600;

/// One account forest node, as configured in its TOML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The forest's DNS name, e.g. `fabrikam.com`.
    pub forest: ForestName,
    /// The root domain's SID; every account SID is allocated under it.
    pub domain_sid: DomainSid,
    /// `host:port` to listen on.
    pub listen: String,
    /// Directory holding `directory.json` (relative to this file).
    pub data_dir: PathBuf,
    /// Directory holding `ca.pem`, `ca.key`, `server.pem` and
    /// `token-signing.pem` (relative to this file).
    pub pki_dir: PathBuf,
    /// Lifetime of issued forest tokens, in seconds.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_secs: u64,
    /// Metrics, certificate reloading and shutdown (`[operations]`).
    #[serde(default)]
    pub operations: Operations,
}

fn default_token_lifetime() -> u64 {
    DEFAULT_TOKEN_LIFETIME_SECS
}

impl NodeConfig {
    /// Reads a node configuration; relative paths become relative to the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut config: Self = read_toml(path)?;
        config.data_dir = resolve(path, &config.data_dir);
        config.pki_dir = resolve(path, &config.pki_dir);
        config.check().into_result(path)?;
        Ok(config)
    }

    /// Checks what parsing cannot: addresses and certificate files, each
    /// problem naming its key.
    pub fn check(&self) -> Problems {
        let mut problems = Problems::new();
        problems.address("listen", &self.listen);
        self.operations.check(&self.listen, &mut problems);
        problems.pem_file("pki_dir", &self.pki_dir.join("ca.pem"), false);
        problems.pem_file("pki_dir", &self.pki_dir.join("server.pem"), true);
        problems.pem_file("pki_dir", &self.pki_dir.join("token-signing.pem"), true);
        if !self.pki_dir.join("ca.key").is_file() {
            problems.push(
                "pki_dir",
                format!(
                    "`{}` is missing: the forest's CA key",
                    self.pki_dir.join("ca.key").display()
                ),
            );
        }
        if self.token_lifetime_secs == 0 || self.token_lifetime_secs > 86_400 {
            problems.push(
                "token_lifetime_secs",
                format!(
                    "{} is not between 1 and 86400 seconds",
                    self.token_lifetime_secs
                ),
            );
        }
        problems
    }

    /// The directory state file.
    pub fn directory_file(&self) -> PathBuf {
        self.data_dir.join("directory.json")
    }
}
