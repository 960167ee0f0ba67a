//! The resource forest's errors at the server edge: one exhaustive mapping of
//! each error enum a request can end with into the shared
//! [`EdgeError`], which builds the status.

use crossforest_shared::serve::status::{DenialRule, EdgeError};
use tonic::Status;

use crate::cmdlets::CmdletError;
use crate::org::OrgError;
use crate::rbac::Denial;
use crate::request::statement::StatementError;
use crate::trust::linked::LinkedError;

/// The rule an RBAC denial names, as the protocol says it.
pub fn rule(denial: &Denial) -> DenialRule {
    match denial {
        Denial::CmdletNotAvailable { .. } => DenialRule::CmdletNotAvailable,
        Denial::ParametersNotGranted { .. } => DenialRule::ParametersNotGranted,
        Denial::OutOfScope { .. } => DenialRule::OutOfScope,
    }
}

fn org(error: &OrgError) -> EdgeError {
    let message = error.to_string();
    match error {
        OrgError::NotFound(_) => EdgeError::NotFound(message),
        OrgError::Exists(_) => EdgeError::AlreadyExists(message),
        OrgError::Ambiguous(_) => EdgeError::invalid("Identity", message),
        OrgError::NoSuchOu(_) => EdgeError::invalid("OrganizationalUnit", message),
        OrgError::RidsExhausted => EdgeError::Exhausted(message),
    }
}

fn linked(error: &LinkedError) -> EdgeError {
    let message = error.to_string();
    match error {
        LinkedError::GroupName(_) | LinkedError::NotAGroup(_) => {
            EdgeError::invalid("LinkedForeignGroup", message)
        }
        LinkedError::NoCredential { .. } => EdgeError::invalid("LinkedCredential", message),
        LinkedError::NotADomainController { .. } => {
            EdgeError::invalid("LinkedDomainController", message)
        }
        // The directory was unreachable, refused the linked credential, or
        // does not know the group: the change cannot be made as asked.
        LinkedError::Directory { .. } | LinkedError::ForeignSid { .. } => {
            EdgeError::Refused(message)
        }
        // The directory server did not answer in time.
        LinkedError::TimedOut { .. } => EdgeError::Unavailable(message),
    }
}

/// The status of a statement that could not be opened or closed.
pub fn statement_status(error: &StatementError) -> Status {
    let message = error.to_string();
    match error {
        StatementError::TooManyForCaller { .. } | StatementError::TooMany(_) => {
            EdgeError::Exhausted(message)
        }
        StatementError::NotOpen(_) => EdgeError::NotFound(message),
    }
    .into_status()
}

/// The edge form of a cmdlet error.
pub fn edge(error: &CmdletError) -> EdgeError {
    let message = error.to_string();
    match error {
        CmdletError::Denied(denial) => EdgeError::Denied {
            rule: rule(denial),
            reason: message,
        },
        CmdletError::Forbidden(_) => EdgeError::Denied {
            rule: DenialRule::Delegation,
            reason: message,
        },
        CmdletError::NotRecognized(_) => EdgeError::invalid("cmdlet", message),
        CmdletError::UnknownParameter { parameter, .. }
        | CmdletError::MissingParameter { parameter, .. }
        | CmdletError::InvalidValue { parameter, .. } => EdgeError::invalid(parameter, message),
        CmdletError::Positional { .. } | CmdletError::Conflict(_) => {
            EdgeError::invalid("parameters", message)
        }
        CmdletError::Lockout(_) => EdgeError::Lockout(message),
        CmdletError::Org(e) => org(e),
        CmdletError::Linked(e) => linked(e),
        CmdletError::Refused(_) => EdgeError::Refused(message),
        CmdletError::Stale(_) => EdgeError::Stale(message),
        CmdletError::Unavailable(_) => EdgeError::Unavailable(message),
        CmdletError::Internal(_) => EdgeError::Internal(message),
    }
}

/// The status a request that failed with `error` is answered with.
pub fn status(error: &CmdletError) -> Status {
    edge(error).into_status()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossforest_shared::serve::status::ErrorCode;

    #[test]
    fn a_store_failure_reaches_the_client_as_unavailable() {
        let error =
            CmdletError::Unavailable("the change could not be stored; nothing was changed".into());
        let status = status(&error);
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(
            status.message(),
            "the change could not be stored; nothing was changed"
        );
        assert_eq!(
            EdgeError::from_status(&status).map(|e| e.code()),
            Some(ErrorCode::Unavailable)
        );
    }

    #[test]
    fn a_bad_value_names_its_parameter() {
        let error = CmdletError::InvalidValue {
            parameter: "Name".into(),
            reason: "is longer than 4096 characters".into(),
        };
        assert_eq!(
            EdgeError::from_status(&status(&error)),
            Some(EdgeError::invalid(
                "Name",
                "`-Name` is longer than 4096 characters"
            ))
        );
    }

    #[test]
    fn a_delegation_rule_is_a_denial() {
        let status = status(&CmdletError::Forbidden("not a manager (R-RG-5)".into()));
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert!(matches!(
            EdgeError::from_status(&status),
            Some(EdgeError::Denied {
                rule: DenialRule::Delegation,
                ..
            })
        ));
    }
}
