//! Role groups: standard and linked (the foreign group and its forest),
//! roles, assignments, members, ManagedBy; create one (`New-RoleGroup`),
//! change its description and managers (`Set-RoleGroup`) and add a member
//! (`Add-RoleGroupMember`), validated and lockout-checked by
//! the resource forest as those cmdlets are (its roles are
//! [`super::assignments`]; removal, after a confirmation page, is
//! [`super::removal`]). A change made answers 303 See Other to the
//! page showing its result; a refusal is shown at once (403 or 400) with
//! the form as it was filled.

use anyhow::Context as _;
use hyper::StatusCode;

use super::{failure, failure_status, Cmdlet, Outcome};
use crate::console::html::{self, escape, field, property};
use crate::console::http::{encode, Fields};
use crate::console::server::Console;
use crate::console::sessions::BrowserSession;

const TITLE: &str = "Role groups";

/// The columns of the list, as `Get-RoleGroup` names them.
const COLUMNS: [&str; 6] = [
    "Name",
    "RoleGroupType",
    "LinkedForeignGroup",
    "Roles",
    "Members",
    "ManagedBy",
];

/// The list of role groups, its forms filled from `form` (empty on a GET).
pub async fn list(browser: &mut BrowserSession, form: &Fields) -> (String, String) {
    list_after(browser, String::new(), form).await
}

/// The list after `before` (HTML: a refusal), its forms filled from `form`.
async fn list_after(
    browser: &mut BrowserSession,
    before: String,
    form: &Fields,
) -> (String, String) {
    let mut main = before;
    let get = Cmdlet::new("Get-RoleGroup");
    let groups = get.run(browser).await;
    main.push_str(&forms(&browser.csrf, groups.as_ref().ok(), form));
    main.push_str("<h2 id=\"list\">Role groups</h2>");
    main.push_str(&html::cmdlet_line(&get.line()));
    match groups {
        Ok(response) => {
            let columns: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
            main.push_str(&html::table(
                "Role groups: standard and linked (a linked group's members are the foreign group's)",
                &columns,
                response.records.iter().map(|record| {
                    COLUMNS
                        .iter()
                        .map(|c| {
                            let value = property(record, c);
                            if *c == "Name" {
                                format!(
                                    "<a href=\"/role-groups/detail?identity={}\">{}</a>",
                                    encode(&value),
                                    escape(&value)
                                )
                            } else {
                                escape(&value)
                            }
                        })
                        .collect()
                }),
            ));
        }
        Err(e) => main.push_str(&failure("Get-RoleGroup", &e)),
    }
    (TITLE.to_owned(), main)
}

/// The create and add-member forms, filled from `form`; the group names
/// of `groups` offered for the member.
fn forms(
    csrf: &str,
    groups: Option<&crossforest_shared::proto::management::v1::InvokeResponse>,
    form: &Fields,
) -> String {
    let mut options = String::new();
    let chosen = form.get("identity");
    for record in groups.map(|g| g.records.as_slice()).unwrap_or_default() {
        let name = property(record, "Name");
        let selected = if name == chosen { " selected" } else { "" };
        options.push_str(&format!(
            "<option value=\"{0}\"{selected}>{0}</option>",
            escape(&name)
        ));
    }
    format!(
        "<h2 id=\"new\">New role group</h2>\
         <form class=\"panel\" method=\"post\" action=\"/role-groups/new\" aria-labelledby=\"new\">{csrf}{}{}{}{}{}\
         <button type=\"submit\">Create (New-RoleGroup)</button></form>\
         <h2 id=\"add\">Add a member</h2>\
         <form class=\"panel\" method=\"post\" action=\"/role-groups/add-member\" aria-labelledby=\"add\">{csrf}\
         <div class=\"field\"><label for=\"group\">Role group</label><select id=\"group\" name=\"identity\">{options}</select></div>{}\
         <button type=\"submit\">Add (Add-RoleGroupMember)</button></form>",
        field("name", "Name", form.get("name"), ""),
        field(
            "linkedforeigngroup",
            "LinkedForeignGroup",
            form.get("linkedforeigngroup"),
            "for a linked role group: DOMAIN\\group of a trusted forest",
        ),
        field(
            "roles",
            "Roles",
            form.get("roles"),
            "comma-separated, e.g. Mail Recipients, Audit Logs"
        ),
        field(
            "members",
            "Members",
            form.get("members"),
            "comma-separated, e.g. contoso\\Dana"
        ),
        field(
            "managedby",
            "ManagedBy",
            form.get("managedby"),
            "comma-separated"
        ),
        field(
            "member",
            "Member",
            form.get("member"),
            "a user or group, e.g. contoso\\Dana"
        ),
        csrf = html::csrf_field(csrf),
    )
}

