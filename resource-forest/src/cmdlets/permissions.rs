//! Explaining decisions from the shell: `Test-CmdletPermission` (may this
//! caller, or another user, run this cmdlet with these parameters on this
//! object, and why) and `Get-EffectivePermission` (what may this caller or
//! user do). Anyone may ask about themselves; asking about someone else reads
//! the RBAC configuration, so it needs a role that grants the parameter. A
//! trusted forest's user is looked up with the linked credential.

use crossforest_shared::Sid;

use super::parameters::{
    p, req,
    Kind::{Bool, List, Text},
};
use super::query::{resolve, Query};
use super::registry::{Cmdlet, Handler};
use super::{invalid, listed, record, Args, CmdletError, Context, Outcome};
use crate::rbac::{Access, Explanation, Subject, Target};

/// The cmdlets that explain decisions. Anyone may ask about themselves.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "Test-CmdletPermission",
        "Explains whether you (or a user) may run a cmdlet with parameters on an object.",
        Handler::Async(|ctx, args| Box::pin(test_cmdlet_permission(ctx, args))),
        &["Decision", "Assignment", "Role", "Scope"],
    )
    .with(&[
        req("Cmdlet", Text),
        p("Parameters", List),
        p("Identity", Text),
        p("User", Text),
        p("Write", Bool),
    ])
    .at("Cmdlet")
    .for_anyone(&["Cmdlet", "Parameters", "Identity", "Write"]),
    Cmdlet::new(
        "Get-EffectivePermission",
        "Lists the cmdlets you (or a user) may run and what grants them.",
        Handler::Async(|ctx, args| Box::pin(get_effective_permission(ctx, args))),
        &["Cmdlet", "Parameters", "GrantedBy"],
    )
    .with(&[p("Identity", Text), p("Cmdlet", Text)])
    .at("Identity")
    .for_anyone(&["Cmdlet"]),
];

/// The subject to evaluate: the caller, or the user `-User`/`-Identity` names:
/// a local one (its SID, the mail-enabled security groups it is in, its
/// policy) or a trusted forest's (`DOMAIN\user`).
async fn subject_sids(
    ctx: &Context<'_>,
    user: Option<&str>,
) -> Result<(Sid, Vec<Sid>, Vec<String>), CmdletError> {
    let Some(user) = user else {
        return Ok((
            ctx.caller.user,
            ctx.caller.sids.clone(),
            ctx.org.policies_of(&ctx.caller.user),
        ));
    };
    // Reading another principal's permissions reads the configuration.
    ctx.authorize(Target::Config, Access::Read)?;
    if let Some((domain, name)) = user.split_once('\\') {
        if !ctx.trusts.own_forest().answers_to(domain) {
            // Another forest's user: read what its token would carry with the
            // linked credential, SID-filtered (R-TRUST-2, R-TRUST-3).
            let trust = ctx.trusts.by_domain(domain).ok_or_else(|| {
                invalid(
                    "User",
                    format!("`{domain}` is not a forest this organization trusts"),
                )
            })?;
            let (sid, groups) = crate::trust::linked::foreign_user(trust, name).await?;
            let mut sids = vec![sid];
            sids.extend(groups);
            return Ok((sid, sids, Vec::new()));
        }
    }
    let name = user.rsplit('\\').next().unwrap_or(user);
    let sid = ctx.org.principal_sid(name)?;
    let mut sids = vec![sid];
    sids.extend(ctx.org.security_groups_of(&sid));
    Ok((sid, sids, ctx.org.policies_of(&sid)))
}

/// `Test-CmdletPermission -Cmdlet Set-Mailbox -Parameters Office -Identity
/// dana [-User katie]`: the decision and the chain of every assignment that
/// allows it, or the nearest miss.
pub async fn test_cmdlet_permission(
    ctx: &Context<'_>,
    args: &Args,
) -> Result<Outcome, CmdletError> {
    let query = Query {
        cmdlet: args.required("Cmdlet", ctx.cmdlet)?,
        parameters: args.list("Parameters").unwrap_or_default(),
        target: args.text("Identity").unwrap_or_default(),
        write: args.boolean("Write"),
    };
    let resolved = resolve(ctx.org, &query)?;
    let (user, sids, policies) = subject_sids(ctx, args.text("User")).await?;
    let subject = Subject {
        user,
        sids: &sids,
        policies: &policies,
    };
    let request = resolved.request();
    let records = match ctx.authorizer.explain(&subject, &request) {
        Explanation::Allowed(chains) => chains
            .iter()
            .map(|c| {
                record([
                    ("Decision", "Allowed".to_owned()),
                    ("Assignment", c.assignment.clone()),
                    ("Role", c.role.clone()),
                    ("Scope", c.scope.clone()),
                    ("Chain", c.to_string()),
                ])
            })
            .collect(),
        Explanation::Denied(denial) => vec![record([
            ("Decision", "Denied".to_owned()),
            ("Assignment", String::new()),
            ("Role", String::new()),
            ("Scope", String::new()),
            ("Chain", denial.to_string()),
        ])],
    };
    Ok(listed(records))
}

/// `Get-EffectivePermission [-Identity user] [-Cmdlet pattern]`: every cmdlet
/// the caller (or the local user) may run, with the parameters and the
/// assignments (and their scopes) that grant it.
pub async fn get_effective_permission(
    ctx: &Context<'_>,
    args: &Args,
) -> Result<Outcome, CmdletError> {
    let (user, sids, policies) = subject_sids(ctx, args.text("Identity")).await?;
    let subject = Subject {
        user,
        sids: &sids,
        policies: &policies,
    };
    let pattern = args.text("Cmdlet").unwrap_or("*");
    Ok(listed(
        ctx.authorizer
            .permissions_of(&subject)
            .into_iter()
            .filter(|p| crate::rbac::opath::wildcard_match(pattern, &p.cmdlet))
            .map(|p| {
                record([
                    ("Cmdlet", p.cmdlet),
                    ("Parameters", p.parameters.join(", ")),
                    ("GrantedBy", p.grants.join("; ")),
                ])
            })
            .collect(),
    ))
}
