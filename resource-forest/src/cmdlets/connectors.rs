//! Receive connectors (configuration partition) and Add-/Get-ADPermission,
//! the cmdlet that touches both partitions: under Active Directory split
//! permissions it fails on domain-partition objects (recipients) and works on
//! configuration-partition objects such as Receive connectors (R-SPLIT-3).

use super::parameters::{
    p, req,
    Kind::{List, Text},
    IDENTITY, OPTIONAL_IDENTITY,
};
use super::registry::{Cmdlet, ConfirmImpact::Medium, Handler};
use super::Record;
use super::{changed, invalid, listed, not_found, record, Args, CmdletError, Context, Outcome};
use crate::org::connectors::{AdPermission, ReceiveConnector};
use crate::rbac::{Access, Target};

/// The Receive connector and directory permission cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-ReceiveConnector",
        "Creates a Receive connector on a server.",
        Handler::Sync(new_receive_connector),
        CONNECTOR_VIEW,
    )
    .with(&[
        req("Name", Text),
        req("Server", Text),
        p("Bindings", List),
        p("RemoteIPRanges", List),
        p("Usage", Text),
    ])
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-ReceiveConnector",
        "Lists Receive connectors.",
        Handler::Sync(get_receive_connector),
        CONNECTOR_VIEW,
    )
    .with(OPTIONAL_IDENTITY)
    .at("Identity"),
    Cmdlet::new(
        "Add-ADPermission",
        "Adds a permission to a directory object.",
        Handler::Sync(add_ad_permission),
        PERMISSION_VIEW,
    )
    .with(&[
        req("Identity", Text),
        req("User", Text),
        p("AccessRights", List),
        p("ExtendedRights", List),
    ])
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Get-ADPermission",
        "Lists the permissions of a directory object.",
        Handler::Sync(get_ad_permission),
        PERMISSION_VIEW,
    )
    .with(IDENTITY)
    .at("Identity"),
];

/// EMS shows Identity, Bindings, Enabled; every connector here is enabled.
const CONNECTOR_VIEW: &[&str] = &["Identity", "Bindings"];
/// EMS shows Identity, User, Deny, Inherited (and the rights); every
/// permission here is an explicit allow.
const PERMISSION_VIEW: &[&str] = &["Identity", "User", "Rights"];

fn connector_record(c: &ReceiveConnector) -> Record {
    record([
        ("Identity", c.identity()),
        ("Name", c.name.clone()),
        ("Server", c.server.clone()),
        ("Bindings", c.bindings.join(", ")),
        ("RemoteIPRanges", c.remote_ip_ranges.join(", ")),
        ("Usage", c.usage.clone()),
    ])
}

/// `New-ReceiveConnector -Name -Server [-Bindings] [-RemoteIPRanges] [-Usage]`.
pub fn new_receive_connector(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let name = super::check_name("Name", args.required("Name", ctx.cmdlet)?)?;
    let server_name = args.required("Server", ctx.cmdlet)?;
    let server = ctx
        .org
        .servers
        .get(&server_name.to_ascii_lowercase())
        .filter(|s| s.state == crate::org::servers::ServerState::Installed)
        .ok_or_else(|| {
            invalid(
                "Server",
                format!("`{server_name}` isn't an installed Exchange server"),
            )
        })?;
    ctx.authorize(Target::Server(server), Access::Write)?;
    let usage = args.text("Usage").unwrap_or("Custom").to_owned();
    if !["Custom", "Internet", "Internal", "Client", "Partner"]
        .iter()
        .any(|u| u.eq_ignore_ascii_case(&usage))
    {
        return Err(invalid(
            "Usage",
            format!("expects Custom, Internet, Internal, Client or Partner; got `{usage}`"),
        ));
    }
    let connector = ReceiveConnector {
        name,
        server: server.name.clone(),
        bindings: args
            .list("Bindings")
            .map(<[String]>::to_vec)
            .unwrap_or_else(|| vec!["0.0.0.0:25".into()]),
        remote_ip_ranges: args
            .list("RemoteIPRanges")
            .map(<[String]>::to_vec)
            .unwrap_or_else(|| vec!["0.0.0.0-255.255.255.255".into()]),
        usage,
    };
    let identity = connector.identity();
    if ctx
        .org
        .receive_connectors
        .contains_key(&identity.to_ascii_lowercase())
    {
        return Err(crate::org::OrgError::Exists(identity).into());
    }
    let records = vec![connector_record(&connector)];
    let mut next = ctx.org.clone();
    next.receive_connectors
        .insert(identity.to_ascii_lowercase(), connector);
    Ok(changed(next, &identity, records))
}

