//! A management session against the resource forest, as one principal: a local
//! administrator (certificate only) or an account-forest user (certificate plus a
//! forest token from its home forest).

use crossforest_shared::client::{connect, CertificateRefused, ConnectError, ForestEndpoint};
use crossforest_shared::pki::IssuedCertificate;
use crossforest_shared::proto::directory::v1 as dir;
use crossforest_shared::proto::management::v1 as pb;
use crossforest_shared::serve::status::{DenialRule, EdgeError};
use crossforest_shared::token::TOKEN_HEADER;
use crossforest_shared::ForestName;
use pb::authorization_client::AuthorizationClient;
use pb::management_client::ManagementClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use crate::parse::{parse, ParseError, Value};

/// Why a session call failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Could not connect.
    #[error(transparent)]
    Connect(ConnectError),
    /// Nothing listens where a lab's forest should: the lab (its directory)
    /// is not running.
    #[error("{0} — is the lab running? start it with `crossforest up --dir {1}`")]
    LabNotRunning(ConnectError, String),
    /// The resource forest refused the client certificate in the TLS
    /// handshake (when connecting, or at the first call: with TLS 1.3 the
    /// server's verdict arrives after the client has finished its side).
    #[error(transparent)]
    Refused(CertificateRefused),
    /// The line is not valid shell syntax.
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// The home forest refused to authenticate the user.
    #[error("{forest} refused to authenticate `{user}`: {message}")]
    Authenticate {
        /// Home forest.
        forest: String,
        /// User.
        user: String,
        /// Why.
        message: String,
    },
    /// The resource forest refused or failed the request. A transport
    /// failure (a refused TLS handshake) shows its whole chain of causes.
    #[error("{}", status_text(.0))]
    Status(tonic::Status),
}

impl From<ConnectError> for SessionError {
    fn from(error: ConnectError) -> Self {
        match error {
            ConnectError::Refused(refused) => Self::Refused(refused),
            other => Self::Connect(other),
        }
    }
}

impl From<tonic::Status> for SessionError {
    /// A call on a connection that broke (the resource forest crashed or is
    /// restarting) fails in the transport, which tonic reports as CANCELLED
    /// (sent on a connection already closed) or UNKNOWN (the connection
    /// closed mid-call); both are reported as UNAVAILABLE, the code clients
    /// retry on, saying that the call may not have completed.
    fn from(status: tonic::Status) -> Self {
        let lost = std::error::Error::source(&status)
            .is_some_and(|source| source.is::<tonic::transport::Error>());
        if lost && matches!(status.code(), tonic::Code::Cancelled | tonic::Code::Unknown) {
            return Self::Status(tonic::Status::unavailable(format!(
                "the connection to the resource forest was lost ({}); the call may not have completed",
                crossforest_shared::client::full_chain(&status)
            )));
        }
        Self::Status(status)
    }
}

fn status_text(status: &tonic::Status) -> String {
    match std::error::Error::source(status) {
        Some(_) => crossforest_shared::client::full_chain(status),
        None => status.message().to_owned(),
    }
}

impl SessionError {
    /// The gRPC status, when the server answered with one.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Self::Status(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the resource forest could not be reached (UNAVAILABLE): it is
    /// down, restarting, or the connection was lost.
    pub fn is_unavailable(&self) -> bool {
        self.status()
            .is_some_and(|s| s.code() == tonic::Code::Unavailable)
    }

    /// What the resource forest said went wrong, by its stable error code
    /// (`None` for a transport failure or a status it did not build).
    pub fn details(&self) -> Option<EdgeError> {
        self.status().and_then(EdgeError::from_status)
    }

    /// Whether the error would be the same for any object the cmdlet were
    /// run on: a binding error, or RBAC denying the cmdlet or a parameter
    /// (not the object's scope).
    pub fn is_for_any_object(&self) -> bool {
        match self.details() {
            Some(EdgeError::InvalidArgument { .. }) => true,
            Some(EdgeError::Denied { rule, .. }) => matches!(
                rule,
                DenialRule::CmdletNotAvailable | DenialRule::ParametersNotGranted
            ),
            Some(_) => false,
            None => self
                .status()
                .is_some_and(|s| s.code() == tonic::Code::InvalidArgument),
        }
    }

