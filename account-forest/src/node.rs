//! A running account forest's state: directory, CA and token signer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use crossforest_shared::metrics::Metrics;
use crossforest_shared::serve::SharedTlsConfig;

use crossforest_shared::config::ConfigError;
use crossforest_shared::pki::{CertificateAuthority, IssuedCertificate, PkiError};
use crossforest_shared::proto::token::v1::TokenClaims;
use crossforest_shared::store::{Delta, RowLayout, StoreError};
use crossforest_shared::tls::{server_config, ForestTrustStore, TlsError};
use crossforest_shared::token::{unix_seconds, TokenError, TokenSigner};
use crossforest_shared::{Principal, Sid};
use std::sync::{Mutex, MutexGuard};

use crate::config::NodeConfig;
use crate::directory::{Directory, DirectoryError, PrincipalInfo};
use crate::hashing::PasswordHashing;
use crate::lockout::Lockouts;
use crate::store::{Directories, DirectoryStore, StoreRuntime};

/// How many times a change is computed again when another process sharing
/// the store committed first.
const CONFLICT_RETRIES: usize = 8;

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
    /// The directory's store.
    #[error("the directory's store ({store}): {source}")]
    Store {
        /// Which store, without secrets.
        store: String,
        /// What failed.
        #[source]
        source: StoreError,
    },
    /// The store holds no directory.
    #[error("{0} holds no directory: run `account-forest init` first")]
    NotInitialised(String),
    /// The state belongs to another forest.
    #[error("the store ({path}) holds forest `{found}`, but the configuration says `{expected}`")]
    WrongForest {
        /// The store.
        path: String,
        /// The forest in the file.
        found: String,
        /// The configured forest.
        expected: String,
    },
}

/// The directory as this node serves it, and the store revision holding it.
#[derive(Debug)]
struct Current {
    revision: u64,
    directory: Directory,
}

