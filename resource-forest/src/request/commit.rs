//! The commit stage: a change and its audit record as one durable unit
//! (R-AUDIT-3).
//!
//! The record is written into the store's *audit outbox* in the change's own
//! revision (a row keyed `<node id>/<revision>`), so no change is ever
//! stored, made visible or acknowledged without its record. The change is
//! queued for the node's committer under the writer lock, which is then
//! released: concurrent writers share one store transaction (group commit,
//! see [`crate::state`]). Once the batch is durable and visible, the
//! committer queues the records for the audit log in revision order (so a
//! node's change records reach the log in revision order); the request is
//! answered once the log has it on disk, and a later commit deletes the
//! outbox row. After
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

/// Commits `next`, computed on `before` (the state's base under `guard`),
/// with `record` (its revision set here) in the same revision, after the
/// lockout rules (R-LOCK-1..4): queues it for the committer, releases the
/// writer lock and waits until its batch is durable and its record queued
/// for the log. A store that another process changed first, or a batch
/// before this change that failed, fails with [`CmdletError::Stale`]: the
/// request is then run again on the new state.
pub async fn commit(
    state: &crate::state::OrgState,
    guard: WriteGuard<'_>,
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
    let (answer, answered) = tokio::sync::oneshot::channel();
    let log = log.clone();
    let done: crate::state::Done = Box::new(move |result| {
        // Called by the committer in revision order: change records reach
        // the log in revision order, which `Outbox::replay` relies on.
        let queued = result.map(|committed| {
            if committed != revision {
                tracing::error!(
                    expected = revision,
                    committed,
                    "the store committed another revision than the audit record names"
                );
            }
            let written = log
                .enqueue(&record)
                .map_err(|e| {
                    tracing::error!(error = %e, revision = committed, "the admin audit log cannot be written; the record stays in the store's audit outbox");
                })
                .ok();
            (committed, written)
        });
        let _ = answer.send(queued);
    });
    state
        .submit(&guard, before, next, extra, done)
        .map_err(stale_or_failed)?;
    drop(guard);
    let (committed, written) = answered
        .await
        .map_err(|_| {
            CmdletError::Unavailable("the node stopped before the change was stored".into())
        })?
        .map_err(stale_or_failed)?;
    outbox.delivered().retain(|k| !delivered.contains(k));
    Ok(Committed {
        revision: committed,
        written,
        key,
    })
}

/// A conflict (another process, or a failed batch before this change) is
/// stale: run the request again; anything else is a store failure.
fn stale_or_failed(e: StoreError) -> CmdletError {
    match e {
        StoreError::Conflict { .. } => CmdletError::Stale(e.to_string()),
        StoreError::Unconfirmed { revision, .. } => {
            tracing::error!(error = %e, "the store did not confirm a commit");
            CmdletError::Unavailable(format!(
                "the store did not confirm the change (revision {revision}): it may have been stored; \
                 read it before repeating the change"
            ))
        }
        e => store_failed(e),
    }
}