    /// Whether the resource forest denied the request by RBAC.
    pub fn is_denied(&self) -> bool {
        self.status()
            .is_some_and(|s| s.code() == tonic::Code::PermissionDenied)
    }
}

/// The highest organization revision a client has seen in an answer, shared
/// by the sessions that hold it (every session a [`crate::lab::Lab`] opens):
/// each request asks for it as `at_least_revision`, so a change made through
/// one node is seen by the next request, whichever node of the organization
/// answers it (read-your-writes).
#[derive(Debug, Clone, Default)]
pub struct RevisionMark(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl RevisionMark {
    /// The highest revision seen.
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Notes that an answer carried `revision`.
    pub fn saw(&self, revision: u64) {
        self.0
            .fetch_max(revision, std::sync::atomic::Ordering::AcqRel);
    }
}

/// An open session.
#[derive(Debug, Clone)]
pub struct Session {
    client: ManagementClient<Channel>,
    authorization: AuthorizationClient<Channel>,
    /// The token as sent on every request (parsed once; a value metadata
    /// cannot carry is not sent).
    token: Option<MetadataValue<Ascii>>,
    identity: String,
    /// The resource forest, to say who refused a handshake.
    server: ForestName,
    /// The certificate presented, to say whose certificate was refused.
    credential: IssuedCertificate,
    /// The open statement every Invoke names (R-SESSION-1), if any.
    statement: Option<String>,
    /// The highest revision seen, asked for by every request.
    seen: RevisionMark,
}

/// What an account-forest user brings to log on.
#[derive(Debug, Clone)]
pub struct ForeignLogon<'a> {
    /// The home forest's directory endpoint.
    pub home: &'a ForestEndpoint,
    /// sAMAccountName.
    pub user: &'a str,
    /// Password.
    pub password: &'a str,
    /// The user's certificate and key, issued by the home forest.
    pub credential: &'a IssuedCertificate,
}

fn to_proto(value: Value) -> pb::ParameterValue {
    use pb::parameter_value::Kind;
    pb::ParameterValue {
        kind: Some(match value {
            Value::Text(t) => Kind::Text(t),
            Value::List(values) => Kind::List(pb::StringList { values }),
            Value::Bool(b) => Kind::Boolean(b),
            Value::Switch => Kind::Switch(true),
        }),
    }
}

impl Session {
    /// A local administrator of the resource forest: certificate only.
    pub async fn local(
        resource: &ForestEndpoint,
        credential: &IssuedCertificate,
        identity: &str,
    ) -> Result<Self, SessionError> {
        Ok(Self::over(
            connect(resource, credential).await?,
            None,
            identity.to_owned(),
            resource,
            credential,
        ))
    }

    /// An account-forest user: authenticate at home, then connect to the resource
    /// forest with the same certificate and the token.
    pub async fn foreign(
        logon: ForeignLogon<'_>,
        resource: &ForestEndpoint,
    ) -> Result<Self, SessionError> {
        let token = authenticate(&logon, resource.forest.as_str()).await?;
        Ok(Self::over(
            connect(resource, logon.credential).await?,
            Some(token),
            format!("{}\\{}", logon.home.forest.netbios(), logon.user),
            resource,
            logon.credential,
        ))
    }

    /// A session with an explicit token (tests use it to send forged ones).
    pub async fn with_token(
        resource: &ForestEndpoint,
        credential: &IssuedCertificate,
        token: Option<String>,
        identity: &str,
    ) -> Result<Self, SessionError> {
        Ok(Self::over(
            connect(resource, credential).await?,
            token,
            identity.to_owned(),
            resource,
            credential,
        ))
    }