/// The account forest: its directory (stored durably on every change), its
/// CA (to issue user credentials) and its token signer.
#[derive(Debug)]
pub struct AccountForest {
    config: NodeConfig,
    directory: Mutex<Current>,
    store: Arc<dyn DirectoryStore>,
    runtime: StoreRuntime,
    /// The CA and token-signing key, replaced by [`Self::reload`].
    issuing: ArcSwap<Issuing>,
    tls: SharedTlsConfig,
    metrics: Arc<Metrics>,
    /// The memory budget for password checks, and the dummy hash.
    hashing: Arc<PasswordHashing>,
    /// Bad password counts and lockouts, per account, on this node only.
    lockouts: Arc<Lockouts>,
    /// The latest committed change's sequence number, for change-feed streams.
    committed: tokio::sync::watch::Sender<u64>,
    /// Set when the node stops serving: open change-feed streams end.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl AccountForest {
    /// Loads the node from its configuration: opens (and migrates) its store
    /// (importing a `directory.json` of earlier versions once) and reads the
    /// latest revision. On a shared store (PostgreSQL) the node follows other
    /// processes' changes.
    pub fn load(config: NodeConfig) -> Result<Arc<Self>, NodeError> {
        crossforest_shared::private::warn_if_loose(&[&config.data_dir, &config.pki_dir]);
        let runtime = StoreRuntime::start().map_err(|e| store_error(&config, e))?;
        let (store_config, data_dir) = (config.store.clone(), config.data_dir.clone());
        let store = runtime
            .run(async move { crate::store::open(&store_config, &data_dir).await })
            .map_err(|e| store_error(&config, e))?;
        let reader = store.clone();
        let (revision, directory) = runtime
            .run(async move { reader.load().await })
            .map_err(|e| store_error(&config, e))?
            .ok_or_else(|| NodeError::NotInitialised(config.store_description()))?;
        if directory.forest() != &config.forest || directory.domain_sid() != config.domain_sid {
            return Err(NodeError::WrongForest {
                path: config.store_description(),
                found: format!("{} {}", directory.forest(), directory.domain_sid()),
                expected: format!("{} {}", config.forest, config.domain_sid),
            });
        }
        let issuing = Issuing::load(&config)?;
        let tls = Self::load_tls(&config)?;
        let hashing = PasswordHashing::new(
            config.password_hash_memory_mib,
            Duration::from_millis(config.password_hash_wait_ms),
        )?;
        let lockouts = Lockouts::new(config.lockout_policy());
        let (committed, _) = tokio::sync::watch::channel(directory.changes().sequence());
        let (stopping, _) = tokio::sync::watch::channel(false);
        let node = Arc::new(Self {
            config,
            directory: Mutex::new(Current {
                revision,
                directory,
            }),
            store,
            runtime,
            issuing: ArcSwap::from_pointee(issuing),
            tls: Arc::new(ArcSwap::new(tls)),
            metrics: Arc::new(Metrics::new()),
            hashing: Arc::new(hashing),
            lockouts: Arc::new(lockouts),
            committed,
            stopping,
        });
        if !node.config.store.is_embedded() {
            let follower = Arc::downgrade(&node);
            let store = node.store.clone();
            node.runtime.spawn(async move {
                match store.watch().await {
                    Ok(announced) => {
                        crossforest_shared::store::follow(
                            announced,
                            crossforest_shared::store::postgres::BACKSTOP,
                            || {
                                let node = follower.upgrade();
                                async move {
                                    let Some(node) = node else {
                                        return false;
                                    };
                                    // Off the store runtime's thread: a change
                                    // holding the directory lock waits for it.
                                    let refreshed =
                                        tokio::task::spawn_blocking(move || node.refresh()).await;
                                    if let Ok(Err(e)) = refreshed {
                                        tracing::warn!(error = %e, "reloading the directory failed");
                                    }
                                    true
                                }
                            },
                        )
                        .await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot follow the directory's store");
                    }
                }
            });
        }
        Ok(node)
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

    /// The memory budget for password checks.
    pub fn hashing(&self) -> &Arc<PasswordHashing> {
        &self.hashing
    }

    /// Bad password counts and lockouts on this node.
    pub fn lockouts(&self) -> &Arc<Lockouts> {
        &self.lockouts
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The TLS server configuration, replaced by [`Self::reload`].
    pub fn tls_config(&self) -> SharedTlsConfig {
        self.tls.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        // No code panics while holding the lock; recover the data if it ever did.
        self.directory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the directory.
    pub fn read<T>(&self, f: impl FnOnce(&Directory) -> T) -> T {
        f(&self.lock().directory)
    }

    /// Changes the directory: `f` runs on a copy, whose changed rows are
    /// committed durably to the store and only then become current, so a
    /// failed change leaves nothing half-applied. If another process sharing
    /// the store committed first, the node catches up and `f` runs again.
    pub fn change<T>(
        &self,
        mut f: impl FnMut(&mut Directory) -> Result<T, DirectoryError>,
    ) -> Result<T, NodeError> {
        let mut guard = self.lock();
        for _ in 0..CONFLICT_RETRIES {
            let mut next = guard.directory.clone();
            let out = f(&mut next)?;
            let changes = Directories::diff(&guard.directory, &next)
                .map_err(|e| store_error(&self.config, e))?;
            if changes.is_empty() {
                return Ok(out);
            }
            let (store, expected) = (self.store.clone(), guard.revision);
            match self
                .runtime
                .run(async move { store.apply(expected, changes).await })
            {
                Ok(revision) => {
                    let sequence = next.changes().sequence();
                    *guard = Current {
                        revision,
                        directory: next,
                    };
                    drop(guard);
                    self.committed.send_replace(sequence);
                    return Ok(out);
                }
                Err(StoreError::Conflict { actual, .. }) => {
                    tracing::info!(
                        revision = actual,
                        "the directory changed meanwhile; running the change again"
                    );
                    let (store, base) = (self.store.clone(), guard.revision);
                    let newer = self
                        .runtime
                        .run(async move { newer_than(&*store, base).await })
                        .map_err(|e| store_error(&self.config, e))?;
                    if let Some(newer) = newer {
                        self.publish(&mut guard, newer)
                            .map_err(|e| store_error(&self.config, e))?;
                    }
                }
                Err(e) => return Err(store_error(&self.config, e)),
            }
        }
        Err(store_error(
            &self.config,
            StoreError::Backend(format!(
                "other processes kept changing the directory; gave up after {CONFLICT_RETRIES} tries; nothing was changed"
            )),
        ))
    }

    /// Makes the state `newer` describes current, if it still follows the
    /// current revision.
    fn publish(&self, guard: &mut MutexGuard<'_, Current>, newer: Newer) -> Result<(), StoreError> {
        let next = match newer {
            Newer::Delta { base, delta } if base == guard.revision => {
                let revision = delta.revision;
                let directory = Directories::apply_delta(guard.directory.clone(), delta)?;
                Current {
                    revision,
                    directory,
                }
            }
            Newer::Whole(revision, directory) if revision > guard.revision => Current {
                revision,
                directory,
            },
            _ => return Ok(()),
        };
        let sequence = next.directory.changes().sequence();
        **guard = next;
        self.committed.send_replace(sequence);
        Ok(())
    }

    /// Catches up with changes other processes committed to a shared store.
    /// Blocks: never call it on the store runtime's thread.
    fn refresh(&self) -> Result<(), StoreError> {
        let (store, base) = (self.store.clone(), self.lock().revision);
        let newer = self
            .runtime
            .run(async move { newer_than(&*store, base).await })?;
        if let Some(newer) = newer {
            let mut guard = self.lock();
            self.publish(&mut guard, newer)?;
        }
        Ok(())
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

/// A revision newer than the node's: the rows changed since, or (from a
/// store that cannot tell) the whole directory.
enum Newer {
    Delta { base: u64, delta: Delta },
    Whole(u64, Directory),
}

/// What the store holds beyond revision `base`, if anything.
async fn newer_than(store: &dyn DirectoryStore, base: u64) -> Result<Option<Newer>, StoreError> {
    if store.revision().await? <= base {
        return Ok(None);
    }
    Ok(match store.changes_since(base).await? {
        Some(delta) if delta.revision > base => Some(Newer::Delta { base, delta }),
        Some(_) => None,
        None => store
            .load()
            .await?
            .filter(|(revision, _)| *revision > base)
            .map(|(revision, directory)| Newer::Whole(revision, directory)),
    })
}

fn store_error(config: &NodeConfig, source: StoreError) -> NodeError {
    NodeError::Store {
        store: config.store_description(),
        source,
    }
}

impl crossforest_shared::serve::OperatedNode for AccountForest {
    fn operations(&self) -> &crossforest_shared::config::Operations {
        &self.config.operations
    }

    fn data_dir(&self) -> &std::path::Path {
        &self.config.data_dir
    }

    fn node_metrics(&self) -> &Arc<Metrics> {
        self.metrics()
    }

    fn files_to_watch(&self) -> Vec<PathBuf> {
        self.watched_files()
    }

    fn reload_certificates(&self) {
        // The node logs and counts a failed reload; the ones in use stay.
        let _ = self.reload();
    }
}
