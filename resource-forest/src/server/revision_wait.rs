//! `at_least_revision` at the server edge: the request's deadline (gRPC's
//! `grpc-timeout`) bounds the wait, and a refusal carries the node's
//! revision in `x-crossforest-revision`.

use std::time::Duration;

use crossforest_shared::serve::status::EdgeError;
use tonic::{Request, Status};

use crate::node::ResourceForest;
use crate::request::revision_wait::RevisionWaitError;
use crate::trust::authenticate::Caller;

/// The time the caller gives the call (`grpc-timeout`), if it set one.
pub fn deadline<T>(request: &Request<T>) -> Option<Duration> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let split = value.len().checked_sub(1)?;
    let (amount, unit) = value.split_at(split);
    let amount: u64 = amount.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The status a request that did not get its revision is answered with.
pub fn status(error: &RevisionWaitError) -> Status {
    let edge = match error {
        RevisionWaitError::NotReached { .. } => EdgeError::RevisionNotReached(error.to_string()),
        RevisionWaitError::TooManyWaiting { .. } => EdgeError::Exhausted(error.to_string()),
    };
    EdgeError::with_revision(edge.into_status(), error.revision())
}

/// Waits until `node` serves revision `needed` or later for `caller`,
/// bounded by the node's wait and `request`'s deadline.
pub async fn at_least<T>(
    node: &ResourceForest,
    caller: &Caller,
    request: &Request<T>,
    needed: u64,
) -> Result<u64, Status> {
    node.at_least(caller, needed, deadline(request))
        .await
        .map_err(|e| status(&e))
}

/// `status` with the revision `node` is at now.
pub fn at_revision(node: &ResourceForest, status: Status) -> Status {
    EdgeError::with_revision(status, node.store().snapshot().revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grpc_timeout_header_is_the_deadline() {
        let with = |v: &str| {
            let mut r = Request::new(());
            r.metadata_mut().insert("grpc-timeout", v.parse().unwrap());
            deadline(&r)
        };
        assert_eq!(with("250m"), Some(Duration::from_millis(250)));
        assert_eq!(with("3S"), Some(Duration::from_secs(3)));
        assert_eq!(with("2M"), Some(Duration::from_secs(120)));
        assert_eq!(with("x"), None);
        assert_eq!(deadline(&Request::new(())), None);
    }
}