    fn over(
        channel: Channel,
        token: Option<String>,
        identity: String,
        resource: &ForestEndpoint,
        credential: &IssuedCertificate,
    ) -> Self {
        Self {
            client: ManagementClient::new(channel.clone()),
            authorization: AuthorizationClient::new(channel),
            token: token.and_then(|token| token.parse().ok()),
            identity,
            server: resource.forest.clone(),
            credential: credential.clone(),
            statement: None,
            seen: RevisionMark::default(),
        }
    }

    /// Shares `mark` with this session: it asks for the highest revision
    /// any session holding `mark` has seen, and raises it.
    pub fn with_revision_mark(mut self, mark: &RevisionMark) -> Self {
        mark.saw(self.seen.get());
        self.seen = mark.clone();
        self
    }

    /// The highest organization revision this session has seen in an
    /// answer; its requests ask for it as `at_least_revision`.
    pub fn revision(&self) -> u64 {
        self.seen.get()
    }

    /// The error a failed call reports: a refused handshake says so and
    /// why, rather than that the connection was lost. A node's failure that
    /// names its revision raises the mark too.
    /// A call's answer, its revision noted in the session's mark, or its
    /// failure as the session reports it.
    fn answered<T>(
        &self,
        result: Result<tonic::Response<T>, tonic::Status>,
        revision: impl Fn(&T) -> u64,
    ) -> Result<T, SessionError> {
        let answer = result.map_err(|s| self.failed(s))?.into_inner();
        self.seen.saw(revision(&answer));
        Ok(answer)
    }

    fn failed(&self, status: tonic::Status) -> SessionError {
        if let Some(revision) = EdgeError::revision(&status) {
            if EdgeError::from_status(&status).map(|e| e.code())
                != Some(crossforest_shared::serve::status::ErrorCode::RevisionNotReached)
            {
                self.seen.saw(revision);
            }
        }
        match CertificateRefused::find(&status, &self.server, Some(&self.credential)) {
            Some(refused) => SessionError::Refused(refused),
            None => SessionError::from(status),
        }
    }

