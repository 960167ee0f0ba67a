//! The admin audit log (R-AUDIT-1, R-AUDIT-2): one JSON line per management
//! request, allowed or denied, with Exchange's field names.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// An append-only JSON-lines file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl AuditLog {
    /// Opens (or creates) the log at `path`.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    /// Appends one record and flushes it to disk.
    pub fn append(&self, record: &AuditRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&line)?;
        file.sync_data()
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
