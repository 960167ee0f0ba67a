//! The commit stage: a change and its audit record as one durable unit
//! (R-AUDIT-3).
//!
//! The record is written into the store's *audit outbox* in the change's own
//! transaction (a row keyed `<node id>/<revision>`), so no change is ever
//! stored, made visible or acknowledged without its record. Still under the
//! writer lock, the record is queued for the audit log (so a node's change
//! records reach the log in revision order); the request is answered once
//! the log has it on disk, and the next commit deletes the outbox row. After
//! a crash, the node replays the outbox rows past the last change record in
//! its log (`Outbox::replay`). Requests run in a task of the node's own
//! (see `pipeline`), so a client that cancels or times out cannot stop a
//! change between these steps.

use crossforest_shared::store::{encode, Row, RowChanges};

use crate::audit::outbox::Outbox;
use crate::audit::{AuditLog, AuditRecord, Written};
use crate::cmdlets::CmdletError;
use crate::org::Organization;
use crate::state::{Snapshot, WriteGuard};
use crate::store::rows::AUDIT;
use crate::store::StoreError;

/// A committed change: its revision and its record, queued for the log.
#[derive(Debug)]
pub struct Committed {
    /// The revision the change produced.
    pub revision: u64,
    /// The record, on its way to the log (`None`: the log's writer has
    /// stopped; the record stays in the outbox).
    written: Option<Written>,
    key: String,
}

impl Committed {
    /// Waits until the audit log holds the record durably; the outbox row
    /// is then deleted by the next commit. A failed write is logged and the
    /// row kept: the record stays durable in the store.
    pub async fn audited(self, outbox: &Outbox) {
        let Some(written) = self.written else {
            return;
        };
        match written.durable().await {
            Ok(()) => outbox.delivered().push(self.key),
            Err(e) => tracing::error!(
                error = %e,
                revision = self.revision,
                "writing the admin audit log failed; the record stays in the store's audit outbox"
            ),
        }
    }
}

/// Commits `next`, computed on `before` under `guard`, with `record` (its
/// revision set here) in the same transaction, after the lockout rules
/// (R-LOCK-1..4); then queues the record for the log. A store that another
/// process changed first fails with [`CmdletError::Stale`]: the request is
/// then run again on the new state.
pub async fn commit(
    state: &crate::state::OrgState,
    guard: &WriteGuard<'_>,
    before: &Snapshot,
    next: Organization,
    mut record: AuditRecord,
    log: &AuditLog,
    outbox: &Outbox,
) -> Result<Committed, CmdletError> {
    crate::rbac::lockout::check(&before.org.rbac, &next.rbac)?;
    let revision = before.revision + 1;
    record.revision = Some(revision);
    let key = outbox.key(revision);
    let delivered = outbox.delivered().clone();
    let extra = RowChanges {
        upserts: vec![Row {
            kind: AUDIT,
            key: key.clone(),
            body: encode(AUDIT, &key, &record).map_err(store_failed)?,
        }],
        deletes: delivered.iter().map(|k| (AUDIT, k.clone())).collect(),
    };
    let committed = state
        .commit_with(guard, before, next, extra)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => CmdletError::Stale(e.to_string()),
            e => store_failed(e),
        })?;
    outbox.delivered().retain(|k| !delivered.contains(k));
    if committed != revision {
        tracing::error!(
            expected = revision,
            committed,
            "the store committed another revision than the audit record names"
        );
    }
    // Queued under the writer lock: change records reach the log in
    // revision order, which `Outbox::replay` relies on.
    let written = log
        .enqueue(&record)
        .map_err(|e| {
            tracing::error!(error = %e, revision = committed, "the admin audit log cannot be written; the record stays in the store's audit outbox");
        })
        .ok();
    Ok(Committed {
        revision: committed,
        written,
        key,
    })
}

/// A store failure as the caller sees it: nothing was changed.
pub fn store_failed(e: StoreError) -> CmdletError {
    tracing::error!(error = %e, "persisting the organization failed");
    CmdletError::Unavailable("the change could not be stored; nothing was changed".into())
}
