//! A running account forest's state: directory, CA and token signer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use crossforest_shared::metrics::Metrics;
use crossforest_shared::serve::SharedTlsConfig;

use crossforest_shared::config::{read_json, write_json, ConfigError};
use crossforest_shared::pki::{CertificateAuthority, IssuedCertificate, PkiError};
use crossforest_shared::proto::token::v1::TokenClaims;
use crossforest_shared::tls::{server_config, ForestTrustStore, TlsError};
use crossforest_shared::token::{unix_seconds, TokenError, TokenSigner};
use crossforest_shared::{Principal, Sid};
use std::sync::{Mutex, MutexGuard};

use crate::config::NodeConfig;
use crate::directory::{Directory, DirectoryError, PrincipalInfo};

/// Why a node could not start or an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Configuration or state file problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// TLS configuration.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Token signing.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A directory rule.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The data directory has not been initialised.
    #[error("`{0}` does not exist: run `account-forest init` first")]
    NotInitialised(String),
    /// The state belongs to another forest.
    #[error("`{path}` belongs to forest `{found}`, but the configuration says `{expected}`")]
    WrongForest {
        /// The state file.
        path: String,
        /// The forest in the file.
        found: String,
        /// The configured forest.
        expected: String,
    },
}

/// The account forest: its directory (persisted on every change), its CA (to
/// issue user credentials) and its token signer.
#[derive(Debug)]
pub struct AccountForest {
    config: NodeConfig,
    directory: Mutex<Directory>,
    /// The CA and token-signing key, replaced by [`Self::reload`].
    issuing: ArcSwap<Issuing>,
    tls: SharedTlsConfig,
    metrics: Arc<Metrics>,
    /// The latest committed change's sequence number, for change-feed streams.
    committed: tokio::sync::watch::Sender<u64>,
    /// Set when the node stops serving: open change-feed streams end.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl AccountForest {
    /// Loads the node from its configuration.
    pub fn load(config: NodeConfig) -> Result<Arc<Self>, NodeError> {
        let path = config.directory_file();
        let directory: Directory = read_json(&path)?
            .ok_or_else(|| NodeError::NotInitialised(path.display().to_string()))?;
        if directory.forest() != &config.forest || directory.domain_sid() != config.domain_sid {
            return Err(NodeError::WrongForest {
                path: path.display().to_string(),
                found: format!("{} {}", directory.forest(), directory.domain_sid()),
                expected: format!("{} {}", config.forest, config.domain_sid),
            });
        }
        let issuing = Issuing::load(&config)?;
        let tls = Self::load_tls(&config)?;
        let (committed, _) = tokio::sync::watch::channel(directory.changes().sequence());
        let (stopping, _) = tokio::sync::watch::channel(false);
        Ok(Arc::new(Self {
            config,
            directory: Mutex::new(directory),
            issuing: ArcSwap::from_pointee(issuing),
            tls: Arc::new(ArcSwap::new(tls)),
            metrics: Arc::new(Metrics::new()),
            committed,
            stopping,
        }))
    }

    /// The TLS server configuration: the server certificate, and this forest's
    /// CAs only (its trust bundle `ca.pem`) for clients (R-TRUST-1).
    fn load_tls(config: &NodeConfig) -> Result<Arc<rustls::ServerConfig>, NodeError> {
        let mut trust = ForestTrustStore::new();
        let ca_pem = crossforest_shared::pki::read_text(&config.pki_dir.join("ca.pem"))?;
        trust.trust(config.forest.clone(), &ca_pem)?;
        let server_certificate =
            IssuedCertificate::read_combined(&config.pki_dir.join("server.pem"))?;
        Ok(server_config(&trust, &server_certificate)?)
    }

    /// Re-reads the server certificate, the trust bundle clients are verified
    /// with, the CA key that issues credentials and the token-signing key; new
    /// connections, credentials and tokens use them. On any error nothing
    /// changes.
    pub fn reload(&self) -> Result<(), NodeError> {
        match Self::load_tls(&self.config).and_then(|tls| Ok((tls, Issuing::load(&self.config)?))) {
            Ok((tls, issuing)) => {
                self.tls.store(tls);
                self.issuing.store(Arc::new(issuing));
                self.metrics.tls_reload(true);
                tracing::info!("reloaded the server certificate, CA and token-signing key");
                Ok(())
            }
            Err(error) => {
                self.metrics.tls_reload(false);
                tracing::error!(%error, "reloading certificates failed; keeping the ones in use");
                Err(error)
            }
        }
    }

