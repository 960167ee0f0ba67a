//! `Search-AdminAuditLog` (R-AUDIT-2): the admin audit log filtered by
//! cmdlets, parameters, dates, objects, callers and success, newest first.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::parameters::{
    p,
    Kind::{Bool, List, Text},
};
use super::registry::{Cmdlet, Handler};
use super::{invalid, listed, ps_bool, record, Args, CmdletError, Context, Outcome};
use crate::audit::AuditRecord;
use crate::rbac::{Access, Target};

/// The admin audit log cmdlet.
pub const CMDLETS: &[Cmdlet] = &[Cmdlet::new(
    "Search-AdminAuditLog",
    "Searches the admin audit log of allowed and denied requests.",
    Handler::Sync(search_admin_audit_log),
    &[
        "RunDate",
        "Caller",
        "CmdletName",
        "ObjectModified",
        "Succeeded",
    ],
)
.with(&[
    p("Cmdlets", List),
    p("Parameters", List),
    p("StartDate", Text),
    p("EndDate", Text),
    p("ObjectIds", List),
    p("UserIds", List),
    p("IsSuccess", Bool),
    p("ResultSize", Text),
])];

/// The most records one search returns, as Exchange's (`-ResultSize
/// Unlimited` included): the log is read newest first and the search stops
/// there, so its memory does not grow with the log.
pub const MAX_RESULT_SIZE: usize = 250_000;

/// `2026-11-25`, or a full RFC 3339 time.
fn date(parameter: &str, text: &str, end_of_day: bool) -> Result<OffsetDateTime, CmdletError> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let day = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        invalid(
            parameter,
            format!("`{text}` isn't a date: use 2026-11-25 or 2026-11-25T10:00:00Z"),
        )
    })?;
    let at = if end_of_day {
        time::Time::from_hms(23, 59, 59).unwrap_or(time::Time::MIDNIGHT)
    } else {
        time::Time::MIDNIGHT
    };
    Ok(day.with_time(at).assume_utc())
}

fn any_match(wanted: &[String], value: &str) -> bool {
    wanted.is_empty()
        || wanted
            .iter()
            .any(|w| crate::rbac::opath::wildcard_match(w, value))
}

/// `Search-AdminAuditLog [-Cmdlets …] [-Parameters …] [-StartDate] [-EndDate]
/// [-ObjectIds …] [-UserIds …] [-IsSuccess] [-ResultSize]`.
pub fn search_admin_audit_log(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let start = args
        .text("StartDate")
        .map(|t| date("StartDate", t, false))
        .transpose()?;
    let end = args
        .text("EndDate")
        .map(|t| date("EndDate", t, true))
        .transpose()?;
    let limit = super::result_size(args)?.min(MAX_RESULT_SIZE);
    let cmdlets = args.list("Cmdlets").unwrap_or_default();
    let parameters = args.list("Parameters").unwrap_or_default();
    let objects = args.list("ObjectIds").unwrap_or_default();
    let users = args.list("UserIds").unwrap_or_default();
    let success = args.boolean("IsSuccess");
    let records = ctx.audit.newest_first().map_err(|e| {
        tracing::error!(error = %e, "reading the admin audit log failed");
        CmdletError::Unavailable("the admin audit log could not be read".into())
    })?;
    let keep = |r: &AuditRecord| -> bool {
        let when = OffsetDateTime::parse(&r.run_date, &Rfc3339).ok();
        any_match(cmdlets, &r.cmdlet_name)
            && (parameters.is_empty()
                || parameters.iter().all(|p| {
                    r.cmdlet_parameters
                        .keys()
                        .any(|k| k.eq_ignore_ascii_case(p))
                }))
            && any_match(objects, &r.object_modified)
            && (users.is_empty() || any_match(users, &r.caller) || any_match(users, &r.caller_sid))
            && success.is_none_or(|s| r.succeeded == s)
            && start.is_none_or(|s| when.is_some_and(|w| w >= s))
            && end.is_none_or(|e| when.is_some_and(|w| w <= e))
    };
    Ok(listed(
        records
            .filter(|r| keep(r))
            .take(limit)
            .map(|r| {
                record([
                    ("RunDate", r.run_date.clone()),
                    ("Caller", r.caller.clone()),
                    ("CmdletName", r.cmdlet_name.clone()),
                    (
                        "CmdletParameters",
                        r.cmdlet_parameters
                            .iter()
                            .map(|(k, v)| format!("-{k} {v}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    ("ObjectModified", r.object_modified.clone()),
                    ("Succeeded", ps_bool(r.succeeded)),
                    ("Decision", r.decision.clone()),
                    ("Error", r.error.clone()),
                    ("OriginatingServer", r.originating_server.clone()),
                ])
            })
            .collect(),
    ))
}
