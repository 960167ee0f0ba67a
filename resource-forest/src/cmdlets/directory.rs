//! `New-ADUser`: the resource forest's own directory tool, standing in for
//! Active Directory Users and Computers. It isn't an Exchange cmdlet: RBAC
//! doesn't grant it; the directory's own rights do, held by the domain's
//! built-in Administrator (Domain Admins). Under Active Directory split
//! permissions this is how security principals are created before
//! `Enable-Mailbox` mail-enables them (R-SPLIT-3).

use crossforest_shared::sid::rid;

use super::parameters::{p, req, Kind::Text};
use super::registry::{Cmdlet, ConfirmImpact::Low, Handler};
use super::{changed, Args, CmdletError, Context, Outcome};
use crate::org::recipients::RecipientType;

/// The directory tool. The directory's rights authorise it, not RBAC.
pub const CMDLETS: &[Cmdlet] = &[Cmdlet::new(
    "New-ADUser",
    "Creates a user in the directory (the domain Administrator's tool, outside RBAC).",
    Handler::Sync(new_ad_user),
    &["Name", "RecipientType"],
)
.with(&[
    req("Name", Text),
    p("SamAccountName", Text),
    p("Path", Text),
    p("UserPrincipalName", Text),
    p("DisplayName", Text),
])
.at("Name")
.changes(Low)
.authorizes_itself()];

/// `New-ADUser -Name [-SamAccountName] [-Path OU] [-UserPrincipalName]`.
pub fn new_ad_user(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let administrator = ctx.org.domain_sid.with_rid(rid::ADMINISTRATOR);
    if !ctx.caller.local || ctx.caller.user != administrator {
        return Err(CmdletError::Forbidden(format!(
            "`New-ADUser` is a directory tool: only the domain's Administrator of {} may create users with it",
            ctx.org.forest
        )));
    }
    let mut next = ctx.org.clone();
    let mut user = super::mailbox::build_user(ctx, args, &mut next)?;
    user.recipient_type = RecipientType::User;
    user.primary_smtp_address = String::new();
    let records = vec![super::recipient_view::recipient_record(&user)];
    let name = user.name.clone();
    next.recipients.insert(name.to_ascii_lowercase(), user);
    Ok(changed(next, &name, records))
}
