//! The admin audit log (R-AUDIT-1, R-AUDIT-2): one JSON line per management
//! request, allowed or denied, with Exchange's field names.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod config;
pub mod files;
pub mod outbox;

pub use config::AdminAuditLogConfig;
pub use files::AuditPolicy;

/// Parameters whose values never reach the log.
const SECRET_PARAMETERS: [&str; 1] = ["Password"];

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditRecord {
    /// UTC time, RFC 3339.
    pub run_date: String,
    /// `DOMAIN\name` of the caller.
    pub caller: String,
    /// The caller's SID.
    pub caller_sid: String,
    /// The cmdlet.
    pub cmdlet_name: String,
    /// Parameter names and values (secrets redacted).
    pub cmdlet_parameters: BTreeMap<String, String>,
    /// The object acted on.
    pub object_modified: String,
    /// Whether the cmdlet completed.
    pub succeeded: bool,
    /// `Allowed` or `Denied` by RBAC; `Failed` when allowed but the cmdlet failed.
    pub decision: String,
    /// The error, if any.
    pub error: String,
    /// The resource forest that served the request.
    pub originating_server: String,
    /// The organization revision a change produced.
    pub revision: Option<u64>,
}

/// Redacts secret parameter values.
pub fn redact(name: &str, value: String) -> String {
    if SECRET_PARAMETERS
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
    {
        "********".to_owned()
    } else {
        value
    }
}

/// An append-only JSON-lines file, written by one thread of its own with
/// group commit: the records that arrive while a flush runs are written
/// together and made durable by one `fdatasync`, so concurrent requests share
/// a flush and no async worker ever waits on the disk. A clone queues to
/// the same writer (the committer queues change records with one).
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    writer: std::sync::mpsc::Sender<Pending>,
    age_limit: files::AgeLimit,
}

/// What the writer thread holds: the file being written and the limits.
struct Writer {
    path: PathBuf,
    file: std::fs::File,
    policy: AuditPolicy,
    age_limit: files::AgeLimit,
}

/// A line waiting to be written, and who waits for it to be durable.
type Pending = (Vec<u8>, tokio::sync::oneshot::Sender<Result<(), String>>);

/// At most this many records are made durable by one flush.
const MAX_GROUP: usize = 1024;

impl AuditLog {
    /// Opens (or creates) the log at `path` with the default limits.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Self::open_with(path, AuditPolicy::default())
    }

    /// Opens (or creates) the log at `path` and starts its writer thread,
    /// which ends when the log is dropped. Closed files are kept until
    /// [`Self::set_age_limit`] gives the organization's AdminAuditLogAgeLimit.
    pub fn open_with(path: &Path, policy: AuditPolicy) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            crossforest_shared::private::dir(dir)?;
        }
        let file = open_for_append(path)?;
        let (writer, pending) = std::sync::mpsc::channel();
        let age_limit = files::AgeLimit::default();
        let state = Writer {
            path: path.to_owned(),
            file,
            policy,
            age_limit: age_limit.clone(),
        };
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_groups(state, &pending))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            age_limit,
        })
    }

    /// Sets the age past which closed files are deleted (the organization's
    /// AdminAuditLogAgeLimit, R-AUDIT-2); when it changes, deletes the
    /// closed files already past it.
    pub fn set_age_limit(&self, limit: std::time::Duration) {
        if self.age_limit.set(limit) {
            if let Err(e) = files::prune(&self.path, &self.age_limit) {
                tracing::error!(error = %e, "deleting admin audit log files past the age limit failed");
            }
        }
    }

    /// Appends one record; returns once it is on disk.
    pub async fn append(&self, record: &AuditRecord) -> std::io::Result<()> {
        self.enqueue(record)?.durable().await
    }

    /// Queues one record for the writer without waiting: records are written
    /// in the order they are queued (the commit stage queues a change's
    /// record while it still holds the writer lock, so a node's change
    /// records are in revision order). [`Written::durable`] waits for it.
    pub fn enqueue(&self, record: &AuditRecord) -> std::io::Result<Written> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let (done, written) = tokio::sync::oneshot::channel();
        self.writer.send((line, done)).map_err(|_| stopped())?;
        Ok(Written(written))
    }

    /// Every record, newest first, across the file being written and the
    /// closed ones; lines that are not records are skipped. Reads a chunk at
    /// a time: a search that stops early reads only what it needed.
    pub fn newest_first(&self) -> std::io::Result<impl Iterator<Item = AuditRecord> + use<>> {
        let mut paths = vec![self.path.clone()];
        paths.extend(files::closed(&self.path)?.into_iter().rev().map(|(_, p)| p));
        Ok(paths
            .into_iter()
            .filter_map(|p| match files::LinesBackwards::open(&p) {
                Ok(lines) => Some(lines),
                // A closed file pruned meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    tracing::error!(file = %p.display(), error = %e, "cannot read an admin audit log file");
                    None
                }
            })
            .flatten()
            .filter_map(|line| line.ok())
            .filter_map(|line| serde_json::from_slice::<AuditRecord>(&line).ok()))
    }

    /// The revision of the last change record in the log (a record with a
    /// revision): how far the log got before the node stopped. `None` when
    /// it holds no change record.
    pub fn last_revision(&self) -> std::io::Result<Option<u64>> {
        Ok(self.newest_first()?.find_map(|r| r.revision))
    }

    /// Every record, oldest first (for tests and small logs: it holds them all).
    pub fn read_all(&self) -> std::io::Result<Vec<AuditRecord>> {
        let mut all: Vec<AuditRecord> = self.newest_first()?.collect();
        all.reverse();
        Ok(all)
    }
}

