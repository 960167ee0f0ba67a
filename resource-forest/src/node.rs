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
use crate::cmdlets::{registry, Args, CmdletError, Context, Outcome, Value};
use crate::config::NodeConfig;
use crate::org::Organization;
use crate::rbac::{Access, Subject, Target};
use crate::state::{OrgState, Snapshot, WriteGuard};
use crate::store::StoreError;
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
    state: Arc<OrgState>,
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
    /// Loads the node from its configuration: opens (and migrates) its store
    /// and reads the latest revision. On a shared store (PostgreSQL) the node
    /// then follows changes other nodes make.
    pub async fn load(config: NodeConfig) -> Result<Arc<Self>, NodeError> {
        let metrics = Arc::new(Metrics::new());
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
        let audit = AuditLog::open(&config.audit_file()).map_err(|source| NodeError::Audit {
            path: config.audit_file().display().to_string(),
            source,
        })?;
        if !config.store.is_embedded() {
            let follower = Arc::downgrade(&state);
            tokio::spawn(async move {
                if let Err(e) = OrgState::follow(follower, crate::store::postgres::BACKSTOP).await {
                    tracing::error!(error = %e, "cannot follow the organization's changes");
                }
            });
        }
        Ok(Arc::new(Self {
            config,
            trusts: ArcSwap::from_pointee(trusts),
            tls: Arc::new(ArcSwap::new(tls)),
            state,
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

    /// The organization: its current snapshot and its store.
    pub fn store(&self) -> &OrgState {
        &self.state
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
        let name = registry::find(cmdlet).map_or(cmdlet, |s| s.name);
        match &result {
            Ok(_) => self.metrics.decision(true),
            Err(CmdletError::Denied(_) | CmdletError::Forbidden(_)) => self.metrics.decision(false),
            Err(_) => {}
        }
        let decision = self
            .audit_outcome(
                caller,
                name,
                audit_parameters,
                result
                    .as_ref()
                    .map(|(outcome, invoked)| (outcome.target.clone(), invoked.revision)),
            )
            .await;
        tracing::info!(caller = %caller.display_name, cmdlet, decision, "management request");
        result.map(|(_, invoked)| invoked)
    }

    /// Writes the admin audit record of one request (R-AUDIT-1) and returns
    /// its decision: `Allowed`, `Denied` or `Failed`.
    async fn audit_outcome(
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
            caller: crate::decisions::caller_name(&self.state.snapshot().org, caller),
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
        if let Err(e) = self.audit.append(&record).await {
            tracing::error!(error = %e, "writing the admin audit log failed");
        }
        decision
    }

    /// Persists `next` as the next revision. Every change goes through here,
    /// after the lockout rules (R-LOCK-1..4) are checked against `before`.
    /// A store that another process changed first fails with
    /// [`CmdletError::Stale`]: the request is then run again on the new state.
    async fn persist(
        &self,
        guard: &WriteGuard<'_>,
        before: &Snapshot,
        next: Organization,
    ) -> Result<u64, CmdletError> {
        crate::rbac::lockout::check(&before.org.rbac, &next.rbac)?;
        self.state
            .commit(guard, before, next)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => CmdletError::Stale(e.to_string()),
                e => {
                    tracing::error!(error = %e, "persisting the organization failed");
                    CmdletError::Refused(
                        "the change could not be stored; nothing was changed".into(),
                    )
                }
            })
    }

    /// Runs `attempt` again, on the latest state, while it fails because
    /// another node changed the organization first (at most
    /// [`MAX_ATTEMPTS`] times).
    async fn retry_stale<T, F: std::future::Future<Output = Result<T, CmdletError>>>(
        &self,
        attempt: impl Fn() -> F,
    ) -> Result<T, CmdletError> {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(CmdletError::Stale(why)) if tries < MAX_ATTEMPTS => {
                    tracing::info!(%why, tries, "the organization changed meanwhile; running the request again");
                    tries += 1;
                    self.state.refresh().await.map_err(|e| {
                        tracing::error!(error = %e, "reloading the organization failed");
                        CmdletError::Refused(
                            "the organization could not be reloaded; nothing was changed".into(),
                        )
                    })?;
                }
                result => return result,
            }
        }
    }

    /// One setup operation: computed on the current snapshot under the writer
    /// lock, persisted (or only reported), and audited like a cmdlet.
    async fn setup_change(
        &self,
        caller: &Caller,
        audit_name: &str,
        audit_parameters: BTreeMap<String, String>,
        audit_target: Option<String>,
        compute: impl Fn(&Snapshot, &Subject<'_>) -> Result<SetupResult, CmdletError>,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        let result = self
            .retry_stale(|| async {
                let guard = self.state.lock().await;
                let snapshot = self.state.snapshot();
                let sids = crate::decisions::caller_sids(&snapshot.org, caller);
                let policies = snapshot.org.policies_of(&caller.user);
                let subject = crate::decisions::subject(caller, &sids, &policies);
                match compute(&snapshot, &subject)? {
                    SetupResult::Commit(next, changes) => {
                        Ok((self.persist(&guard, &snapshot, *next).await?, changes))
                    }
                    SetupResult::Report(lines) => Ok((snapshot.revision, lines)),
                }
            })
            .await;
        self.audit_outcome(
            caller,
            audit_name,
            audit_parameters,
            result
                .as_ref()
                .map(|(revision, _)| (audit_target, *revision)),
        )
        .await;
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
                organization_management(snapshot, subject, "setup /PrepareAD")?;
                let (next, changes) =
                    crate::org::permission_model::prepare_ad(&snapshot.org, split);
                commit_or_report(snapshot, next, changes, what_if)
            },
        )
        .await
    }

    /// Imports an RBAC document (see [`crate::rbac_document`]) for `caller`, a
    /// member of Organization Management: validated whole (lockout rules
    /// included), then committed as one change and audited; with `what_if`,
    /// only who would gain or lose which cmdlets.
    pub async fn import_rbac(
        &self,
        caller: &Caller,
        document: &crate::rbac_document::RbacDocument,
        what_if: bool,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        let parameters = BTreeMap::from([
            ("Format".to_owned(), document.format.clone()),
            ("Revision".to_owned(), document.revision.to_string()),
        ]);
        let target = Some(self.config.forest.to_string());
        self.setup_change(
            caller,
            "Import-RbacConfiguration",
            parameters,
            target,
            |snapshot, subject| {
                organization_management(snapshot, subject, "importing an RBAC configuration")?;
                let next = document
                    .apply(&snapshot.org, &self.config.trusts)
                    .map_err(|e| CmdletError::Refused(e.to_string()))?;
                let rbac = &next.rbac;
                let summary = vec![format!(
                    "imported revision {} of {}: {} roles, {} role groups, {} assignments, {} scopes, {} policies",
                    document.revision,
                    document.organization,
                    rbac.roles.len(),
                    rbac.role_groups.len(),
                    rbac.assignments.len(),
                    rbac.scopes.len(),
                    rbac.policies.len()
                )];
                commit_or_report(snapshot, next, summary, what_if)
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
            registry::find(cmdlet).ok_or_else(|| CmdletError::NotRecognized(cmdlet.to_owned()))?;
        let args = Args::bind(spec, parameters)?;
        self.retry_stale(|| self.attempt(caller, spec, &args)).await
    }

    /// One run of a request on the current snapshot.
    async fn attempt(
        &self,
        caller: &Caller,
        spec: &'static registry::Cmdlet,
        args: &Args,
    ) -> Result<(Outcome, Invoked), CmdletError> {
        let guard = if spec.writes() {
            Some(self.state.lock().await)
        } else {
            None
        };
        let snapshot = self.state.snapshot();
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
                if spec.writes() {
                    Access::Write
                } else {
                    Access::Read
                },
            )?;
        }
        let mut outcome = spec.handler.run(&ctx, args).await?;
        if spec.writes() && args.switch("WhatIf") {
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
            (Some(org), Some(guard)) => self.persist(guard, &snapshot, org).await?,
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

/// How many times a request runs when other nodes keep changing the
/// organization under it.
pub const MAX_ATTEMPTS: u32 = 5;

/// What a setup operation produced.
enum SetupResult {
    /// A change to persist, with what it changed.
    Commit(Box<Organization>, Vec<String>),
    /// A report only (a what-if): nothing is persisted.
    Report(Vec<String>),
}

/// Refuses `what` unless `subject` is a member of Organization Management.
fn organization_management(
    snapshot: &Snapshot,
    subject: &Subject<'_>,
    what: &str,
) -> Result<(), CmdletError> {
    if snapshot
        .authorizer
        .is_member(subject, crate::rbac::catalogue::ORGANIZATION_MANAGEMENT)
    {
        Ok(())
    } else {
        Err(CmdletError::Forbidden(format!(
            "{what} needs a member of Organization Management"
        )))
    }
}

/// A setup change to commit, or with `what_if` (after the same lockout
/// check) a report of it and of who would gain or lose which cmdlets.
fn commit_or_report(
    snapshot: &Snapshot,
    next: Organization,
    changes: Vec<String>,
    what_if: bool,
) -> Result<SetupResult, CmdletError> {
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
