//! The organization's admin audit log configuration, as
//! `Get-/Set-AdminAuditLogConfig` show and change it (R-AUDIT-2), and the
//! rule that decides which requests are logged.
//!
//! The rule (the README's "Where crossforest differs from Exchange"):
//! * always logged, whatever the configuration: every denial, every refused
//!   sign-in, every change (a change and its record are one, R-AUDIT-3) and
//!   every `Set-AdminAuditLogConfig`;
//! * never logged when allowed: cmdlets that only read (`Get-*`,
//!   `Search-*`), as Exchange; `Test-*` only with TestCmdletLoggingEnabled;
//! * everything else (a write that failed, changed nothing or was a
//!   what-if) as the configuration selects it: AdminAuditLogEnabled,
//!   AdminAuditLogCmdlets, AdminAuditLogExcludedCmdlets and
//!   AdminAuditLogParameters.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rbac::opath::wildcard_match;

/// The cmdlet that changes the configuration: always logged.
pub const SET_ADMIN_AUDIT_LOG_CONFIG: &str = "Set-AdminAuditLogConfig";

/// Exchange's default AdminAuditLogAgeLimit: 90 days.
pub const DEFAULT_AGE_LIMIT_DAYS: u64 = 90;

/// The longest AdminAuditLogAgeLimit accepted: a hundred years.
const MAX_AGE_LIMIT_DAYS: u64 = 36_500;

/// `None` or `Verbose`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    /// The record of each request.
    #[default]
    None,
    /// With ModifiedProperties (old and new values); not offered yet: the
    /// record carries no property values.
    Verbose,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "None",
            Self::Verbose => "Verbose",
        })
    }
}

/// How long closed audit log files are kept, as a .NET TimeSpan
/// (`90.00:00:00`): whole seconds, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgeLimit(u64);

impl Default for AgeLimit {
    fn default() -> Self {
        Self(DEFAULT_AGE_LIMIT_DAYS * 86_400)
    }
}

impl AgeLimit {
    /// The limit as a duration.
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }

    /// Parses `d.hh:mm:ss`, `hh:mm:ss` or a number of days; the error says
    /// what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "expects a time span such as 90.00:00:00 (days.hours:minutes:seconds); got `{text}`"
            )
        };
        let number = |s: &str, max: u64| s.parse::<u64>().ok().filter(|n| *n <= max);
        let t = text.trim();
        let seconds = match t.split_once('.') {
            None if !t.contains(':') => number(t, MAX_AGE_LIMIT_DAYS).map(|d| d * 86_400),
            None => clock(t, &number),
            Some((days, rest)) => number(days, MAX_AGE_LIMIT_DAYS)
                .and_then(|d| clock(rest, &number).map(|s| d * 86_400 + s)),
        }
        .ok_or_else(bad)?;
        if seconds == 0 {
            return Err(
                "00:00:00 would delete the whole log (Exchange's meaning); give a positive limit"
                    .into(),
            );
        }
        if seconds > MAX_AGE_LIMIT_DAYS * 86_400 {
            return Err(format!("is at most {MAX_AGE_LIMIT_DAYS}.00:00:00"));
        }
        Ok(Self(seconds))
    }
}

/// `hh:mm:ss` in seconds.
fn clock(text: &str, number: &dyn Fn(&str, u64) -> Option<u64>) -> Option<u64> {
    let mut parts = text.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some(number(h, 23)? * 3600 + number(m, 59)? * 60 + number(s, 59)?)
}

impl fmt::Display for AgeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, rest) = (self.0 / 86_400, self.0 % 86_400);
        write!(
            f,
            "{days}.{:02}:{:02}:{:02}",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        )
    }
}

/// The organization's admin audit log configuration (Exchange's
/// AdminAuditLogConfig), part of the organization's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminAuditLogConfig {
    /// Whether requests the configuration selects are logged.
    pub admin_audit_log_enabled: bool,
    /// Cmdlets logged (wildcards), `*` by default.
    pub admin_audit_log_cmdlets: Vec<String>,
    /// Cmdlets not logged (wildcards), none by default.
    pub admin_audit_log_excluded_cmdlets: Vec<String>,
    /// A cmdlet is logged when it uses one of these parameters (wildcards),
    /// `*` by default.
    pub admin_audit_log_parameters: Vec<String>,
    /// Closed log files older than this are deleted.
    pub admin_audit_log_age_limit: AgeLimit,
    /// `None` or `Verbose`.
    pub log_level: LogLevel,
    /// Whether allowed `Test-*` cmdlets are logged.
    pub test_cmdlet_logging_enabled: bool,
}