/// `New-RoleGroup` from the form, then the new group's page. A linked role
/// group's domain controller and linked credential are its trust's, from
/// the lab.
pub async fn create(console: &Console, browser: &mut BrowserSession, form: &Fields) -> Outcome {
    let foreign = form.get("linkedforeigngroup");
    let mut cmdlet = Cmdlet::new("New-RoleGroup")
        .text("Name", form.get("name"))
        .text("LinkedForeignGroup", foreign);
    if !foreign.is_empty() {
        match trust_of(console, foreign) {
            Ok((endpoint, credential)) => {
                cmdlet = cmdlet
                    .text("LinkedDomainController", &endpoint)
                    .text("LinkedCredential", &credential);
            }
            Err(e) => {
                let refused = html::error("New-RoleGroup: -LinkedForeignGroup", &format!("{e:#}"));
                let (title, main) = list_after(browser, refused, form).await;
                return Outcome::Page(StatusCode::BAD_REQUEST, title, main);
            }
        }
    }
    let cmdlet = cmdlet
        .list("Roles", form.list("roles"))
        .list("Members", form.list("members"))
        .list("ManagedBy", form.list("managedby"));
    let success = format!("Role group `{}` created.", form.get("name"));
    match run(browser, &cmdlet, &success).await {
        Ok(message) => Outcome::Done {
            to: detail_path(form.get("name")),
            message,
        },
        Err((status, refused)) => {
            let (title, main) = list_after(browser, refused, form).await;
            Outcome::Page(status, title, main)
        }
    }
}

/// The page of the role group `identity`.
pub(super) fn detail_path(identity: &str) -> String {
    format!("/role-groups/detail?identity={}", encode(identity))
}

/// The domain controller and linked credential of the trust whose forest
/// `group` (`DOMAIN\group`) names.
fn trust_of(console: &Console, group: &str) -> anyhow::Result<(String, String)> {
    let (domain, _) = crate::sign_in::split_identity(group)?;
    let forest = console.lab.forest(domain)?;
    let config = console.lab.resource_config()?;
    let trust = config
        .trusts
        .iter()
        .find(|t| t.forest == forest)
        .with_context(|| format!("{} does not trust `{forest}`", console.lab.file().resource))?;
    let credential = trust
        .linked_credential
        .as_ref()
        .with_context(|| format!("the trust of `{forest}` has no linked credential"))?;
    Ok((trust.endpoint.clone(), credential.user.clone()))
}

/// `Add-RoleGroupMember` from the form, then the group's page.
pub async fn add_member(browser: &mut BrowserSession, form: &Fields) -> Outcome {
    let (group, member) = (form.get("identity"), form.get("member"));
    let cmdlet = Cmdlet::new("Add-RoleGroupMember")
        .text("Identity", group)
        .text("Member", member);
    match run(browser, &cmdlet, &format!("`{member}` added to `{group}`.")).await {
        Ok(message) => Outcome::Done {
            to: detail_path(group),
            message,
        },
        Err((status, refused)) => {
            let (title, main) = list_after(browser, refused, form).await;
            Outcome::Page(status, title, main)
        }
    }
}

/// Runs `cmdlet`: its line and what happened (HTML), or the status and its
/// line with the refusal.
pub(super) async fn run(
    browser: &mut BrowserSession,
    cmdlet: &Cmdlet,
    success: &str,
) -> Result<String, (StatusCode, String)> {
    let mut out = html::cmdlet_line(&cmdlet.line());
    match cmdlet.run(browser).await {
        Ok(response) => {
            for warning in &response.warnings {
                out.push_str(&html::notice(&format!("WARNING: {warning}")));
            }
            out.push_str(&html::notice(success));
            Ok(out)
        }
        Err(e) => {
            out.push_str(&failure(cmdlet.name, &e));
            Err((failure_status(&e), out))
        }
    }
}

/// `Set-RoleGroup -Description -ManagedBy` from the form (an empty field
/// leaves that property as it is), then the group's page.
pub async fn set(browser: &mut BrowserSession, form: &Fields) -> Outcome {
    let group = form.get("identity");
    let cmdlet = Cmdlet::new("Set-RoleGroup")
        .text("Identity", group)
        .text("Description", form.get("description"))
        .list("ManagedBy", form.list("managedby"));
    let success = format!("`{group}` changed.");
    on_group_page(browser, &cmdlet, &success, group, Refused::Change(form)).await
}

/// Runs `cmdlet`, a change made from `group`'s page: on success 303 to the
/// page with what happened; a refusal is the page at once, with the
/// `refused` form as it was filled.
pub(super) async fn on_group_page(
    browser: &mut BrowserSession,
    cmdlet: &Cmdlet,
    success: &str,
    group: &str,
    refused: Refused<'_>,
) -> Outcome {
    match run(browser, cmdlet, success).await {
        Ok(message) => Outcome::Done {
            to: detail_path(group),
            message,
        },
        Err((status, before)) => {
            let (title, main) = detail_after(browser, before, group, refused).await;
            Outcome::Page(status, title, main)
        }
    }
}

