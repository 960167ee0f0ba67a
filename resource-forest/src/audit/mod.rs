//! The admin audit log (R-AUDIT-1, R-AUDIT-2): one JSON line per management
//! request, allowed or denied, with Exchange's field names.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod outbox;

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
}

/// A line waiting to be written, and who waits for it to be durable.
type Pending = (Vec<u8>, tokio::sync::oneshot::Sender<Result<(), String>>);

/// At most this many records are made durable by one flush.
const MAX_GROUP: usize = 1024;

impl AuditLog {
    /// Opens (or creates) the log at `path` and starts its writer thread,
    /// which ends when the log is dropped.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_for_append(path)?;
        let (writer, pending) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_groups(file, &pending))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
        })
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

    /// The revision of the last change record in the log (a record with a
    /// revision), read from the end: how far the log got before the node
    /// stopped. `None` when it holds no change record.
    pub fn last_revision(&self) -> std::io::Result<Option<u64>> {
        use std::io::{Read, Seek, SeekFrom};
        const CHUNK: u64 = 64 * 1024;
        let mut file = std::fs::File::open(&self.path)?;
        let mut end = file.metadata()?.len();
        // Bytes of a line that began before the chunk read last.
        let mut carry: Vec<u8> = Vec::new();
        while end > 0 {
            let start = end.saturating_sub(CHUNK);
            let mut chunk = vec![0; usize::try_from(end - start).unwrap_or(0)];
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut chunk)?;
            chunk.extend_from_slice(&carry);
            let mut lines: Vec<&[u8]> = chunk.split(|b| *b == b'\n').collect();
            // The first piece may be cut: keep it for the next chunk.
            let first = if start > 0 {
                lines.remove(0).to_vec()
            } else {
                Vec::new()
            };
            for line in lines.iter().rev() {
                if let Ok(record) = serde_json::from_slice::<AuditRecord>(line) {
                    if let Some(revision) = record.revision {
                        return Ok(Some(revision));
                    }
                }
            }
            carry = first;
            end = start;
        }
        Ok(None)
    }

    /// Every record, oldest first.
    pub fn read_all(&self) -> std::io::Result<Vec<AuditRecord>> {
        let text = std::fs::read_to_string(&self.path)?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(std::io::Error::other))
            .collect()
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
fn open_for_append(path: &Path) -> std::io::Result<std::fs::File> {
    use std::io::{Read, Seek, SeekFrom};
    let mut options = std::fs::OpenOptions::new();
    options.create(true).read(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
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
/// flushes once, and tells each caller the outcome.
fn write_groups(mut file: std::fs::File, pending: &std::sync::mpsc::Receiver<Pending>) {
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
        let outcome = file
            .write_all(&bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("writing the admin audit log failed: {e}"));
        for (_, done) in group {
            let _ = done.send(outcome.clone());
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
}
