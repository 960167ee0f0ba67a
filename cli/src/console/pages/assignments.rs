//! A role group's roles, as the Exchange admin center's role group editor
//! adds and removes them: add a role (`New-ManagementRoleAssignment
//! -SecurityGroup <group> -Role <role>`, regular or `-Delegating`, with a
//! write scope), or remove one of the group's assignments
//! (`Remove-ManagementRoleAssignment`, after a confirmation page, in
//! [`super::removal`]). Each is authorised and lockout-checked by the
//! resource forest exactly as its cmdlet.

use super::role_groups::{on_group_page, Refused};
use super::{Cmdlet, Outcome};
use crate::console::html::{self, escape, field, property};
use crate::console::http::{encode, Fields};
use crate::console::sessions::BrowserSession;
use crossforest_shared::proto::management::v1::InvokeResponse;

/// The columns of a role group's assignments: each with its scopes.
const COLUMNS: [&str; 8] = [
    "Name",
    "Role",
    "RoleAssignmentDelegationType",
    "RecipientWriteScope",
    "CustomRecipientWriteScope",
    "RecipientOrganizationalUnitScope",
    "ConfigWriteScope",
    "CustomConfigWriteScope",
];

/// `group`'s assignments (`response`), each with a link to remove it
/// (after asking).
pub fn table(group: &str, response: &InvokeResponse) -> String {
    html::removable_records(
        "Assignments and scopes",
        &COLUMNS,
        &response.records,
        |record| {
            let name = property(record, "Name");
            format!(
            "<a href=\"/role-groups/remove-assignment?identity={}&amp;assignment={}\" aria-label=\"Remove the assignment {}\">Remove…</a>",
            encode(group),
            encode(&name),
            escape(&name)
        )
        },
    )
}

/// The form that adds a role to `group`: the roles of `roles` that a role
/// group may hold (not end-user roles), filled from `form` after a refusal.
pub fn add_form(
    csrf: &str,
    group: &str,
    roles: Option<&InvokeResponse>,
    form: Option<&Fields>,
) -> String {
    let value = |name: &str| form.map(|f| f.get(name)).unwrap_or_default();
    let mut options = String::new();
    for record in roles.map(|r| r.records.as_slice()).unwrap_or_default() {
        if property(record, "IsEndUserRole").eq_ignore_ascii_case("True") {
            continue;
        }
        let name = property(record, "Name");
        let selected = if name == value("role") {
            " selected"
        } else {
            ""
        };
        options.push_str(&format!(
            "<option value=\"{0}\"{selected}>{0}</option>",
            escape(&name)
        ));
    }
    let delegating = if value("delegating").is_empty() {
        ""
    } else {
        " checked"
    };
    format!(
        "<h2 id=\"add-role\">Add a role</h2>\
         <form class=\"panel\" method=\"post\" action=\"/role-groups/add-role\" aria-labelledby=\"add-role\">{}\
         <input type=\"hidden\" name=\"identity\" value=\"{}\">\
         <div class=\"field\"><label for=\"role\">Role</label><select id=\"role\" name=\"role\">{options}</select></div>\
         {}{}\
         <div class=\"field\"><input type=\"checkbox\" id=\"delegating\" name=\"delegating\" value=\"true\"{delegating}>\
         <label for=\"delegating\">Delegating (may assign the role to others, not run it)</label></div>\
         <button type=\"submit\">Add (New-ManagementRoleAssignment)</button></form>",
        html::csrf_field(csrf),
        escape(group),
        field(
            "customrecipientwritescope",
            "CustomRecipientWriteScope",
            value("customrecipientwritescope"),
            "a management scope's name; empty: the role's own write scope",
        ),
        field(
            "recipientorganizationalunitscope",
            "RecipientOrganizationalUnitScope",
            value("recipientorganizationalunitscope"),
            "an OU, e.g. contoso.com/Sales; empty: the role's own write scope",
        ),
    )
}

/// `New-ManagementRoleAssignment` from the form, then the group's page; a
/// refusal keeps the form as filled.
pub async fn add(browser: &mut BrowserSession, form: &Fields) -> Outcome {
    let (group, role) = (form.get("identity"), form.get("role"));
    let mut cmdlet = Cmdlet::new("New-ManagementRoleAssignment")
        .text("SecurityGroup", group)
        .text("Role", role)
        .text(
            "CustomRecipientWriteScope",
            form.get("customrecipientwritescope"),
        )
        .text(
            "RecipientOrganizationalUnitScope",
            form.get("recipientorganizationalunitscope"),
        );
    if !form.get("delegating").is_empty() {
        cmdlet = cmdlet.switch("Delegating");
    }
    let success = format!("`{role}` assigned to `{group}`.");
    on_group_page(browser, &cmdlet, &success, group, Refused::AddRole(form)).await
}
