//! A management session against the resource forest, as one principal: a local
//! administrator (certificate only) or an account-forest user (certificate plus a
//! forest token from its home forest).

use crossforest_shared::client::{connect, ConnectError, ForestEndpoint};
use crossforest_shared::pki::IssuedCertificate;
use crossforest_shared::proto::directory::v1 as dir;
use crossforest_shared::proto::management::v1 as pb;
use crossforest_shared::token::AUTHORIZATION_SCHEME;
use pb::authorization_client::AuthorizationClient;
use pb::management_client::ManagementClient;
use tonic::transport::Channel;

use crate::parse::{parse, ParseError, Value};

/// Why a session call failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Could not connect.
    #[error(transparent)]
    Connect(#[from] ConnectError),
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

    /// Whether the error would be the same for any object the cmdlet were
    /// run on: a binding error, or RBAC denying the cmdlet or a parameter
    /// (not the object's scope).
    pub fn is_for_any_object(&self) -> bool {
        self.status().is_some_and(|s| {
            s.code() == tonic::Code::InvalidArgument
                || s.metadata()
                    .get(resource_forest::server::management::DENIAL_KEY)
                    .is_some_and(|v| v != "Scope")
        })
    }

    /// Whether the resource forest denied the request by RBAC.
    pub fn is_denied(&self) -> bool {
        self.status()
            .is_some_and(|s| s.code() == tonic::Code::PermissionDenied)
    }
}

/// An open session.
#[derive(Debug, Clone)]
pub struct Session {
    client: ManagementClient<Channel>,
    authorization: AuthorizationClient<Channel>,
    token: Option<String>,
    identity: String,
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
        ))
    }

    fn over(channel: Channel, token: Option<String>, identity: String) -> Self {
        Self {
            client: ManagementClient::new(channel.clone()),
            authorization: AuthorizationClient::new(channel),
            token,
            identity,
        }
    }

    /// `DOMAIN\user` of the session.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            if let Ok(value) = format!("{AUTHORIZATION_SCHEME} {token}").parse() {
                request.metadata_mut().insert("authorization", value);
            }
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
        };
        let request = self.request(message);
        Ok(self.client.invoke(request).await?.into_inner())
    }

    /// Decides and explains one request for the caller (`Authorization.Check`).
    pub async fn check(
        &mut self,
        check: pb::CheckRequest,
    ) -> Result<pb::CheckResponse, SessionError> {
        let request = self.request(check);
        Ok(self.authorization.check(request).await?.into_inner())
    }

    /// Decides many requests for the caller on one revision.
    pub async fn check_bulk(
        &mut self,
        checks: Vec<pb::CheckRequest>,
    ) -> Result<pb::CheckBulkResponse, SessionError> {
        let request = self.request(pb::CheckBulkRequest { checks });
        Ok(self.authorization.check_bulk(request).await?.into_inner())
    }

    /// Every principal that may run the request.
    pub async fn who_can(
        &mut self,
        check: pb::CheckRequest,
    ) -> Result<pb::WhoCanResponse, SessionError> {
        let request = self.request(check);
        Ok(self.authorization.who_can(request).await?.into_inner())
    }

    /// Every cmdlet the caller may run.
    pub async fn what_can(&mut self) -> Result<pb::WhatCanResponse, SessionError> {
        let request = self.request(pb::WhatCanRequest {});
        Ok(self.authorization.what_can(request).await?.into_inner())
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
        Ok(self.client.prepare_ad(request).await?.into_inner())
    }

    /// One delegated-setup operation (`ServerSetup`).
    pub async fn server_setup(
        &mut self,
        setup: pb::ServerSetupRequest,
    ) -> Result<pb::ServerSetupResponse, SessionError> {
        let request = self.request(setup);
        Ok(self.client.server_setup(request).await?.into_inner())
    }

    /// Who the resource forest thinks the caller is.
    pub async fn who_am_i(&mut self) -> Result<pb::WhoAmIResponse, SessionError> {
        let request = self.request(pb::WhoAmIRequest {});
        Ok(self.client.who_am_i(request).await?.into_inner())
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