    /// `DOMAIN\user` of the session.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            request.metadata_mut().insert(TOKEN_HEADER, token.clone());
        }
        request
    }

    /// Runs one cmdlet line of shell syntax.
    pub async fn run(&mut self, line: &str) -> Result<pb::InvokeResponse, SessionError> {
        let parsed = parse(line)?;
        self.invoke(&parsed.cmdlet, parsed.parameters).await
    }

    /// Runs one cmdlet with parameters.
    pub async fn invoke(
        &mut self,
        cmdlet: &str,
        parameters: Vec<(String, Value)>,
    ) -> Result<pb::InvokeResponse, SessionError> {
        let message = pb::InvokeRequest {
            cmdlet: cmdlet.to_owned(),
            parameters: parameters
                .into_iter()
                .map(|(name, value)| pb::Parameter {
                    name,
                    value: Some(to_proto(value)),
                })
                .collect(),
            statement: self.statement.clone().unwrap_or_default(),
            at_least_revision: 0,
        };
        let mut waited = std::time::Duration::ZERO;
        loop {
            let mut message = message.clone();
            message.at_least_revision = self.seen.get();
            let request = self.request(message);
            match self.client.invoke(request).await {
                Ok(response) => {
                    let response = response.into_inner();
                    self.seen.saw(response.revision);
                    if response.statement_not_open {
                        // It ended (idle or old): the node said so in a
                        // warning once; the rest of the statement runs on
                        // current permissions, as the node would run it.
                        self.statement = None;
                    }
                    return Ok(response);
                }
                Err(status) => match retry_after(&status, waited) {
                    // Refused before it ran (a rate limit or a busy bounded
                    // resource): wait as the node asks, then send it again.
                    Some(wait) => {
                        tokio::time::sleep(wait).await;
                        waited += wait;
                    }
                    None => return Err(self.failed(status)),
                },
            }
        }
    }

    /// Opens a statement (R-SESSION-1): every Invoke until
    /// [`Self::close_statement`] is authorised against the permissions the
    /// caller holds now, and runs on the organization as it is then.
    pub async fn open_statement(&mut self) -> Result<pb::OpenStatementResponse, SessionError> {
        let request = self.request(pb::OpenStatementRequest {
            at_least_revision: self.seen.get(),
        });
        let opened = self.client.open_statement(request).await;
        let opened = self.answered(opened, |a| a.revision)?;
        self.statement = Some(opened.statement.clone());
        Ok(opened)
    }

    /// Closes the open statement, if any: the next call sees the caller's
    /// current permissions.
    pub async fn close_statement(&mut self) -> Result<(), SessionError> {
        let Some(statement) = self.statement.take() else {
            return Ok(());
        };
        let request = self.request(pb::CloseStatementRequest { statement });
        self.client
            .close_statement(request)
            .await
            .map(|_| ())
            .map_err(|s| self.failed(s))
    }

    /// The statement Invokes name now, if any.
    pub fn statement(&self) -> Option<&str> {
        self.statement.as_deref()
    }

    /// Names `statement` in the Invokes that follow (or none), without
    /// opening or closing anything: for clients that keep statements
    /// themselves.
    pub fn set_statement(&mut self, statement: Option<String>) {
        self.statement = statement;
    }

    /// Decides and explains one request for the caller (`Authorization.Check`).
    pub async fn check(
        &mut self,
        mut check: pb::CheckRequest,
    ) -> Result<pb::CheckResponse, SessionError> {
        check.at_least_revision = check.at_least_revision.max(self.seen.get());
        let request = self.request(check);
        let answer = self.authorization.check(request).await;
        let answer = self.answered(answer, |a| a.revision)?;
        Ok(answer)
    }

    /// Decides many requests for the caller on one revision.
    pub async fn check_bulk(
        &mut self,
        checks: Vec<pb::CheckRequest>,
    ) -> Result<pb::CheckBulkResponse, SessionError> {
        self.check_many(checks, false).await
    }

    /// Decides many requests for the caller on one revision, without the
    /// chains of the allowed ones (`without_chains`).
    pub async fn check_bulk_without_chains(
        &mut self,
        checks: Vec<pb::CheckRequest>,
    ) -> Result<pb::CheckBulkResponse, SessionError> {
        self.check_many(checks, true).await
    }

    async fn check_many(
        &mut self,
        checks: Vec<pb::CheckRequest>,
        without_chains: bool,
    ) -> Result<pb::CheckBulkResponse, SessionError> {
        let request = self.request(pb::CheckBulkRequest {
            checks,
            without_chains,
            at_least_revision: self.seen.get(),
        });
        let answer = self.authorization.check_bulk(request).await;
        let answer = self.answered(answer, |a| a.revision)?;
        Ok(answer)
    }

    /// Every principal that may run the request.
    pub async fn who_can(
        &mut self,
        mut check: pb::CheckRequest,
    ) -> Result<pb::WhoCanResponse, SessionError> {
        check.at_least_revision = check.at_least_revision.max(self.seen.get());
        let request = self.request(check);
        let answer = self.authorization.who_can(request).await;
        let answer = self.answered(answer, |a| a.revision)?;
        Ok(answer)
    }

    /// Every cmdlet the caller may run.
    pub async fn what_can(&mut self) -> Result<pb::WhatCanResponse, SessionError> {
        let request = self.request(pb::WhatCanRequest {
            at_least_revision: self.seen.get(),
        });
        let answer = self.authorization.what_can(request).await;
        let answer = self.answered(answer, |a| a.revision)?;
        Ok(answer)
    }

    /// `setup /PrepareAD`: the permission model; returns what changed.
    pub async fn prepare_ad(
        &mut self,
        active_directory_split_permissions: Option<bool>,
        what_if: bool,
    ) -> Result<pb::PrepareAdResponse, SessionError> {
        let request = self.request(pb::PrepareAdRequest {
            active_directory_split_permissions,
            what_if,
        });
        let answer = self.client.prepare_ad(request).await;
        self.answered(answer, |a| a.revision)
    }

    /// `setup /PrepareAllDomains` or `/PrepareDomain`; returns what changed.
    pub async fn prepare_domain(
        &mut self,
        prepare: pb::PrepareDomainRequest,
    ) -> Result<pb::PrepareDomainResponse, SessionError> {
        let request = self.request(prepare);
        let answer = self.client.prepare_domain(request).await;
        self.answered(answer, |a| a.revision)
    }

    /// One delegated-setup operation (`ServerSetup`).
    pub async fn server_setup(
        &mut self,
        setup: pb::ServerSetupRequest,
    ) -> Result<pb::ServerSetupResponse, SessionError> {
        let request = self.request(setup);
        let answer = self.client.server_setup(request).await;
        self.answered(answer, |a| a.revision)
    }

    /// Plans (`what_if`) or applies a permission model (`ApplyPermissionModel`).
    pub async fn apply_permission_model(
        &mut self,
        apply: pb::ApplyPermissionModelRequest,
    ) -> Result<pb::ApplyPermissionModelResponse, SessionError> {
        let request = self.request(apply);
        let answer = self.client.apply_permission_model(request).await;
        self.answered(answer, |a| a.revision)
    }

    /// The organization's RBAC configuration as an RBAC document (JSON).
    pub async fn export_rbac(&mut self) -> Result<pb::ExportRbacResponse, SessionError> {
        let request = self.request(pb::ExportRbacRequest {});
        let answer = self.client.export_rbac(request).await;
        self.answered(answer, |a| a.revision)
    }

    /// Who the resource forest thinks the caller is.
    pub async fn who_am_i(&mut self) -> Result<pb::WhoAmIResponse, SessionError> {
        let request = self.request(pb::WhoAmIRequest {});
        self.client
            .who_am_i(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.failed(s))
    }
}