/// `Get-ReceiveConnector [-Identity]`.
pub fn get_receive_connector(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let found: Vec<&ReceiveConnector> = match args.text("Identity") {
        Some(i) => vec![ctx.org.receive_connector(i).ok_or_else(|| not_found(i))?],
        None => ctx.org.receive_connectors.values().collect(),
    };
    Ok(listed(found.into_iter().map(connector_record).collect()))
}

/// The object an AD permission cmdlet names: a Receive connector
/// (configuration partition) or a recipient (domain partition).
enum AdObject<'a> {
    Connector(&'a ReceiveConnector),
    Recipient(&'a crate::org::recipients::Recipient),
}

fn ad_object<'a>(ctx: &'a Context<'_>, identity: &str) -> Result<AdObject<'a>, CmdletError> {
    if let Some(c) = ctx.org.receive_connector(identity) {
        return Ok(AdObject::Connector(c));
    }
    Ok(AdObject::Recipient(ctx.org.recipient(identity, &[])?))
}

/// `Add-ADPermission -Identity -User (-AccessRights | -ExtendedRights)`.
pub fn add_ad_permission(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let object = ad_object(ctx, identity)?;
    let (object_id, partition) = match &object {
        AdObject::Connector(c) => {
            ctx.authorize(Target::Config, Access::Write)?;
            (c.identity(), "configuration")
        }
        AdObject::Recipient(r) => {
            ctx.authorize(Target::Recipient(*r), Access::Write)?;
            if ctx.org.active_directory_split_permissions {
                return Err(CmdletError::Refused(format!(
                    "`{}` is in the domain partition: under Active Directory split permissions Exchange can't change its permissions; use the directory's own tools. Objects of the configuration partition, such as Receive connectors, still work (R-SPLIT-3)",
                    r.name
                )));
            }
            (format!("{}/{}", r.organizational_unit, r.name), "domain")
        }
    };
    let user = args.required("User", ctx.cmdlet)?;
    let rights: Vec<String> = args
        .list("ExtendedRights")
        .or_else(|| args.list("AccessRights"))
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    if rights.is_empty() {
        return Err(CmdletError::MissingParameter {
            cmdlet: ctx.cmdlet.to_owned(),
            parameter: "AccessRights or -ExtendedRights".into(),
        });
    }
    let permission = AdPermission {
        object: object_id.clone(),
        partition: partition.to_owned(),
        user: user.to_owned(),
        rights,
    };
    let records = vec![permission_record(&permission)];
    let mut next = ctx.org.clone();
    next.ad_permissions.push(permission);
    Ok(changed(next, &object_id, records))
}

fn permission_record(p: &AdPermission) -> Record {
    record([
        ("Identity", p.object.clone()),
        ("Partition", p.partition.clone()),
        ("User", p.user.clone()),
        ("Rights", p.rights.join(", ")),
    ])
}

/// `Get-ADPermission -Identity`: the permissions Exchange added to an object.
pub fn get_ad_permission(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let identity = args.required("Identity", ctx.cmdlet)?;
    let object_id = match ad_object(ctx, identity)? {
        AdObject::Connector(c) => {
            ctx.authorize(Target::Config, Access::Read)?;
            c.identity()
        }
        AdObject::Recipient(r) => {
            ctx.authorize(Target::Recipient(r), Access::Read)?;
            format!("{}/{}", r.organizational_unit, r.name)
        }
    };
    Ok(listed(
        ctx.org
            .ad_permissions
            .iter()
            .filter(|p| p.object.eq_ignore_ascii_case(&object_id))
            .map(permission_record)
            .collect(),
    ))
}