/// A store failure as the caller sees it: nothing was changed.
pub fn store_failed(e: StoreError) -> CmdletError {
    tracing::error!(error = %e, "persisting the organization failed");
    CmdletError::Unavailable("the change could not be stored; nothing was changed".into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use crossforest_shared::store::{Delta, RowStore};
    use tokio::sync::{watch, Semaphore};

    use super::*;
    use crate::state::OrgState;
    use crate::store::embedded::EmbeddedStore;
    use crate::store::Organizations;

    /// The embedded store, whose batches wait at a gate the test opens and
    /// fail with an error the test sets.
    #[derive(Debug)]
    struct Gated {
        inner: EmbeddedStore,
        gate: Semaphore,
        entered: AtomicUsize,
        fail: Mutex<Option<StoreError>>,
        batches: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl RowStore for Gated {
        type Layout = Organizations;
        async fn rows(&self) -> Result<Delta, StoreError> {
            self.inner.rows().await
        }
        async fn apply(&self, expected: u64, changes: RowChanges) -> Result<u64, StoreError> {
            self.apply_batch(expected, vec![changes]).await
        }
        async fn apply_batch(
            &self,
            expected: u64,
            batch: Vec<RowChanges>,
        ) -> Result<u64, StoreError> {
            self.entered.fetch_add(1, Ordering::SeqCst);
            self.gate.acquire().await.unwrap().forget();
            self.batches.lock().unwrap().push(batch.len());
            if let Some(e) = self.fail.lock().unwrap().take() {
                return Err(e);
            }
            self.inner.apply_batch(expected, batch).await
        }
        async fn revision(&self) -> Result<u64, StoreError> {
            self.inner.revision().await
        }
        async fn watch(&self) -> Result<watch::Receiver<u64>, StoreError> {
            self.inner.watch().await
        }
    }

    struct Node {
        _dir: tempfile::TempDir,
        store: Arc<Gated>,
        state: Arc<OrgState>,
        log: Arc<AuditLog>,
        outbox: Arc<Outbox>,
    }

    async fn node() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let inner = EmbeddedStore::open(&EmbeddedStore::path(dir.path())).unwrap();
        let org = Organization::new(
            "contoso.com".parse().unwrap(),
            "S-1-5-21-1-2-3".parse().unwrap(),
            &crate::rbac::catalogue::builtin().unwrap(),
            &[],
        )
        .unwrap();
        inner.create(&org).await.unwrap();
        let store = Arc::new(Gated {
            inner,
            gate: Semaphore::new(0),
            entered: AtomicUsize::new(0),
            fail: Mutex::new(None),
            batches: Mutex::new(Vec::new()),
        });
        let state = OrgState::open(store.clone()).await.unwrap().unwrap();
        Node {
            log: Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).unwrap()),
            outbox: Arc::new(Outbox::open(dir.path()).unwrap()),
            _dir: dir,
            store,
            state: Arc::new(state),
        }
    }

    /// `New-Mailbox <name>` as a writer of the node: computed on the
    /// pending state under the writer lock, committed, audited.
    fn write(node: &Node, i: u32) -> tokio::task::JoinHandle<Result<u64, CmdletError>> {
        let (state, log, outbox) = (node.state.clone(), node.log.clone(), node.outbox.clone());
        tokio::spawn(async move {
            let guard = state.lock().await;
            let before = state.base(&guard);
            let mut next = before.org.clone();
            let name = format!("user{i}");
            let row = format!(
                r#"{{"name":"{name}","recipient_type":"UserMailbox","alias":"{name}","display_name":"{name}","sid":"S-1-5-21-1-2-3-{rid}","organizational_unit":"contoso.com/Users","user_principal_name":"{name}@contoso.com","primary_smtp_address":"{name}@contoso.com","external_email_address":"","role_assignment_policy":"Default Role Assignment Policy","members":[],"managed_by":[],"attributes":{{}}}}"#,
                rid = 2000 + i
            );
            next.recipients
                .insert(name.clone(), serde_json::from_str(&row).unwrap());
            let record = AuditRecord {
                run_date: String::new(),
                caller: "CONTOSO\\Administrator".into(),
                caller_sid: String::new(),
                cmdlet_name: "New-Mailbox".into(),
                cmdlet_parameters: Default::default(),
                object_modified: name,
                succeeded: true,
                decision: "Allowed".into(),
                error: String::new(),
                originating_server: String::new(),
                revision: None,
            };
            let committed = commit(&state, guard, &before, next, record, &log, &outbox).await?;
            let revision = committed.revision;
            committed.audited(&outbox).await;
            Ok(revision)
        })
    }

    async fn until(mut ready: impl FnMut() -> bool) {
        while !ready() {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// The first writer's batch is held in the store while `more` writers
    /// queue their changes on top of it; returns all the writers.
    async fn one_batch_held_and_more_queued(
        node: &Node,
        more: u32,
    ) -> Vec<tokio::task::JoinHandle<Result<u64, CmdletError>>> {
        let mut writers = vec![write(node, 0)];
        until(|| node.store.entered.load(Ordering::SeqCst) == 1).await;
        // One at a time, so the queue (and so the revisions) is in writer
        // order however the machine schedules the tasks.
        for i in 1..=more {
            writers.push(write(node, i));
            until(|| node.state.queued() == i as usize).await;
        }
        writers
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_one_store_transaction_with_one_revision_each() {
        let node = node().await;
        let writers = one_batch_held_and_more_queued(&node, 7).await;
        // Nothing queued is visible before it is durable.
        assert_eq!(node.state.snapshot().revision, 1);
        node.store.gate.add_permits(100);
        let mut revisions = Vec::new();
        for w in writers {
            revisions.push(w.await.unwrap().unwrap());
        }
        // One revision per change, consecutive, in two store transactions.
        assert_eq!(revisions, (2..=9).collect::<Vec<u64>>());
        assert_eq!(*node.store.batches.lock().unwrap(), vec![1, 7]);
        assert_eq!(node.state.transactions(), 2);
        assert_eq!(node.store.revision().await.unwrap(), 9);
        let snapshot = node.state.snapshot();
        assert_eq!(snapshot.revision, 9);
        assert_eq!(snapshot.org.recipients.len(), 8);
        // Each change audited exactly once, in revision order.
        let records = node.log.read_all().unwrap();
        let audited: Vec<(Option<u64>, String)> = records
            .into_iter()
            .map(|r| (r.revision, r.object_modified))
            .collect();
        let expected: Vec<(Option<u64>, String)> = (0..8u32)
            .map(|i| (Some(u64::from(i) + 2), format!("user{i}")))
            .collect();
        assert_eq!(audited, expected);
        // The store agrees with the published state.
        let stored = node.store.load().await.unwrap().unwrap();
        assert_eq!(stored.0, 9);
        assert_eq!(stored.1.recipients.len(), snapshot.org.recipients.len());
    }

    #[test]
    fn an_unconfirmed_commit_tells_the_caller_it_may_have_been_stored() {
        let error = stale_or_failed(StoreError::Unconfirmed {
            revision: 42,
            cause: "connection closed".into(),
        });
        match error {
            CmdletError::Unavailable(message) => {
                assert!(message.contains("revision 42"), "{message}");
                assert!(message.contains("may have been stored"), "{message}");
                assert!(!message.contains("nothing was changed"), "{message}");
            }
            other => panic!("an unconfirmed commit is UNAVAILABLE: {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_batch_fails_every_change_on_top_of_it_leaving_nothing_visible_and_no_record()
    {
        let node = node().await;
        let recipients = node.state.snapshot().org.recipients.len();
        for (error, stale) in [
            (StoreError::Backend("the disk failed".into()), false),
            (
                StoreError::Conflict {
                    expected: 1,
                    actual: 2,
                },
                true,
            ),
        ] {
            *node.store.fail.lock().unwrap() = Some(error);
            node.store.entered.store(0, Ordering::SeqCst);
            let writers = one_batch_held_and_more_queued(&node, 3).await;
            node.store.gate.add_permits(1);
            for w in writers {
                match w.await.unwrap() {
                    Err(CmdletError::Stale(_)) if stale => {}
                    Err(CmdletError::Unavailable(_)) if !stale => {}
                    other => panic!("every change of and on the failed batch fails: {other:?}"),
                }
            }
            assert_eq!(node.state.snapshot().revision, 1);
            assert_eq!(node.state.snapshot().org.recipients.len(), recipients);
            assert_eq!(node.store.revision().await.unwrap(), 1);
            assert!(node.log.read_all().unwrap().is_empty());
        }
        // The next change is computed on the durable state.
        node.store.gate.add_permits(1);
        assert_eq!(write(&node, 9).await.unwrap().unwrap(), 2);
        let records = node.log.read_all().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].revision, Some(2));
        assert_eq!(node.state.snapshot().org.recipients.len(), recipients + 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_of_pending_changes_settles_only_once_they_are_stored_or_dropped() {
        for fails in [false, true] {
            let node = node().await;
            let writers = one_batch_held_and_more_queued(&node, 1).await;
            // A write that would change nothing reads the pending state.
            let (base, epoch) = {
                let guard = node.state.lock().await;
                node.state.base_in_epoch(&guard)
            };
            assert_eq!(base.revision, 3);
            let state = node.state.clone();
            let waiting = tokio::spawn(async move { state.settled(&base, epoch).await });
            tokio::task::yield_now().await;
            assert!(
                !waiting.is_finished(),
                "settled before the batch was stored"
            );
            if fails {
                *node.store.fail.lock().unwrap() = Some(StoreError::Backend("disk".into()));
            }
            node.store.gate.add_permits(100);
            assert_eq!(waiting.await.unwrap(), !fails, "fails = {fails}");
            for w in writers {
                assert_eq!(w.await.unwrap().is_ok(), !fails);
            }
        }
    }
}
