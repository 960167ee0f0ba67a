//! A loaded resource forest: configuration, trusts, organization store and
//! audit log, loaded at start and reloaded on certificate changes. The path
//! every request takes is [`crate::request`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use crossforest_shared::config::ConfigError;
use crossforest_shared::metrics::Metrics;
use crossforest_shared::pki::{read_text, IssuedCertificate, PkiError};
use crossforest_shared::serve::SharedTlsConfig;
use crossforest_shared::tls::{server_config, TlsError};

use crate::audit::outbox::Outbox;
use crate::audit::AuditLog;
use crate::config::NodeConfig;
use crate::request::statement::Statements;
use crate::state::OrgState;
use crate::store::StoreError;
use crate::trust::{TrustLoadError, Trusts};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Configuration or state file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// TLS.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Trusts.
    #[error(transparent)]
    Trust(#[from] TrustLoadError),
    /// The organization's store.
    #[error("the organization's store ({store}): {source}")]
    Store {
        /// Which store, without secrets.
        store: String,
        /// Why.
        source: StoreError,
    },
    /// Audit log.
    #[error("cannot open the audit log `{path}`: {source}")]
    Audit {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// No organization yet.
    #[error(
        "{0} holds no organization: run `resource-forest init` (or `setup --prepare-ad`) first"
    )]
    NotInitialised(String),
    /// State of another forest.
    #[error(
        "the store ({path}) holds organization `{found}`, but the configuration says `{expected}`"
    )]
    WrongForest {
        /// The file.
        path: String,
        /// In the file.
        found: String,
        /// Configured.
        expected: String,
    },
}

/// How many requests one node runs at once; more wait for a turn.
pub const MAX_IN_FLIGHT: usize = 512;

/// The resource forest.
#[derive(Debug)]
pub struct ResourceForest {
    config: NodeConfig,
    trusts: ArcSwap<Trusts>,
    tls: SharedTlsConfig,
    state: Arc<OrgState>,
    audit: AuditLog,
    outbox: Outbox,
    in_flight: Arc<tokio::sync::Semaphore>,
    metrics: Arc<Metrics>,
    statements: Statements,
    waiting: crate::request::revision_wait::Waiting,
}

/// What a reload put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// Serial number (hex) of the server certificate now presented.
    pub server_serial: String,
    /// Its expiry, RFC 3339.
    pub server_not_after: String,
    /// The forests whose certificates are accepted: this one and every trust.
    pub forests: Vec<String>,
}

impl ResourceForest {
    /// Loads the node from its configuration: opens (and migrates) its store
    /// and reads the latest revision. On a shared store (PostgreSQL) the node
    /// then follows changes other nodes make.
    pub async fn load(config: NodeConfig) -> Result<Arc<Self>, NodeError> {
        let metrics = Arc::new(Metrics::new());
        crossforest_shared::private::warn_if_loose(&[&config.data_dir, &config.pki_dir]);
        let (trusts, tls, _) = Self::load_tls(&config, &metrics)?;
        let where_ = config.store_description();
        let store_error = |source| NodeError::Store {
            store: where_.clone(),
            source,
        };
        let store = crate::store::open(&config.store, &config.data_dir)
            .await
            .map_err(store_error)?;
        let state = OrgState::open(store)
            .await
            .map_err(store_error)?
            .ok_or_else(|| NodeError::NotInitialised(where_.clone()))?;
        let state = Arc::new(state);
        let org = &state.snapshot().org;
        if org.forest != config.forest || org.domain_sid != config.domain_sid {
            return Err(NodeError::WrongForest {
                path: where_,
                found: format!("{} {}", org.forest, org.domain_sid),
                expected: format!("{} {}", config.forest, config.domain_sid),
            });
        }
        let audit_error = |source| NodeError::Audit {
            path: config.audit_file().display().to_string(),
            source,
        };
        let audit = AuditLog::open_with(&config.audit_file(), config.audit).map_err(audit_error)?;
        // Closed files are kept as long as the organization's
        // AdminAuditLogAgeLimit says; each request sets it again, so a change
        // made through another node applies here too.
        audit.set_age_limit(
            org.admin_audit_log_config
                .admin_audit_log_age_limit
                .duration(),
        );
        // Changes whose audit record a crash kept from the log: their
        // records are in the store's outbox (R-AUDIT-3).
        let outbox = Outbox::open(&config.data_dir).map_err(audit_error)?;
        let replayed = outbox
            .replay(state.take_outbox(), &audit)
            .await
            .map_err(|e| audit_error(std::io::Error::other(e)))?;
        if replayed > 0 {
            tracing::warn!(
                replayed,
                "wrote the audit records of changes a stop had kept from the audit log"
            );
        }
        if !config.store.is_embedded() {
            let follower = Arc::downgrade(&state);
            tokio::spawn(async move {
                if let Err(e) = OrgState::follow(follower, crate::store::postgres::BACKSTOP).await {
                    tracing::error!(error = %e, "cannot follow the organization's changes");
                }
            });
        }
        Ok(Arc::new(Self {
            trusts: ArcSwap::from_pointee(trusts),
            tls: Arc::new(ArcSwap::new(tls)),
            state,
            audit,
            outbox,
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            metrics,
            statements: Statements::new(config.statements),
            waiting: Default::default(),
            config,
        }))
    }

