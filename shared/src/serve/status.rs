//! The error half of the server edge both node kinds share: the stable codes
//! of `crossforest.error.v1` and the one place that turns a failure into a
//! `tonic::Status`.
//!
//! Each node maps its own error enums into an [`EdgeError`] with one
//! exhaustive `match` per enum; [`EdgeError::into_status`] then chooses the
//! gRPC code and writes the stable code (and the denial rule or the field at
//! fault) into the status's metadata. Clients read them back with
//! [`EdgeError::from_status`]. A message never carries internal `Debug` text:
//! an internal failure is logged where it happens and answered with a generic
//! message.

use std::time::Duration;

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

pub use crate::proto::error::v1::{DenialRule, ErrorCode};

/// Metadata key of the stable [`ErrorCode`] name, e.g. `ERROR_CODE_DENIED`.
pub const ERROR_CODE_KEY: &str = "x-crossforest-error";

/// Metadata key of the [`DenialRule`] name that denied a call, e.g.
/// `DENIAL_RULE_OUT_OF_SCOPE`.
pub const DENIAL_RULE_KEY: &str = "x-crossforest-denial";

/// Metadata key of the request field or cmdlet parameter an invalid argument
/// is about.
pub const FIELD_KEY: &str = "x-crossforest-field";

/// Metadata key of gRPC's server pushback (gRFC A6): how many milliseconds
/// the client should wait before it retries. Set on a
/// [`EdgeError::Exhausted`] answer that a retry later can cure (see
/// [`EdgeError::into_status_retry_after`]).
pub const RETRY_PUSHBACK_KEY: &str = "grpc-retry-pushback-ms";

/// Metadata key of the organization revision a resource-forest node was at
/// when it answered (see [`EdgeError::with_revision`]).
pub const REVISION_KEY: &str = "x-crossforest-revision";

/// A failure as a node answers it. Every variant has one [`ErrorCode`] and
/// one gRPC code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeError {
    /// Authorisation refused the call (PERMISSION_DENIED).
    #[error("{reason}")]
    Denied {
        /// The rule that denied it.
        rule: DenialRule,
        /// The explanation, naming the rule.
        reason: String,
    },
    /// No usable identity: certificate, token or password (UNAUTHENTICATED).
    #[error("{0}")]
    Unauthenticated(String),
    /// The request is wrong (INVALID_ARGUMENT).
    #[error("{message}")]
    InvalidArgument {
        /// The request field or cmdlet parameter at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The object named does not exist (NOT_FOUND).
    #[error("{0}")]
    NotFound(String),
    /// An object of that name exists (ALREADY_EXISTS).
    #[error("{0}")]
    AlreadyExists(String),
    /// The change would break a lockout protection (FAILED_PRECONDITION).
    #[error("{0}")]
    Lockout(String),
    /// A rule refused the change (FAILED_PRECONDITION).
    #[error("{0}")]
    Refused(String),
    /// Another node changed the state meanwhile, every time (ABORTED).
    #[error("{0}")]
    Stale(String),
    /// A bounded resource is used up (RESOURCE_EXHAUSTED): no relative
    /// identifiers left, or every password check the node's memory budget
    /// allows is busy (then with a retry hint, see
    /// [`EdgeError::into_status_retry_after`]).
    #[error("{0}")]
    Exhausted(String),
    /// A change-feed position the forest does not have (OUT_OF_RANGE).
    #[error("{0}")]
    OutOfRange(String),
    /// The store or a forest the node depends on could not be used
    /// (UNAVAILABLE); nothing changed.
    #[error("{0}")]
    Unavailable(String),
    /// The node failed (INTERNAL); the message is generic, the log says why.
    #[error("{0}")]
    Internal(String),
    /// The request asked for a revision the node had not reached within its
    /// wait (FAILED_PRECONDITION); the message names both revisions.
    #[error("{0}")]
    RevisionNotReached(String),
}

impl EdgeError {
    /// An invalid argument about `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same failure, its message prefixed with `what` (`what: message`).
    pub fn context(self, what: &str) -> Self {
        let prefix = |m: String| format!("{what}: {m}");
        match self {
            Self::Denied { rule, reason } => Self::Denied {
                rule,
                reason: prefix(reason),
            },
            Self::InvalidArgument { field, message } => Self::InvalidArgument {
                field,
                message: prefix(message),
            },
            Self::Unauthenticated(m) => Self::Unauthenticated(prefix(m)),
            Self::NotFound(m) => Self::NotFound(prefix(m)),
            Self::AlreadyExists(m) => Self::AlreadyExists(prefix(m)),
            Self::Lockout(m) => Self::Lockout(prefix(m)),
            Self::Refused(m) => Self::Refused(prefix(m)),
            Self::Stale(m) => Self::Stale(prefix(m)),
            Self::Exhausted(m) => Self::Exhausted(prefix(m)),
            Self::OutOfRange(m) => Self::OutOfRange(prefix(m)),
            Self::Unavailable(m) => Self::Unavailable(prefix(m)),
            Self::Internal(m) => Self::Internal(prefix(m)),
            Self::RevisionNotReached(m) => Self::RevisionNotReached(prefix(m)),
        }
    }

