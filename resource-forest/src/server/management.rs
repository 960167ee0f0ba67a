//! The `Management` gRPC service: authenticate, SID-filter, authorise, run.

use std::sync::Arc;
use std::time::SystemTime;

use crossforest_shared::proto::management::v1 as pb;
use crossforest_shared::serve::caller;
use crossforest_shared::token::from_authorization;
use tonic::{Request, Response, Status};

use crate::cmdlets::{CmdletError, Value};
use crate::node::ResourceForest;
use crate::org::OrgError;
use crate::rbac::Denial;
use crate::request::Principal;
use crate::trust::authenticate::{authenticate, Caller};

/// Metadata key carrying a stable error code next to the message.
pub const ERROR_CODE_KEY: &str = "x-crossforest-error";

/// Metadata key saying what an RBAC denial was about: `Cmdlet` or
/// `Parameters` (the same for any object: a shell ends a pipeline there) or
/// `Scope` (this object only).
pub const DENIAL_KEY: &str = "x-crossforest-denial";

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
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(from_authorization);
    let caller = authenticate(&node.trusts(), &principal, token, node.clock_skew(), SystemTime::now()).map_err(|e| {
        tracing::warn!(forest = %principal.forest, sid = %principal.sid, error = %e, "caller refused");
        node.audit_refused_sign_in(&principal.forest, &principal.sid, &e);
        with_code(Status::unauthenticated(e.to_string()), "Unauthenticated")
    })?;
    node.metrics()
        .sid_filter_dropped(caller.forest.as_str(), caller.dropped.len());
    Ok(caller)
}

/// The operation a request names, its delegate resolved to a SID.
fn setup_operation(
    org: &crate::org::Organization,
    r: &pb::ServerSetupRequest,
) -> Result<crate::org::servers::SetupOperation, CmdletError> {
    use crate::org::servers::SetupOperation as Op;
    let server = r.server.clone();
    Ok(match r.operation.to_ascii_lowercase().as_str() {
        "formcluster" => Op::FormCluster {
            cluster: server,
            nodes: r.nodes.clone(),
        },
        "newclustercomputer" => Op::NewClusterComputer {
            server,
            cluster: r.cluster.clone(),
        },
        "newprovisionedserver" => {
            let delegate = if r.delegate.is_empty() {
                "Delegated Setup"
            } else {
                r.delegate.as_str()
            };
            let name = delegate.rsplit('\\').next().unwrap_or(delegate);
            let sid = org.principal_sid(name)?;
            Op::NewProvisionedServer {
                server,
                delegate: (sid, delegate.to_owned()),
            }
        }
        "removeprovisionedserver" => Op::RemoveProvisionedServer { server },
        "install" => Op::Install {
            server,
            roles: r.roles.clone(),
            node: (!r.node.is_empty()).then(|| r.node.clone()),
            site: if r.site.is_empty() {
                "Default-First-Site-Name".to_owned()
            } else {
                r.site.clone()
            },
        },
        "uninstall" => Op::Uninstall { server },
        other => {
            return Err(CmdletError::InvalidValue {
                parameter: "operation".into(),
                reason: format!("`{other}` isn't one of FormCluster, NewClusterComputer, NewProvisionedServer, RemoveProvisionedServer, Install, Uninstall"),
            })
        }
    })
}

fn with_code(mut status: Status, code: &'static str) -> Status {
    status.metadata_mut().insert(
        ERROR_CODE_KEY,
        tonic::metadata::MetadataValue::from_static(code),
    );
    status
}

