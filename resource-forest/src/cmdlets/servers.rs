//! Servers and mailbox databases of the configuration partition (SPEC §7):
//! `Get-`/`Set-ExchangeServer`, `New-`/`Get-`/`Set-MailboxDatabase`. Writes
//! are authorised on the object, so server and database scopes apply
//! (R-SCOPE-1, R-SCOPE-3).

use super::parameters::{
    p, req,
    Kind::{Bool, Text},
    OPTIONAL_IDENTITY,
};
use super::registry::{Cmdlet, ConfirmImpact::Medium, Handler};
use super::{changed, invalid, listed, not_found, record, Args, CmdletError, Context, Outcome};
use super::{Field, Record};
use crate::org::servers::{ExchangeServer, MailboxDatabase, ServerState};
use crate::rbac::{Access, Target};

/// The server and mailbox database cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "Get-ExchangeServer",
        "Lists Exchange servers.",
        Handler::Sync(get_exchange_server),
        SERVER_VIEW,
    )
    .with(OPTIONAL_IDENTITY)
    .at("Identity"),
    Cmdlet::new(
        "Set-ExchangeServer",
        "Changes the settings of an Exchange server.",
        Handler::Sync(set_exchange_server),
        SERVER_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("ErrorReportingEnabled", Bool),
        p("CustomerFeedbackEnabled", Bool),
    ])
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "New-MailboxDatabase",
        "Creates a mailbox database on a server.",
        Handler::Sync(new_mailbox_database),
        DATABASE_VIEW,
    )
    .with(&[req("Name", Text), req("Server", Text)])
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-MailboxDatabase",
        "Lists mailbox databases.",
        Handler::Sync(get_mailbox_database),
        DATABASE_VIEW,
    )
    .with(OPTIONAL_IDENTITY)
    .at("Identity"),
    Cmdlet::new(
        "Set-MailboxDatabase",
        "Changes the quotas of a mailbox database.",
        Handler::Sync(set_mailbox_database),
        DATABASE_VIEW,
    )
    .with(&[
        req("Identity", Text),
        p("IssueWarningQuota", Text),
        p("ProhibitSendQuota", Text),
    ])
    .at("Identity")
    .changes(Medium),
];

/// EMS shows Name, Site, ServerRole, Edition, AdminDisplayVersion; there
/// are no editions or versions here.
const SERVER_VIEW: &[&str] = &["Name", "Site", "ServerRole"];
/// As EMS: Name, Server, Recovery, ReplicationType (there are no recovery
/// or replicated databases here).
const DATABASE_VIEW: &[&str] = &["Name", "Server", "Recovery", "ReplicationType"];

