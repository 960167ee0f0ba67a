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
//! its log ([`Outbox::replay`]). Requests run in a task of the node's own
//! (see `pipeline`), so a client that cancels or times out cannot stop a
//! change between these steps.

use std::path::Path;

use crossforest_shared::store::{decode, encode, Row, RowChanges};

use crate::audit::{AuditLog, AuditRecord, Written};
use crate::cmdlets::CmdletError;
use crate::org::Organization;
use crate::state::{Snapshot, WriteGuard};
use crate::store::rows::AUDIT;
use crate::store::StoreError;

/// The file naming this node among the processes sharing its store.
const NODE_ID_FILE: &str = "node-id";

/// This node's audit outbox: its id and the rows its log already holds.
#[derive(Debug)]
pub struct Outbox {
    node_id: String,
    /// Keys of outbox rows the log holds durably: deleted by the next commit.
    delivered: std::sync::Mutex<Vec<String>>,
}

impl Outbox {
    /// The outbox of the node whose data directory is `data_dir`: its id is
    /// read from `data_dir/node-id`, made (random, 0600) on first use.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join(NODE_ID_FILE);
        let node_id = match std::fs::read_to_string(&path) {
            Ok(text) if is_node_id(text.trim()) => text.trim().to_owned(),
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "`{}` does not hold a node id (32 hexadecimal digits)",
                    path.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = format!("{:032x}", rand::random::<u128>());
                crossforest_shared::config::write_atomic(&path, format!("{id}\n").as_bytes())
                    .map_err(std::io::Error::other)?;
                id
            }
            Err(e) => return Err(e),
        };
        Ok(Self {
            node_id,
            delivered: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn key(&self, revision: u64) -> String {
        format!("{}/{revision:020}", self.node_id)
    }

    fn delivered(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.delivered.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends to `log` the records of `rows` (the outbox as loaded) that
    /// this node committed past the last change record `log` holds: the
    /// changes whose record a crash kept from the log. Every own row is then
    /// deleted by the next commit. Returns how many were replayed.
    pub async fn replay(
        &self,
        rows: Vec<(String, String)>,
        log: &AuditLog,
    ) -> Result<usize, String> {
        let prefix = format!("{}/", self.node_id);
        let mut own: Vec<(String, AuditRecord)> = rows
            .into_iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(key, body)| decode::<AuditRecord>(AUDIT, &key, &body).map(|r| (key, r)))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        own.sort_by_key(|(_, r)| r.revision);
        let logged = log
            .last_revision()
            .map_err(|e| format!("cannot read the audit log: {e}"))?;
        let mut replayed = 0;
        for (key, record) in own {
            if record.revision > logged {
                log.append(&record)
                    .await
                    .map_err(|e| format!("cannot write the audit log: {e}"))?;
                replayed += 1;
            }
            self.delivered().push(key);
        }
        Ok(replayed)
    }
}

fn is_node_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

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
    CmdletError::Refused("the change could not be stored; nothing was changed".into())
}
