//! The audit outbox (R-AUDIT-3): the admin audit record of a change is
//! written into the organization's store in the change's own transaction, as
//! a row keyed `<node id>/<revision>`; the node deletes the row with a later
//! commit once its audit log holds the record durably, and after a crash
//! replays the rows its log is missing. See `request::commit`.

use std::path::Path;

use crossforest_shared::store::decode;

use super::{AuditLog, AuditRecord};
use crate::store::rows::AUDIT;

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
                crossforest_shared::private::file(&path)?;
                id
            }
            Err(e) => return Err(e),
        };
        Ok(Self {
            node_id,
            delivered: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The outbox row key of this node's change at `revision`.
    pub(crate) fn key(&self, revision: u64) -> String {
        format!("{}/{revision:020}", self.node_id)
    }

    /// Keys of rows the log holds durably, to delete with the next commit.
    pub(crate) fn delivered(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
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
