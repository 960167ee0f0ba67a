//! The admin audit log (R-AUDIT-1, R-AUDIT-2): one JSON line per management
//! request, allowed or denied, with Exchange's field names.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
/// a flush and no async worker ever waits on the disk.
#[derive(Debug)]
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
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
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
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let (done, written) = tokio::sync::oneshot::channel();
        let stopped = || std::io::Error::other("the audit log writer has stopped");
        self.writer.send((line, done)).map_err(|_| stopped())?;
        written
            .await
            .map_err(|_| stopped())?
            .map_err(std::io::Error::other)
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
