//! The `Authorization` gRPC service: check and explain, bulk check, who-can
//! and what-can, answered on one snapshot of the organization without running
//! a cmdlet.

use std::sync::Arc;

use crossforest_shared::proto::management::v1 as pb;
use crossforest_shared::serve::status::{DenialRule, EdgeError};
use crossforest_shared::Sid;
use tonic::{Request, Response, Status};

use super::management::authenticated;
use super::status::{edge, rule, status};
use crate::cmdlets::query::{resolve, Query, MAX_BULK};
use crate::cmdlets::CmdletError;
use crate::node::ResourceForest;
use crate::rbac::evaluate::{Permission, WhoCan};
use crate::rbac::{Chain, Denial, Explanation, Link, Request as RbacRequest, Subject, Target};
use crate::request::principal::principal_name;
use crate::request::Principal;
use crate::state::Snapshot;

/// The service over one node.
#[derive(Debug, Clone)]
pub struct AuthorizationService {
    node: Arc<ResourceForest>,
}

impl AuthorizationService {
    /// The service for `node`.
    pub fn new(node: Arc<ResourceForest>) -> Self {
        Self { node }
    }
}

impl From<&Link> for pb::Link {
    fn from(link: &Link) -> Self {
        let (kind, value) = match link {
            Link::Sid(s) => (pb::LinkKind::Sid, s.to_string()),
            Link::ForeignGroup(g) => (pb::LinkKind::ForeignGroup, g.clone()),
            Link::RoleGroup(g) => (pb::LinkKind::RoleGroup, g.clone()),
            Link::Policy(p) => (pb::LinkKind::Policy, p.clone()),
        };
        Self {
            kind: kind.into(),
            value,
        }
    }
}

impl From<&Chain> for pb::Chain {
    fn from(c: &Chain) -> Self {
        let Chain {
            links,
            assignment,
            role,
            entry,
            scope,
        } = c;
        Self {
            links: links.iter().map(pb::Link::from).collect(),
            assignment: assignment.clone(),
            role: role.clone(),
            entry: entry.clone(),
            scope: scope.clone(),
            text: c.to_string(),
        }
    }
}

impl From<&Explanation> for pb::Decision {
    fn from(e: &Explanation) -> Self {
        let denial = match e {
            Explanation::Allowed(chains) => {
                return Self {
                    allowed: true,
                    chains: chains.iter().map(pb::Chain::from).collect(),
                    denial: DenialRule::Unspecified.into(),
                    reason: String::new(),
                    missing_parameters: Vec::new(),
                    roles: Vec::new(),
                    exclusive_scopes: Vec::new(),
                }
            }
            Explanation::Denied(d) => d,
        };
        let (missing, roles, exclusive) = match denial {
            Denial::CmdletNotAvailable { cmdlet: _, roles } => {
                (Vec::new(), roles.clone(), Vec::new())
            }
            Denial::ParametersNotGranted {
                cmdlet: _,
                parameters,
                roles,
            } => (parameters.clone(), roles.clone(), Vec::new()),
            Denial::OutOfScope {
                cmdlet: _,
                target: _,
                parameters,
                scopes: _,
                exclusive,
            } => (parameters.clone(), Vec::new(), exclusive.clone()),
        };
        Self {
            allowed: false,
            chains: Vec::new(),
            denial: rule(denial).into(),
            reason: denial.to_string(),
            missing_parameters: missing,
            roles,
            exclusive_scopes: exclusive,
        }
    }
}

/// The protocol form of an explanation.
pub fn decision(e: &Explanation) -> pb::Decision {
    pb::Decision::from(e)
}

fn query(r: &pb::CheckRequest) -> Query<'_> {
    let pb::CheckRequest {
        cmdlet,
        parameters,
        target,
        write,
        at_least_revision: _,
    } = r;
    Query {
        cmdlet,
        parameters,
        target,
        write: *write,
    }
}

fn explain(
    snapshot: &Snapshot,
    subject: &Subject<'_>,
    r: &pb::CheckRequest,
) -> Result<Explanation, CmdletError> {
    let resolved = resolve(&snapshot.org, &query(r))?;
    Ok(snapshot.authorizer.explain(subject, &resolved.request()))
}

/// The decision alone: allowed without its chains (the evaluation stops at
/// the first assignments that allow it), or the denial as [`explain`] gives it.
fn decide(
    snapshot: &Snapshot,
    subject: &Subject<'_>,
    r: &pb::CheckRequest,
) -> Result<Explanation, CmdletError> {
    let resolved = resolve(&snapshot.org, &query(r))?;
    Ok(
        match snapshot.authorizer.authorize(subject, &resolved.request()) {
            Ok(()) => Explanation::Allowed(Vec::new()),
            Err(denial) => Explanation::Denied(denial),
        },
    )
}

/// Names and kind of a principal found by who-can.
fn describe(
    node: &ResourceForest,
    snapshot: &Snapshot,
    sid: &Sid,
) -> (String, pb::PrincipalKind, String) {
    let org = &snapshot.org;
    let name = principal_name(org, sid);
    if org.domain_sid.contains(sid) {
        let kind = match org.recipients.by_sid(sid).next() {
            Some(r) if r.recipient_type.is_group() => pb::PrincipalKind::SecurityGroup,
            _ => pb::PrincipalKind::User,
        };
        return (name, kind, org.forest.to_string());
    }
    let forest = node
        .trusts()
        .all()
        .find(|t| t.domain_sids.iter().any(|d| d.contains(sid)))
        .map(|t| t.forest.to_string())
        .unwrap_or_default();
    (name, pb::PrincipalKind::ForeignGroup, forest)
}

