//! A permission model planned or applied on a running organization
//! (`crossforest model plan|apply`): the model read against the
//! organization's names, the objects it changes, each change authorised for
//! the caller as the cmdlet that makes it would be (the cmdlet and its
//! parameters granted, ManagedBy for a role group (R-RG-5), a delegating
//! assignment of a role to assign or unassign it (R-ASG-1), Active Directory
//! split permissions (R-SPLIT-3)), the lockout rules (R-LOCK-1..4) checked,
//! then committed as one change with one audit record (R-AUDIT-3), or
//! refused whole.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::cmdlets::args::Args;
use crate::cmdlets::{registry, role_group, CmdletError, Context};
use crate::model::format::ModelFile;
use crate::model::plan::{self, ObjectChange};
use crate::model::{against, ModelError};
use crate::node::ResourceForest;
use crate::org::Organization;
use crate::rbac::{Access, RbacConfig, Target};
use crate::rbac_document::{RbacDocument, FORMAT};
use crate::state::Snapshot;
use crate::trust::authenticate::Caller;

use super::principal::Principal;
use super::setup::SetupResult;
use super::what_if::{permission_diff, PermissionChange};

/// What a model changes: the objects, with their cmdlets, and who gains or
/// loses which cmdlets.
#[derive(Debug, Clone, Default)]
pub struct ModelPlan {
    /// The objects added, changed and removed.
    pub changes: Vec<ObjectChange>,
    /// Who gains or loses which cmdlets.
    pub principals: Vec<PermissionChange>,
    /// The revision planned against, or the one the apply committed.
    pub revision: u64,
    /// Whether the change was committed.
    pub applied: bool,
}

fn model_error(e: ModelError) -> CmdletError {
    CmdletError::InvalidValue {
        parameter: "Model".into(),
        reason: e.to_string(),
    }
}

/// The model's configuration on `org`: `org` with it, and the objects it
/// changes. Nothing is authorised yet.
fn compute(
    file: &ModelFile,
    org: &Organization,
    trusts: &[crate::trust::config::TrustConfig],
) -> Result<(Organization, Vec<ObjectChange>), CmdletError> {
    let (base, target) = against::target(file, org).map_err(model_error)?;
    let changes = plan::diff(org, &target).map_err(model_error)?;
    let RbacConfig {
        roles,
        role_groups,
        assignments,
        scopes,
        policies,
    } = target;
    // The RBAC document's import checks every reference and trust.
    let document = RbacDocument {
        format: FORMAT.to_owned(),
        organization: org.forest.clone(),
        revision: 0,
        trusts: Vec::new(),
        roles,
        role_groups,
        assignments,
        scopes,
        policies,
        admin_audit_log_config: None,
        domain_sid: None,
        active_directory_split_permissions: org.active_directory_split_permissions,
        names: BTreeMap::new(),
    };
    let next = document
        .apply(&base, trusts)
        .map_err(|e| CmdletError::Refused(e.to_string()))?;
    Ok((next, changes))
}

/// Whether `e` says the caller may not: what a change's refusal becomes.
fn refused(change: &ObjectChange, call: &plan::Invocation, e: CmdletError) -> CmdletError {
    match e {
        CmdletError::Denied(_) | CmdletError::Forbidden(_) | CmdletError::Refused(_) => {
            CmdletError::Forbidden(format!(
                "{}: `{}` would be refused: {e}",
                change.line(),
                call.line()
            ))
        }
        other => other,
    }
}

impl ResourceForest {
    /// Authorises every change of a model for `principal` as its cmdlets
    /// would be, on `snapshot` (the organization before) and `next` (after).
    fn authorize_model(
        &self,
        snapshot: &Snapshot,
        next: &Organization,
        principal: &Principal,
        changes: &[ObjectChange],
    ) -> Result<(), CmdletError> {
        let trusts = self.trusts();
        for change in changes {
            for call in &change.cmdlets {
                let spec = registry::find(call.cmdlet)
                    .ok_or_else(|| CmdletError::NotRecognized(call.cmdlet.to_owned()))?;
                let args = Args::bind(spec, call.parameters.clone())?;
                let ctx = |org| Context {
                    caller: &principal.caller,
                    policies: &principal.policies,
                    org,
                    authorizer: &snapshot.authorizer,
                    permissions: &snapshot.authorizer,
                    trusts: &trusts,
                    audit: self.audit(),
                    cmdlet: spec.name,
                    parameters: args.names(),
                    linked: None,
                };
                let before = ctx(&snapshot.org);
                let check = || -> Result<(), CmdletError> {
                    if let Some(why) =
                        crate::org::permission_model::unavailable(&snapshot.org, spec.name)
                    {
                        return Err(CmdletError::Forbidden(why));
                    }
                    if !spec.self_authorizing {
                        before.authorize(Target::None, Access::Write)?;
                    }
                    let group = call
                        .role_group
                        .as_deref()
                        .or((call.cmdlet == "New-RoleGroup").then_some(change.name.as_str()));
                    if let Some(name) = group {
                        let linked = next
                            .rbac
                            .role_group(name)
                            .or(snapshot.org.rbac.role_group(name))
                            .is_some_and(|g| {
                                matches!(g.kind, crate::rbac::model::RoleGroupKind::Linked(_))
                            });
                        if !linked && call.cmdlet != "Set-RoleGroup" {
                            before.refuse_group_write(
                                &call.line(),
                                role_group::DIRECTORY_ROLE_GROUP_TOOLS,
                            )?;
                        }
                    }
                    if let Some(existing) = call
                        .role_group
                        .as_deref()
                        .and_then(|g| snapshot.org.rbac.role_group(g))
                    {
                        let rbac = before.authorize(Target::Config, Access::Write);
                        role_group::check_managed_by(&before, existing, &args, rbac)?;
                    }
                    if let Some(role) = &call.assigns {
                        // A new role's ancestors are the model's.
                        ctx(next).require_delegating(role)?;
                    }
                    Ok(())
                };
                check().map_err(|e| refused(change, call, e))?;
            }
        }
        Ok(())
    }