/// A queued record: [`Self::durable`] waits until the writer made it durable.
#[derive(Debug)]
pub struct Written(tokio::sync::oneshot::Receiver<Result<(), String>>);

impl Written {
    /// Waits until the record is on disk.
    pub async fn durable(self) -> std::io::Result<()> {
        self.0
            .await
            .map_err(|_| stopped())?
            .map_err(std::io::Error::other)
    }
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the audit log writer has stopped")
}

/// Opens the log for appending (0600: it names callers and what they
/// changed), cutting off a last line that a crash left half-written: a
/// record is only ever reported written once whole and durable, and a change
/// whose record was cut is replayed from the audit outbox.
pub(crate) fn open_for_append(path: &Path) -> std::io::Result<std::fs::File> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = crossforest_shared::private::open_options()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    crossforest_shared::private::file(path)?;
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            // Find the end of the last whole line and cut after it.
            const CHUNK: u64 = 64 * 1024;
            let mut end = len;
            let mut keep = 0;
            while end > 0 {
                let start = end.saturating_sub(CHUNK);
                let mut chunk = vec![0; usize::try_from(end - start).unwrap_or(0)];
                file.seek(SeekFrom::Start(start))?;
                file.read_exact(&mut chunk)?;
                if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
                    keep = start + i as u64 + 1;
                    break;
                }
                end = start;
            }
            tracing::warn!(path = %path.display(), cut = len - keep, "the audit log ended in a half-written record; cut it off");
            file.set_len(keep)?;
            file.sync_data()?;
        }
    }
    Ok(file)
}

/// The writer thread: takes every record waiting, writes them in one go,
/// flushes once, and tells each caller the outcome; then, past the size
/// limit, closes the file and starts a new one.
fn write_groups(mut state: Writer, pending: &std::sync::mpsc::Receiver<Pending>) {
    while let Ok(first) = pending.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match pending.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let bytes = group
            .iter()
            .map(|(line, _)| line.as_slice())
            .collect::<Vec<_>>()
            .concat();
        let file = &mut state.file;
        let outcome = file
            .write_all(&bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("writing the admin audit log failed: {e}"));
        for (_, done) in group {
            let _ = done.send(outcome.clone());
        }
        let full = state
            .file
            .metadata()
            .is_ok_and(|m| m.len() >= state.policy.max_file_bytes());
        if full {
            match files::rotate(&state.path, &state.age_limit) {
                Ok(file) => state.file = file,
                // Keep writing the full file rather than lose a record.
                Err(e) => tracing::error!(error = %e, "closing a full admin audit log file failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize) -> AuditRecord {
        AuditRecord {
            run_date: "2026-11-25T00:00:00Z".into(),
            caller: "contoso\\dana".into(),
            caller_sid: "S-1-5-21-1-2-3-1105".into(),
            cmdlet_name: "Set-Mailbox".into(),
            cmdlet_parameters: BTreeMap::from([("Identity".into(), format!("mbx{n}"))]),
            object_modified: format!("mbx{n}"),
            succeeded: true,
            decision: "Allowed".into(),
            error: String::new(),
            originating_server: "contoso.com".into(),
            revision: Some(n as u64),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_are_all_written_whole_and_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
        let appends = (0..300).map(|n| {
            let log = log.clone();
            tokio::spawn(async move { log.append(&record(n)).await })
        });
        for append in futures::future::join_all(appends).await {
            append.unwrap().unwrap();
        }
        let mut revisions: Vec<u64> = log
            .read_all()
            .unwrap()
            .iter()
            .filter_map(|r| r.revision)
            .collect();
        revisions.sort_unstable();
        assert_eq!(revisions, (0..300).collect::<Vec<u64>>());
        // A log opened again appends after what is there.
        drop(log);
        let again = AuditLog::open(&path).unwrap();
        again.append(&record(300)).await.unwrap();
        assert_eq!(again.read_all().unwrap().len(), 301);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_file_is_closed_and_every_record_is_still_found_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let policy = AuditPolicy {
            max_file_mib: 1,
            age_limit_days: None,
        };
        let log = AuditLog::open_with(&path, policy).unwrap();
        let big = "v".repeat(4000);
        let total = 700;
        for n in 0..total {
            let mut r = record(n);
            r.cmdlet_parameters.insert("Office".into(), big.clone());
            if n == total - 1 {
                // The last record is no change: the last change is the one before.
                r.revision = None;
            }
            log.append(&r).await.unwrap();
        }
        let closed = files::closed(&path).unwrap();
        assert!(closed.len() >= 2, "{closed:?}");
        let newest: Vec<String> = log
            .newest_first()
            .unwrap()
            .map(|r| r.object_modified)
            .collect();
        let expected: Vec<String> = (0..total).rev().map(|n| format!("mbx{n}")).collect();
        assert_eq!(newest, expected);
        assert_eq!(log.last_revision().unwrap(), Some(total as u64 - 2));
        // Opened again, it appends to the file being written.
        drop(log);
        let again = AuditLog::open_with(&path, policy).unwrap();
        again.append(&record(total)).await.unwrap();
        assert_eq!(again.last_revision().unwrap(), Some(total as u64));
        assert_eq!(again.read_all().unwrap().len(), total + 1);
    }
}