    /// The stable code of this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Denied { .. } => ErrorCode::Denied,
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::AlreadyExists(_) => ErrorCode::AlreadyExists,
            Self::Lockout(_) => ErrorCode::Lockout,
            Self::Refused(_) => ErrorCode::Refused,
            Self::Stale(_) => ErrorCode::Stale,
            Self::Exhausted(_) => ErrorCode::Exhausted,
            Self::OutOfRange(_) => ErrorCode::OutOfRange,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
            Self::RevisionNotReached(_) => ErrorCode::RevisionNotReached,
        }
    }

    /// The gRPC code every status with `code` carries.
    pub fn grpc_code(code: ErrorCode) -> Code {
        match code {
            ErrorCode::Denied => Code::PermissionDenied,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::InvalidArgument => Code::InvalidArgument,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::AlreadyExists => Code::AlreadyExists,
            ErrorCode::Lockout | ErrorCode::Refused | ErrorCode::RevisionNotReached => {
                Code::FailedPrecondition
            }
            ErrorCode::Stale => Code::Aborted,
            ErrorCode::Exhausted => Code::ResourceExhausted,
            ErrorCode::OutOfRange => Code::OutOfRange,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Internal | ErrorCode::Unspecified => Code::Internal,
        }
    }

    /// The status a node answers with.
    pub fn into_status(self) -> Status {
        let code = self.code();
        let mut metadata = MetadataMap::new();
        metadata.insert(
            ERROR_CODE_KEY,
            MetadataValue::from_static(code.as_str_name()),
        );
        let message = match self {
            Self::Denied { rule, reason } => {
                metadata.insert(
                    DENIAL_RULE_KEY,
                    MetadataValue::from_static(rule.as_str_name()),
                );
                reason
            }
            Self::InvalidArgument { field, message } => {
                // A parameter name comes from the request: keep it a valid
                // header value whatever it holds.
                let value = MetadataValue::try_from(field.as_str())
                    .or_else(|_| MetadataValue::try_from(field.escape_default().to_string()));
                if let Ok(value) = value {
                    metadata.insert(FIELD_KEY, value);
                }
                message
            }
            Self::Unauthenticated(m)
            | Self::NotFound(m)
            | Self::AlreadyExists(m)
            | Self::Lockout(m)
            | Self::Refused(m)
            | Self::Stale(m)
            | Self::Exhausted(m)
            | Self::OutOfRange(m)
            | Self::Unavailable(m)
            | Self::Internal(m)
            | Self::RevisionNotReached(m) => m,
        };
        Status::with_metadata(Self::grpc_code(code), message, metadata)
    }

    /// The status a node answers with, telling the client to retry after
    /// `after` ([`RETRY_PUSHBACK_KEY`]): for a failure that waiting cures,
    /// such as [`EdgeError::Exhausted`] when a bounded resource is busy.
    pub fn into_status_retry_after(self, after: Duration) -> Status {
        let mut status = self.into_status();
        let millis = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        status
            .metadata_mut()
            .insert(RETRY_PUSHBACK_KEY, MetadataValue::from(millis));
        status
    }

    /// How long the node asked the client to wait before retrying, if it did
    /// (see [`EdgeError::into_status_retry_after`]).
    pub fn retry_after(status: &Status) -> Option<Duration> {
        let millis = status.metadata().get(RETRY_PUSHBACK_KEY)?.to_str().ok()?;
        millis.parse().ok().map(Duration::from_millis)
    }

    /// The failure a node's status says, when it carries a stable code; `None`
    /// for statuses a node did not build (a transport failure, a message
    /// over the size limit).
    pub fn from_status(status: &Status) -> Option<Self> {
        let metadata = status.metadata();
        let read = |key: &str| metadata.get(key).and_then(|v| v.to_str().ok());
        let code = ErrorCode::from_str_name(read(ERROR_CODE_KEY)?)?;
        let message = status.message().to_owned();
        Some(match code {
            ErrorCode::Denied => Self::Denied {
                rule: read(DENIAL_RULE_KEY)
                    .and_then(DenialRule::from_str_name)
                    .unwrap_or(DenialRule::Unspecified),
                reason: message,
            },
            ErrorCode::Unauthenticated => Self::Unauthenticated(message),
            ErrorCode::InvalidArgument => Self::InvalidArgument {
                field: read(FIELD_KEY).unwrap_or_default().to_owned(),
                message,
            },
            ErrorCode::NotFound => Self::NotFound(message),
            ErrorCode::AlreadyExists => Self::AlreadyExists(message),
            ErrorCode::Lockout => Self::Lockout(message),
            ErrorCode::Refused => Self::Refused(message),
            ErrorCode::Stale => Self::Stale(message),
            ErrorCode::Exhausted => Self::Exhausted(message),
            ErrorCode::OutOfRange => Self::OutOfRange(message),
            ErrorCode::Unavailable => Self::Unavailable(message),
            ErrorCode::Internal | ErrorCode::Unspecified => Self::Internal(message),
            ErrorCode::RevisionNotReached => Self::RevisionNotReached(message),
        })
    }

    /// `status` with the organization revision the node answered at
    /// ([`REVISION_KEY`]).
    pub fn with_revision(mut status: Status, revision: u64) -> Status {
        status
            .metadata_mut()
            .insert(REVISION_KEY, MetadataValue::from(revision));
        status
    }

    /// The organization revision a node's failure says it was at, if it
    /// says (see [`EdgeError::with_revision`]).
    pub fn revision(status: &Status) -> Option<u64> {
        status
            .metadata()
            .get(REVISION_KEY)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }
}