impl Default for AdminAuditLogConfig {
    fn default() -> Self {
        Self {
            admin_audit_log_enabled: true,
            admin_audit_log_cmdlets: vec!["*".into()],
            admin_audit_log_excluded_cmdlets: Vec::new(),
            admin_audit_log_parameters: vec!["*".into()],
            admin_audit_log_age_limit: AgeLimit::default(),
            log_level: LogLevel::None,
            test_cmdlet_logging_enabled: false,
        }
    }
}

/// What a request did, as far as the logging rule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    /// It committed a change (R-AUDIT-3), was denied, or was a refused
    /// sign-in: always logged.
    Always,
    /// An allowed cmdlet that only reads.
    Read,
    /// Anything else: a write that failed, changed nothing or was a what-if.
    Selected,
}

impl AdminAuditLogConfig {
    /// Whether the request of `cmdlet` with `parameters`, which did `what`,
    /// is written to the log.
    pub fn logs(&self, what: Logged, cmdlet: &str, parameters: &[String]) -> bool {
        if what == Logged::Always || cmdlet.eq_ignore_ascii_case(SET_ADMIN_AUDIT_LOG_CONFIG) {
            return true;
        }
        let verb = cmdlet.split_once('-').map_or("", |(v, _)| v);
        if verb.eq_ignore_ascii_case("Test") {
            return self.test_cmdlet_logging_enabled && self.selects(cmdlet, parameters);
        }
        what == Logged::Selected && self.selects(cmdlet, parameters)
    }

    /// Whether AdminAuditLogEnabled, the cmdlet lists and the parameter list
    /// select `cmdlet` with `parameters`.
    fn selects(&self, cmdlet: &str, parameters: &[String]) -> bool {
        let any =
            |patterns: &[String], value: &str| patterns.iter().any(|p| wildcard_match(p, value));
        self.admin_audit_log_enabled
            && any(&self.admin_audit_log_cmdlets, cmdlet)
            && !any(&self.admin_audit_log_excluded_cmdlets, cmdlet)
            && (self.admin_audit_log_parameters.iter().any(|p| p == "*")
                || parameters
                    .iter()
                    .any(|p| any(&self.admin_audit_log_parameters, p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_limits_read_and_print_as_time_spans() {
        assert_eq!(AgeLimit::default().to_string(), "90.00:00:00");
        for (text, shown) in [
            ("30.00:00:00", "30.00:00:00"),
            ("7", "7.00:00:00"),
            ("12:30:00", "0.12:30:00"),
            ("1.02:03:04", "1.02:03:04"),
        ] {
            assert_eq!(AgeLimit::parse(text).unwrap().to_string(), shown);
        }
        for bad in ["", "00:00:00", "0", "1.24:00:00", "x", "1:2", "99999"] {
            assert!(AgeLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_rule_keeps_changes_and_denials_and_drops_reads() {
        let mut config = AdminAuditLogConfig::default();
        let none: &[String] = &[];
        assert!(config.logs(Logged::Always, "Get-Mailbox", none));
        assert!(!config.logs(Logged::Read, "Get-Mailbox", none));
        assert!(!config.logs(Logged::Read, "Test-CmdletPermission", none));
        assert!(config.logs(Logged::Selected, "Set-Mailbox", none));
        config.admin_audit_log_excluded_cmdlets = vec!["Set-*".into()];
        assert!(!config.logs(Logged::Selected, "Set-Mailbox", none));
        assert!(config.logs(Logged::Always, "Set-Mailbox", none));
        assert!(config.logs(Logged::Selected, SET_ADMIN_AUDIT_LOG_CONFIG, none));
        config.admin_audit_log_excluded_cmdlets.clear();
        config.admin_audit_log_parameters = vec!["Office".into()];
        assert!(!config.logs(Logged::Selected, "Set-Mailbox", &["Identity".into()]));
        assert!(config.logs(Logged::Selected, "Set-Mailbox", &["office".into()]));
        config.test_cmdlet_logging_enabled = true;
        config.admin_audit_log_parameters = vec!["*".into()];
        assert!(config.logs(Logged::Read, "Test-CmdletPermission", none));
        config.admin_audit_log_enabled = false;
        assert!(!config.logs(Logged::Selected, "Set-Mailbox", none));
        assert!(config.logs(Logged::Always, "Set-Mailbox", none));
    }
}
