//! The `Management` gRPC service: authenticate, SID-filter, authorise, run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crossforest_shared::limits::{length, MAX_STATEMENT_ID};
use crossforest_shared::proto::management::v1 as pb;
use crossforest_shared::serve::caller;
use crossforest_shared::serve::status::EdgeError;
use crossforest_shared::token::{from_header, TOKEN_HEADER};
use tonic::{Request, Response, Status};

use super::status::{edge, statement_status, status};
use crate::cmdlets::{registry, CmdletError, Value};
use crate::node::ResourceForest;
use crate::org::servers::SetupOperation;
use crate::request::statement::not_open_warning;
use crate::request::Principal;
use crate::trust::authenticate::{authenticate, Caller};

/// The service over one node.
#[derive(Debug, Clone)]
pub struct ManagementService {
    node: Arc<ResourceForest>,
}

impl ManagementService {
    /// The service for `node`.
    pub fn new(node: Arc<ResourceForest>) -> Self {
        Self { node }
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        authenticated(&self.node, request)
    }
}

/// Authenticates the caller of `request`: the verified client certificate, and
/// for account-forest users a token from the same forest naming the same SID,
/// SID-filtered (R-TRUST-1..3).
pub fn authenticated<T>(
    node: &Arc<ResourceForest>,
    request: &Request<T>,
) -> Result<Caller, Status> {
    let principal = caller(request)?;
    let token = request
        .metadata()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(from_header);
    let caller = authenticate(&node.trusts(), &principal, token, node.clock_skew(), SystemTime::now()).map_err(|e| {
        tracing::warn!(forest = %principal.forest, sid = %principal.sid, error = %e, "caller refused");
        node.audit_refused_sign_in(&principal.forest, &principal.sid, &e);
        EdgeError::Unauthenticated(e.to_string()).into_status()
    })?;
    node.metrics()
        .sid_filter_dropped(caller.forest.as_str(), caller.dropped.len());
    Ok(caller)
}

