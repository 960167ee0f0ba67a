//! A loaded resource forest: configuration, trusts, organization store and audit
//! log, and the request path every cmdlet takes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use crossforest_shared::config::ConfigError;
use crossforest_shared::metrics::Metrics;
use crossforest_shared::pki::{read_text, IssuedCertificate, PkiError};
use crossforest_shared::serve::SharedTlsConfig;
use crossforest_shared::tls::{server_config, TlsError};

use crate::audit::{redact, AuditLog, AuditRecord};
use crate::cmdlets::{self, spec, Args, CmdletError, Context, Outcome, Value};
use crate::config::NodeConfig;
use crate::org::Organization;
use crate::rbac::{Access, Subject, Target};
use crate::state::{OrgStore, Snapshot, WriteGuard};
use crate::trust::authenticate::Caller;
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
    /// Audit log.
    #[error("cannot open the audit log `{path}`: {source}")]
    Audit {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// No organization yet.
    #[error("`{0}` does not exist: run `resource-forest init` first")]
    NotInitialised(String),
    /// State of another forest.
    #[error("`{path}` holds organization `{found}`, but the configuration says `{expected}`")]
    WrongForest {
        /// The file.
        path: String,
        /// In the file.
        found: String,
        /// Configured.
        expected: String,
    },
}

/// A cmdlet's result, with the revision a change produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    /// The cmdlet's records.
    pub records: Vec<Vec<(String, String)>>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Organization revision after the request.
    pub revision: u64,
}

