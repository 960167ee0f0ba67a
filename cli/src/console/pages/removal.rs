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

/// What a role group's page can remove, each after its confirmation page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// `Remove-RoleGroupMember` of the form's member.
    Member,
    /// `Remove-ManagementRoleAssignment` of the form's assignment.
    Assignment,
    /// `Remove-RoleGroup` (and its role assignments).
    Group,
}

impl Removal {
    /// The removal whose confirmation page (GET) and action (POST) are at
    /// `path`.
    pub fn at(path: &str) -> Option<Self> {
        [Self::Member, Self::Assignment, Self::Group]
            .into_iter()
            .find(|r| r.path() == path)
    }

    fn path(self) -> &'static str {
        match self {
            Self::Member => "/role-groups/remove-member",
            Self::Assignment => "/role-groups/remove-assignment",
            Self::Group => "/role-groups/remove",
        }
    }

    /// The form field naming what is removed besides the group.
    fn field(self) -> Option<&'static str> {
        match self {
            Self::Member => Some("member"),
            Self::Assignment => Some("assignment"),
            Self::Group => None,
        }
    }

    /// The cmdlet of `fields` and what it will do, as the confirmation
    /// page says it.
    fn cmdlet(self, fields: &Fields) -> (Cmdlet, String) {
        let group = fields.get("identity");
        match self {
            Self::Member => {
                let member = fields.get("member");
                let cmdlet = Cmdlet::new("Remove-RoleGroupMember")
                    .text("Identity", group)
                    .text("Member", member);
                let action = format!("Removing member \"{member}\" from role group \"{group}\"");
                (cmdlet, action)
            }
            Self::Assignment => {
                let assignment = fields.get("assignment");
                let cmdlet =
                    Cmdlet::new("Remove-ManagementRoleAssignment").text("Identity", assignment);
                let action = format!(
                    "Removing the management role assignment \"{assignment}\" of role group \"{group}\""
                );
                (cmdlet, action)
            }
            Self::Group => {
                let cmdlet = Cmdlet::new("Remove-RoleGroup").text("Identity", group);
                let action = format!("Removing role group \"{group}\" and its role assignments");
                (cmdlet, action)
            }
        }
    }

    /// What the page after a removal says, and where it is.
    fn done(self, fields: &Fields) -> (String, String) {
        let group = fields.get("identity");
        match self {
            Self::Member => (
                format!("`{}` removed from `{group}`.", fields.get("member")),
                detail_path(group),
            ),
            Self::Assignment => (
                format!("Assignment `{}` removed.", fields.get("assignment")),
                detail_path(group),
            ),
            Self::Group => (
                format!("Role group `{group}` removed."),
                "/role-groups".to_owned(),
            ),
        }
    }

    /// Asks before removing: the cmdlet line, what it will do, Yes (the
    /// POST that runs it) or No (back to the group). Nothing runs here.
    pub fn confirm(self, browser: &BrowserSession, query: &Fields) -> (String, String) {
        let (cmdlet, action) = self.cmdlet(query);
        let mut hidden = vec![("identity", query.get("identity"))];
        hidden.extend(self.field().map(|f| (f, query.get(f))));
        confirm(browser, &cmdlet, &action, self.path(), &hidden, query)
    }

    /// Runs the removal its confirmation page posted: on success, to the
    /// page that shows the result; a refusal is its own page, with the
    /// cmdlet line and the reason.
    pub async fn run(self, browser: &mut BrowserSession, form: &Fields) -> Outcome {
        let (cmdlet, _) = self.cmdlet(form);
        let (success, to) = self.done(form);
        match run(browser, &cmdlet, &success).await {
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