/// Authenticates at the home forest; returns the encoded token for `audience`.
pub async fn authenticate(
    logon: &ForeignLogon<'_>,
    audience: &str,
) -> Result<String, SessionError> {
    let channel = connect(logon.home, logon.credential).await?;
    let mut directory = dir::directory_client::DirectoryClient::new(channel);
    let response = directory
        .authenticate(dir::AuthenticateRequest {
            user: logon.user.to_owned(),
            password: logon.password.to_owned(),
            audience: audience.to_owned(),
        })
        .await
        .map_err(|s| SessionError::Authenticate {
            forest: logon.home.forest.to_string(),
            user: logon.user.to_owned(),
            // A refused handshake surfaces as a transport error whose
            // source names the TLS alert (an expired certificate, say).
            message: status_text(&s),
        })?;
    Ok(response.into_inner().token)
}

/// The longest a session waits in all, for one call, on nodes asking it to
/// retry later (`grpc-retry-pushback-ms`); past it the refusal is reported.
pub const MAX_RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long to wait before sending a call again that `status` refused with a
/// retry pushback, having waited `waited` already; `None` when the status
/// asks for no retry or the wait would pass [`MAX_RETRY_WAIT`].
fn retry_after(status: &tonic::Status, waited: std::time::Duration) -> Option<std::time::Duration> {
    if status.code() != tonic::Code::ResourceExhausted {
        return None;
    }
    let wait = crossforest_shared::serve::status::EdgeError::retry_after(status)?
        .max(std::time::Duration::from_millis(1));
    (waited + wait <= MAX_RETRY_WAIT).then_some(wait)
}

#[cfg(test)]
mod retry_tests {
    use std::time::Duration;

    use crossforest_shared::serve::status::EdgeError;

    use super::{retry_after, MAX_RETRY_WAIT};

    #[test]
    fn only_a_refusal_with_a_pushback_is_retried_and_only_so_long() {
        let limited = EdgeError::Exhausted("rate limit".into())
            .into_status_retry_after(Duration::from_millis(250));
        assert_eq!(
            retry_after(&limited, Duration::ZERO),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after(&limited, MAX_RETRY_WAIT), None);
        // Exhausted without a hint (no RIDs left) and other failures: no retry.
        let exhausted = EdgeError::Exhausted("no RIDs left".into()).into_status();
        assert_eq!(retry_after(&exhausted, Duration::ZERO), None);
        let denied = tonic::Status::permission_denied("no");
        assert_eq!(retry_after(&denied, Duration::ZERO), None);
    }
}
