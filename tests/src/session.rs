//! A management session as the harness hands it out: cmdlet output as
//! [`Records`], failures as a typed [`Error`], so that a test asserts a
//! denial by its rule rather than by matching a message.

use crossforest_cli::parse::Value;
use crossforest_cli::session::SessionError;
use crossforest_shared::client::ConnectError;
use crossforest_shared::proto::management::v1 as pb;

pub use crossforest_shared::client::{CertificateRefused, Refusal};
use crossforest_shared::serve::status::EdgeError;
pub use crossforest_shared::serve::status::{DenialRule, ErrorCode};

/// One object a cmdlet returned: its properties in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    properties: Vec<(String, String)>,
}

impl Record {
    /// The value of property `name` (case-sensitive, as displayed).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every property as `(name, value)`, in display order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl From<pb::Record> for Record {
    fn from(record: pb::Record) -> Self {
        let pb::Record { properties } = record;
        Self {
            properties: properties
                .into_iter()
                .map(|pb::Property { name, value, .. }| (name, value))
                .collect(),
        }
    }
}

/// What a cmdlet returned: its records in order (a slice of [`Record`]) and
/// its warnings. Two are equal when their records and warnings are, whatever
/// revision each was decided at.
#[derive(Debug, Clone)]
pub struct Records {
    records: Vec<Record>,
    warnings: Vec<String>,
    revision: u64,
}

impl Records {
    /// The warnings the cmdlet wrote (`WARNING: …` in a shell).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The organization revision the node decided the cmdlet at (for a
    /// change, the revision it produced).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The values of property `name`, one per record that has it, in order.
    pub fn column(&self, name: &str) -> Vec<&str> {
        self.records.iter().filter_map(|r| r.get(name)).collect()
    }
}

impl PartialEq for Records {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records && self.warnings == other.warnings
    }
}

impl Eq for Records {}

impl std::ops::Deref for Records {
    type Target = [Record];

    fn deref(&self) -> &[Record] {
        &self.records
    }
}

impl From<pb::InvokeResponse> for Records {
    fn from(response: pb::InvokeResponse) -> Self {
        let pb::InvokeResponse {
            records,
            warnings,
            statement_not_open: _,
            default_columns: _,
            list_view: _,
            revision,
        } = response;
        Self {
            records: records.into_iter().map(Record::from).collect(),
            warnings,
            revision,
        }
    }
}

/// Why a call of a [`Session`] failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Authorisation denied the call: RBAC (the rule says which check) or a
    /// delegation rule. Nothing changed.
    #[error("{reason}")]
    Denied {
        /// The rule that denied it.
        rule: DenialRule,
        /// The explanation, naming the rule (e.g. `R-LRG-3`).
        reason: String,
    },
    /// The resource forest did not accept the caller's identity: no or a
    /// forged token, a token of another forest, a SID-filtered user, a trust
    /// past its staleness bound.
    #[error("{reason}")]
    Unauthenticated {
        /// Why.
        reason: String,
    },
    /// The resource forest refused the client certificate in the TLS
    /// handshake; no request reached it.
    #[error("{0}")]
    HandshakeRefused(CertificateRefused),
    /// The request is wrong: an unknown cmdlet or parameter, a bad value.
    #[error("{message}")]
    InvalidArgument {
        /// The cmdlet parameter (without the dash) or request field at
        /// fault, e.g. `Name`; `cmdlet` for an unknown cmdlet.
        parameter: String,
        /// What is wrong.
        message: String,
    },
    /// The object named does not exist.
    #[error("{message}")]
    NotFound {
        /// Which object, in the node's words.
        message: String,
    },
    /// The resource forest or its store could not be used: it is down,
    /// restarting, the connection was lost, or its store failed. The call
    /// may not have completed.
    #[error("{message}")]
    Unavailable {
        /// Why.
        message: String,
    },
    /// The resource forest refused the call for another reason, named by
    /// its stable code: an object that exists, a lockout protection, a rule
    /// of linked role groups, a change that kept conflicting.
    #[error("{message}")]
    Failed {
        /// The stable code.
        code: ErrorCode,
        /// Why.
        message: String,
    },
    /// The request asked for an organization revision (the session's
    /// revision mark) the node had not reached within its wait; nothing ran.
    #[error("{message}")]
    RevisionNotReached {
        /// The revision the node was at.
        at: u64,
        /// Naming both revisions.
        message: String,
    },
    /// The line is not valid shell syntax (nothing was sent).
    #[error("{message}")]
    Syntax {
        /// Where and why.
        message: String,
    },
    /// The harness could not open the session: the lab has no credential
    /// or password for the identity.
    #[error("{message}")]
    Setup {
        /// Why.
        message: String,
    },
    /// A failure without a stable code: a transport error or a limit
    /// enforced before any service ran (a message too large).
    #[error("{message}")]
    Transport {
        /// The gRPC code.
        code: tonic::Code,
        /// The whole chain of causes.
        message: String,
    },
}

