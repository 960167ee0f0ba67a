//! `Get-AdminAuditLogConfig` and `Set-AdminAuditLogConfig` (R-AUDIT-2): the
//! organization's admin audit log configuration, changed like any other
//! organization state (authorised, committed whole with its record). What
//! the configuration decides is in [`crate::audit::config`].

use super::parameters::{
    p,
    Kind::{Bool, List, Text},
    Param,
};
use super::registry::{Cmdlet, ConfirmImpact::Medium, Handler};
use super::Record;
use super::{changed, invalid, listed, ps_bool, record, Args, CmdletError, Context, Outcome};
use crate::audit::config::{AgeLimit, LogLevel, SET_ADMIN_AUDIT_LOG_CONFIG};
use crate::audit::AdminAuditLogConfig;
use crate::rbac::{Access, Authorizer, Request, Subject, Target};

/// The admin audit log configuration cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "Get-AdminAuditLogConfig",
        "Shows which requests the admin audit log records and how long it keeps them.",
        Handler::Sync(get_config),
        VIEW,
    )
    .listed(),
    Cmdlet::new(
        SET_ADMIN_AUDIT_LOG_CONFIG,
        "Changes which requests the admin audit log records and how long it keeps them.",
        Handler::Sync(set_config),
        VIEW,
    )
    .listed()
    .with(SET_PARAMETERS)
    .changes(Medium),
];

const SET_PARAMETERS: &[Param] = &[
    p("AdminAuditLogEnabled", Bool),
    p("AdminAuditLogCmdlets", List),
    p("AdminAuditLogExcludedCmdlets", List),
    p("AdminAuditLogParameters", List),
    p("AdminAuditLogAgeLimit", Text),
    p("LogLevel", Text),
    p("TestCmdletLoggingEnabled", Bool),
];

/// EMS shows these as the list view of the settings object.
const VIEW: &[&str] = &[
    "AdminAuditLogEnabled",
    "LogLevel",
    "TestCmdletLoggingEnabled",
    "AdminAuditLogCmdlets",
    "AdminAuditLogParameters",
    "AdminAuditLogExcludedCmdlets",
    "AdminAuditLogAgeLimit",
];

/// The one settings object's name, as Exchange names it.
const NAME: &str = "Admin Audit Log Settings";

fn config_record(c: &AdminAuditLogConfig) -> Record {
    let list = |l: &[String]| l.join(", ");
    record([
        ("Name", NAME.to_owned()),
        ("AdminAuditLogEnabled", ps_bool(c.admin_audit_log_enabled)),
        ("LogLevel", c.log_level.to_string()),
        (
            "TestCmdletLoggingEnabled",
            ps_bool(c.test_cmdlet_logging_enabled),
        ),
        ("AdminAuditLogCmdlets", list(&c.admin_audit_log_cmdlets)),
        (
            "AdminAuditLogParameters",
            list(&c.admin_audit_log_parameters),
        ),
        (
            "AdminAuditLogExcludedCmdlets",
            list(&c.admin_audit_log_excluded_cmdlets),
        ),
        (
            "AdminAuditLogAgeLimit",
            c.admin_audit_log_age_limit.to_string(),
        ),
    ])
}

/// `Get-AdminAuditLogConfig`.
pub fn get_config(ctx: &Context<'_>, _args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    Ok(listed(vec![config_record(&ctx.org.admin_audit_log_config)]))
}

/// Authorises `subject` to change the whole configuration, as an RBAC
/// import that carries another one does (the roles that grant
/// `Set-AdminAuditLogConfig` with every parameter).
pub fn authorize_set(authorizer: &Authorizer, subject: &Subject<'_>) -> Result<(), CmdletError> {
    let parameters: Vec<String> = SET_PARAMETERS.iter().map(|p| p.name.to_owned()).collect();
    authorizer
        .authorize(
            subject,
            &Request {
                cmdlet: SET_ADMIN_AUDIT_LOG_CONFIG,
                parameters: &parameters,
                target: Target::Config,
                access: Access::Write,
            },
        )
        .map_err(CmdletError::Denied)
}

/// A list of cmdlet or parameter names: empty strings dropped (`""` clears
/// the list), each a name or wildcard pattern.
fn names(
    args: &Args,
    parameter: &str,
    allow_empty: bool,
) -> Result<Option<Vec<String>>, CmdletError> {
    let Some(given) = args.list(parameter) else {
        return Ok(None);
    };
    let kept: Vec<String> = given
        .iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    if let Some(bad) = kept.iter().find(|n| {
        !n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*')
    }) {
        return Err(invalid(
            parameter,
            format!("takes names or wildcard patterns such as Set-* ; `{bad}` isn't one"),
        ));
    }
    if kept.is_empty() && !allow_empty {
        return Err(invalid(
            parameter,
            "needs at least one name or pattern; use * for every one",
        ));
    }
    Ok(Some(kept))
}

/// `Set-AdminAuditLogConfig`: every parameter given is applied, or none.
/// Always logged, whatever the configuration it sets (R-AUDIT-2).
pub fn set_config(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let mut next_config = ctx.org.admin_audit_log_config.clone();
    if let Some(enabled) = args.boolean("AdminAuditLogEnabled") {
        next_config.admin_audit_log_enabled = enabled;
    }
    if let Some(l) = names(args, "AdminAuditLogCmdlets", false)? {
        next_config.admin_audit_log_cmdlets = l;
    }
    if let Some(l) = names(args, "AdminAuditLogExcludedCmdlets", true)? {
        next_config.admin_audit_log_excluded_cmdlets = l;
    }
    if let Some(l) = names(args, "AdminAuditLogParameters", false)? {
        next_config.admin_audit_log_parameters = l;
    }
    if let Some(t) = args.text("AdminAuditLogAgeLimit") {
        next_config.admin_audit_log_age_limit =
            AgeLimit::parse(t).map_err(|why| invalid("AdminAuditLogAgeLimit", why))?;
    }
    if let Some(level) = args.text("LogLevel") {
        next_config.log_level = match level.to_ascii_lowercase().as_str() {
            "none" => LogLevel::None,
            "verbose" => {
                return Err(invalid(
                    "LogLevel",
                    "Verbose isn't offered: the admin audit log records each request's parameters, not the old and new values of the properties it changed; use None",
                ))
            }
            _ => return Err(invalid("LogLevel", format!("expects None or Verbose; got `{level}`"))),
        };
    }
    if let Some(enabled) = args.boolean("TestCmdletLoggingEnabled") {
        next_config.test_cmdlet_logging_enabled = enabled;
    }
    let records = vec![config_record(&next_config)];
    let mut next = ctx.org.clone();
    next.admin_audit_log_config = next_config;
    Ok(changed(next, NAME, records))
}
