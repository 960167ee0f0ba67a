//! The pipeline every cmdlet takes: bind → authorise → resolve linked groups
//! (over the network, before the writer lock) → run → commit + audit record.
//!
//! A request runs in a task of the node's own: the caller's future only
//! waits for it, so a client that cancels, or a deadline that passes, never
//! stops a change between its commit and its audit record (R-AUDIT-3).

use std::borrow::Cow;
use std::sync::Arc;

use crossforest_shared::limits::MAX_CMDLET_NAME;
use crossforest_shared::text::{bounded, escape};

use crate::audit::config::Logged;
use crate::cmdlets::registry::{self, Cmdlet};
use crate::cmdlets::{self, Args, CmdletError, Context, Outcome, Record, Value};
use crate::node::{ResourceForest, MAX_IN_FLIGHT};
use crate::rbac::model::LinkedGroup;
use crate::rbac::{Access, Authorizer, Request, Target};
use crate::state::Snapshot;
use crate::trust::authenticate::Caller;

use super::audit::{self, Decision, Entry};
use super::commit::{self, Committed};
use super::principal::{caller_name, Principal};
use super::statement::Pinned;
use super::what_if::permission_diff;

/// A cmdlet's result, with the revision a change produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    /// The cmdlet's records.
    pub records: Vec<Record>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Organization revision after the request.
    pub revision: u64,
    /// The cmdlet whose default view shows the records (its name); `None`
    /// when they are a what-if's permission changes.
    pub view: Option<&'static str>,
}

/// How many times a request runs when other nodes keep changing the
/// organization under it.
pub const MAX_ATTEMPTS: u32 = 5;

/// One run of a request: what the cmdlet returned, and the change it
/// committed (`None` for a read or a what-if).
struct Ran {
    outcome: Outcome,
    view: Option<&'static str>,
    revision: u64,
    committed: Option<Committed>,
}

impl ResourceForest {
    /// Runs one cmdlet for `caller`: bind parameters, authorise the cmdlet and
    /// its parameters, run it (each cmdlet authorises its target before any
    /// effect), commit the change whole with its audit record, and answer
    /// once the record is durable. Runs to the end even if the returned
    /// future is dropped.
    pub async fn invoke(
        self: &Arc<Self>,
        caller: &Caller,
        cmdlet: &str,
        parameters: Vec<(String, Value)>,
    ) -> Result<Invoked, CmdletError> {
        self.invoke_pinned(caller, None, cmdlet, parameters).await
    }

    /// [`Self::invoke`] in a statement (R-SESSION-1): authorised against the
    /// permissions `pinned` kept from the statement's start (`None`: the
    /// caller's current ones), run and committed on the current state.
    pub async fn invoke_pinned(
        self: &Arc<Self>,
        caller: &Caller,
        pinned: Option<Arc<Pinned>>,
        cmdlet: &str,
        parameters: Vec<(String, Value)>,
    ) -> Result<Invoked, CmdletError> {
        let turn = self.turn().await?;
        let node = Arc::clone(self);
        let caller = caller.clone();
        let cmdlet = cmdlet.to_owned();
        detached(async move {
            let _turn = turn;
            node.request(&caller, pinned.as_deref(), &cmdlet, parameters)
                .await
        })
        .await
    }

    /// A turn to run a request: at most [`MAX_IN_FLIGHT`] run at once.
    pub(crate) async fn turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, CmdletError> {
        Arc::clone(self.in_flight())
            .acquire_owned()
            .await
            .map_err(|_| CmdletError::Unavailable("the node is stopping".into()))
    }

    /// Waits until no request is running: every change that was started is
    /// committed or abandoned, and audited.
    pub async fn quiesce(&self) {
        if let Ok(all) = self.in_flight().acquire_many(MAX_IN_FLIGHT as u32).await {
            drop(all);
        }
    }

