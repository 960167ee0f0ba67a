//! The resource forest's node configuration (`node.toml`).

use std::path::{Path, PathBuf};

use crossforest_shared::config::{read_toml, resolve, ConfigError, Operations, Problems};
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
    /// Metrics, certificate reloading and shutdown (`[operations]`).
    #[serde(default)]
    pub operations: Operations,
    /// The admin audit log's file size limit (`[audit]`).
    #[serde(default, skip_serializing_if = "is_default_audit")]
    pub audit: crate::audit::AuditPolicy,
    /// How long and how many statements stay open (`[statements]`).
    #[serde(
        default,
        skip_serializing_if = "crate::request::statement::StatementSettings::is_default"
    )]
    pub statements: crate::request::statement::StatementSettings,
    /// How long and how many requests wait for a revision (`[revision_wait]`).
    #[serde(
        default,
        skip_serializing_if = "crate::request::revision_wait::RevisionWaitSettings::is_default"
    )]
    pub revision_wait: crate::request::revision_wait::RevisionWaitSettings,
}

fn is_default_audit(policy: &crate::audit::AuditPolicy) -> bool {
    *policy == crate::audit::AuditPolicy::default()
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
        config.check().into_result(path)?;
        Ok(config)
    }

    /// Checks what parsing cannot: addresses, certificate files, and trusts
    /// that could not work or would be ambiguous. Every problem names its key.
    pub fn check(&self) -> Problems {
        let mut problems = Problems::new();
        problems.address("listen", &self.listen);
        self.operations.check(&self.listen, &mut problems);
        self.store.check(&mut problems);
        self.statements.check(&mut problems);
        self.revision_wait.check(&mut problems);
        problems.pem_file("pki_dir", &self.pki_dir.join("ca.pem"), false);
        problems.pem_file("pki_dir", &self.pki_dir.join("server.pem"), true);
        if self.audit.age_limit_days.is_some() {
            problems.push(
                "audit.age_limit_days",
                "is now the organization's AdminAuditLogAgeLimit, one setting for every node: remove it and run Set-AdminAuditLogConfig -AdminAuditLogAgeLimit 90.00:00:00",
            );
        }
        let mut forests = Vec::new();
        let mut domains = vec![(self.domain_sid, "domain_sid".to_owned())];
        for (i, trust) in self.trusts.iter().enumerate() {
            let key = format!("trust[{i}]");
            if trust.forest == self.forest {
                problems.push(
                    format!("{key}.forest"),
                    format!("`{}` is this forest itself", trust.forest),
                );
            } else if let Some(first) = forests.iter().position(|f| *f == &trust.forest) {
                problems.push(
                    format!("{key}.forest"),
                    format!("`{}` is already trusted by trust[{first}]", trust.forest),
                );
            }
            forests.push(&trust.forest);
            problems.address(&format!("{key}.endpoint"), &trust.endpoint);
            problems.pem_file(
                &format!("{key}.ca_certificate"),
                &trust.ca_certificate,
                false,
            );
            if trust.domain_sids.is_empty() {
                problems.push(
                    format!("{key}.domain_sids"),
                    "is empty; SID filtering would drop every SID of the forest",
                );
            }
            for (j, sid) in trust.domain_sids.iter().enumerate() {
                let here = format!("{key}.domain_sids[{j}]");
                if let Some((_, other)) = domains.iter().find(|(d, _)| d == sid) {
                    problems.push(&here, format!("`{sid}` is also {other}"));
                }
                domains.push((*sid, here));
            }
            if let Some(linked) = &trust.linked_credential {
                let in_forest = linked
                    .user
                    .split_once('\\')
                    .is_some_and(|(d, n)| trust.forest.answers_to(d) && !n.is_empty());
                if !in_forest {
                    problems.push(
                        format!("{key}.linked_credential.user"),
                        format!(
                            "`{}` must be `DOMAIN\\name` of `{}`",
                            linked.user, trust.forest
                        ),
                    );
                }
                problems.pem_file(
                    &format!("{key}.linked_credential.credential"),
                    &linked.credential,
                    true,
                );
            }
        }
        problems
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

#[cfg(test)]
mod tests {
    use super::*;
    use crossforest_shared::pki::CertificateAuthority;

    /// A node directory with real certificates: contoso trusting fabrikam.
    fn node_dir() -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let contoso = CertificateAuthority::generate(&"contoso.com".parse()?)?;
        contoso.store(&dir.path().join("pki"))?;
        contoso
            .issue_server(&[])?
            .write_combined(&dir.path().join("pki/server.pem"))?;
        let fabrikam = CertificateAuthority::generate(&"fabrikam.com".parse()?)?;
        crossforest_shared::pki::write_public(
            &dir.path().join("trusts/fabrikam.pem"),
            fabrikam.certificate_pem(),
        )?;
        fabrikam
            .issue_server(&[])?
            .write_combined(&dir.path().join("trusts/svc.pem"))?;
        Ok(dir)
    }

    const GOOD: &str = r#"
forest = "contoso.com"
domain_sid = "S-1-5-21-1-2-3"
listen = "127.0.0.1:7100"
data_dir = "data"
pki_dir = "pki"

[[trust]]
forest = "fabrikam.com"
endpoint = "127.0.0.1:7101"
ca_certificate = "trusts/fabrikam.pem"
domain_sids = ["S-1-5-21-4-5-6"]
linked_credential = { user = "FABRIKAM\\svc-contoso", credential = "trusts/svc.pem" }
"#;

    /// Loads `GOOD` with `from` replaced by `to`; the error text, if any.
    fn load_with(from: &str, to: &str) -> Result<Option<String>, Box<dyn std::error::Error>> {
        let dir = node_dir()?;
        let path = dir.path().join("node.toml");
        assert!(GOOD.contains(from), "{from}");
        std::fs::write(&path, GOOD.replacen(from, to, 1))?;
        Ok(NodeConfig::load(&path).err().map(|e| e.to_string()))
    }

    fn assert_names(from: &str, to: &str, expected: &[&str]) {
        let err = load_with(from, to).ok().flatten().unwrap_or_default();
        assert!(err.contains("node.toml"), "{err}");
        for part in expected {
            assert!(err.contains(part), "`{part}` not in: {err}");
        }
    }

    #[test]
    fn a_good_configuration_loads() {
        assert_eq!(load_with("", "").ok().flatten(), None);
    }

    #[test]
    fn an_unknown_key_is_named_with_its_table() {
        assert_names(
            "endpoint =",
            "endpont = \"x\"\nendpoint =",
            &["trust[0].endpont: unknown field `endpont`"],
        );
        assert_names(
            "listen =",
            "listen_adress =",
            &["listen_adress: unknown field"],
        );
    }

    #[test]
    fn a_malformed_sid_is_named_by_key_path() {
        assert_names(
            "\"S-1-5-21-4-5-6\"",
            "\"S-1-5-21-x\"",
            &["trust[0].domain_sids[0]: ", "S-1-5-21-x", "(line 12)"],
        );
    }

    #[test]
    fn a_bad_listen_address_is_named() {
        assert_names(
            "127.0.0.1:7100",
            "nowhere",
            &["listen: `nowhere` is not `host:port`"],
        );
        assert_names(
            "127.0.0.1:7101",
            "fabrikam",
            &["trust[0].endpoint: `fabrikam` is not `host:port`"],
        );
    }

    #[test]
    fn missing_or_bad_certificate_files_are_named() {
        assert_names(
            "trusts/fabrikam.pem",
            "trusts/none.pem",
            &["trust[0].ca_certificate: ", "none.pem"],
        );
        assert_names(
            "trusts/svc.pem",
            "trusts/fabrikam.pem",
            &["trust[0].linked_credential.credential: "],
        );
        assert_names("pki_dir = \"pki\"", "pki_dir = \"trusts\"", &["pki_dir: "]);
    }

    #[test]
    fn a_trust_of_this_forest_itself_is_refused() {
        assert_names(
            "forest = \"fabrikam.com\"",
            "forest = \"contoso.com\"",
            &["trust[0].forest: `contoso.com` is this forest itself"],
        );
    }

    #[test]
    fn a_forest_trusted_twice_is_refused() {
        let twice = format!(
            "{}\n[[trust]]\nforest = \"fabrikam.com\"\nendpoint = \"127.0.0.1:7102\"\nca_certificate = \"trusts/fabrikam.pem\"\ndomain_sids = [\"S-1-5-21-7-8-9\"]\n",
            GOOD.trim_end()
        );
        assert_names(
            GOOD,
            &twice,
            &["trust[1].forest: `fabrikam.com` is already trusted by trust[0]"],
        );
    }

    #[test]
    fn domain_sids_must_be_unique_and_not_ours() {
        assert_names(
            "[\"S-1-5-21-4-5-6\"]",
            "[\"S-1-5-21-4-5-6\", \"S-1-5-21-1-2-3\"]",
            &["trust[0].domain_sids[1]: `S-1-5-21-1-2-3` is also domain_sid"],
        );
        assert_names(
            "[\"S-1-5-21-4-5-6\"]",
            "[]",
            &["trust[0].domain_sids: is empty"],
        );
    }

    #[test]
    fn a_linked_credential_of_another_forest_is_refused() {
        assert_names(
            "FABRIKAM\\\\svc-contoso",
            "TAILSPIN\\\\svc-contoso",
            &["trust[0].linked_credential.user: `TAILSPIN\\svc-contoso` must be"],
        );
    }

    #[test]
    fn operations_are_validated() {
        assert_names(
            "pki_dir = \"pki\"",
            "pki_dir = \"pki\"\n[operations]\nmetrics_listen = \"127.0.0.1:7100\"\nreload_intervall_secs = 1",
            &["operations.reload_intervall_secs: unknown field"],
        );
        assert_names(
            "pki_dir = \"pki\"",
            "pki_dir = \"pki\"\n[operations]\nmetrics_listen = \"127.0.0.1:7100\"",
            &["operations.metrics_listen: `127.0.0.1:7100` is also `listen`"],
        );
    }

    #[test]
    fn statement_bounds_are_read_and_validated() {
        assert_eq!(
            load_with(
                "pki_dir = \"pki\"",
                "pki_dir = \"pki\"\n[statements]\nidle_secs = 30\nmax_per_caller = 2",
            )
            .ok()
            .flatten(),
            None
        );
        assert_names(
            "pki_dir = \"pki\"",
            "pki_dir = \"pki\"\n[statements]\nidle_secs = 0\nlifetime_seconds = 1",
            &["statements.lifetime_seconds: unknown field"],
        );
        assert_names(
            "pki_dir = \"pki\"",
            "pki_dir = \"pki\"\n[statements]\nidle_secs = 0",
            &["statements.idle_secs: must be at least 1 second"],
        );
    }
}
