//! Following each trusted forest's change feed with the linked credential:
//! resynchronise from a snapshot when needed, resume after the last sequence
//! applied, and reconnect with capped exponential backoff and jitter.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossforest_shared::client::connect;
use crossforest_shared::proto::directory::v1 as pb;
use crossforest_shared::serve::{FEED_SILENCE_LIMIT, MAX_RESPONSE_BYTES};
use tokio::sync::watch;

use super::freshness::Freshness;
use super::Trust;

/// First reconnection delay.
pub const BACKOFF_INITIAL: Duration = Duration::from_millis(100);
/// Longest reconnection delay.
pub const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// Exponential backoff with "equal jitter": each delay is drawn from the upper
/// half of the current step, which doubles up to [`BACKOFF_CAP`].
#[derive(Debug, Clone)]
pub struct Backoff {
    step: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            step: BACKOFF_INITIAL,
        }
    }
}

impl Backoff {
    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = (step * 2).min(BACKOFF_CAP);
        let half = step / 2;
        half + half.mul_f64(rand::random::<f64>())
    }

    /// After a successful connection: start again from the first step.
    pub fn reset(&mut self) {
        self.step = BACKOFF_INITIAL;
    }
}

/// Why one connection to a feed ended.
#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error("{0}")]
    Connect(String),
    #[error("{}: {}", .0.code(), .0.message())]
    Status(tonic::Status),
    #[error(transparent)]
    Feed(#[from] super::freshness::StaleError),
    #[error("no message for {0:?}")]
    Silent(Duration),
    #[error("the forest closed the change feed")]
    Closed,
}

async fn follow_once(
    trust: &Trust,
    freshness: &Freshness,
    backoff: &mut Backoff,
) -> Result<(), FollowError> {
    let forest = &trust.forest;
    let linked = trust
        .linked_credential
        .as_ref()
        .ok_or_else(|| FollowError::Connect("no linked credential is configured".into()))?;
    // Connection and TLS handshake within the trust's timeout: a server that
    // accepts and never answers is retried with backoff like one that refuses.
    let channel = tokio::time::timeout(trust.timeout, connect(&trust.endpoint, &linked.credential))
        .await
        .map_err(|_| {
            FollowError::Connect(format!(
                "`{}` did not complete the connection within {} s",
                trust.endpoint.address,
                trust.timeout.as_secs()
            ))
        })?
        .map_err(|e| FollowError::Connect(e.to_string()))?;
    let mut client = pb::directory_client::DirectoryClient::new(channel)
        .max_decoding_message_size(MAX_RESPONSE_BYTES);
    if freshness.needs_snapshot(forest) {
        let snapshot = client
            .get_membership_snapshot(pb::MembershipSnapshotRequest {})
            .await
            .map_err(FollowError::Status)?
            .into_inner();
        freshness.install_snapshot(forest, &snapshot, SystemTime::now())?;
        tracing::info!(%forest, sequence = snapshot.sequence, users = snapshot.users.len(), "change feed resynchronised");
    }
    let from = freshness.sequence(forest);
    let mut stream = client
        .watch_changes(pb::WatchRequest {
            from_sequence: from,
        })
        .await
        .map_err(|status| {
            if status.code() == tonic::Code::OutOfRange {
                freshness.require_snapshot(forest);
            }
            FollowError::Status(status)
        })?
        .into_inner();
    freshness.set_connected(forest, true, SystemTime::now());
    backoff.reset();
    tracing::info!(%forest, from, "change feed followed");
    loop {
        let message = tokio::time::timeout(FEED_SILENCE_LIMIT, stream.message())
            .await
            .map_err(|_| FollowError::Silent(FEED_SILENCE_LIMIT))?;
        match message {
            Ok(Some(change)) => freshness.apply(forest, &change, SystemTime::now())?,
            Ok(None) => return Err(FollowError::Closed),
            Err(status) => {
                if status.code() == tonic::Code::OutOfRange {
                    freshness.require_snapshot(forest);
                }
                return Err(FollowError::Status(status));
            }
        }
    }
}

/// Where a follower reads the trusts in force: a reload of certificates and
/// trust bundles (`ResourceForest::reload`) replaces them, and the next
/// connection to a feed uses the new CA and linked credential.
/// `None` once the node is gone.
pub type CurrentTrusts = Arc<dyn Fn() -> Option<Arc<super::Trusts>> + Send + Sync>;

/// Follows `forest`'s change feed until `stop` changes or its sender is
/// dropped, reading the trust anew for every connection.
pub async fn follow(
    forest: crossforest_shared::ForestName,
    current: CurrentTrusts,
    freshness: Arc<Freshness>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::default();
    loop {
        let Some(trust) = current().and_then(|t| t.get(&forest).cloned()) else {
            tracing::warn!(%forest, "no longer trusted: the change feed is not followed");
            return;
        };
        let ended = tokio::select! {
            ended = follow_once(&trust, &freshness, &mut backoff) => ended,
            _ = stop.changed() => return,
        };
        freshness.set_connected(&forest, false, SystemTime::now());
        let delay = backoff.next_delay();
        if let Err(error) = ended {
            tracing::warn!(%forest, %error, retry_in = ?delay, "change feed lost");
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {},
            _ = stop.changed() => return,
        }
    }
}

/// Starts following every trust that has a linked credential; the followers
/// stop when `stop` changes or its sender is dropped.
pub fn spawn_all(current: &CurrentTrusts, stop: &watch::Receiver<bool>) {
    let Some(trusts) = current() else {
        return;
    };
    for trust in trusts.all() {
        if trust.linked_credential.is_some() {
            tokio::spawn(follow(
                trust.forest.clone(),
                current.clone(),
                trusts.freshness().clone(),
                stop.clone(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let mut step = BACKOFF_INITIAL;
        for _ in 0..12 {
            let d = b.next_delay();
            assert!(
                d >= step / 2 && d <= step,
                "{d:?} outside [{:?}, {step:?}]",
                step / 2
            );
            step = (step * 2).min(BACKOFF_CAP);
        }
        assert_eq!(step, BACKOFF_CAP);
        b.reset();
        assert!(b.next_delay() <= BACKOFF_INITIAL);
    }
}