    /// Reads every certificate and trust bundle the node serves with, and
    /// builds the TLS configuration from them.
    fn load_tls(
        config: &NodeConfig,
        metrics: &Arc<Metrics>,
    ) -> Result<(Trusts, Arc<rustls::ServerConfig>, Reloaded), NodeError> {
        let own_ca = read_text(&config.pki_dir.join("ca.pem"))?;
        let trusts = Trusts::load(&config.forest, &own_ca, &config.trusts, metrics)?;
        let server_certificate =
            IssuedCertificate::read_combined(&config.pki_dir.join("server.pem"))?;
        let tls = server_config(trusts.store(), &server_certificate)?;
        let summary = crossforest_shared::inspect::summarize_pem(
            &server_certificate.certificate_pem,
            "server certificate",
        )?;
        let reloaded = Reloaded {
            server_serial: summary.serial,
            server_not_after: summary.not_after,
            forests: trusts.store().forests().map(ToString::to_string).collect(),
        };
        Ok((trusts, tls, reloaded))
    }

    /// Re-reads the server certificate, this forest's CA and every trust's CA
    /// certificate and linked credential. New connections use the new material;
    /// established sessions keep theirs. If anything cannot be read, nothing
    /// changes and the node keeps serving with what it had.
    pub fn reload(&self) -> Result<Reloaded, NodeError> {
        match Self::load_tls(&self.config, &self.metrics) {
            Ok((trusts, tls, reloaded)) => {
                let trusts = trusts.keeping_freshness_of(&self.trusts());
                self.trusts.store(Arc::new(trusts));
                self.tls.store(tls);
                self.metrics.tls_reload(true);
                tracing::info!(
                    server_serial = %reloaded.server_serial,
                    server_not_after = %reloaded.server_not_after,
                    forests = ?reloaded.forests,
                    "reloaded certificates and trust bundles"
                );
                Ok(reloaded)
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
        let mut files = vec![
            self.config.pki_dir.join("ca.pem"),
            self.config.pki_dir.join("server.pem"),
        ];
        for trust in &self.config.trusts {
            files.push(trust.ca_certificate.clone());
            if let Some(linked) = &trust.linked_credential {
                files.push(linked.credential.clone());
            }
        }
        files
    }

    /// The node's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Trusted forests, as last (re)loaded.
    pub fn trusts(&self) -> Arc<Trusts> {
        self.trusts.load_full()
    }

    /// The organization: its current snapshot and its store.
    pub fn store(&self) -> &OrgState {
        &self.state
    }

    /// Open statements (R-SESSION-1).
    pub fn statements(&self) -> &Statements {
        &self.statements
    }

    /// The requests waiting for a revision (see [`crate::request::revision_wait`]).
    pub fn waiting(&self) -> &crate::request::revision_wait::Waiting {
        &self.waiting
    }

    /// The admin audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Tolerated clock skew for tokens.
    pub fn clock_skew(&self) -> Duration {
        Duration::from_secs(self.config.clock_skew_secs)
    }

    /// TLS: this forest's CA and each trusted forest's CA, each verifying only
    /// certificates that name its forest; replaced by [`Self::reload`].
    pub fn tls_config(&self) -> SharedTlsConfig {
        self.tls.clone()
    }

    /// Requests running now, at most [`MAX_IN_FLIGHT`].
    pub(crate) fn in_flight(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.in_flight
    }

    /// The audit outbox.
    pub(crate) fn outbox(&self) -> &Outbox {
        &self.outbox
    }
}

impl crossforest_shared::serve::OperatedNode for ResourceForest {
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
