//! The change feed (`WatchChanges`) and its resynchronisation point
//! (`GetMembershipSnapshot`), as served to the linked credentials this forest
//! issued.

use std::sync::Arc;

use crossforest_shared::proto::directory::v1 as pb;
use crossforest_shared::serve::status::{DenialRule, EdgeError};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::changes::{Change, ChangeKind, Resume};
use crate::node::AccountForest;

pub use crossforest_shared::serve::FEED_KEEP_ALIVE as KEEP_ALIVE;

/// The stream a `WatchChanges` call returns.
pub type ChangeStream = ReceiverStream<Result<pb::DirectoryChange, Status>>;

fn kind(kind: ChangeKind) -> pb::ChangeKind {
    match kind {
        ChangeKind::MemberAdded => pb::ChangeKind::MemberAdded,
        ChangeKind::MemberRemoved => pb::ChangeKind::MemberRemoved,
        ChangeKind::UserAdded => pb::ChangeKind::UserAdded,
        ChangeKind::GroupAdded => pb::ChangeKind::GroupAdded,
        ChangeKind::UserDisabled => pb::ChangeKind::UserDisabled,
        ChangeKind::PrincipalRemoved => pb::ChangeKind::PrincipalRemoved,
    }
}

fn to_proto(change: &Change) -> pb::DirectoryChange {
    pb::DirectoryChange {
        sequence: change.sequence,
        kind: kind(change.kind) as i32,
        object_sid: change.object.to_string(),
        member_sid: change.member.map(|m| m.to_string()).unwrap_or_default(),
        changed_at: change.changed_at,
        revocations: change
            .revocations
            .iter()
            .map(|r| pb::Revocation {
                user_sid: r.user.to_string(),
                group_sids: r.groups.iter().map(ToString::to_string).collect(),
                account_revoked: r.account,
            })
            .collect(),
    }
}

/// The changes after `from`, or the OUT_OF_RANGE status that tells the
/// subscriber to resynchronise.
fn changes_after(node: &AccountForest, from: u64) -> Result<Vec<pb::DirectoryChange>, Status> {
    let forest = &node.config().forest;
    node.read(|d| match d.changes().after(from) {
        Resume::From(changes) => Ok(changes.into_iter().map(to_proto).collect()),
        Resume::TooOld { from, oldest } => Err(EdgeError::OutOfRange(format!(
            "sequence {from} is older than the oldest change {forest} retains (resume after {oldest} or later); resynchronise with GetMembershipSnapshot"
        ))
        .into_status()),
        Resume::Ahead { from, latest } => Err(EdgeError::OutOfRange(format!(
            "sequence {from} is ahead of {forest}'s latest change {latest}; resynchronise with GetMembershipSnapshot"
        ))
        .into_status()),
    })
}

/// Streams every change after `from`, then each new one as it is committed,
/// with keep-alives while idle, to `subscriber`; ends when the subscriber goes
/// away, loses Replicating Directory Changes (or its account), or the node
/// stops.
pub fn watch(
    node: Arc<AccountForest>,
    subscriber: crossforest_shared::Sid,
    from: u64,
) -> Result<ChangeStream, Status> {
    let mut committed = node.watch_committed();
    committed.borrow_and_update();
    let first = changes_after(&node, from)?;
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut stopping = node.watch_stopping();
        let mut last = from;
        let mut batch = first;
        loop {
            if !node.read(|d| d.may_replicate(&subscriber)) {
                let _ = tx
                    .send(Err(EdgeError::Denied {
                        rule: DenialRule::DirectoryRight,
                        reason: format!(
                            "`{subscriber}` no longer holds Replicating Directory Changes"
                        ),
                    }
                    .into_status()))
                    .await;
                return;
            }
            for change in batch {
                last = change.sequence;
                if tx.send(Ok(change)).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                changed = committed.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    committed.borrow_and_update();
                    batch = match changes_after(&node, last) {
                        Ok(batch) => batch,
                        Err(status) => {
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                    };
                }
                () = async {
                    // The borrow `wait_for` returns must not live across an await.
                    let _ = stopping.wait_for(|s| *s).await.map(|_| ());
                } => return,
                () = tx.closed() => return,
                () = tokio::time::sleep(KEEP_ALIVE) => {
                    batch = vec![pb::DirectoryChange {
                        sequence: last,
                        kind: pb::ChangeKind::KeepAlive as i32,
                        ..Default::default()
                    }];
                }
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}

/// Every enabled user's transitive groups, at one sequence number.
pub fn snapshot(node: &AccountForest) -> pb::MembershipSnapshot {
    node.read(|d| pb::MembershipSnapshot {
        sequence: d.changes().sequence(),
        users: d
            .membership()
            .into_iter()
            .map(|(user, groups)| pb::UserGroups {
                user_sid: user.to_string(),
                group_sids: groups.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    })
}