    /// The whole request, in the node's task.
    async fn request(
        &self,
        caller: &Caller,
        pinned: Option<&Pinned>,
        cmdlet: &str,
        parameters: Vec<(String, Value)>,
    ) -> Result<Invoked, CmdletError> {
        let entry = Entry {
            caller: caller.display_name.clone(),
            caller_sid: caller.user.to_string(),
            cmdlet: registry::find(cmdlet).map_or(cmdlet, |s| s.name).to_owned(),
            parameters: audit::parameters(&parameters),
        };
        let result = self
            .bind_and_run(caller, pinned, cmdlet, parameters, &entry)
            .await;
        let decision = Decision::of(&result);
        match decision {
            Decision::Allowed => self.metrics().decision(true),
            Decision::Denied => self.metrics().decision(false),
            Decision::Failed | Decision::Refused => {}
        }
        let cmdlet_shown = escape(&bounded(&entry.cmdlet, MAX_CMDLET_NAME)).into_owned();
        tracing::info!(caller = %caller.display_name, cmdlet = %cmdlet_shown, decision = decision.as_str(), "management request");
        let snapshot = self.store().snapshot();
        let config = &snapshot.org.admin_audit_log_config;
        self.audit()
            .set_age_limit(config.admin_audit_log_age_limit.duration());
        // What the configuration may leave out: an allowed read, or a
        // request that failed or changed nothing (R-AUDIT-2). Denials are
        // always logged; a change's record went into the store with it.
        let what = match decision {
            Decision::Denied | Decision::Refused => Logged::Always,
            _ if registry::find(cmdlet).is_some_and(|spec| !spec.writes()) => Logged::Read,
            _ => Logged::Selected,
        };
        let parameter_names: Vec<String> = entry.parameters.keys().cloned().collect();
        let logged = config.logs(what, &entry.cmdlet, &parameter_names);
        let entry = Entry {
            caller: caller_name(&snapshot.org, caller),
            ..entry
        };
        match result {
            Ok(ran) => {
                let invoked = Invoked {
                    records: ran.outcome.records,
                    warnings: ran.outcome.warnings,
                    revision: ran.revision,
                    view: ran.view,
                };
                match ran.committed {
                    // Its record went into the store with the change.
                    Some(committed) => committed.audited(self.outbox()).await,
                    None if logged => {
                        let record =
                            self.audit_record(&entry, decision, ran.outcome.target, None, None);
                        self.write_audit(&record).await;
                    }
                    None => {}
                }
                Ok(invoked)
            }
            Err(e) => {
                if logged {
                    let record = self.audit_record(&entry, decision, None, Some(&e), None);
                    self.write_audit(&record).await;
                }
                Err(e)
            }
        }
    }

    /// Bind, resolve what needs the network, then run (again, while another
    /// node changed the organization first).
    async fn bind_and_run(
        &self,
        caller: &Caller,
        pinned: Option<&Pinned>,
        cmdlet: &str,
        parameters: Vec<(String, Value)>,
        entry: &Entry,
    ) -> Result<Ran, CmdletError> {
        let spec =
            registry::find(cmdlet).ok_or_else(|| CmdletError::NotRecognized(cmdlet.to_owned()))?;
        let args = Args::bind(spec, parameters)?;
        let linked = self.resolve_linked(caller, pinned, spec, &args).await?;
        self.retry_stale(|| self.attempt(caller, pinned, spec, &args, linked.as_ref(), entry))
            .await
    }

    /// The foreign group the `-Linked*` parameters name, resolved over the
    /// network once the caller may run the cmdlet with them, and before the
    /// writer lock: a slow directory server holds up no other change.
    async fn resolve_linked(
        &self,
        caller: &Caller,
        pinned: Option<&Pinned>,
        spec: &'static Cmdlet,
        args: &Args,
    ) -> Result<Option<LinkedGroup>, CmdletError> {
        if !cmdlets::role_group::has_link_parameters(args) {
            return Ok(None);
        }
        if !spec.self_authorizing {
            let snapshot = self.store().snapshot();
            let (principal, authorizer) = permissions(&snapshot, caller, pinned);
            let parameters = args.names();
            authorizer
                .authorize(
                    &principal.subject(),
                    &Request {
                        cmdlet: spec.name,
                        parameters: &parameters,
                        target: Target::None,
                        access: Access::Write,
                    },
                )
                .map_err(CmdletError::Denied)?;
        }
        cmdlets::role_group::resolve_link(&self.trusts(), args).await
    }

