//! Removing from a role group's page, as PowerShell asks before a cmdlet
//! of high impact: a confirmation page (a GET, which changes nothing)
//! shows the cmdlet line and what it will do; its Yes is the POST that runs
//! `Remove-RoleGroupMember`, `Remove-ManagementRoleAssignment` or
//! `Remove-RoleGroup` as the signed-in
//! identity, then 303 See Other to the page showing the result.

use super::role_groups::{detail_path, run};
use super::{Cmdlet, Outcome};
use crate::console::html::{self, escape};
use crate::console::http::Fields;
use crate::console::sessions::BrowserSession;

/// `Remove-RoleGroupMember` of the query's group and member, as the
/// confirmation page asks before it runs.
fn remove_member_cmdlet(fields: &Fields) -> (Cmdlet, String) {
    let (group, member) = (fields.get("identity"), fields.get("member"));
    let cmdlet = Cmdlet::new("Remove-RoleGroupMember")
        .text("Identity", group)
        .text("Member", member);
    let action = format!("Removing member \"{member}\" from role group \"{group}\"");
    (cmdlet, action)
}

/// `Remove-ManagementRoleAssignment` of the query's assignment of the
/// query's group.
fn remove_assignment_cmdlet(fields: &Fields) -> (Cmdlet, String) {
    let assignment = fields.get("assignment");
    let cmdlet = Cmdlet::new("Remove-ManagementRoleAssignment").text("Identity", assignment);
    let action = format!(
        "Removing the management role assignment \"{assignment}\" of role group \"{}\"",
        fields.get("identity")
    );
    (cmdlet, action)
}

/// `Remove-RoleGroup` of the query's group (and its role assignments).
fn remove_cmdlet(fields: &Fields) -> (Cmdlet, String) {
    let group = fields.get("identity");
    let cmdlet = Cmdlet::new("Remove-RoleGroup").text("Identity", group);
    let action = format!("Removing role group \"{group}\" and its role assignments");
    (cmdlet, action)
}

/// Asks before removing a member: the cmdlet line, what it will do, Yes
/// (the POST that runs it) or No (back to the group). Nothing runs here.
pub fn confirm_remove_member(browser: &BrowserSession, query: &Fields) -> (String, String) {
    let (cmdlet, action) = remove_member_cmdlet(query);
    let hidden = [
        ("identity", query.get("identity")),
        ("member", query.get("member")),
    ];
    confirm(
        browser,
        &cmdlet,
        &action,
        "/role-groups/remove-member",
        &hidden,
        query,
    )
}

/// Asks before removing one of a role group's assignments.
pub fn confirm_remove_assignment(browser: &BrowserSession, query: &Fields) -> (String, String) {
    let (cmdlet, action) = remove_assignment_cmdlet(query);
    let hidden = [
        ("identity", query.get("identity")),
        ("assignment", query.get("assignment")),
    ];
    confirm(
        browser,
        &cmdlet,
        &action,
        "/role-groups/remove-assignment",
        &hidden,
        query,
    )
}

/// Asks before removing a role group.
pub fn confirm_remove(browser: &BrowserSession, query: &Fields) -> (String, String) {
    let (cmdlet, action) = remove_cmdlet(query);
    let hidden = [("identity", query.get("identity"))];
    confirm(
        browser,
        &cmdlet,
        &action,
        "/role-groups/remove",
        &hidden,
        query,
    )
}

/// A confirmation page, as PowerShell asks for a cmdlet of high impact.
fn confirm(
    browser: &BrowserSession,
    cmdlet: &Cmdlet,
    action: &str,
    post_to: &str,
    hidden: &[(&str, &str)],
    query: &Fields,
) -> (String, String) {
    let mut inputs = html::csrf_field(&browser.csrf);
    for (name, value) in hidden {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        ));
    }
    let main = format!(
        "{line}<section class=\"panel\" aria-labelledby=\"confirm\"><h2 id=\"confirm\">Confirm</h2>\
         <p>Are you sure you want to perform this action?</p><p id=\"action\">{action}.</p>\
         <form method=\"post\" action=\"{post_to}\">{inputs}\
         <button type=\"submit\">Yes ({name})</button> \
         <a href=\"{back}\">No, back to the role group</a></form></section>",
        line = html::cmdlet_line(&cmdlet.line()),
        action = escape(action),
        name = cmdlet.name,
        back = escape(&detail_path(query.get("identity"))),
    );
    (format!("{}: confirm", cmdlet.name), main)
}

/// `Remove-RoleGroupMember` after its confirmation, then the group's page.
pub async fn remove_member(browser: &mut BrowserSession, form: &Fields) -> Outcome {
    let (cmdlet, _) = remove_member_cmdlet(form);
    let success = format!(
        "`{}` removed from `{}`.",
        form.get("member"),
        form.get("identity")
    );
    refused_or_done(
        browser,
        &cmdlet,
        &success,
        detail_path(form.get("identity")),
    )
    .await
}

/// `Remove-ManagementRoleAssignment` after its confirmation, then the
/// group's page.
pub async fn remove_assignment(browser: &mut BrowserSession, form: &Fields) -> Outcome {
    let (cmdlet, _) = remove_assignment_cmdlet(form);
    let success = format!("Assignment `{}` removed.", form.get("assignment"));
    refused_or_done(
        browser,
        &cmdlet,
        &success,
        detail_path(form.get("identity")),
    )
    .await
}

/// `Remove-RoleGroup` after its confirmation, then the list.
pub async fn remove(browser: &mut BrowserSession, form: &Fields) -> Outcome {
    let (cmdlet, _) = remove_cmdlet(form);
    let success = format!("Role group `{}` removed.", form.get("identity"));
    refused_or_done(browser, &cmdlet, &success, "/role-groups".to_owned()).await
}

/// Runs a confirmed `cmdlet`: on success, to `to` with what happened; a
/// refusal is its own page, with the cmdlet line and the reason.
async fn refused_or_done(
    browser: &mut BrowserSession,
    cmdlet: &Cmdlet,
    success: &str,
    to: String,
) -> Outcome {
    match run(browser, cmdlet, success).await {
        Ok(message) => Outcome::Done { to, message },
        Err((status, refused)) => {
            let main = format!(
                "{refused}<p><a href=\"{}\">Back to the role group</a></p>",
                escape(&to)
            );
            Outcome::Page(status, format!("{} refused", cmdlet.name), main)
        }
    }
}
