//! `Get-ExchangeServer`: servers of the configuration partition, provisioned
//! and installed (SPEC §7).

use super::{listed, not_found, record, Args, CmdletError, Context, Outcome};
use crate::org::servers::{ExchangeServer, ServerState};
use crate::rbac::Target;

fn server_record(s: &ExchangeServer) -> Vec<(String, String)> {
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
    ])
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