impl AuthorizationService {
    /// The caller, resolved on the snapshot it is answered on: revision
    /// `needed` or later (see [`super::revision_wait`]).
    async fn setup<T>(
        &self,
        request: &Request<T>,
        needed: u64,
    ) -> Result<(Principal, Arc<Snapshot>), Status> {
        let caller = authenticated(&self.node, request)?;
        super::revision_wait::at_least(&self.node, &caller, request, needed).await?;
        let snapshot = self.node.store().snapshot();
        Ok((Principal::resolve(&snapshot.org, &caller), snapshot))
    }
}

#[tonic::async_trait]
impl pb::authorization_server::Authorization for AuthorizationService {
    async fn check(
        &self,
        request: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::CheckResponse>, Status> {
        super::limits::check("", request.get_ref())?;
        let needed = request.get_ref().at_least_revision;
        let (principal, snapshot) = self.setup(&request, needed).await?;
        let subject = principal.subject();
        let explained = explain(&snapshot, &subject, request.get_ref())
            .map_err(|e| EdgeError::with_revision(status(&e), snapshot.revision))?;
        Ok(Response::new(pb::CheckResponse {
            decision: Some(decision(&explained)),
            revision: snapshot.revision,
        }))
    }

    async fn check_bulk(
        &self,
        request: Request<pb::CheckBulkRequest>,
    ) -> Result<Response<pb::CheckBulkResponse>, Status> {
        let pb::CheckBulkRequest {
            checks,
            at_least_revision,
            without_chains,
        } = request.get_ref();
        let answer = if *without_chains { decide } else { explain };
        if checks.len() > MAX_BULK {
            return Err(EdgeError::invalid(
                "checks",
                format!("{} checks in one call; at most {MAX_BULK}", checks.len()),
            )
            .into());
        }
        for (i, check) in checks.iter().enumerate() {
            super::limits::check(&format!("checks[{i}]."), check)?;
        }
        let needed = checks
            .iter()
            .map(|c| c.at_least_revision)
            .fold(*at_least_revision, u64::max);
        let (principal, snapshot) = self.setup(&request, needed).await?;
        let subject = principal.subject();
        let decisions = checks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                answer(&snapshot, &subject, c)
                    .map(|e| decision(&e))
                    .map_err(|e| {
                        let status = edge(&e)
                            .context(&format!("check {i} (`{}`)", c.cmdlet))
                            .into_status();
                        EdgeError::with_revision(status, snapshot.revision)
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Response::new(pb::CheckBulkResponse {
            decisions,
            revision: snapshot.revision,
        }))
    }

    async fn who_can(
        &self,
        request: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::WhoCanResponse>, Status> {
        super::limits::check("", request.get_ref())?;
        let needed = request.get_ref().at_least_revision;
        let (principal, snapshot) = self.setup(&request, needed).await?;
        // Who-can reads every assignment: it needs what
        // `Get-ManagementRoleAssignment -GetEffectiveUsers -WritableRecipient` needs.
        let parameters = [
            "GetEffectiveUsers".to_owned(),
            "WritableRecipient".to_owned(),
        ];
        let gate = RbacRequest {
            cmdlet: "Get-ManagementRoleAssignment",
            parameters: &parameters,
            target: Target::Config,
            access: crate::rbac::Access::Read,
        };
        let at = |status| EdgeError::with_revision(status, snapshot.revision);
        snapshot
            .authorizer
            .authorize(&principal.subject(), &gate)
            .map_err(|d| at(status(&CmdletError::Denied(d))))?;
        let resolved =
            resolve(&snapshot.org, &query(request.get_ref())).map_err(|e| at(status(&e)))?;
        let principals = snapshot
            .authorizer
            .who_can(&resolved.request())
            .into_iter()
            .map(|(who, chains)| {
                let (sid, name, kind, forest) = match who {
                    WhoCan::Principal(sid) => {
                        let (name, kind, forest) = describe(&self.node, &snapshot, &sid);
                        (sid.to_string(), name, kind, forest)
                    }
                    WhoCan::Policy(p) => (
                        String::new(),
                        p,
                        pb::PrincipalKind::RoleAssignmentPolicy,
                        snapshot.org.forest.to_string(),
                    ),
                };
                pb::EffectivePrincipal {
                    sid,
                    name,
                    kind: kind.into(),
                    forest,
                    chains: chains.iter().map(pb::Chain::from).collect(),
                }
            })
            .collect();
        Ok(Response::new(pb::WhoCanResponse {
            principals,
            revision: snapshot.revision,
        }))
    }

    async fn what_can(
        &self,
        request: Request<pb::WhatCanRequest>,
    ) -> Result<Response<pb::WhatCanResponse>, Status> {
        let needed = request.get_ref().at_least_revision;
        let (principal, snapshot) = self.setup(&request, needed).await?;
        let permissions = snapshot
            .authorizer
            .permissions_of(&principal.subject())
            .into_iter()
            .map(|p| {
                let Permission {
                    cmdlet,
                    parameters,
                    grants,
                } = p;
                pb::Permission {
                    cmdlet,
                    parameters,
                    grants,
                }
            })
            .collect();
        Ok(Response::new(pb::WhatCanResponse {
            permissions,
            revision: snapshot.revision,
        }))
    }
}