    /// Plans (`what_if`) or applies the model `text` (named `name` in the
    /// audit log) for `caller`: read against this organization's names,
    /// every change authorised as its cmdlet, the lockout rules checked,
    /// committed whole with one audit record, or refused whole. With
    /// `expected` (the cmdlet lines of the plan the caller was shown), only
    /// that very change is applied: anything else is Stale, nothing changed.
    pub async fn apply_model(
        self: &Arc<Self>,
        caller: &Caller,
        name: &str,
        text: &str,
        what_if: bool,
        expected: Option<Vec<String>>,
    ) -> Result<ModelPlan, CmdletError> {
        let file: ModelFile = toml::from_str(text).map_err(|e| CmdletError::InvalidValue {
            parameter: "Model".into(),
            reason: format!("is not a permission model: {e}"),
        })?;
        // The audit record names the cmdlets of the change planned now; the
        // change under the writer lock must be the same one.
        let trusts = self.config().trusts.clone();
        let current = self.store().snapshot();
        let planned: Vec<String> = match compute(&file, &current.org, &trusts) {
            Ok((_, changes)) => changes
                .iter()
                .flat_map(|c| c.cmdlets.iter().map(plan::Invocation::line))
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut parameters = BTreeMap::from([("Model".to_owned(), name.to_owned())]);
        if what_if {
            parameters.insert("WhatIf".to_owned(), "True".to_owned());
        }
        if !planned.is_empty() {
            parameters.insert("Changes".to_owned(), planned.join("; "));
        }
        let entry = Self::setup_entry(caller, "Import-PermissionModel", parameters);
        let target = Some(self.config().forest.to_string());
        let outcome: Arc<Mutex<ModelPlan>> = Arc::default();
        let kept = Arc::clone(&outcome);
        let node = Arc::clone(self);
        let who = caller.clone();
        let (revision, _) = self
            .setup_change(
                caller,
                entry,
                target,
                what_if,
                Box::new(move |snapshot, _subject| {
                    let principal = Principal::resolve(&snapshot.org, &who);
                    let (next, changes) = compute(&file, &snapshot.org, &trusts)?;
                    let lines: Vec<String> = changes
                        .iter()
                        .flat_map(|c| c.cmdlets.iter().map(plan::Invocation::line))
                        .collect();
                    if lines != planned {
                        return Err(CmdletError::Stale(
                            "the organization changed while the model was planned".into(),
                        ));
                    }
                    if expected.as_ref().is_some_and(|e| *e != lines) {
                        return Err(CmdletError::Stale(
                            "the organization changed since the plan you were shown; nothing was changed: plan again".into(),
                        ));
                    }
                    node.authorize_model(snapshot, &next, &principal, &changes)?;
                    crate::rbac::lockout::check(&snapshot.org.rbac, &next.rbac)?;
                    let principals = permission_diff((&snapshot.org, &snapshot.authorizer), &next);
                    let summary: Vec<String> = changes.iter().map(ObjectChange::line).collect();
                    let commit = !what_if && !changes.is_empty();
                    if let Ok(mut plan) = kept.lock() {
                        *plan = ModelPlan {
                            changes,
                            principals,
                            revision: snapshot.revision,
                            applied: commit,
                        };
                    }
                    Ok(if commit {
                        SetupResult::Commit(Box::new(next), summary)
                    } else {
                        SetupResult::Report(summary)
                    })
                }),
            )
            .await?;
        let mut plan = outcome
            .lock()
            .map(|p| p.clone())
            .map_err(|_| CmdletError::Unavailable("the plan was lost".into()))?;
        plan.revision = revision;
        Ok(plan)
    }
}
