//! Setup operations on a running organization — `setup /PrepareAD`, the
//! delegated-setup operations (SPEC §7) and the import of an RBAC document —
//! on the same stages as a cmdlet: the caller resolved once, the change
//! computed under the writer lock, committed whole with its audit record.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cmdlets::CmdletError;
use crate::node::ResourceForest;
use crate::org::Organization;
use crate::rbac::Subject;
use crate::state::Snapshot;
use crate::trust::authenticate::Caller;

use super::audit::{Decision, Entry};
use super::commit;
use super::pipeline::detached;
use super::principal::{caller_name, Principal};
use super::what_if::{describe_changes, permission_diff};

/// What a setup operation produced.
pub enum SetupResult {
    /// A change to persist, with what it changed.
    Commit(Box<Organization>, Vec<String>),
    /// A report only (a what-if): nothing is persisted.
    Report(Vec<String>),
}

/// How a setup operation computes its change from a snapshot and the caller.
type Compute =
    dyn Fn(&Snapshot, &Subject<'_>) -> Result<SetupResult, CmdletError> + Send + Sync + 'static;

impl ResourceForest {
    /// One setup operation: computed on the current snapshot under the writer
    /// lock, persisted with its audit record (or only reported), in a task
    /// of the node's own.
    pub(super) async fn setup_change(
        self: &Arc<Self>,
        caller: &Caller,
        entry: Entry,
        target: Option<String>,
        what_if: bool,
        compute: Box<Compute>,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        let turn = self.turn().await?;
        let node = Arc::clone(self);
        let caller = caller.clone();
        detached(async move {
            let _turn = turn;
            let result = node
                .retry_stale(|| async {
                    if what_if {
                        // A what-if changes nothing: it reads the published
                        // state and holds no writer lock, so however long it
                        // computes it never stands in a writer's way.
                        let snapshot = node.store().snapshot();
                        let principal = Principal::resolve(&snapshot.org, &caller);
                        return match compute(&snapshot, &principal.subject())? {
                            SetupResult::Commit(_, lines) | SetupResult::Report(lines) => {
                                Ok((snapshot.revision, lines, None))
                            }
                        };
                    }
                    let guard = node.store().lock().await;
                    let snapshot = node.store().base(&guard);
                    let principal = Principal::resolve(&snapshot.org, &caller);
                    match compute(&snapshot, &principal.subject())? {
                        SetupResult::Commit(next, changes) => {
                            let entry = Entry {
                                caller: principal.name.clone(),
                                ..entry.clone()
                            };
                            let record = node.audit_record(
                                &entry,
                                Decision::Allowed,
                                target.clone(),
                                None,
                                None,
                            );
                            let committed = commit::commit(
                                node.store(),
                                guard,
                                &snapshot,
                                *next,
                                record,
                                node.audit(),
                                node.outbox(),
                            )
                            .await?;
                            Ok((committed.revision, changes, Some(committed)))
                        }
                        SetupResult::Report(lines) => Ok((snapshot.revision, lines, None)),
                    }
                })
                .await;
            match result {
                Ok((revision, lines, Some(committed))) => {
                    committed.audited(node.outbox()).await;
                    Ok((revision, lines))
                }
                Ok((revision, lines, None)) => {
                    node.audit_outcome(&caller, entry, Decision::Allowed, target, None)
                        .await;
                    Ok((revision, lines))
                }
                Err(e) => {
                    let decision = Decision::of::<()>(&Err(e.clone()));
                    node.audit_outcome(&caller, entry, decision, None, Some(&e))
                        .await;
                    Err(e)
                }
            }
        })
        .await
    }

    /// Writes the record of a setup operation that committed nothing.
    async fn audit_outcome(
        &self,
        caller: &Caller,
        entry: Entry,
        decision: Decision,
        target: Option<String>,
        error: Option<&CmdletError>,
    ) {
        let entry = Entry {
            caller: caller_name(&self.store().snapshot().org, caller),
            ..entry
        };
        let error = error.map(|e| e as &dyn std::fmt::Display);
        let record = self.audit_record(&entry, decision, target, error, None);
        self.write_audit(&record).await;
    }

    pub(super) fn setup_entry(
        caller: &Caller,
        name: &str,
        parameters: BTreeMap<String, String>,
    ) -> Entry {
        Entry {
            caller: caller.display_name.clone(),
            caller_sid: caller.user.to_string(),
            cmdlet: name.to_owned(),
            parameters,
        }
    }

    /// `setup /PrepareAD [/ActiveDirectorySplitPermissions:…]` for a running
    /// organization: members of Organization Management only; the change is
    /// checked against the lockout rules, committed whole and audited.
    pub async fn prepare_ad(
        self: &Arc<Self>,
        caller: &Caller,
        split: Option<bool>,
        what_if: bool,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        let parameters = split
            .map(|b| {
                BTreeMap::from([("ActiveDirectorySplitPermissions".to_owned(), b.to_string())])
            })
            .unwrap_or_default();
        let entry = Self::setup_entry(caller, "Setup /PrepareAD", parameters);
        let target = Some(self.config().forest.to_string());
        self.setup_change(
            caller,
            entry,
            target,
            what_if,
            Box::new(move |snapshot, subject| {
                organization_management(snapshot, subject, "setup /PrepareAD")?;
                let (next, changes) =
                    crate::org::permission_model::prepare_ad(&snapshot.org, split);
                commit_or_report(snapshot, next, changes, what_if)
            }),
        )
        .await
    }

    /// `setup /PrepareAllDomains` or `/PrepareDomain[:<FQDN>]` for a running
    /// organization: authorised (Organization Management), committed whole
    /// and audited as `/PrepareAD` is.
    pub async fn prepare_domains(
        self: &Arc<Self>,
        caller: &Caller,
        domains: crate::org::preparation::Domains,
        what_if: bool,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        use crate::org::preparation::Domains;
        let (name, parameters) = match &domains {
            Domains::All => ("Setup /PrepareAllDomains", BTreeMap::new()),
            Domains::One(fqdn) => (
                "Setup /PrepareDomain",
                fqdn.iter()
                    .map(|d| ("PrepareDomain".to_owned(), d.clone()))
                    .collect(),
            ),
        };
        let entry = Self::setup_entry(caller, name, parameters);
        let target = Some(self.config().forest.to_string());
        let operation = name.trim_start_matches("Setup ").to_owned();
        self.setup_change(
            caller,
            entry,
            target,
            what_if,
            Box::new(move |snapshot, subject| {
                organization_management(snapshot, subject, &format!("setup {operation}"))?;
                let (next, changes) =
                    crate::org::preparation::prepare_domains(&snapshot.org, &domains).map_err(
                        |e| CmdletError::InvalidValue {
                            parameter: "PrepareDomain".into(),
                            reason: e.to_string(),
                        },
                    )?;
                commit_or_report(snapshot, next, changes, what_if)
            }),
        )
        .await
    }

    /// Imports an RBAC document (see [`crate::rbac_document`]) for `caller`, a
    /// member of Organization Management: validated whole (lockout rules
    /// included), then committed as one change and audited; with `what_if`,
    /// only who would gain or lose which cmdlets.
    pub async fn import_rbac(
        self: &Arc<Self>,
        caller: &Caller,
        document: &crate::rbac_document::RbacDocument,
        what_if: bool,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        let parameters = BTreeMap::from([
            ("Format".to_owned(), document.format.clone()),
            ("Revision".to_owned(), document.revision.to_string()),
        ]);
        let entry = Self::setup_entry(caller, "Import-RbacConfiguration", parameters);
        let target = Some(self.config().forest.to_string());
        let document = document.clone();
        let trusts = self.config().trusts.clone();
        self.setup_change(
            caller,
            entry,
            target,
            what_if,
            Box::new(move |snapshot, subject| {
                organization_management(snapshot, subject, "importing an RBAC configuration")?;
                let next = document
                    .apply(&snapshot.org, &trusts)
                    .map_err(|e| CmdletError::Refused(e.to_string()))?;
                if next.admin_audit_log_config != snapshot.org.admin_audit_log_config {
                    // The audit configuration changes only with the roles
                    // that grant Set-AdminAuditLogConfig (Audit Logs).
                    crate::cmdlets::audit_config::authorize_set(&snapshot.authorizer, subject)?;
                }
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
            }),
        )
        .await
    }

    /// The organization's RBAC configuration as an RBAC document, from one
    /// snapshot, for `caller`, a member of Organization Management or
    /// View-Only Organization Management (what lets an administrator read
    /// the whole configuration); audited, allowed or denied, as
    /// `Export-RbacConfiguration`.
    pub async fn export_rbac(
        self: &Arc<Self>,
        caller: &Caller,
    ) -> Result<crate::rbac_document::RbacDocument, CmdletError> {
        let snapshot = self.store().snapshot();
        let principal = Principal::resolve(&snapshot.org, caller);
        let subject = principal.subject();
        let readers = [
            crate::rbac::catalogue::ORGANIZATION_MANAGEMENT,
            "View-Only Organization Management",
        ];
        let result = if readers
            .iter()
            .any(|group| snapshot.authorizer.is_member(&subject, group))
        {
            Ok(crate::rbac_document::RbacDocument::export(
                &snapshot.org,
                snapshot.revision,
                &self.config().trusts,
            ))
        } else {
            Err(CmdletError::Forbidden(
                "exporting the RBAC configuration needs a member of Organization Management or View-Only Organization Management".into(),
            ))
        };
        let entry = Self::setup_entry(caller, "Export-RbacConfiguration", BTreeMap::new());
        let target = Some(self.config().forest.to_string());
        self.audit_outcome(
            caller,
            entry,
            Decision::of(&result),
            target,
            result.as_ref().err(),
        )
        .await;
        result
    }

    /// A delegated-setup operation (SPEC §7) for `caller`: checked,
    /// committed whole and audited like a cmdlet.
    pub async fn server_setup(
        self: &Arc<Self>,
        caller: &Caller,
        operation: crate::org::servers::SetupOperation,
        audit_name: &str,
        audit_parameters: BTreeMap<String, String>,
    ) -> Result<(u64, Vec<String>), CmdletError> {
        let entry = Self::setup_entry(caller, audit_name, audit_parameters);
        self.setup_change(
            caller,
            entry,
            None,
            false,
            Box::new(move |snapshot, subject| {
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
            }),
        )
        .await
    }
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
    lines.extend(describe_changes(&permission_diff(
        (&snapshot.org, &snapshot.authorizer),
        &next,
    )));
    Ok(SetupResult::Report(lines))
}