    /// The files [`Self::reload`] reads, watched for changes.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        ["ca.pem", "ca.key", "server.pem", "token-signing.pem"]
            .iter()
            .map(|f| self.config.pki_dir.join(f))
            .collect()
    }

    /// The node's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The TLS server configuration, replaced by [`Self::reload`].
    pub fn tls_config(&self) -> SharedTlsConfig {
        self.tls.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Directory> {
        // No code panics while holding the lock; recover the data if it ever did.
        self.directory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the directory.
    pub fn read<T>(&self, f: impl FnOnce(&Directory) -> T) -> T {
        f(&self.lock())
    }

    /// Changes the directory: `f` runs on a copy, which is persisted and only then
    /// becomes current, so a failed change leaves nothing half-applied.
    pub fn change<T>(
        &self,
        f: impl FnOnce(&mut Directory) -> Result<T, DirectoryError>,
    ) -> Result<T, NodeError> {
        let mut guard = self.lock();
        let mut next = guard.clone();
        let out = f(&mut next)?;
        write_json(&self.config.directory_file(), &next)?;
        let sequence = next.changes().sequence();
        *guard = next;
        drop(guard);
        self.committed.send_replace(sequence);
        Ok(out)
    }

    /// Watches the latest committed sequence number.
    pub fn watch_committed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Watches whether the node is stopping.
    pub fn watch_stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Ends every open change-feed stream: the node is stopping.
    pub fn stop_streams(&self) {
        self.stopping.send_replace(true);
    }

    /// Issues a client credential for a principal of this forest.
    pub fn issue_credential(
        &self,
        principal: &PrincipalInfo,
    ) -> Result<IssuedCertificate, NodeError> {
        Ok(self.issuing.load().ca.issue_principal(
            &Principal {
                forest: self.config.forest.clone(),
                sid: principal.sid,
            },
            &principal.name,
        )?)
    }

    /// This forest's trust bundle (its CA certificate, or both during a
    /// rotation), PEM.
    pub fn ca_pem(&self) -> String {
        self.issuing.load().ca.trust_bundle_pem().to_owned()
    }

    /// Signs a token for `user` with its transitive `groups`, for `audience`.
    /// `sequence` is the change-log sequence the groups were read at.
    pub fn sign_token(
        &self,
        user: &PrincipalInfo,
        groups: &[PrincipalInfo],
        audience: &str,
        sequence: u64,
    ) -> Result<(String, i64), NodeError> {
        let now = SystemTime::now();
        let expires = now + Duration::from_secs(self.config.token_lifetime_secs);
        let id: [u8; 16] = rand::random();
        let claims = TokenClaims {
            user_sid: user.sid.to_string(),
            user_name: user.name.clone(),
            group_sids: groups.iter().map(|g| g.sid.to_string()).collect(),
            issuer: self.config.forest.to_string(),
            audience: audience.to_owned(),
            issued_at: unix_seconds(now),
            expires_at: unix_seconds(expires),
            token_id: id.iter().map(|b| format!("{b:02x}")).collect(),
            directory_sequence: sequence,
        };
        Ok((self.issuing.load().signer.sign(&claims)?, claims.expires_at))
    }

    /// Whether `sid` is an enabled user of this forest.
    pub fn is_enabled_user(&self, sid: &Sid) -> bool {
        self.read(|d| d.is_enabled_user(sid))
    }
}

/// What a node issues with: its CA (credentials) and token-signing key.
#[derive(Debug)]
struct Issuing {
    ca: CertificateAuthority,
    signer: TokenSigner,
}

impl Issuing {
    /// Reads `ca.key` with the trust bundle `ca.pem`, and `token-signing.pem`.
    fn load(config: &NodeConfig) -> Result<Self, NodeError> {
        let ca = CertificateAuthority::load(&config.forest, &config.pki_dir)?;
        let signer = TokenSigner::new(
            config.forest.clone(),
            &IssuedCertificate::read_combined(&config.pki_dir.join("token-signing.pem"))?,
        )?;
        Ok(Self { ca, signer })
    }
}
