//! The admin audit log's files: the one being written (`audit.jsonl`) and the
//! closed ones (`audit.jsonl.00000001`, …, numbered in the order they were
//! closed). A file past the size limit is closed and a new one started;
//! closed files older than the age limit (Exchange's AdminAuditLogAgeLimit)
//! are deleted. Records are read newest first, a chunk at a time from the
//! end of each file, so a search holds one chunk and what it returns, never
//! a whole file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// How much of a file is read at a time from its end.
const CHUNK: u64 = 64 * 1024;

/// The log's limits: `[audit]` in `node.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPolicy {
    /// The file being written is closed, and a new one started, once it
    /// reaches this size (MiB).
    #[serde(default = "default_max_file_mib")]
    pub max_file_mib: u64,
    /// No longer read: how long closed files are kept is the
    /// organization's AdminAuditLogAgeLimit (`Set-AdminAuditLogConfig`), one
    /// setting for every node. Kept so that a `node.toml` still setting it is
    /// refused with that reason rather than as an unknown key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_limit_days: Option<u64>,
}

fn default_max_file_mib() -> u64 {
    64
}

impl Default for AuditPolicy {
    fn default() -> Self {
        Self {
            max_file_mib: default_max_file_mib(),
            age_limit_days: None,
        }
    }
}

impl AuditPolicy {
    /// The size at which the file being written is closed, in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_mib.max(1).saturating_mul(1024 * 1024)
    }
}

/// The age past which closed files are deleted, shared by the log and its
/// writer thread: the organization's AdminAuditLogAgeLimit, in seconds;
/// zero (until the node sets it) keeps every file.
#[derive(Debug, Clone, Default)]
pub struct AgeLimit(Arc<AtomicU64>);

impl AgeLimit {
    /// Sets the limit; whether it changed.
    pub fn set(&self, limit: Duration) -> bool {
        self.0.swap(limit.as_secs(), Ordering::Relaxed) != limit.as_secs()
    }

    fn get(&self) -> Option<Duration> {
        let secs = self.0.load(Ordering::Relaxed);
        (secs > 0).then(|| Duration::from_secs(secs))
    }
}

/// The closed files of the log at `path`, `(number, path)`, oldest first.
pub fn closed(path: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{name}.");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        if let Ok(number) = rest.parse::<u64>() {
            found.push((number, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Closes the file being written at `path` (already flushed and synced):
/// renames it to the next closed file's name, makes the rename durable, and
/// deletes closed files past the age limit. Returns the new file to write.
pub fn rotate(path: &Path, age_limit: &AgeLimit) -> std::io::Result<File> {
    let next = closed(path)?.last().map_or(1, |(n, _)| n + 1);
    let mut target = path.as_os_str().to_owned();
    target.push(format!(".{next:08}"));
    std::fs::rename(path, &target)?;
    let file = super::open_for_append(path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    prune(path, age_limit)?;
    Ok(file)
}

/// Deletes the closed files whose last change is older than the age limit.
pub fn prune(path: &Path, age_limit: &AgeLimit) -> std::io::Result<usize> {
    let Some(limit) = age_limit.get() else {
        return Ok(0);
    };
    let now = SystemTime::now();
    let mut deleted = 0;
    for (_, file) in closed(path)? {
        let modified = std::fs::metadata(&file)?.modified()?;
        if now.duration_since(modified).is_ok_and(|age| age > limit) {
            std::fs::remove_file(&file)?;
            tracing::info!(file = %file.display(), "deleted an admin audit log file past the age limit");
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The lines of one file, last first, read a chunk at a time from its end.
#[derive(Debug)]
pub struct LinesBackwards {
    file: File,
    /// Where the part not read yet ends.
    end: u64,
    /// The start of a line that began before the part read last.
    carry: Vec<u8>,
    /// Whole lines of the part read last, in file order.
    lines: Vec<Vec<u8>>,
}

impl LinesBackwards {
    /// Reads `path` from its end.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = File::open(path)?;
        let end = file.metadata()?.len();
        Ok(Self {
            file,
            end,
            carry: Vec::new(),
            lines: Vec::new(),
        })
    }

    fn read_chunk(&mut self) -> std::io::Result<()> {
        let start = self.end.saturating_sub(CHUNK);
        let mut chunk = vec![0; usize::try_from(self.end - start).unwrap_or(0)];
        self.file.seek(SeekFrom::Start(start))?;
        self.file.read_exact(&mut chunk)?;
        chunk.append(&mut self.carry);
        let mut pieces: Vec<Vec<u8>> = chunk.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        if start > 0 {
            // The first piece may have begun before this chunk.
            self.carry = pieces.remove(0);
        }
        self.lines = pieces;
        self.end = start;
        Ok(())
    }
}

impl Iterator for LinesBackwards {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(line) = self.lines.pop() {
                if !line.is_empty() {
                    return Some(Ok(line));
                }
                continue;
            }
            if self.end == 0 {
                return (!self.carry.is_empty()).then(|| Ok(std::mem::take(&mut self.carry)));
            }
            if let Err(e) = self.read_chunk() {
                self.end = 0;
                self.carry.clear();
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_backwards_are_the_lines_reversed_whatever_the_chunking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        // Lines longer and shorter than a chunk, and an empty one.
        let lines: Vec<String> = (0..300)
            .map(|i| "x".repeat((i * 997) % (CHUNK as usize + 500)) + &i.to_string())
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n\n").unwrap();
        let read: Vec<String> = LinesBackwards::open(&path)
            .unwrap()
            .map(|l| String::from_utf8(l.unwrap()).unwrap())
            .collect();
        let mut expected = lines.clone();
        expected.reverse();
        assert_eq!(read, expected);
    }

    #[test]
    fn closed_files_are_numbered_in_order_and_pruned_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "a\n").unwrap();
        let keep_all = AgeLimit::default();
        drop(rotate(&path, &keep_all).unwrap());
        std::fs::write(&path, "b\n").unwrap();
        drop(rotate(&path, &keep_all).unwrap());
        let found = closed(&path).unwrap();
        assert_eq!(found.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(std::fs::read_to_string(&found[0].1).unwrap(), "a\n");
        // Nothing is old enough to go, with or without an age limit.
        let ninety_days = AgeLimit::default();
        assert!(ninety_days.set(Duration::from_secs(90 * 86_400)));
        assert!(!ninety_days.set(Duration::from_secs(90 * 86_400)));
        assert_eq!(prune(&path, &ninety_days).unwrap(), 0);
        assert_eq!(closed(&path).unwrap().len(), 2);
    }
}