/// The one mapping from cmdlet errors to gRPC statuses.
pub fn status(error: &CmdletError) -> Status {
    let message = error.to_string();
    match error {
        CmdletError::Denied(denial) => {
            let mut status = with_code(Status::permission_denied(message), "Denied");
            let about = match denial {
                Denial::CmdletNotAvailable { .. } => "Cmdlet",
                Denial::ParametersNotGranted { .. } => "Parameters",
                Denial::OutOfScope { .. } => "Scope",
            };
            status.metadata_mut().insert(
                DENIAL_KEY,
                tonic::metadata::MetadataValue::from_static(about),
            );
            status
        }
        CmdletError::Forbidden(_) => with_code(Status::permission_denied(message), "Denied"),
        CmdletError::Lockout(_) => with_code(Status::failed_precondition(message), "Lockout"),
        CmdletError::NotRecognized(_)
        | CmdletError::UnknownParameter { .. }
        | CmdletError::Positional { .. }
        | CmdletError::MissingParameter { .. }
        | CmdletError::InvalidValue { .. }
        | CmdletError::Conflict(_) => {
            with_code(Status::invalid_argument(message), "InvalidArgument")
        }
        CmdletError::Org(OrgError::NotFound(_)) => {
            with_code(Status::not_found(message), "NotFound")
        }
        CmdletError::Org(OrgError::Exists(_)) => {
            with_code(Status::already_exists(message), "AlreadyExists")
        }
        CmdletError::Org(OrgError::NoSuchOu(_) | OrgError::Ambiguous(_)) => {
            with_code(Status::invalid_argument(message), "InvalidArgument")
        }
        CmdletError::Org(OrgError::RidsExhausted) => {
            with_code(Status::resource_exhausted(message), "Exhausted")
        }
        CmdletError::Linked(_) => with_code(Status::failed_precondition(message), "LinkedGroup"),
        CmdletError::Refused(_) => with_code(Status::failed_precondition(message), "Refused"),
        CmdletError::Stale(_) => with_code(Status::aborted(message), "Stale"),
    }
}

fn value(v: Option<pb::ParameterValue>) -> Value {
    match v.and_then(|v| v.kind) {
        Some(pb::parameter_value::Kind::Text(t)) => Value::Text(t),
        Some(pb::parameter_value::Kind::List(l)) => Value::List(l.values),
        Some(pb::parameter_value::Kind::Boolean(b)) => Value::Bool(b),
        Some(pb::parameter_value::Kind::Switch(_)) | None => Value::Switch,
    }
}

/// Most parameters accepted in one request.
const MAX_PARAMETERS: usize = 128;

#[tonic::async_trait]
impl pb::management_server::Management for ManagementService {
    async fn invoke(
        &self,
        request: Request<pb::InvokeRequest>,
    ) -> Result<Response<pb::InvokeResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        if req.parameters.len() > MAX_PARAMETERS {
            return Err(Status::invalid_argument(format!(
                "more than {MAX_PARAMETERS} parameters"
            )));
        }
        let parameters = req
            .parameters
            .into_iter()
            .map(|p| (p.name, value(p.value)))
            .collect();
        let invoked = self
            .node
            .invoke(&caller, &req.cmdlet, parameters)
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::InvokeResponse {
            records: invoked
                .records
                .into_iter()
                .map(|r| pb::Record {
                    properties: r
                        .into_iter()
                        .map(|(name, value)| pb::Property { name, value })
                        .collect(),
                })
                .collect(),
            warnings: invoked.warnings,
        }))
    }

    async fn prepare_ad(
        &self,
        request: Request<pb::PrepareAdRequest>,
    ) -> Result<Response<pb::PrepareAdResponse>, Status> {
        let caller = self.caller(&request)?;
        let request = request.into_inner();
        let (revision, changes) = self
            .node
            .prepare_ad(
                &caller,
                request.active_directory_split_permissions,
                request.what_if,
            )
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::PrepareAdResponse { changes, revision }))
    }

    async fn server_setup(
        &self,
        request: Request<pb::ServerSetupRequest>,
    ) -> Result<Response<pb::ServerSetupResponse>, Status> {
        let caller = self.caller(&request)?;
        let r = request.into_inner();
        let snapshot = self.node.store().snapshot();
        let operation = setup_operation(&snapshot.org, &r).map_err(|e| status(&e))?;
        let parameters = [
            ("Server", r.server.clone()),
            ("Delegate", r.delegate.clone()),
            ("Nodes", r.nodes.join(",")),
            ("Cluster", r.cluster.clone()),
            ("Node", r.node.clone()),
            ("Roles", r.roles.join(",")),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let (revision, changes) = self
            .node
            .server_setup(
                &caller,
                operation,
                &format!("Setup /{}", r.operation),
                parameters,
            )
            .await
            .map_err(|e| status(&e))?;
        Ok(Response::new(pb::ServerSetupResponse { changes, revision }))
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