fn server_record(s: &ExchangeServer) -> Record {
    let (state, delegate) = match &s.state {
        ServerState::Provisioned { delegate_name, .. } => ("Provisioned", delegate_name.clone()),
        ServerState::Installed => ("Installed", String::new()),
    };
    record([
        ("Name", s.name.clone()),
        ("Site", s.site.clone()),
        ("State", state.to_owned()),
        ("ProvisionedFor", delegate),
        (
            "ServerRole",
            s.roles.iter().cloned().collect::<Vec<_>>().join(", "),
        ),
        ("Cluster", s.cluster.clone().unwrap_or_default()),
        ("InstalledNodes", s.installed_nodes.join(", ")),
        ("TemporaryFor", s.temporary_for.clone().unwrap_or_default()),
        (
            "Settings",
            s.settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ])
}

fn server<'a>(ctx: &'a Context<'_>, identity: &str) -> Result<&'a ExchangeServer, CmdletError> {
    ctx.org
        .servers
        .get(&identity.to_ascii_lowercase())
        .ok_or_else(|| not_found(identity))
}

/// Settings given on a Set- cmdlet, as stored (`$true` → `True`).
fn settings(args: &Args) -> Vec<(String, String)> {
    args.iter()
        .filter(|(n, _)| {
            *n != "Identity" && !crate::rbac::common_parameters::is_common_parameter(n)
        })
        .map(|(n, v)| {
            let text = match v {
                super::Value::Bool(b) => super::ps_bool(*b),
                other => other.display(),
            };
            (n.to_owned(), text)
        })
        .collect()
}

/// `Set-ExchangeServer -Identity [-ErrorReportingEnabled] [-CustomerFeedbackEnabled]`:
/// in the write scope of a server scope if the assignment has one.
pub fn set_exchange_server(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let current = server(ctx, args.required("Identity", ctx.cmdlet)?)?;
    ctx.authorize(Target::Server(current), Access::Write)?;
    let mut updated = current.clone();
    updated.settings.extend(settings(args));
    let records = vec![server_record(&updated)];
    let mut next = ctx.org.clone();
    next.servers
        .insert(updated.name.to_ascii_lowercase(), updated);
    Ok(changed(next, &current.name, records))
}

fn database_record(d: &MailboxDatabase) -> Record {
    record::<Field, 5>([
        ("Name", d.name.as_str().into()),
        ("Server", d.server.as_str().into()),
        ("Recovery", false.into()),
        ("ReplicationType", "None".into()),
        (
            "Settings",
            d.settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
                .into(),
        ),
    ])
}

/// `New-MailboxDatabase -Name -Server`: on an installed Mailbox server.
pub fn new_mailbox_database(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let name = super::check_name("Name", args.required("Name", ctx.cmdlet)?)?;
    let host = server(ctx, args.required("Server", ctx.cmdlet)?)?;
    if host.state != ServerState::Installed
        || !host.roles.iter().any(|r| r.eq_ignore_ascii_case("Mailbox"))
    {
        return Err(invalid(
            "Server",
            format!("`{}` isn't an installed Mailbox server", host.name),
        ));
    }
    let database = MailboxDatabase {
        name: name.clone(),
        server: host.name.clone(),
        settings: Default::default(),
    };
    ctx.authorize(Target::Database(&database), Access::Write)?;
    if ctx.org.databases.contains_key(&name.to_ascii_lowercase()) {
        return Err(crate::org::OrgError::Exists(name).into());
    }
    let records = vec![database_record(&database)];
    let mut next = ctx.org.clone();
    next.databases.insert(name.to_ascii_lowercase(), database);
    Ok(changed(next, &name, records))
}

/// `Get-MailboxDatabase [-Identity]`.
pub fn get_mailbox_database(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let found: Vec<&MailboxDatabase> = match args.text("Identity") {
        Some(i) => vec![ctx
            .org
            .databases
            .get(&i.to_ascii_lowercase())
            .ok_or_else(|| not_found(i))?],
        None => ctx.org.databases.values().collect(),
    };
    let mut records = Vec::new();
    for d in found {
        ctx.authorize(Target::Database(d), Access::Read)?;
        records.push(database_record(d));
    }
    Ok(listed(records))
}

/// `Set-MailboxDatabase -Identity [-IssueWarningQuota] [-ProhibitSendQuota]`.
pub fn set_mailbox_database(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let current = ctx
        .org
        .databases
        .get(&identity.to_ascii_lowercase())
        .ok_or_else(|| not_found(identity))?;
    ctx.authorize(Target::Database(current), Access::Write)?;
    let mut updated = current.clone();
    updated.settings.extend(settings(args));
    let records = vec![database_record(&updated)];
    let mut next = ctx.org.clone();
    next.databases
        .insert(updated.name.to_ascii_lowercase(), updated);
    Ok(changed(next, &current.name, records))
}

/// `Get-ExchangeServer [-Identity]`: the servers the caller may read.
pub fn get_exchange_server(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let servers: Vec<&ExchangeServer> = match args.text("Identity") {
        Some(i) => vec![ctx
            .org
            .servers
            .get(&i.to_ascii_lowercase())
            .ok_or_else(|| not_found(i))?],
        None => ctx.org.servers.values().collect(),
    };
    let mut records = Vec::new();
    for s in servers {
        ctx.authorize(Target::Server(s), crate::rbac::Access::Read)?;
        records.push(server_record(s));
    }
    Ok(listed(records))
}
