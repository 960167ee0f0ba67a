//! A local lab: one resource forest trusting several account forests, each in its
//! own directory with its own PKI, written by [`Lab::create`] and read back by
//! [`Lab::open`]. The demo, `crossforest up`, `crossforest shell` and the test
//! harness all use it.
//!
//! ```text
//! lab/lab.toml                      which forest is which
//! lab/contoso.com/node.toml         resource forest (trusts, linked credentials)
//! lab/contoso.com/trusts/<forest>/  CA certificate and linked credential of each trust
//! lab/fabrikam.com/node.toml        account forest
//! lab/<forest>/credentials/         <user>.pem (certificate + key), <user>.password (lab only)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use crossforest_shared::client::{ConnectError, ForestEndpoint};
use crossforest_shared::config::{read_toml, write_toml};
use crossforest_shared::pki::{read_text, write_private, write_public, IssuedCertificate};
use crossforest_shared::{DomainSid, ForestName};
use serde::{Deserialize, Serialize};

use crate::session::{ForeignLogon, Session, SessionError};

/// `lab.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabFile {
    /// The resource forest.
    pub resource: ForestName,
    /// The account forests it trusts.
    pub accounts: Vec<ForestName>,
    /// Account forests that exist beside it but are not trusted (for tests and
    /// demonstrations of refusal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untrusted: Vec<ForestName>,
}

/// What to create.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// The resource forest and its listen address.
    pub resource: (ForestName, String),
    /// Account forests and their listen addresses.
    pub accounts: Vec<(ForestName, String)>,
    /// Account forests that are created but not trusted.
    pub untrusted: Vec<(ForestName, String)>,
    /// OUs to create in the resource forest besides `Users`.
    pub organizational_units: Vec<String>,
    /// Install the organization with Active Directory split permissions.
    pub active_directory_split_permissions: bool,
    /// Where the resource forest keeps its organization; on PostgreSQL each
    /// account forest keeps its directory in the same database, in a schema
    /// of its own (see [`account_store`]).
    pub store: resource_forest::store::StoreConfig,
}

/// Where the lab's account forest `forest` keeps its directory when the
/// resource forest's store is `store`: embedded beside an embedded one, else
/// the same PostgreSQL database under the schema `<schema>_<forest>`.
pub fn account_store(
    store: &crossforest_shared::store::StoreConfig,
    forest: &ForestName,
) -> crossforest_shared::store::StoreConfig {
    use crossforest_shared::store::StoreConfig;
    match store {
        StoreConfig::Embedded => StoreConfig::Embedded,
        StoreConfig::Postgres { url, schema } => StoreConfig::Postgres {
            url: url.clone(),
            schema: format!(
                "{schema}_{}",
                forest
                    .as_str()
                    .to_ascii_lowercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            ),
        },
    }
}

/// A lab on disk.
#[derive(Debug, Clone)]
pub struct Lab {
    dir: PathBuf,
    file: LabFile,
    /// The highest organization revision this lab's sessions have seen:
    /// shared by every session it opens, so a change made through one
    /// resource-forest node is read by the next request on any other.
    seen: crate::session::RevisionMark,
}

