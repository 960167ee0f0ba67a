//! The account forest's node configuration (`node.toml`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crossforest_shared::config::{read_toml, resolve, ConfigError, Operations, Problems};
use crossforest_shared::store::embedded::EmbeddedStore;
use crossforest_shared::store::StoreConfig;
use crossforest_shared::{DomainSid, ForestName};
use serde::{Deserialize, Serialize};

use crate::hashing::{PasswordHashing, HASH_MEMORY_KIB};
use crate::lockout::LockoutPolicy;
use crate::store::Directories;

/// Default lifetime of forest tokens.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 600;

/// Default `LockoutThreshold`: 10 bad passwords. AD's own default is 0
/// (never); 10 is Windows 11's and the usual baseline's. Only the holder of
/// an account's certificate can try its password, so nobody else can lock
/// an account out.
pub const DEFAULT_LOCKOUT_THRESHOLD: u32 = 10;

/// Default `LockoutDuration` and `LockoutObservationWindow`: 30 minutes, a
/// new AD domain's values ("Account lockout duration", "Reset account
/// lockout counter after").
pub const DEFAULT_LOCKOUT_MINUTES: u64 = 30;

/// Default memory budget for password checks: 80 MiB, four concurrent
/// argon2 checks of 19 MiB.
pub const DEFAULT_PASSWORD_HASH_MEMORY_MIB: u32 = 80;

/// Default longest wait for the budget before RESOURCE_EXHAUSTED.
pub const DEFAULT_PASSWORD_HASH_WAIT_MS: u64 = 1000;

/// AD's largest `LockoutThreshold`.
const MAX_LOCKOUT_THRESHOLD: u32 = 999;

/// AD's largest `LockoutDuration` and `LockoutObservationWindow`, in minutes.
const MAX_LOCKOUT_MINUTES: u64 = 99_999;

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
    /// `LockoutThreshold`: bad passwords, each within the observation window
    /// of the one before, that lock an account out; 0 never locks out.
    #[serde(default = "default_lockout_threshold")]
    pub lockout_threshold: u32,
    /// `LockoutDuration`, in minutes: how long a lockout lasts; 0 until an
    /// administrator unlocks the account (`account-forest user unlock`).
    #[serde(default = "default_lockout_minutes")]
    pub lockout_duration_mins: u64,
    /// `LockoutObservationWindow`, in minutes: a bad password this long after
    /// the previous one starts the count again; at most the lockout duration.
    #[serde(default = "default_lockout_minutes")]
    pub lockout_observation_window_mins: u64,
    /// Memory the node may spend checking passwords at once, in MiB; each
    /// argon2 check holds 19 MiB, so this bounds the concurrent checks.
    #[serde(default = "default_password_hash_memory")]
    pub password_hash_memory_mib: u32,
    /// How long a sign-in waits for that memory, in milliseconds, before it
    /// is answered RESOURCE_EXHAUSTED with a retry hint.
    #[serde(default = "default_password_hash_wait")]
    pub password_hash_wait_ms: u64,
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

fn default_lockout_threshold() -> u32 {
    DEFAULT_LOCKOUT_THRESHOLD
}

fn default_lockout_minutes() -> u64 {
    DEFAULT_LOCKOUT_MINUTES
}

fn default_password_hash_memory() -> u32 {
    DEFAULT_PASSWORD_HASH_MEMORY_MIB
}

fn default_password_hash_wait() -> u64 {
    DEFAULT_PASSWORD_HASH_WAIT_MS
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
        self.check_sign_in(&mut problems);
        problems
    }

    /// The lockout policy's and the password budget's keys, within AD's
    /// ranges.
    fn check_sign_in(&self, problems: &mut Problems) {
        if self.lockout_threshold > MAX_LOCKOUT_THRESHOLD {
            problems.push(
                "lockout_threshold",
                format!(
                    "{} is not between 0 and {MAX_LOCKOUT_THRESHOLD}",
                    self.lockout_threshold
                ),
            );
        }
        if self.lockout_duration_mins > MAX_LOCKOUT_MINUTES {
            problems.push(
                "lockout_duration_mins",
                format!(
                    "{} is not between 0 and {MAX_LOCKOUT_MINUTES} minutes",
                    self.lockout_duration_mins
                ),
            );
        }
        if !(1..=MAX_LOCKOUT_MINUTES).contains(&self.lockout_observation_window_mins) {
            problems.push(
                "lockout_observation_window_mins",
                format!(
                    "{} is not between 1 and {MAX_LOCKOUT_MINUTES} minutes",
                    self.lockout_observation_window_mins
                ),
            );
        } else if self.lockout_duration_mins != 0
            && self.lockout_observation_window_mins > self.lockout_duration_mins
        {
            problems.push(
                "lockout_observation_window_mins",
                format!(
                    "{} minutes is longer than lockout_duration_mins ({}), as Active Directory refuses too",
                    self.lockout_observation_window_mins, self.lockout_duration_mins
                ),
            );
        }
        if PasswordHashing::permits_for(self.password_hash_memory_mib) == 0 {
            problems.push(
                "password_hash_memory_mib",
                format!(
                    "{} MiB does not hold one password check ({} MiB)",
                    self.password_hash_memory_mib,
                    HASH_MEMORY_KIB.div_ceil(1024)
                ),
            );
        }
        if self.password_hash_wait_ms > 60_000 {
            problems.push(
                "password_hash_wait_ms",
                format!(
                    "{} is not between 0 and 60000 milliseconds",
                    self.password_hash_wait_ms
                ),
            );
        }
    }

    /// The account lockout policy these keys set.
    pub fn lockout_policy(&self) -> LockoutPolicy {
        LockoutPolicy {
            threshold: self.lockout_threshold,
            duration: Duration::from_secs(self.lockout_duration_mins.saturating_mul(60)),
            observation_window: Duration::from_secs(
                self.lockout_observation_window_mins.saturating_mul(60),
            ),
        }
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
    fn the_lockout_policy_and_password_budget_have_safe_defaults() -> Result<(), toml::de::Error> {
        let config: NodeConfig = toml::from_str(GOOD)?;
        let policy = config.lockout_policy();
        assert_eq!(policy.threshold, 10);
        assert_eq!(policy.duration, Duration::from_secs(30 * 60));
        assert_eq!(policy.observation_window, Duration::from_secs(30 * 60));
        // 48 concurrent checks would hold 912 MiB; the budget holds 4.
        assert_eq!(
            PasswordHashing::permits_for(config.password_hash_memory_mib),
            4
        );
        Ok(())
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
        let threshold = error(
            "token_lifetime_secs = 600",
            "token_lifetime_secs = 600\nlockout_threshold = 1000",
        );
        assert!(
            threshold.contains("lockout_threshold: 1000 is not between 0 and 999"),
            "{threshold}"
        );
        let window = error(
            "token_lifetime_secs = 600",
            "token_lifetime_secs = 600\nlockout_duration_mins = 15\nlockout_observation_window_mins = 20",
        );
        assert!(
            window.contains("lockout_observation_window_mins: 20 minutes is longer than lockout_duration_mins (15)"),
            "{window}"
        );
        let budget = error(
            "token_lifetime_secs = 600",
            "token_lifetime_secs = 600\npassword_hash_memory_mib = 8",
        );
        assert!(
            budget.contains(
                "password_hash_memory_mib: 8 MiB does not hold one password check (19 MiB)"
            ),
            "{budget}"
        );
        let pki = error("pki_dir = \"pki\"", "pki_dir = \"nowhere\"");
        assert!(pki.contains("pki_dir: ") && pki.contains("ca.key"), "{pki}");
    }
}
