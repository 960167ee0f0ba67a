//! The organization as the node serves it: an immutable snapshot (organization
//! plus compiled RBAC) replaced on every change, stored durably (see
//! [`crate::store`]) before it becomes visible. A snapshot shares with the one
//! before it every recipient and index node the change did not touch, and its
//! compiled RBAC unless the change was to the RBAC (issue 15).
//!
//! Group commit (issue 15): a writer computes its change under the writer
//! lock on the latest *pending* state (the changes queued before it
//! included, durable or not), queues it ([`OrgState::submit`]) and releases
//! the lock; one committer task drains the queue into one store transaction
//! ([`crate::store::RowStore::apply_batch`]: one revision per change), publishes the last
//! snapshot and only then answers each change, in revision order. A batch
//! that fails fails every change in it and every change queued on top of it,
//! and the pending state falls back to the durable one.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

use crate::org::Organization;
use crate::rbac::Authorizer;
use crate::store::{OrganizationStore, StoreError};
use crossforest_shared::store::RowChanges;

/// One consistent view of the organization.
#[derive(Debug)]
pub struct Snapshot {
    /// The revision that produced it; increases by one per change.
    pub revision: u64,
    /// The organization.
    pub org: Organization,
    /// Its compiled RBAC, shared with the snapshots before it while the RBAC
    /// configuration is the same.
    pub authorizer: Arc<Authorizer>,
}

impl Snapshot {
    /// The snapshot of `org` at `revision`; RBAC is compiled again only if it
    /// differs from `previous`'s (a recipient change keeps the authorizer).
    fn new(revision: u64, mut org: Organization, previous: Option<&Snapshot>) -> Arc<Self> {
        let authorizer = match previous {
            Some(p) if Arc::ptr_eq(&p.org.rbac, &org.rbac) => p.authorizer.clone(),
            Some(p) if p.org.rbac == org.rbac => {
                // Equal but rebuilt (a delta that rewrote RBAC rows as they
                // were): share the previous copy too.
                org.rbac = p.org.rbac.clone();
                p.authorizer.clone()
            }
            _ => Arc::new(Authorizer::new(&org.rbac)),
        };
        Arc::new(Self {
            revision,
            org,
            authorizer,
        })
    }
}

/// What the committer does once a change's batch is durable and visible
/// (`Ok(revision)`) or failed: called in revision order.
pub type Done = Box<dyn FnOnce(Result<u64, StoreError>) + Send>;

/// A change waiting for its batch.
struct Queued {
    revision: u64,
    changes: RowChanges,
    snapshot: Arc<Snapshot>,
    done: Done,
}

/// Changes computed but not yet durable.
#[derive(Default)]
struct Queue {
    /// The latest snapshot computed, durable or not: the next change's base
    /// while it is newer than the published one.
    pending: Option<Arc<Snapshot>>,
    /// Changes waiting for the committer, in revision order.
    waiting: Vec<Queued>,
    /// Whether a committer task runs.
    committing: bool,
    /// Store transactions the committer made (a test hook).
    transactions: u64,
    /// How many times the pending state was dropped because its batch
    /// failed: a snapshot computed in an earlier epoch that is not durable
    /// never will be.
    epoch: u64,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("pending", &self.pending.as_ref().map(|p| p.revision))
            .field("waiting", &self.waiting.len())
            .field("committing", &self.committing)
            .field("transactions", &self.transactions)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// The published snapshot, and its revision on a watch channel: a request
/// that needs a later revision waits on the channel (no lock held, no
/// polling) and wakes on the publish that reaches it.
#[derive(Debug)]
struct Current {
    snapshot: RwLock<Arc<Snapshot>>,
    revision: tokio::sync::watch::Sender<u64>,
}

/// The node's view of its store: the current snapshot and the store behind it.
#[derive(Debug)]
pub struct OrgState {
    store: Arc<dyn OrganizationStore>,
    current: Arc<Current>,
    queue: Arc<std::sync::Mutex<Queue>>,
    /// Woken after every batch, stored or failed.
    settled: Arc<tokio::sync::Notify>,
    writer: Mutex<()>,
    /// The audit outbox's rows as loaded, `(key, body)`: taken once by the
    /// node to replay what its audit log is missing.
    outbox: std::sync::Mutex<Vec<(String, String)>>,
    /// Whether following other nodes' changes is held (a test hook: a
    /// follower whose notifications arrive late).
    held: tokio::sync::watch::Sender<bool>,
}

/// Proof that the caller holds this process's writer lock. Other processes
/// sharing the store are kept out by the store's revision check.
#[derive(Debug)]
pub struct WriteGuard<'a>(#[allow(dead_code)] MutexGuard<'a, ()>);