/// One role group: its properties, members, and assignments with scopes.
pub async fn detail(browser: &mut BrowserSession, query: &Fields) -> (String, String) {
    detail_after(browser, String::new(), query.get("identity"), Refused::None).await
}

/// Which form of a role group's page was refused, to show it as filled.
#[derive(Debug, Clone, Copy)]
pub(super) enum Refused<'f> {
    /// None: the page as it is.
    None,
    /// The change form (`Set-RoleGroup`).
    Change(&'f Fields),
    /// The add-a-role form (`New-ManagementRoleAssignment`).
    AddRole(&'f Fields),
}

/// The page of `identity` after `before` (HTML: a refusal), the refused
/// form filled as it was sent, the others from the group.
pub(super) async fn detail_after(
    browser: &mut BrowserSession,
    before: String,
    identity: &str,
    refused: Refused<'_>,
) -> (String, String) {
    let form = match refused {
        Refused::Change(form) => Some(form),
        _ => None,
    };
    let mut main = before + "<p><a href=\"/role-groups\">All role groups</a></p>";
    let mut change = String::new();
    let group = Cmdlet::new("Get-RoleGroup").text("Identity", identity);
    let members = Cmdlet::new("Get-RoleGroupMember").text("Identity", identity);
    let assignments = Cmdlet::new("Get-ManagementRoleAssignment").text("RoleAssignee", identity);
    for (heading, cmdlet) in [
        ("Properties", &group),
        ("Members", &members),
        ("Assignments and scopes", &assignments),
    ] {
        main.push_str(&format!("<h2>{heading}</h2>"));
        main.push_str(&html::cmdlet_line(&cmdlet.line()));
        match cmdlet.run(browser).await {
            Ok(response) if cmdlet.name == "Get-RoleGroup" => {
                main.push_str(&properties(&response));
                if let Some(record) = response.records.first() {
                    let value = |field: &str, property_name: &str| match form {
                        Some(form) => form.get(field).to_owned(),
                        None => property(record, property_name),
                    };
                    change = change_form(
                        &browser.csrf,
                        identity,
                        &value("description", "Description"),
                        &value("managedby", "ManagedBy"),
                    );
                }
            }
            Ok(response) if cmdlet.name == "Get-RoleGroupMember" => {
                main.push_str(&members_table(identity, &response));
            }
            Ok(response) if cmdlet.name == "Get-ManagementRoleAssignment" => {
                main.push_str(&super::assignments::table(identity, &response));
            }
            Ok(response) => main.push_str(&html::records_table(heading, &response)),
            Err(e) => main.push_str(&failure(cmdlet.name, &e)),
        }
    }
    let roles = Cmdlet::new("Get-ManagementRole").run(browser).await.ok();
    let add = match refused {
        Refused::AddRole(form) => Some(form),
        _ => None,
    };
    main.push_str(&super::assignments::add_form(
        &browser.csrf,
        identity,
        roles.as_ref(),
        add,
    ));
    main.push_str(&change);
    main.push_str(&format!(
        "<h2>Remove</h2><p><a href=\"/role-groups/remove?identity={}\">Remove this role group (Remove-RoleGroup)…</a></p>",
        encode(identity)
    ));
    (format!("Role group {identity}"), main)
}

/// The form that changes `group`'s description and managers.
fn change_form(csrf: &str, group: &str, description: &str, managed_by: &str) -> String {
    format!(
        "<h2 id=\"change\">Change</h2>\
         <form class=\"panel\" method=\"post\" action=\"/role-groups/set\" aria-labelledby=\"change\">{}\
         <input type=\"hidden\" name=\"identity\" value=\"{}\">{}{}\
         <button type=\"submit\">Change (Set-RoleGroup)</button></form>",
        html::csrf_field(csrf),
        escape(group),
        field("description", "Description", description, "empty: left as it is"),
        field(
            "managedby",
            "ManagedBy",
            managed_by,
            "comma-separated users or groups who may change this group; empty: left as it is"
        ),
    )
}

/// The members of `group`, each with a link to remove it (after asking).
fn members_table(
    group: &str,
    response: &crossforest_shared::proto::management::v1::InvokeResponse,
) -> String {
    let columns = ["Name", "RecipientType", "SID"];
    html::removable_records("Members", &columns, &response.records, |record| {
        let name = property(record, "Name");
        format!(
            "<a href=\"/role-groups/remove-member?identity={}&amp;member={}\" aria-label=\"Remove {} from {}\">Remove…</a>",
            encode(group),
            encode(&name),
            escape(&name),
            escape(group)
        )
    })
}

/// One object's properties as a two-column table.
fn properties(response: &crossforest_shared::proto::management::v1::InvokeResponse) -> String {
    let Some(record) = response.records.first() else {
        return "<p>No such role group.</p>".to_owned();
    };
    html::table(
        "Properties",
        &["Property".to_owned(), "Value".to_owned()],
        record
            .properties
            .iter()
            .map(|p| vec![escape(&p.name), escape(&p.value)]),
    )
}