impl Error {
    /// Whether authorisation denied the call (any rule).
    pub fn is_denied(&self) -> bool {
        matches!(self, Self::Denied { .. })
    }

    /// Whether the resource forest could not be reached or used.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

impl From<anyhow::Error> for Error {
    /// A session the lab opened: its typed failure, or a setup problem.
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<SessionError>() {
            Ok(session) => Self::from(session),
            Err(other) => Self::Setup {
                message: format!("{other:#}"),
            },
        }
    }
}

impl From<EdgeError> for Error {
    fn from(error: EdgeError) -> Self {
        match error {
            EdgeError::Denied { rule, reason } => Self::Denied { rule, reason },
            EdgeError::Unauthenticated(reason) => Self::Unauthenticated { reason },
            EdgeError::InvalidArgument { field, message } => Self::InvalidArgument {
                parameter: field,
                message,
            },
            EdgeError::NotFound(message) => Self::NotFound { message },
            EdgeError::Unavailable(message) => Self::Unavailable { message },
            failed @ (EdgeError::AlreadyExists(_)
            | EdgeError::Lockout(_)
            | EdgeError::Refused(_)
            | EdgeError::Stale(_)
            | EdgeError::Exhausted(_)
            | EdgeError::OutOfRange(_)
            | EdgeError::Internal(_)
            | EdgeError::RevisionNotReached(_)) => Self::Failed {
                code: failed.code(),
                message: failed.to_string(),
            },
        }
    }
}

impl From<SessionError> for Error {
    fn from(error: SessionError) -> Self {
        let message = error.to_string();
        match error {
            SessionError::Refused(refused) => Self::HandshakeRefused(refused),
            SessionError::Parse(_) => Self::Syntax { message },
            SessionError::Authenticate { .. } => Self::Unauthenticated { reason: message },
            SessionError::Connect(ConnectError::Refused(refused)) => {
                Self::HandshakeRefused(refused)
            }
            SessionError::Connect(
                ConnectError::Address { .. } | ConnectError::Unreachable { .. },
            )
            | SessionError::LabNotRunning(..) => Self::Unavailable { message },
            SessionError::Status(status) => match EdgeError::from_status(&status) {
                Some(EdgeError::RevisionNotReached(message)) => Self::RevisionNotReached {
                    at: EdgeError::revision(&status).unwrap_or_default(),
                    message,
                },
                Some(edge) => Self::from(edge),
                None if status.code() == tonic::Code::Unavailable => Self::Unavailable { message },
                None => Self::Transport {
                    code: status.code(),
                    message,
                },
            },
        }
    }
}

/// A management session against the resource forest as one principal
/// (see [`crate::Federation::session`]).
#[derive(Debug, Clone)]
pub struct Session {
    inner: crossforest_cli::session::Session,
}

impl From<crossforest_cli::session::Session> for Session {
    /// The harness's view of a session opened directly (with a forged
    /// token, say).
    fn from(inner: crossforest_cli::session::Session) -> Self {
        Self { inner }
    }
}

impl From<Session> for crossforest_cli::session::Session {
    /// The shell's session underneath (for `crossforest_cli::shell::Shell`).
    fn from(session: Session) -> Self {
        session.inner
    }
}

impl Session {
    /// `DOMAIN\user` of the session.
    pub fn identity(&self) -> &str {
        self.inner.identity()
    }

    /// The highest organization revision this session (and every session of
    /// the same federation) has seen; each request asks for it as
    /// `at_least_revision`, so a read on any node sees the session's writes.
    pub fn revision(&self) -> u64 {
        self.inner.revision()
    }

    /// The shell's session underneath, for the shell's own pipelines
    /// (`crossforest_cli::pipeline::run`).
    pub fn cli(&mut self) -> &mut crossforest_cli::session::Session {
        &mut self.inner
    }