/// A random password for lab accounts (written to owner-only files).
pub fn random_password() -> String {
    let bytes: [u8; 18] = rand::random();
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The name of the service account an account forest issues to `resource`.
pub fn service_account(resource: &ForestName) -> String {
    format!("svc-{}", resource.netbios())
}

impl Lab {
    /// Writes a new lab into `dir` (which must not hold a lab yet).
    pub fn create(dir: &Path, spec: &LabSpec) -> anyhow::Result<Self> {
        if dir.join("lab.toml").exists() {
            bail!("`{}` already holds a lab", dir.display());
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let (resource, resource_listen) = &spec.resource;
        let resource_dir = dir.join(resource.as_str());
        let mut trusts = Vec::new();
        for (forest, listen) in &spec.untrusted {
            create_account_forest(dir, forest, listen, &account_store(&spec.store, forest))?;
        }
        for (forest, listen) in &spec.accounts {
            let config =
                create_account_forest(dir, forest, listen, &account_store(&spec.store, forest))?;
            // The account forest's administrator issues a service account to the
            // resource forest: its linked credential (R-TRUST-2).
            let svc = service_account(resource);
            let credential = account_forest::init::add_linked_credential_offline(
                &config,
                &svc,
                &random_password(),
            )?;
            let trust_dir = resource_dir.join("trusts").join(forest.as_str());
            write_public(
                &trust_dir.join("ca.pem"),
                &read_text(&config.pki_dir.join("ca.pem"))?,
            )?;
            credential.write_combined(&trust_dir.join(format!("{svc}.pem")))?;
            trusts.push(resource_forest::trust::config::TrustConfig {
                forest: forest.clone(),
                endpoint: listen.clone(),
                ca_certificate: PathBuf::from("trusts").join(forest.as_str()).join("ca.pem"),
                domain_sids: vec![config.domain_sid],
                linked_credential: Some(resource_forest::trust::config::LinkedCredentialConfig {
                    user: format!("{}\\{svc}", forest.netbios()),
                    credential: PathBuf::from("trusts")
                        .join(forest.as_str())
                        .join(format!("{svc}.pem")),
                }),
                max_staleness_secs: resource_forest::trust::freshness::DEFAULT_MAX_STALENESS_SECS,
                timeout_secs: resource_forest::trust::config::DEFAULT_TIMEOUT_SECS,
                max_token_lifetime_secs:
                    resource_forest::trust::config::DEFAULT_MAX_TOKEN_LIFETIME_SECS,
            });
        }
        resource_forest::init::init(&resource_forest::init::InitOptions {
            dir: resource_dir,
            forest: resource.clone(),
            domain_sid: account_forest::init::random_domain_sid(),
            listen: resource_listen.clone(),
            organizational_units: spec.organizational_units.clone(),
            trusts,
            active_directory_split_permissions: spec.active_directory_split_permissions,
            store: spec.store.clone(),
        })?;
        let file = LabFile {
            resource: resource.clone(),
            accounts: spec.accounts.iter().map(|(f, _)| f.clone()).collect(),
            untrusted: spec.untrusted.iter().map(|(f, _)| f.clone()).collect(),
        };
        write_toml(&dir.join("lab.toml"), &file)?;
        Ok(Self {
            dir: dir.to_owned(),
            file,
            seen: Default::default(),
        })
    }

    /// Gives every node of the lab a `/metrics` endpoint on a free loopback
    /// port (`operations.metrics_listen` in its `node.toml`), as a generated
    /// lab has; `crossforest up` prints where.
    pub fn serve_metrics(&self) -> anyhow::Result<()> {
        for forest in self.forests() {
            let address = crate::processes::free_loopback_address()?;
            self.edit_node_toml(forest, |config| {
                operations(config)?.insert("metrics_listen".into(), address.into());
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Moves `forest`'s node to free loopback ports: its listen address, its
    /// metrics address if it has a fixed one, and the endpoint of the
    /// resource forest's trust in it. For a node whose port another program
    /// took since the lab was created; returns the new listen address.
    pub fn move_node(&self, forest: &ForestName) -> anyhow::Result<String> {
        let listen = crate::processes::free_loopback_address()?;
        let metrics = crate::processes::free_loopback_address()?;
        self.edit_node_toml(forest, |config| {
            config.insert("listen".into(), listen.clone().into());
            let operations = operations(config)?;
            let fixed = operations
                .get("metrics_listen")
                .and_then(toml::Value::as_str)
                .is_some_and(|m| !m.ends_with(":0"));
            if fixed {
                operations.insert("metrics_listen".into(), metrics.into());
            }
            Ok(())
        })?;
        if self.file.accounts.contains(forest) {
            self.edit_node_toml(&self.file.resource, |config| {
                let trusts = config.get_mut("trust").and_then(toml::Value::as_array_mut);
                for trust in trusts.into_iter().flatten() {
                    let Some(trust) = trust.as_table_mut() else {
                        continue;
                    };
                    if trust.get("forest").and_then(toml::Value::as_str) == Some(forest.as_str()) {
                        trust.insert("endpoint".into(), listen.clone().into());
                    }
                }
                Ok(())
            })?;
        }
        Ok(listen)
    }

    /// Rewrites `forest`'s `node.toml` with `edit` (owner-only, replaced
    /// whole).
    pub fn edit_node_toml(
        &self,
        forest: &ForestName,
        edit: impl FnOnce(&mut toml::Table) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let path = self.node_dir(forest).join("node.toml");
        let mut config: toml::Table = read_toml(&path)?;
        edit(&mut config).with_context(|| format!("cannot edit {}", path.display()))?;
        Ok(write_toml(&path, &config)?)
    }

    /// Reads the lab in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("lab.toml");
        if !path.exists() {
            bail!("`{}` is not a crossforest lab (no lab.toml); create one with `crossforest up --dir {}`", dir.display(), dir.display());
        }
        Ok(Self {
            dir: dir.to_owned(),
            file: read_toml(&path)?,
            seen: Default::default(),
        })
    }

    /// The lab's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Which forest is which.
    pub fn file(&self) -> &LabFile {
        &self.file
    }

    /// The node directory of `forest`.
    pub fn node_dir(&self, forest: &ForestName) -> PathBuf {
        self.dir.join(forest.as_str())
    }

    /// The resource forest's `node.toml`.
    pub fn resource_config(&self) -> anyhow::Result<resource_forest::config::NodeConfig> {
        Ok(resource_forest::config::NodeConfig::load(
            &self.node_dir(&self.file.resource).join("node.toml"),
        )?)
    }

    /// An account forest's `node.toml`.
    pub fn account_config(
        &self,
        forest: &ForestName,
    ) -> anyhow::Result<account_forest::config::NodeConfig> {
        Ok(account_forest::config::NodeConfig::load(
            &self.node_dir(forest).join("node.toml"),
        )?)
    }

    /// Where a forest's node listens, and its CA.
    pub fn endpoint(&self, forest: &ForestName) -> anyhow::Result<ForestEndpoint> {
        let node_dir = self.node_dir(forest);
        let config: toml::Table = read_toml(&node_dir.join("node.toml"))?;
        let address = config
            .get("listen")
            .and_then(|v| v.as_str())
            .with_context(|| format!("{}/node.toml has no `listen`", node_dir.display()))?
            .to_owned();
        Ok(ForestEndpoint {
            forest: forest.clone(),
            address,
            ca_pem: read_text(&node_dir.join("pki").join("ca.pem"))?,
        })
    }

    /// The resource forest's copy of the CA certificate of the trusted
    /// `forest`: its trust bundle for that forest.
    pub fn trust_ca_path(&self, forest: &ForestName) -> PathBuf {
        self.node_dir(&self.file.resource)
            .join("trusts")
            .join(forest.as_str())
            .join("ca.pem")
    }

    /// Every forest of the lab: resource, trusted and untrusted account forests.
    pub fn forests(&self) -> impl Iterator<Item = &ForestName> {
        std::iter::once(&self.file.resource)
            .chain(&self.file.accounts)
            .chain(&self.file.untrusted)
    }

    /// The domain SID of `forest`.
    pub fn domain_sid(&self, forest: &ForestName) -> anyhow::Result<DomainSid> {
        if *forest == self.file.resource {
            Ok(self.resource_config()?.domain_sid)
        } else {
            Ok(self.account_config(forest)?.domain_sid)
        }
    }

    /// The forest `domain` (NetBIOS or DNS name) names.
    pub fn forest(&self, domain: &str) -> anyhow::Result<ForestName> {
        self.forests()
            .find(|f| f.answers_to(domain))
            .cloned()
            .with_context(|| {
                format!(
                    "`{domain}` is not a forest of this lab (forests: {})",
                    self.forests()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// Stores a user's credential and password in the lab.
    pub fn store_user(
        &self,
        forest: &ForestName,
        user: &str,
        credential: &IssuedCertificate,
        password: &str,
    ) -> anyhow::Result<()> {
        let dir = self.node_dir(forest);
        credential.write_combined(&credential_path(&dir, user))?;
        write_private(&password_path(&dir, user), password)?;
        Ok(())
    }

    /// A user's credential.
    pub fn credential(&self, forest: &ForestName, user: &str) -> anyhow::Result<IssuedCertificate> {
        let path = credential_path(&self.node_dir(forest), user);
        IssuedCertificate::read_combined(&path).with_context(|| {
            format!(
                "no credential for `{}\\{user}` in the lab",
                forest.netbios()
            )
        })
    }

    /// Issues a resource-forest credential to the local user `user` (for
    /// example a mailbox's account, identified by its SID) and keeps it in the
    /// lab, so that `session("contoso\\user")` works; returns its file.
    /// `crossforest pki issue-user` ([`crate::issue_user`]) finds the SID.
    pub fn issue_local_credential(
        &self,
        user: &str,
        sid: crossforest_shared::Sid,
    ) -> anyhow::Result<PathBuf> {
        let resource = &self.file.resource;
        let dir = self.node_dir(resource);
        let ca = crossforest_shared::pki::CertificateAuthority::load(resource, &dir.join("pki"))?;
        let principal = crossforest_shared::Principal {
            forest: resource.clone(),
            sid,
        };
        let path = credential_path(&dir, user);
        ca.issue_principal(&principal, user)?
            .write_combined(&path)?;
        Ok(path)
    }

    /// A user's lab password (a file's trailing line break is not part of
    /// it, as for `account-forest user add --password-file`).
    pub fn password(&self, forest: &ForestName, user: &str) -> anyhow::Result<String> {
        let path = password_path(&self.node_dir(forest), user);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("no password for `{}\\{user}` in the lab", forest.netbios())
        })?;
        Ok(text.trim_end_matches(['\r', '\n']).to_owned())
    }

    /// Opens a management session as `DOMAIN\user` or `user@forest`, in any
    /// case ([`Lab::identity`]).
    pub async fn session(&self, identity: &str) -> anyhow::Result<Session> {
        self.session_at(identity, None).await
    }

    /// [`Self::session`] with the resource forest's node at `address`
    /// (`None`: the one `node.toml` names): another node of the same
    /// organization. Every session the lab opens shares its revision mark.
    pub async fn session_at(
        &self,
        identity: &str,
        address: Option<&str>,
    ) -> anyhow::Result<Session> {
        self.open_session(identity, address)
            .await
            .map_err(|e| match e.downcast::<SessionError>() {
                Ok(e) => anyhow::Error::new(self.not_running(e)),
                Err(e) => e,
            })
    }

    /// `error`, saying how to start the lab when it is a connection that
    /// nothing accepted (not a refused or failed TLS handshake).
    fn not_running(&self, error: SessionError) -> SessionError {
        let nothing_listens = matches!(
            &error,
            SessionError::Connect(ConnectError::Unreachable { address, .. })
                if std::net::TcpStream::connect(address.as_str()).is_err()
        );
        match error {
            SessionError::Connect(e) if nothing_listens => {
                SessionError::LabNotRunning(e, self.dir.display().to_string())
            }
            other => other,
        }
    }

    async fn open_session(&self, identity: &str, address: Option<&str>) -> anyhow::Result<Session> {
        let identity = self.identity(identity)?;
        let (forest, user) = (&identity.forest, identity.user.as_str());
        let mut resource = self.endpoint(&self.file.resource)?;
        if let Some(address) = address {
            address.clone_into(&mut resource.address);
        }
        let credential = self.credential(forest, user)?;
        if *forest == self.file.resource {
            return Ok(Session::local(&resource, &credential, &identity.display())
                .await?
                .with_revision_mark(&self.seen));
        }
        let home = self.endpoint(forest)?;
        let password = self.password(forest, user)?;
        let logon = ForeignLogon {
            home: &home,
            user,
            password: &password,
            credential: &credential,
        };
        Ok(Session::foreign(logon, &resource)
            .await?
            .with_revision_mark(&self.seen))
    }

    /// The directory admin tools of an account forest, as its Administrator.
    pub async fn directory_admin(
        &self,
        forest: &ForestName,
    ) -> anyhow::Result<account_forest::admin::DirectoryAdmin> {
        let endpoint = self.endpoint(forest)?;
        let credential = self.credential(forest, "Administrator")?;
        Ok(account_forest::admin::DirectoryAdmin::connect(&endpoint, &credential).await?)
    }

    /// Creates a user in an account forest (through its admin service) and keeps
    /// the credential and password in the lab.
    pub async fn add_user(&self, forest: &ForestName, user: &str) -> anyhow::Result<()> {
        let password = random_password();
        let (_, credential) = self
            .directory_admin(forest)
            .await?
            .add_user(user, &password)
            .await?;
        self.store_user(forest, user, &credential, &password)
    }
}

/// The `[operations]` table of a `node.toml`, created if missing.
fn operations(config: &mut toml::Table) -> anyhow::Result<&mut toml::Table> {
    config
        .entry("operations")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .context("`operations` is not a table")
}

/// Initialises an account forest node under `dir` and keeps its Administrator's
/// password in the lab.
fn create_account_forest(
    dir: &Path,
    forest: &ForestName,
    listen: &str,
    store: &crossforest_shared::store::StoreConfig,
) -> anyhow::Result<account_forest::config::NodeConfig> {
    let node_dir = dir.join(forest.as_str());
    let password = random_password();
    let config = account_forest::init::init(&account_forest::init::InitOptions {
        dir: node_dir.clone(),
        forest: forest.clone(),
        domain_sid: account_forest::init::random_domain_sid(),
        listen: listen.to_owned(),
        administrator_password: password.clone(),
        store: store.clone(),
    })?;
    write_private(&password_path(&node_dir, "Administrator"), &password)?;
    Ok(config)
}

fn credential_path(node_dir: &Path, user: &str) -> PathBuf {
    node_dir.join("credentials").join(format!("{user}.pem"))
}

fn password_path(node_dir: &Path, user: &str) -> PathBuf {
    node_dir
        .join("credentials")
        .join(format!("{user}.password"))
}