impl OrgState {
    /// Loads the latest revision from `store`; `None` if it holds no
    /// organization yet.
    pub async fn open(store: Arc<dyn OrganizationStore>) -> Result<Option<Self>, StoreError> {
        let all = store.rows().await?;
        let revision = all.revision;
        let (outbox, rows): (Vec<_>, Vec<_>) = all
            .upserts
            .into_iter()
            .partition(|(kind, _, _)| kind == crate::store::rows::AUDIT);
        let Some(org) = crate::store::rows::assemble(rows)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            store,
            current: Arc::new(Current {
                snapshot: RwLock::new(Snapshot::new(revision, org, None)),
                revision: tokio::sync::watch::Sender::new(revision),
            }),
            queue: Arc::default(),
            settled: Arc::default(),
            writer: Mutex::new(()),
            outbox: std::sync::Mutex::new(
                outbox
                    .into_iter()
                    .map(|(_, key, body)| (key, body))
                    .collect(),
            ),
            held: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// The audit outbox's rows as loaded (`(key, body)`), once.
    pub fn take_outbox(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn OrganizationStore> {
        &self.store
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes `snapshot` current unless a newer one already is.
    fn publish(&self, snapshot: Arc<Snapshot>) {
        publish(&self.current, snapshot);
    }

    /// Waits, at most `wait`, until the published revision is `revision` or
    /// later: `Ok` with that snapshot, or `Err` with the revision the node
    /// is at when the wait ends. Holds no lock while it waits and wakes on
    /// the publish that reaches `revision` (a commit here or a change
    /// followed from another node).
    pub async fn at_least(&self, revision: u64, wait: Duration) -> Result<Arc<Snapshot>, u64> {
        let mut published = self.current.revision.subscribe();
        let reached = tokio::time::timeout(wait, published.wait_for(|r| *r >= revision)).await;
        let snapshot = self.snapshot();
        match reached {
            Ok(Ok(_)) if snapshot.revision >= revision => Ok(snapshot),
            _ => Err(snapshot.revision),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state the next change is computed on: the latest pending
    /// snapshot (changes queued but not yet durable included) while it is
    /// newer than the published one, else the published one.
    pub fn base(&self, guard: &WriteGuard<'_>) -> Arc<Snapshot> {
        self.base_in_epoch(guard).0
    }

    /// [`Self::base`], with the epoch it belongs to (see [`Self::settled`]).
    pub fn base_in_epoch(&self, _guard: &WriteGuard<'_>) -> (Arc<Snapshot>, u64) {
        let queue = self.queue();
        (self.base_of(&queue), queue.epoch)
    }

    /// Waits until `base` (from [`Self::base_in_epoch`], in `epoch`) is
    /// durable: `true` once it is published, `false` if its batch (or one
    /// before it) failed and it never will be. A write that changes nothing
    /// answers only then, so no answer rests on a state that was never
    /// stored.
    pub async fn settled(&self, base: &Snapshot, epoch: u64) -> bool {
        loop {
            let woken = self.settled.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            {
                let queue = self.queue();
                if queue.epoch != epoch {
                    return false;
                }
                if self.snapshot().revision >= base.revision {
                    return true;
                }
            }
            woken.await;
        }
    }

    fn base_of(&self, queue: &Queue) -> Arc<Snapshot> {
        let current = self.snapshot();
        match &queue.pending {
            Some(pending) if pending.revision > current.revision => pending.clone(),
            _ => current,
        }
    }

    /// Store transactions the committer made so far (a test hook: group
    /// commit makes fewer than changes).
    pub fn transactions(&self) -> u64 {
        self.queue().transactions
    }

    /// Changes waiting for the committer (a test hook).
    pub fn queued(&self) -> usize {
        self.queue().waiting.len()
    }

    /// Takes the writer lock: this process's changes are serialised.
    pub async fn lock(&self) -> WriteGuard<'_> {
        WriteGuard(self.writer.lock().await)
    }

    /// Stores `org`, computed on `before`, as the next revision, then makes it
    /// current. Fails with [`StoreError::Conflict`] if `before` is no longer
    /// the latest revision in the store (another process changed it).
    pub async fn commit(
        &self,
        guard: &WriteGuard<'_>,
        before: &Snapshot,
        org: Organization,
    ) -> Result<u64, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(
            guard,
            before,
            org,
            RowChanges::default(),
            Box::new(move |result| {
                let _ = tx.send(result);
            }),
        )?;
        rx.await.map_err(|_| stopped())?
    }

    /// Queues `org`, computed on `before` (the [`Self::base`] under `guard`),
    /// with `extra` rows (the audit outbox's) written in the same revision,
    /// for the committer; returns its revision at once. The caller may then
    /// release the writer lock: `done` is called, in revision order, once the
    /// change is durable and visible, or with the error that failed its
    /// batch (a [`StoreError::Conflict`] also for a change queued on top of a
    /// failed one). Fails with [`StoreError::Conflict`], queueing nothing, if
    /// `before` is no longer the base (a batch failed meanwhile).
    pub fn submit(
        &self,
        _guard: &WriteGuard<'_>,
        before: &Snapshot,
        org: Organization,
        extra: RowChanges,
        done: Done,
    ) -> Result<u64, StoreError> {
        if before.revision == 0 {
            return Err(StoreError::Conflict {
                expected: 0,
                actual: 0,
            });
        }
        let mut changes = crate::store::rows::diff(&before.org, &org)?;
        changes.upserts.extend(extra.upserts);
        changes.deletes.extend(extra.deletes);
        let revision = before.revision + 1;
        let snapshot = Snapshot::new(revision, org, Some(before));
        let mut queue = self.queue();
        let base = self.base_of(&queue);
        if !std::ptr::eq(&*base, before) {
            return Err(StoreError::Conflict {
                expected: before.revision,
                actual: base.revision,
            });
        }
        queue.pending = Some(snapshot.clone());
        queue.waiting.push(Queued {
            revision,
            changes,
            snapshot,
            done,
        });
        if !queue.committing {
            queue.committing = true;
            tokio::spawn(committer(
                Arc::clone(&self.store),
                Arc::clone(&self.current),
                Arc::clone(&self.queue),
                Arc::clone(&self.settled),
            ));
        }
        Ok(revision)
    }

    /// Catches up with the store if it holds a newer revision than the
    /// current snapshot: applies the rows changed since (or, from a store that
    /// cannot tell, loads everything); returns the current revision.
    pub async fn refresh(&self) -> Result<u64, StoreError> {
        let current = self.snapshot();
        if self.store.revision().await? <= current.revision {
            return Ok(current.revision);
        }
        let latest = match self.store.changes_since(current.revision).await? {
            Some(delta) if delta.revision > current.revision => {
                // A copy in O(1): the delta's rows are applied onto the
                // trees the current snapshot shares.
                let base = current.org.clone();
                Some((delta.revision, delta, base))
            }
            Some(_) => None,
            None => self
                .store
                .load()
                .await?
                .filter(|(revision, _)| *revision > current.revision)
                .map(|(revision, org)| (revision, Default::default(), org)),
        };
        if let Some((revision, delta, base)) = latest {
            // Applying the rows and compiling RBAC are CPU work: off the
            // request threads.
            let previous = current.clone();
            let snapshot = tokio::task::spawn_blocking(move || {
                crate::store::rows::apply(base, delta)
                    .map(|org| Snapshot::new(revision, org, Some(&previous)))
            })
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))??;
            self.publish(snapshot);
        }
        Ok(self.snapshot().revision)
    }

    /// Holds (`true`) or resumes following other nodes' changes: while held,
    /// the node serves the revision it has and reads nothing new from the
    /// store; resumed, it catches up at once. A test hook for a follower
    /// whose notifications arrive late.
    pub fn hold_following(&self, hold: bool) {
        self.held.send_replace(hold);
    }

    /// Follows changes other processes make through a shared store: reloads on
    /// each announced revision, and every `backstop` regardless (not while
    /// [held](Self::hold_following)). Ends when the state is dropped.
    pub async fn follow(
        state: Weak<Self>,
        backstop: std::time::Duration,
    ) -> Result<(), StoreError> {
        let (announced, held) = match state.upgrade() {
            Some(state) => (state.store.watch().await?, state.held.subscribe()),
            None => return Ok(()),
        };
        crossforest_shared::store::follow(announced, backstop, || {
            let (state, mut held) = (state.clone(), held.clone());
            async move {
                // Ends at once when the state (the sender) is dropped.
                let _ = held.wait_for(|held| !held).await;
                let Some(state) = state.upgrade() else {
                    return false;
                };
                if let Err(e) = state.refresh().await {
                    tracing::warn!(error = %e, "reloading the organization failed");
                }
                true
            }
        })
        .await;
        Ok(())
    }
}

/// Makes `snapshot` current unless a newer one already is, then tells the
/// requests waiting for its revision.
fn publish(current: &Current, snapshot: Arc<Snapshot>) {
    let revision = snapshot.revision;
    {
        let mut published = current.snapshot.write().unwrap_or_else(|e| e.into_inner());
        if revision <= published.revision {
            return;
        }
        *published = snapshot;
    }
    current.revision.send_if_modified(|r| {
        let newer = revision > *r;
        *r = (*r).max(revision);
        newer
    });
}

fn stopped() -> StoreError {
    StoreError::Backend("the node's committer stopped before the change was stored".into())
}

/// The committer: drains the queue into one store transaction at a time
/// until it is empty. Runs as a task of its own, so no caller's
/// cancellation stops a batch between its transaction and its answers.
async fn committer(
    store: Arc<dyn OrganizationStore>,
    current: Arc<Current>,
    queue: Arc<std::sync::Mutex<Queue>>,
    settled: Arc<tokio::sync::Notify>,
) {
    let lock = || queue.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let mut batch = {
            let mut queue = lock();
            if queue.waiting.is_empty() {
                queue.committing = false;
                return;
            }
            // The consecutive revisions at the head: a change computed on a
            // state another node published meanwhile waits for the next
            // round (where the store refuses it).
            let first = queue.waiting[0].revision;
            let run = queue
                .waiting
                .iter()
                .enumerate()
                .take_while(|(i, q)| q.revision == first + *i as u64)
                .count();
            queue.waiting.drain(..run).collect::<Vec<_>>()
        };
        let expected = batch[0].revision - 1;
        let changes = batch
            .iter_mut()
            .map(|q| std::mem::take(&mut q.changes))
            .collect();
        let result = store.apply_batch(expected, changes).await;
        let failed = match result {
            Ok(_) => {
                lock().transactions += 1;
                if let Some(last) = batch.last() {
                    publish(&current, last.snapshot.clone());
                }
                None
            }
            Err(e) => {
                let mut queue = lock();
                queue.transactions += 1;
                // Nothing of the batch is stored: the changes computed on
                // top of it fail too, and the next change is computed on the
                // durable state.
                queue.pending = None;
                queue.epoch += 1;
                batch.append(&mut queue.waiting);
                Some(e)
            }
        };
        settled.notify_waiters();
        for q in batch {
            match &failed {
                None => (q.done)(Ok(q.revision)),
                Some(e) => (q.done)(Err(e.clone())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded::EmbeddedStore;
    use crate::store::RowStore;

    #[tokio::test]
    async fn a_recipient_change_keeps_the_compiled_rbac_and_an_rbac_change_recompiles() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&EmbeddedStore::path(dir.path())).unwrap();
        let org = Organization::new(
            "contoso.com".parse().unwrap(),
            "S-1-5-21-1-2-3".parse().unwrap(),
            &crate::rbac::catalogue::builtin().unwrap(),
            &[],
        )
        .unwrap();
        store.create(&org).await.unwrap();
        let state = OrgState::open(Arc::new(store)).await.unwrap().unwrap();

        let before = state.snapshot();
        let mut next = before.org.clone();
        let row = r#"{"name":"Ann","recipient_type":"UserMailbox","alias":"ann","display_name":"Ann","sid":"S-1-5-21-1-2-3-1105","organizational_unit":"contoso.com/Users","user_principal_name":"ann@contoso.com","primary_smtp_address":"ann@contoso.com","external_email_address":"","role_assignment_policy":"Default Role Assignment Policy","members":[],"managed_by":[],"attributes":{}}"#;
        next.recipients
            .insert("ann".into(), serde_json::from_str(row).unwrap());
        next.next_rid += 1;
        let guard = state.lock().await;
        state.commit(&guard, &before, next).await.unwrap();
        let after = state.snapshot();
        assert!(Arc::ptr_eq(&before.authorizer, &after.authorizer));
        assert!(Arc::ptr_eq(&before.org.rbac, &after.org.rbac));

        let mut next = after.org.clone();
        next.rbac_mut()
            .assignments
            .remove("mail recipients-recipient management");
        state.commit(&guard, &after, next).await.unwrap();
        let changed = state.snapshot();
        assert!(!Arc::ptr_eq(&after.authorizer, &changed.authorizer));

        // Made its own but left equal: the compiled RBAC is kept.
        let mut next = changed.org.clone();
        next.rbac_mut();
        state.commit(&guard, &changed, next).await.unwrap();
        assert!(Arc::ptr_eq(
            &changed.authorizer,
            &state.snapshot().authorizer
        ));
    }
}