    /// Runs one cmdlet line of shell syntax, e.g. `Get-Mailbox -Identity dana`.
    pub async fn run(&mut self, line: &str) -> Result<Records, Error> {
        Ok(self.inner.run(line).await?.into())
    }

    /// Runs one cmdlet with parameters, bypassing the shell's parser and its
    /// limits.
    pub async fn invoke(
        &mut self,
        cmdlet: &str,
        parameters: Vec<(String, Value)>,
    ) -> Result<Records, Error> {
        Ok(self.inner.invoke(cmdlet, parameters).await?.into())
    }

    /// Begins a statement (R-SESSION-1), as the shell does before a
    /// pipeline's first cmdlet: every [`Self::run`] and [`Self::invoke`]
    /// until [`Self::end_statement`] is authorised against the permissions
    /// the caller holds now, and runs on the organization as it is then.
    ///
    /// ```no_run
    /// # async fn f(admin: &mut crossforest_tests::Session) -> Result<(), crossforest_tests::Error> {
    /// admin.begin_statement().await?;
    /// admin.run("Remove-ManagementRoleAssignment \"Mail Recipient Creation-Organization Management-Delegating\"").await?;
    /// admin.run("Remove-ManagementRoleAssignment \"Mail Recipient Creation-Recipient Management\"").await?; // still allowed
    /// admin.end_statement().await?; // the next call sees the new permissions
    /// # Ok(()) }
    /// ```
    pub async fn begin_statement(&mut self) -> Result<(), Error> {
        self.inner.open_statement().await?;
        Ok(())
    }

    /// Ends the statement [`Self::begin_statement`] began (nothing if none).
    pub async fn end_statement(&mut self) -> Result<(), Error> {
        Ok(self.inner.close_statement().await?)
    }

    /// Who the resource forest thinks the caller is (`WhoAmI`).
    pub async fn who_am_i(&mut self) -> Result<pb::WhoAmIResponse, Error> {
        Ok(self.inner.who_am_i().await?)
    }

    /// Decides and explains one request for the caller (`Authorization.Check`).
    pub async fn check(&mut self, check: pb::CheckRequest) -> Result<pb::CheckResponse, Error> {
        Ok(self.inner.check(check).await?)
    }

    /// Decides many requests for the caller on one revision.
    pub async fn check_bulk(
        &mut self,
        checks: Vec<pb::CheckRequest>,
    ) -> Result<pb::CheckBulkResponse, Error> {
        Ok(self.inner.check_bulk(checks).await?)
    }

    /// Decides many requests for the caller on one revision, without the
    /// chains of the allowed ones.
    pub async fn check_bulk_without_chains(
        &mut self,
        checks: Vec<pb::CheckRequest>,
    ) -> Result<pb::CheckBulkResponse, Error> {
        Ok(self.inner.check_bulk_without_chains(checks).await?)
    }

    /// Every principal that may run the request.
    pub async fn who_can(&mut self, check: pb::CheckRequest) -> Result<pb::WhoCanResponse, Error> {
        Ok(self.inner.who_can(check).await?)
    }

    /// Every cmdlet the caller may run.
    pub async fn what_can(&mut self) -> Result<pb::WhatCanResponse, Error> {
        Ok(self.inner.what_can().await?)
    }

    /// `setup /PrepareAD`: the permission model; returns what changed.
    pub async fn prepare_ad(
        &mut self,
        active_directory_split_permissions: Option<bool>,
        what_if: bool,
    ) -> Result<pb::PrepareAdResponse, Error> {
        Ok(self
            .inner
            .prepare_ad(active_directory_split_permissions, what_if)
            .await?)
    }

    /// `setup /PrepareAllDomains` or `/PrepareDomain`; returns what changed.
    pub async fn prepare_domain(
        &mut self,
        prepare: pb::PrepareDomainRequest,
    ) -> Result<pb::PrepareDomainResponse, Error> {
        Ok(self.inner.prepare_domain(prepare).await?)
    }

    /// One delegated-setup operation (`ServerSetup`).
    pub async fn server_setup(
        &mut self,
        setup: pb::ServerSetupRequest,
    ) -> Result<pb::ServerSetupResponse, Error> {
        Ok(self.inner.server_setup(setup).await?)
    }
}