    /// Runs `attempt` again, on the latest state, while it fails because
    /// another node changed the organization first (at most
    /// [`MAX_ATTEMPTS`] times).
    pub(crate) async fn retry_stale<T, F: std::future::Future<Output = Result<T, CmdletError>>>(
        &self,
        attempt: impl Fn() -> F,
    ) -> Result<T, CmdletError> {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(CmdletError::Stale(why)) if tries < MAX_ATTEMPTS => {
                    tracing::info!(%why, tries, "the organization changed meanwhile; running the request again");
                    tries += 1;
                    self.store().refresh().await.map_err(|e| {
                        tracing::error!(error = %e, "reloading the organization failed");
                        CmdletError::Unavailable(
                            "the organization could not be reloaded; nothing was changed".into(),
                        )
                    })?;
                }
                result => return result,
            }
        }
    }

    /// One run of a request on the current snapshot, under the writer lock
    /// for a cmdlet that writes.
    async fn attempt(
        &self,
        caller: &Caller,
        pinned: Option<&Pinned>,
        spec: &'static Cmdlet,
        args: &Args,
        linked: Option<&LinkedGroup>,
        entry: &Entry,
    ) -> Result<Ran, CmdletError> {
        let guard = if spec.writes() {
            Some(self.store().lock().await)
        } else {
            None
        };
        // A write is computed on the latest pending state (group commit).
        let (snapshot, epoch) = match &guard {
            Some(guard) => self.store().base_in_epoch(guard),
            None => (self.store().snapshot(), 0),
        };
        let result = self
            .run_on(caller, pinned, spec, args, linked, entry, guard, &snapshot)
            .await;
        // A write that stored nothing (it changed nothing, was a what-if, or
        // was refused) may have read changes that are not durable yet: it
        // answers once they are, and runs again if they never will be.
        let stored_or_stale = matches!(
            &result,
            Ok(Ran {
                committed: Some(_),
                ..
            }) | Err(CmdletError::Stale(_))
        );
        if spec.writes() && !stored_or_stale && !self.store().settled(&snapshot, epoch).await {
            return Err(CmdletError::Stale(
                "changes this request read could not be stored".into(),
            ));
        }
        result
    }

    /// Authorise, run and commit on `snapshot`, under the writer lock
    /// (`guard`) for a cmdlet that writes.
    #[expect(
        clippy::too_many_arguments,
        reason = "the stages of one request, each passed on as it is"
    )]
    async fn run_on(
        &self,
        caller: &Caller,
        pinned: Option<&Pinned>,
        spec: &'static Cmdlet,
        args: &Args,
        linked: Option<&LinkedGroup>,
        entry: &Entry,
        guard: Option<crate::state::WriteGuard<'_>>,
        snapshot: &Arc<Snapshot>,
    ) -> Result<Ran, CmdletError> {
        if let Some(why) = crate::org::permission_model::unavailable(&snapshot.org, spec.name) {
            return Err(CmdletError::Forbidden(why));
        }
        // In a statement, the caller and RBAC as they were when it started
        // (R-SESSION-1); the cmdlet runs on, and the lockout rules check,
        // the current state.
        let (principal, permissions) = permissions(snapshot, caller, pinned);
        let trusts = self.trusts();
        let ctx = Context {
            caller: &principal.caller,
            policies: &principal.policies,
            org: &snapshot.org,
            authorizer: &snapshot.authorizer,
            permissions,
            trusts: &trusts,
            audit: self.audit(),
            cmdlet: spec.name,
            parameters: args.names(),
            linked,
        };
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
        let what_if = spec.writes() && args.switch("WhatIf");
        let view = (!what_if).then_some(spec.name);
        if what_if {
            // What if: the change is computed and authorised, then shown as
            // who gains and loses which cmdlets; nothing is committed. A
            // what-if is refused exactly as the change would be (lockout
            // rules included).
            let next = outcome.change.take();
            let target = outcome
                .target
                .as_deref()
                .map(|t| what_if_target(&snapshot.org, next.as_ref(), t));
            let changes = match next {
                Some(next) => {
                    crate::rbac::lockout::check(&snapshot.org.rbac, &next.rbac)?;
                    permission_diff((&snapshot.org, &snapshot.authorizer), &next)
                }
                None => Vec::new(),
            };
            outcome.warnings.push(format!(
                "What if: {}.",
                cmdlets::should_process::action(spec.name, target.as_deref())
            ));
            outcome.warnings.push(format!(
                "Nothing was changed; {} principal(s) would gain or lose cmdlets.",
                changes.len()
            ));
            outcome.records = changes.into_iter().map(|c| c.record()).collect();
        }
        match (outcome.change.take(), guard) {
            (Some(next), Some(guard)) => {
                let entry = Entry {
                    caller: principal.name.clone(),
                    ..entry.clone()
                };
                let record = self.audit_record(
                    &entry,
                    Decision::Allowed,
                    outcome.target.clone(),
                    None,
                    None,
                );
                let committed = commit::commit(
                    self.store(),
                    guard,
                    snapshot,
                    next,
                    record,
                    self.audit(),
                    self.outbox(),
                )
                .await?;
                Ok(Ran {
                    outcome,
                    view,
                    revision: committed.revision,
                    committed: Some(committed),
                })
            }
            _ => Ok(Ran {
                outcome,
                view,
                revision: snapshot.revision,
                committed: None,
            }),
        }
    }
}

/// The target a what-if names: a recipient by its canonical name
/// (`contoso.com/Users/hank`), as Exchange names it, found before or after
/// the change; anything else by the name the audit log records.
fn what_if_target(
    before: &crate::org::Organization,
    after: Option<&crate::org::Organization>,
    target: &str,
) -> String {
    before
        .recipient(target, &[])
        .ok()
        .or_else(|| after.and_then(|org| org.recipient(target, &[]).ok()))
        .map_or_else(
            || target.to_owned(),
            |r| format!("{}/{}", r.organizational_unit, r.name),
        )
}

/// The caller and the RBAC a request is authorised against: those `pinned`
/// kept from its statement's start, else the caller resolved on `snapshot`
/// and its RBAC.
fn permissions<'a>(
    snapshot: &'a Snapshot,
    caller: &Caller,
    pinned: Option<&'a Pinned>,
) -> (Cow<'a, Principal>, &'a Authorizer) {
    match pinned {
        Some(p) => (Cow::Borrowed(&p.principal), &p.authorizer),
        None => (
            Cow::Owned(Principal::resolve(&snapshot.org, caller)),
            &snapshot.authorizer,
        ),
    }
}

/// Runs `work` in a task of its own and waits for it: dropping the returned
/// future does not stop `work`.
pub(crate) async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, CmdletError>> + Send + 'static,
) -> Result<T, CmdletError> {
    tokio::spawn(work).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a request's task failed");
        Err(CmdletError::Internal(
            "the request failed inside the node; see its log".into(),
        ))
    })
}
