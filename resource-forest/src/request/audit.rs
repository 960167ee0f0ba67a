//! The audit stage: the admin audit record of every request's outcome
//! (R-AUDIT-1), of every refused sign-in (R-AUDIT-2), and the replay, after
//! a crash, of change records that reached the store's audit outbox but not
//! the log (R-AUDIT-3).

use std::collections::BTreeMap;

use crossforest_shared::limits::{
    ECHO_ERROR, ECHO_PARAMETERS, ECHO_VALUE, MAX_CMDLET_NAME, MAX_PARAMETER_NAME,
};
use crossforest_shared::text::bounded;

use crate::audit::{redact, AuditRecord};
use crate::cmdlets::{CmdletError, Value};
use crate::node::ResourceForest;

/// How a request ended, as the audit log's `Decision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by RBAC and completed.
    Allowed,
    /// Denied by RBAC or by a delegation rule.
    Denied,
    /// Allowed, but the cmdlet failed.
    Failed,
    /// The caller could not be authenticated.
    Refused,
}

impl Decision {
    /// The decision of a request's result.
    pub fn of<T>(result: &Result<T, CmdletError>) -> Self {
        match result {
            Ok(_) => Self::Allowed,
            Err(CmdletError::Denied(_) | CmdletError::Forbidden(_)) => Self::Denied,
            Err(_) => Self::Failed,
        }
    }

    /// As the log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "Allowed",
            Self::Denied => "Denied",
            Self::Failed => "Failed",
            Self::Refused => "Refused",
        }
    }
}

/// Parameters as the audit log records them: positional values under
/// `Identity`, secrets redacted, each name and value a bounded prefix of what
/// the caller sent (marked where it was cut), and at most
/// [`ECHO_PARAMETERS`] bytes of values in all.
pub fn parameters(parameters: &[(String, Value)]) -> BTreeMap<String, String> {
    let mut budget = ECHO_PARAMETERS;
    let mut recorded = BTreeMap::new();
    for (n, v) in parameters {
        let name = if n.is_empty() {
            "Identity".to_owned()
        } else {
            bounded(n, MAX_PARAMETER_NAME).into_owned()
        };
        let value = redact(n, v.display());
        let max = ECHO_VALUE.min(budget);
        budget -= value.len().min(max);
        recorded.insert(name, bounded(&value, max).into_owned());
    }
    recorded
}

/// What one record says about a request; the node adds when and where.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `DOMAIN\name` of the caller.
    pub caller: String,
    /// The caller's SID.
    pub caller_sid: String,
    /// The cmdlet (or setup operation).
    pub cmdlet: String,
    /// Its parameters, as [`parameters`] gives them.
    pub parameters: BTreeMap<String, String>,
}

impl ResourceForest {
    /// The record of `entry` with `decision`: the object acted on, the
    /// error, and the revision a change produced (`None` for anything that
    /// changed nothing).
    pub fn audit_record(
        &self,
        entry: &Entry,
        decision: Decision,
        object_modified: Option<String>,
        error: Option<&dyn std::fmt::Display>,
        revision: Option<u64>,
    ) -> AuditRecord {
        AuditRecord {
            run_date: now_rfc3339(),
            caller: entry.caller.clone(),
            caller_sid: entry.caller_sid.clone(),
            cmdlet_name: bounded(&entry.cmdlet, MAX_CMDLET_NAME).into_owned(),
            cmdlet_parameters: entry.parameters.clone(),
            object_modified: object_modified.unwrap_or_default(),
            succeeded: decision == Decision::Allowed,
            decision: decision.as_str().to_owned(),
            error: error
                .map(|e| bounded(&e.to_string(), ECHO_ERROR).into_owned())
                .unwrap_or_default(),
            originating_server: self.config().forest.to_string(),
            revision,
        }
    }

    /// Writes `record`, waiting until it is durable; a failure is logged
    /// (the request's answer does not change).
    pub async fn write_audit(&self, record: &AuditRecord) {
        if let Err(e) = self.audit().append(record).await {
            tracing::error!(error = %e, "writing the admin audit log failed");
        }
    }

    /// Audits a refused sign-in (R-AUDIT-2): the caller as far as its
    /// verified certificate names it, and why. Written in the background:
    /// the refusal does not wait for the disk.
    pub fn audit_refused_sign_in(
        self: &std::sync::Arc<Self>,
        forest: &crossforest_shared::ForestName,
        sid: &crossforest_shared::Sid,
        reason: &dyn std::fmt::Display,
    ) {
        let entry = Entry {
            caller: format!("{}\\{sid}", forest.netbios()),
            caller_sid: sid.to_string(),
            cmdlet: SIGN_IN.to_owned(),
            parameters: BTreeMap::new(),
        };
        let record = self.audit_record(&entry, Decision::Refused, None, Some(reason), None);
        let node = std::sync::Arc::clone(self);
        tokio::spawn(async move { node.write_audit(&record).await });
    }
}

/// The `CmdletName` of a refused sign-in's record.
pub const SIGN_IN: &str = "Sign-In";

/// Now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_parameters_are_bounded_each_and_in_all_and_marked_where_cut() {
        let long = |c: &str| Value::Text(c.repeat(4096));
        let given: Vec<(String, Value)> =
            (0..60).map(|i| (format!("P{i:02}"), long("v"))).collect();
        let recorded = parameters(&given);
        assert_eq!(recorded.len(), 60);
        let first = &recorded["P00"];
        assert_eq!(
            first,
            &format!(
                "{}…[cut: {} more bytes]",
                "v".repeat(ECHO_VALUE),
                4096 - ECHO_VALUE
            )
        );
        let kept: usize = recorded
            .values()
            .map(|v| v.split('…').next().unwrap_or_default().len())
            .sum();
        assert_eq!(kept, ECHO_PARAMETERS);
        assert!(recorded.values().all(|v| v.ends_with(" more bytes]")));
        let password = vec![("Password".to_owned(), long("p"))];
        assert_eq!(parameters(&password)["Password"], "********");
    }
}