impl From<EdgeError> for Status {
    fn from(error: EdgeError) -> Self {
        error.into_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_failure() -> Vec<EdgeError> {
        let m = || "something `x` happened".to_owned();
        vec![
            EdgeError::Denied {
                rule: DenialRule::OutOfScope,
                reason: m(),
            },
            EdgeError::Unauthenticated(m()),
            EdgeError::invalid("Identity", m()),
            EdgeError::NotFound(m()),
            EdgeError::AlreadyExists(m()),
            EdgeError::Lockout(m()),
            EdgeError::Refused(m()),
            EdgeError::Stale(m()),
            EdgeError::Exhausted(m()),
            EdgeError::OutOfRange(m()),
            EdgeError::Unavailable(m()),
            EdgeError::Internal(m()),
            EdgeError::RevisionNotReached(m()),
        ]
    }

    #[test]
    fn every_failure_reads_back_from_its_status_with_its_grpc_code() {
        for failure in every_failure() {
            let status = failure.clone().into_status();
            assert_eq!(status.code(), EdgeError::grpc_code(failure.code()));
            assert_eq!(status.message(), failure.to_string());
            assert_eq!(EdgeError::from_status(&status), Some(failure));
        }
    }

    #[test]
    fn the_codes_on_the_wire_are_the_proto_names() {
        let status = EdgeError::Denied {
            rule: DenialRule::CmdletNotAvailable,
            reason: "no".into(),
        }
        .into_status();
        let read = |key| status.metadata().get(key).and_then(|v| v.to_str().ok());
        assert_eq!(read(ERROR_CODE_KEY), Some("ERROR_CODE_DENIED"));
        assert_eq!(
            read(DENIAL_RULE_KEY),
            Some("DENIAL_RULE_CMDLET_NOT_AVAILABLE")
        );
    }

    #[test]
    fn a_store_failure_is_unavailable_never_a_failed_precondition() {
        let status = EdgeError::Unavailable("the change could not be stored".into()).into_status();
        assert_eq!(status.code(), Code::Unavailable);
        assert_ne!(status.code(), Code::FailedPrecondition);
    }

    #[test]
    fn a_field_that_is_no_header_value_still_travels() {
        let status = EdgeError::invalid("bad\nname", "x").into_status();
        let Some(EdgeError::InvalidArgument { field, .. }) = EdgeError::from_status(&status) else {
            panic!("not an invalid argument: {status:?}");
        };
        assert_eq!(field, "bad\\nname");
    }

    #[test]
    fn a_retry_hint_travels_with_the_failure() {
        let failure = EdgeError::Exhausted("busy".into());
        let status = failure
            .clone()
            .into_status_retry_after(Duration::from_millis(1500));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            EdgeError::retry_after(&status),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(EdgeError::from_status(&status), Some(failure.clone()));
        assert_eq!(EdgeError::retry_after(&failure.into_status()), None);
    }

    #[test]
    fn a_revision_not_reached_is_a_failed_precondition_with_the_node_revision() {
        let failure = EdgeError::RevisionNotReached("at 41; needs 42".into());
        let status = EdgeError::with_revision(failure.clone().into_status(), 41);
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(EdgeError::revision(&status), Some(41));
        assert_eq!(EdgeError::from_status(&status), Some(failure));
    }

    #[test]
    fn a_status_without_a_code_is_no_edge_error() {
        assert_eq!(EdgeError::from_status(&Status::unavailable("gone")), None);
    }
}
