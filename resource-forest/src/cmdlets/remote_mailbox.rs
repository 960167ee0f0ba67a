//! New-, Get-, Remove-RemoteMailbox: a user of this organization whose
//! mailbox lives elsewhere, mail routed to its `-RemoteRoutingAddress`
//! (RecipientType `MailUser`, RecipientTypeDetails `RemoteUserMailbox`). Two
//! of the eight cmdlets that create or remove security principals: RBAC split
//! leaves them to the directory administrators' group (R-SPLIT-2), Active
//! Directory split makes them unavailable to everyone (R-SPLIT-3).

use super::mailbox::{get_recipients, new_recipient, remove_recipient};
use super::parameters::{p, req, Kind::Text, Param, IDENTITY};
use super::registry::{
    Cmdlet,
    ConfirmImpact::{High, Medium},
    Handler,
};
use crate::org::recipients::RecipientType;

/// The remote mailbox cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-RemoteMailbox",
        "Creates a user account whose mailbox lives elsewhere, with its remote routing address.",
        Handler::Sync(|ctx, args| new_recipient(ctx, args, RecipientType::RemoteUserMailbox)),
        VIEW,
    )
    .with(NEW_REMOTE_MAILBOX)
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-RemoteMailbox",
        "Lists remote mailboxes in your read scope.",
        Handler::Sync(|ctx, args| get_recipients(ctx, args, REMOTE_MAILBOXES)),
        VIEW,
    )
    .with(&[
        p("Identity", Text),
        p("OnPremisesOrganizationalUnit", Text),
        p("ResultSize", Text),
        p("Anr", Text),
        p("Filter", Text),
    ])
    .at("Identity"),
    Cmdlet::new(
        "Remove-RemoteMailbox",
        "Removes a remote mailbox and its user account.",
        Handler::Sync(|ctx, args| remove_recipient(ctx, args, REMOTE_MAILBOXES)),
        super::mailbox::REMOVED_VIEW,
    )
    .with(IDENTITY)
    .at("Identity")
    .changes(High),
];

/// EMS shows Name, RecipientTypeDetails, RemoteRoutingAddress.
const VIEW: &[&str] = &["Name", "RecipientTypeDetails", "RemoteRoutingAddress"];

const REMOTE_MAILBOXES: &[RecipientType] = &[RecipientType::RemoteUserMailbox];

const NEW_REMOTE_MAILBOX: &[Param] = &[
    req("Name", Text),
    req("RemoteRoutingAddress", Text),
    p("Alias", Text),
    p("DisplayName", Text),
    p("FirstName", Text),
    p("LastName", Text),
    p("OnPremisesOrganizationalUnit", Text),
    p("UserPrincipalName", Text),
    p("Password", Text),
    p("PrimarySmtpAddress", Text),
];