/// The resource forest.
#[derive(Debug)]
pub struct ResourceForest {
    config: NodeConfig,
    trusts: ArcSwap<Trusts>,
    tls: SharedTlsConfig,
    store: OrgStore,
    audit: AuditLog,
    metrics: Arc<Metrics>,
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
    /// Loads the node from its configuration.
    pub fn load(config: NodeConfig) -> Result<Arc<Self>, NodeError> {
        let metrics = Arc::new(Metrics::new());
        let (trusts, tls, _) = Self::load_tls(&config, &metrics)?;
        let path = config.organization_file();
        let store = OrgStore::open(path.clone())?
            .ok_or_else(|| NodeError::NotInitialised(path.display().to_string()))?;
        let org = &store.snapshot().org;
        if org.forest != config.forest || org.domain_sid != config.domain_sid {
            return Err(NodeError::WrongForest {
                path: path.display().to_string(),
                found: format!("{} {}", org.forest, org.domain_sid),
                expected: format!("{} {}", config.forest, config.domain_sid),
            });
        }
        let audit = AuditLog::open(&config.audit_file()).map_err(|source| NodeError::Audit {
            path: config.audit_file().display().to_string(),
            source,
        })?;
        Ok(Arc::new(Self {
            config,
            trusts: ArcSwap::from_pointee(trusts),
            tls: Arc::new(ArcSwap::new(tls)),
            store,
            audit,
            metrics,
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

    /// The organization store.
    pub fn store(&self) -> &OrgStore {
        &self.store
    }

    /// The audit log.
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

    /// Runs one cmdlet for `caller`: bind parameters, authorise the cmdlet and its
    /// parameters, run it (each cmdlet authorises its target before any effect),
    /// commit the change whole, and write the audit record.
    pub async fn invoke(
        &self,
        caller: &Caller,
        cmdlet: &str,
        parameters: Vec<(String, Value)>,
    ) -> Result<Invoked, CmdletError> {
        let audit_parameters = parameters
            .iter()
            .map(|(n, v)| {
                (
                    if n.is_empty() {
                        "Identity".to_owned()
                    } else {
                        n.clone()
                    },
                    redact(n, v.display()),
                )
            })
            .collect();
        let result = self.invoke_inner(caller, cmdlet, parameters).await;
        let name = spec::find(cmdlet).map_or(cmdlet, |s| s.name);
        match &result {
            Ok(_) => self.metrics.decision(true),
            Err(CmdletError::Denied(_) | CmdletError::Forbidden(_)) => self.metrics.decision(false),
            Err(_) => {}
        }
        let decision = self.audit_outcome(
            caller,
            name,
            audit_parameters,
            result
                .as_ref()
                .map(|(outcome, invoked)| (outcome.target.clone(), invoked.revision)),
        );
        tracing::info!(caller = %caller.display_name, cmdlet, decision, "management request");
        result.map(|(_, invoked)| invoked)
    }

    /// Writes the admin audit record of one request (R-AUDIT-1) and returns
    /// its decision: `Allowed`, `Denied` or `Failed`.
    fn audit_outcome(
        &self,
        caller: &Caller,
        cmdlet: &str,
        parameters: BTreeMap<String, String>,
        result: Result<(Option<String>, u64), &CmdletError>,
    ) -> &'static str {
        let (succeeded, decision, error, target, revision) = match result {
            Ok((target, revision)) => (true, "Allowed", String::new(), target, Some(revision)),
            Err(e @ (CmdletError::Denied(_) | CmdletError::Forbidden(_))) => {
                (false, "Denied", e.to_string(), None, None)
            }
            Err(e) => (false, "Failed", e.to_string(), None, None),
        };
        let record = AuditRecord {
            run_date: now_rfc3339(),
            caller: crate::decisions::caller_name(&self.store.snapshot().org, caller),
            caller_sid: caller.user.to_string(),
            cmdlet_name: cmdlet.to_owned(),
            cmdlet_parameters: parameters,
            object_modified: target.unwrap_or_default(),
            succeeded,
            decision: decision.to_owned(),
            error,
            originating_server: self.config.forest.to_string(),
            revision,
        };
        if let Err(e) = self.audit.append(&record) {
            tracing::error!(error = %e, "writing the admin audit log failed");
        }
        decision
    }

    /// Persists `next` as the next revision. Every change goes through here,
    /// after the lockout rules (R-LOCK-1..4) are checked against `before`.
    fn persist(
        &self,
        guard: &WriteGuard<'_>,
        before: &Snapshot,
        next: Organization,
    ) -> Result<u64, CmdletError> {
        crate::rbac::lockout::check(&before.org.rbac, &next.rbac)?;
        self.store.commit(guard, next).map_err(|e| {
            tracing::error!(error = %e, "persisting the organization failed");
            CmdletError::Refused("the change could not be stored; nothing was changed".into())
        })
    }

    /// One setup operation: computed on the current snapshot under the writer
    /// lock, persisted (or only reported), and audited like a cmdlet.
    async fn setup_change(
        &self,
        caller: &Caller,
        audit_name: &str,
        audit_parameters: BTreeMap<String, String>,
        audit_target: Option<String>,
        compute: impl FnOnce(&Snapshot, &Subject<'_>) -> Result<SetupResult, CmdletError>,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        let guard = self.store.lock().await;
        let snapshot = self.store.snapshot();
        let sids = crate::decisions::caller_sids(&snapshot.org, caller);
        let policies = snapshot.org.policies_of(&caller.user);
        let subject = crate::decisions::subject(caller, &sids, &policies);
        let result = compute(&snapshot, &subject).and_then(|outcome| match outcome {
            SetupResult::Commit(next, changes) => {
                Ok((self.persist(&guard, &snapshot, *next)?, changes))
            }
            SetupResult::Report(lines) => Ok((snapshot.revision, lines)),
        });
        self.audit_outcome(
            caller,
            audit_name,
            audit_parameters,
            result
                .as_ref()
                .map(|(revision, _)| (audit_target, *revision)),
        );
        result
    }

    /// `setup /PrepareAD [/ActiveDirectorySplitPermissions:…]` for a running
    /// organization: members of Organization Management only; the change is
    /// checked against the lockout rules, committed whole and audited.
    pub async fn prepare_ad(
        &self,
        caller: &Caller,
        split: Option<bool>,
        what_if: bool,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        let parameters = split
            .map(|b| {
                BTreeMap::from([("ActiveDirectorySplitPermissions".to_owned(), b.to_string())])
            })
            .unwrap_or_default();
        let target = Some(self.config.forest.to_string());
        self.setup_change(
            caller,
            "Setup /PrepareAD",
            parameters,
            target,
            |snapshot, subject| {
                if !snapshot
                    .authorizer
                    .is_member(subject, crate::rbac::catalogue::ORGANIZATION_MANAGEMENT)
                {
                    return Err(CmdletError::Forbidden(
                        "setup /PrepareAD needs a member of Organization Management".into(),
                    ));
                }
                let (next, changes) =
                    crate::org::permission_model::prepare_ad(&snapshot.org, split);
                if !what_if {
                    return Ok(SetupResult::Commit(Box::new(next), changes));
                }
                crate::rbac::lockout::check(&snapshot.org.rbac, &next.rbac)?;
                let mut lines = vec!["What if: nothing was changed.".to_owned()];
                lines.extend(changes);
                lines.extend(describe_changes(&crate::decisions::permission_diff(
                    (&snapshot.org, &snapshot.authorizer),
                    &next,
                )));
                Ok(SetupResult::Report(lines))
            },
        )
        .await
    }

    /// A delegated-setup operation (SPEC §7) for `caller`: checked,
    /// committed whole and audited like a cmdlet.
    pub async fn server_setup(
        &self,
        caller: &Caller,
        operation: crate::org::servers::SetupOperation,
        audit_name: &str,
        audit_parameters: BTreeMap<String, String>,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        self.setup_change(
            caller,
            audit_name,
            audit_parameters,
            None,
            |snapshot, subject| {
                let a = &snapshot.authorizer;
                // A delegate may be a role group (Delegated Setup): the caller's
                // role groups count as its groups here.
                let mut with_groups = subject.sids.to_vec();
                with_groups.extend(
                    a.role_groups_of(subject)
                        .iter()
                        .filter_map(|(g, _)| snapshot.org.rbac.role_group(g).map(|g| g.sid)),
                );
                let who = crate::org::servers::SetupCaller {
                    sids: &with_groups,
                    organization_management: a
                        .is_member(subject, crate::rbac::catalogue::ORGANIZATION_MANAGEMENT),
                    delegated_setup: a.is_member(subject, "Delegated Setup"),
                    server_management: a.holds_role(subject, "Exchange Servers"),
                };
                let (next, changes) = crate::org::servers::apply(&snapshot.org, &who, &operation)
                    .map_err(|e| match e {
                    crate::org::servers::SetupError::Forbidden(m) => CmdletError::Forbidden(m),
                    crate::org::servers::SetupError::Refused(m) => CmdletError::Refused(m),
                })?;
                Ok(SetupResult::Commit(Box::new(next), changes))
            },
        )
        .await
    }

    async fn invoke_inner(
        &self,
        caller: &Caller,
        cmdlet: &str,
        parameters: Vec<(String, Value)>,
    ) -> Result<(Outcome, Invoked), CmdletError> {
        let spec =
            spec::find(cmdlet).ok_or_else(|| CmdletError::NotRecognized(cmdlet.to_owned()))?;
        let args = Args::bind(spec, parameters)?;
        let guard = if spec.writes {
            Some(self.store.lock().await)
        } else {
            None
        };
        let snapshot = self.store.snapshot();
        if let Some(why) = crate::org::permission_model::unavailable(&snapshot.org, spec.name) {
            return Err(CmdletError::Forbidden(why));
        }
        // A local caller's token is its certificate: its group SIDs come from
        // this forest's own directory (R-ASG-2).
        let enriched = Caller {
            sids: crate::decisions::caller_sids(&snapshot.org, caller),
            ..caller.clone()
        };
        let caller = &enriched;
        let trusts = self.trusts();
        let ctx = Context::new(
            caller,
            &snapshot.org,
            &snapshot.authorizer,
            &trusts,
            &self.audit,
            spec.name,
            args.names(),
        );
        // The cmdlet and every parameter must be granted before anything else,
        // unless the cmdlet authorises itself (ManagedBy, R-RG-5; self-tests).
        if !spec.self_authorizing {
            ctx.authorize(
                Target::None,
                if spec.writes {
                    Access::Write
                } else {
                    Access::Read
                },
            )?;
        }
        let mut outcome = cmdlets::run(&ctx, &args).await?;
        if spec.writes && args.switch("WhatIf") {
            // What if: the change is computed and authorised, then shown as
            // who gains and loses which cmdlets; nothing is committed.
            // A what-if is refused exactly as the change would be (lockout
            // rules included); a real change is checked in `persist`.
            let changes = match outcome.change.take() {
                Some(next) => {
                    crate::rbac::lockout::check(&snapshot.org.rbac, &next.rbac)?;
                    crate::decisions::permission_diff((&snapshot.org, &snapshot.authorizer), &next)
                }
                None => Vec::new(),
            };
            outcome.warnings.push(format!(
                "What if: `{}` would succeed; nothing was changed. {} principal(s) would gain or lose cmdlets",
                spec.name,
                changes.len()
            ));
            outcome.records = changes.into_iter().map(change_record).collect();
        }
        let revision = match (outcome.change.take(), &guard) {
            (Some(org), Some(guard)) => self.persist(guard, &snapshot, org)?,
            _ => snapshot.revision,
        };
        let invoked = Invoked {
            records: outcome.records.clone(),
            warnings: outcome.warnings.clone(),
            revision,
        };
        Ok((outcome, invoked))
    }
}

/// What a setup operation produced.
enum SetupResult {
    /// A change to persist, with what it changed.
    Commit(Box<Organization>, Vec<String>),
    /// A report only (a what-if): nothing is persisted.
    Report(Vec<String>),
}

fn change_record(c: crate::decisions::PermissionChange) -> Vec<(String, String)> {
    vec![
        ("Principal".to_owned(), c.principal),
        ("Gains".to_owned(), c.gained.join(", ")),
        ("Loses".to_owned(), c.lost.join(", ")),
    ]
}

/// What-if lines of a permission diff, for setup's output.
pub fn describe_changes(changes: &[crate::decisions::PermissionChange]) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            let mut line = c.principal.clone();
            if !c.gained.is_empty() {
                line.push_str(&format!(" gains {}", c.gained.join(", ")));
            }
            if !c.lost.is_empty() {
                if !c.gained.is_empty() {
                    line.push(';');
                }
                line.push_str(&format!(" loses {}", c.lost.join(", ")));
            }
            line
        })
        .collect()
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
