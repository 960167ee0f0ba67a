//! The account forest's node configuration (`node.toml`).

use std::path::{Path, PathBuf};

use crossforest_shared::config::{read_toml, resolve, ConfigError, Operations, Problems};
use crossforest_shared::store::embedded::EmbeddedStore;
use crossforest_shared::store::StoreConfig;
use crossforest_shared::{DomainSid, ForestName};
use serde::{Deserialize, Serialize};

use crate::store::Directories;

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
    /// Directory holding the embedded store, `directory.redb` (relative to
    /// this file).
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
    /// Where the directory is kept: `[store]`, embedded by default.
    #[serde(default, skip_serializing_if = "StoreConfig::is_embedded")]
    pub store: StoreConfig,
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
        self.store.check(&mut problems);
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

    /// Where the directory is kept, for messages (never a password).
    pub fn store_description(&self) -> String {
        match &self.store {
            StoreConfig::Embedded => EmbeddedStore::<Directories>::path(&self.data_dir)
                .display()
                .to_string(),
            other => other.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossforest_shared::pki::CertificateAuthority;

    const GOOD: &str = r#"forest = "fabrikam.com"
domain_sid = "S-1-5-21-4-5-6"
listen = "127.0.0.1:7101"
data_dir = "data"
pki_dir = "pki"
token_lifetime_secs = 600
"#;

    /// Loads `GOOD` with `from` replaced by `to` in a node directory with real
    /// certificates; the error text, if any.
    fn load_with(from: &str, to: &str) -> Result<Option<String>, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let pki = dir.path().join("pki");
        let ca = CertificateAuthority::generate(&"fabrikam.com".parse()?)?;
        ca.store(&pki)?;
        ca.issue_server(&[])?
            .write_combined(&pki.join("server.pem"))?;
        ca.issue_token_signing()?
            .write_combined(&pki.join("token-signing.pem"))?;
        let path = dir.path().join("node.toml");
        assert!(GOOD.contains(from));
        std::fs::write(&path, GOOD.replacen(from, to, 1))?;
        Ok(NodeConfig::load(&path).err().map(|e| e.to_string()))
    }

    fn error(from: &str, to: &str) -> String {
        load_with(from, to).ok().flatten().unwrap_or_default()
    }

    #[test]
    fn a_good_configuration_loads() {
        assert_eq!(load_with("", "").ok().flatten(), None);
    }

    #[test]
    fn bad_keys_are_named() {
        let unknown = error("listen =", "listen_on =");
        assert!(
            unknown.contains("node.toml") && unknown.contains("listen_on: unknown field"),
            "{unknown}"
        );
        let sid = error("S-1-5-21-4-5-6", "S-1-5-21-4-five-6");
        assert!(
            sid.contains("domain_sid: ") && sid.contains("(line 2)"),
            "{sid}"
        );
        let listen = error("127.0.0.1:7101", "127.0.0.1");
        assert!(
            listen.contains("listen: `127.0.0.1` is not `host:port`"),
            "{listen}"
        );
        let lifetime = error("= 600", "= 0");
        assert!(
            lifetime.contains("token_lifetime_secs: 0 is not between 1 and 86400"),
            "{lifetime}"
        );
        let schema = error(
            "token_lifetime_secs = 600",
            "token_lifetime_secs = 600\n[store]\nkind = \"postgres\"\nurl = \"postgres://h/d\"\nschema = \"Bad-Name\"",
        );
        assert!(
            schema.contains("store.schema: `Bad-Name` is not a schema name"),
            "{schema}"
        );
        let pki = error("pki_dir = \"pki\"", "pki_dir = \"nowhere\"");
        assert!(pki.contains("pki_dir: ") && pki.contains("ca.key"), "{pki}");
    }
}