/// A setup request as the node runs it: the operation (its delegate
/// resolved to a SID), its audit name and its audit parameters.
fn setup_request(
    org: &crate::org::Organization,
    request: pb::ServerSetupRequest,
) -> Result<(SetupOperation, &'static str, BTreeMap<String, String>), CmdletError> {
    use SetupOperation as Op;
    let pb::ServerSetupRequest {
        operation,
        server,
        delegate,
        nodes,
        cluster,
        node,
        roles,
        site,
    } = request;
    let audit = [
        ("Server", server.clone()),
        ("Delegate", delegate.clone()),
        ("Nodes", nodes.join(",")),
        ("Cluster", cluster.clone()),
        ("Node", node.clone()),
        ("Roles", roles.join(",")),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let invalid = |reason: String| CmdletError::InvalidValue {
        parameter: "operation".into(),
        reason,
    };
    let operation = pb::SetupOperation::try_from(operation)
        .map_err(|_| invalid(format!("`{operation}` is not a setup operation")))?;
    let (operation, name) = match operation {
        pb::SetupOperation::Unspecified => {
            return Err(invalid(
                "is missing: name one of FormCluster, NewClusterComputer, NewProvisionedServer, RemoveProvisionedServer, Install, Uninstall".into(),
            ))
        }
        pb::SetupOperation::FormCluster => (
            Op::FormCluster {
                cluster: server,
                nodes,
            },
            "Setup /FormCluster",
        ),
        pb::SetupOperation::NewClusterComputer => (
            Op::NewClusterComputer { server, cluster },
            "Setup /NewClusterComputer",
        ),
        pb::SetupOperation::NewProvisionedServer => {
            let delegate = if delegate.is_empty() {
                "Delegated Setup".to_owned()
            } else {
                delegate
            };
            let name = delegate.rsplit('\\').next().unwrap_or(&delegate);
            let sid = org.principal_sid(name)?;
            (
                Op::NewProvisionedServer {
                    server,
                    delegate: (sid, delegate),
                },
                "Setup /NewProvisionedServer",
            )
        }
        pb::SetupOperation::RemoveProvisionedServer => (
            Op::RemoveProvisionedServer { server },
            "Setup /RemoveProvisionedServer",
        ),
        pb::SetupOperation::Install => (
            Op::Install {
                server,
                roles,
                node: (!node.is_empty()).then_some(node),
                site: if site.is_empty() {
                    "Default-First-Site-Name".to_owned()
                } else {
                    site
                },
            },
            "Setup /Install",
        ),
        pb::SetupOperation::Uninstall => (Op::Uninstall { server }, "Setup /Uninstall"),
    };
    Ok((operation, name, audit))
}

impl From<pb::ParameterValue> for Value {
    fn from(v: pb::ParameterValue) -> Self {
        let pb::ParameterValue { kind } = v;
        match kind {
            Some(pb::parameter_value::Kind::Text(t)) => Value::Text(t),
            Some(pb::parameter_value::Kind::List(pb::StringList { values })) => Value::List(values),
            Some(pb::parameter_value::Kind::Boolean(b)) => Value::Bool(b),
            Some(pb::parameter_value::Kind::Switch(_)) | None => Value::Switch,
        }
    }
}

fn value(v: Option<pb::ParameterValue>) -> Value {
    v.map_or(Value::Switch, Value::from)
}

#[tonic::async_trait]
impl pb::management_server::Management for ManagementService {
    async fn invoke(
        &self,
        request: Request<pb::InvokeRequest>,
    ) -> Result<Response<pb::InvokeResponse>, Status> {
        // Sizes first: nothing of an oversized request is logged or audited.
        super::limits::invoke(request.get_ref())?;
        let caller = self.caller(&request)?;
        let needed = request.get_ref().at_least_revision;
        super::revision_wait::at_least(&self.node, &caller, &request, needed).await?;
        let pb::InvokeRequest {
            cmdlet,
            parameters,
            statement,
            at_least_revision: _,
        } = request.into_inner();
        let parameters = parameters
            .into_iter()
            .map(|pb::Parameter { name, value: v }| (name, value(v)))
            .collect();
        // A statement not open for the caller (unknown, ended, another
        // caller's) means its current permissions, and the answer says so
        // (R-SESSION-1).
        let (pinned, not_open) = if statement.is_empty() {
            (None, None)
        } else {
            match self
                .node
                .statements()
                .pinned(&statement, &caller, Instant::now())
            {
                Ok(pinned) => (Some(pinned), None),
                Err(_) => (None, Some(not_open_warning(&statement))),
            }
        };
        let mut invoked = self
            .node
            .invoke_pinned(&caller, pinned, &cmdlet, parameters)
            .await
            .map_err(|e| {
                let status = match &not_open {
                    Some(why) => edge(&e).context(why).into_status(),
                    None => status(&e),
                };
                super::revision_wait::at_revision(&self.node, status)
            })?;
        invoked.warnings.extend(not_open.iter().cloned());
        let view = invoked.view.and_then(registry::find);
        let (default_columns, list_view) = view.map_or((Vec::new(), false), |c| {
            (
                c.default_columns.iter().map(|&n| n.to_owned()).collect(),
                c.list_view,
            )
        });
        Ok(Response::new(pb::InvokeResponse {
            records: invoked
                .records
                .into_iter()
                .map(|r| pb::Record {
                    properties: r
                        .into_iter()
                        .map(|(name, field)| {
                            let (value, typed) = field.into_value();
                            pb::Property {
                                name,
                                value,
                                typed: Some(typed),
                            }
                        })
                        .collect(),
                })
                .collect(),
            warnings: invoked.warnings,
            statement_not_open: not_open.is_some(),
            default_columns,
            list_view,
            revision: invoked.revision,
        }))
    }

    async fn open_statement(
        &self,
        request: Request<pb::OpenStatementRequest>,
    ) -> Result<Response<pb::OpenStatementResponse>, Status> {
        let caller = self.caller(&request)?;
        let needed = request.get_ref().at_least_revision;
        super::revision_wait::at_least(&self.node, &caller, &request, needed).await?;
        let (statement, revision) = self
            .node
            .open_statement(&caller)
            .map_err(|e| statement_status(&e))?;
        let settings = self.node.statements().settings();
        Ok(Response::new(pb::OpenStatementResponse {
            statement,
            revision,
            idle_secs: settings.idle_secs,
            lifetime_secs: settings.lifetime_secs,
        }))
    }

    async fn close_statement(
        &self,
        request: Request<pb::CloseStatementRequest>,
    ) -> Result<Response<pb::CloseStatementResponse>, Status> {
        let caller = self.caller(&request)?;
        let pb::CloseStatementRequest { statement } = request.into_inner();
        length("statement", "statement", &statement, MAX_STATEMENT_ID)
            .map_err(EdgeError::into_status)?;
        self.node
            .statements()
            .close(&statement, &caller, Instant::now())
            .map_err(|e| statement_status(&e))?;
        Ok(Response::new(pb::CloseStatementResponse {}))
    }

    async fn prepare_ad(
        &self,
        request: Request<pb::PrepareAdRequest>,
    ) -> Result<Response<pb::PrepareAdResponse>, Status> {
        let caller = self.caller(&request)?;
        let pb::PrepareAdRequest {
            active_directory_split_permissions,
            what_if,
        } = request.into_inner();
        let (revision, changes) = self
            .node
            .prepare_ad(&caller, active_directory_split_permissions, what_if)
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::PrepareAdResponse { changes, revision }))
    }

    async fn prepare_domain(
        &self,
        request: Request<pb::PrepareDomainRequest>,
    ) -> Result<Response<pb::PrepareDomainResponse>, Status> {
        super::limits::prepare_domain(request.get_ref())?;
        let caller = self.caller(&request)?;
        let pb::PrepareDomainRequest {
            all_domains,
            domain,
            what_if,
        } = request.into_inner();
        let domains = match (all_domains, domain.is_empty()) {
            (true, _) => crate::org::preparation::Domains::All,
            (false, true) => crate::org::preparation::Domains::One(None),
            (false, false) => crate::org::preparation::Domains::One(Some(domain)),
        };
        let (revision, changes) = self
            .node
            .prepare_domains(&caller, domains, what_if)
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::PrepareDomainResponse {
            changes,
            revision,
        }))
    }

    async fn server_setup(
        &self,
        request: Request<pb::ServerSetupRequest>,
    ) -> Result<Response<pb::ServerSetupResponse>, Status> {
        super::limits::setup(request.get_ref())?;
        let caller = self.caller(&request)?;
        let snapshot = self.node.store().snapshot();
        let (operation, name, parameters) =
            setup_request(&snapshot.org, request.into_inner()).map_err(|e| status(&e))?;
        let (revision, changes) = self
            .node
            .server_setup(&caller, operation, name, parameters)
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::ServerSetupResponse { changes, revision }))
    }

    async fn export_rbac(
        &self,
        request: Request<pb::ExportRbacRequest>,
    ) -> Result<Response<pb::ExportRbacResponse>, Status> {
        let caller = self.caller(&request)?;
        let pb::ExportRbacRequest {} = request.into_inner();
        let document = self
            .node
            .export_rbac(&caller)
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::ExportRbacResponse {
            revision: document.revision,
            document: serde_json::to_string(&document)
                .map_err(|e| Status::internal(format!("cannot write the RBAC document: {e}")))?,
        }))
    }

    async fn apply_permission_model(
        &self,
        request: Request<pb::ApplyPermissionModelRequest>,
    ) -> Result<Response<pb::ApplyPermissionModelResponse>, Status> {
        super::limits::permission_model(request.get_ref())?;
        let caller = self.caller(&request)?;
        let pb::ApplyPermissionModelRequest {
            model,
            name,
            what_if,
            expected,
        } = request.into_inner();
        let expected = expected.map(|e| e.lines);
        let plan = self
            .node
            .apply_model(&caller, &name, &model, what_if, expected)
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::ApplyPermissionModelResponse {
            changes: plan
                .changes
                .iter()
                .map(|c| pb::ModelObjectChange {
                    line: c.line(),
                    cmdlets: c.cmdlets.iter().map(|i| i.line()).collect(),
                })
                .collect(),
            principals: plan
                .principals
                .into_iter()
                .map(|p| pb::PrincipalChange {
                    principal: p.principal,
                    gains: p.gained,
                    loses: p.lost,
                })
                .collect(),
            revision: plan.revision,
            applied: plan.applied,
        }))
    }

    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let caller = self.caller(&request)?;
        let snapshot = self.node.store().snapshot();
        let principal = Principal::resolve(&snapshot.org, &caller);
        let role_groups = snapshot
            .authorizer
            .role_groups_of(&principal.subject())
            .into_iter()
            .map(|(group, via)| {
                if via == caller.user {
                    group
                } else {
                    format!("{group} (via {via})")
                }
            })
            .collect();
        Ok(Response::new(pb::WhoAmIResponse {
            user_sid: caller.user.to_string(),
            user_name: principal.name.clone(),
            forest: caller.forest.to_string(),
            group_sids: principal
                .group_sids()
                .iter()
                .map(ToString::to_string)
                .collect(),
            filtered_sids: caller
                .dropped
                .iter()
                .map(|d| format!("{} ({})", d.sid, d.reason))
                .collect(),
            role_groups,
        }))
    }
}
