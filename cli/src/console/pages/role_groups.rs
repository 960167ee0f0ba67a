//! Role groups: standard and linked (the foreign group and its forest),
//! roles, assignments, members, ManagedBy; create one (`New-RoleGroup`) and
//! add a member (`Add-RoleGroupMember`), validated and lockout-checked by
//! the resource forest as those cmdlets are.

use anyhow::Context as _;

use super::{failure, Cmdlet};
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

/// The columns of a role group's assignments: each with its scopes.
const ASSIGNMENT_COLUMNS: [&str; 8] = [
    "Name",
    "Role",
    "RoleAssignmentDelegationType",
    "RecipientWriteScope",
    "CustomRecipientWriteScope",
    "RecipientOrganizationalUnitScope",
    "ConfigWriteScope",
    "CustomConfigWriteScope",
];

/// The list of role groups, after the outcome of an action (`done`, HTML).
pub async fn list(browser: &mut BrowserSession, done: Option<String>) -> (String, String) {
    let mut main = done.unwrap_or_default();
    let get = Cmdlet::new("Get-RoleGroup");
    let groups = get.run(browser).await;
    main.push_str(&forms(&browser.csrf, groups.as_ref().ok()));
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

/// The create and add-member forms; the group names of `groups` offered
/// for the member.
fn forms(
    csrf: &str,
    groups: Option<&crossforest_shared::proto::management::v1::InvokeResponse>,
) -> String {
    let mut options = String::new();
    for record in groups.map(|g| g.records.as_slice()).unwrap_or_default() {
        let name = property(record, "Name");
        options.push_str(&format!(
            "<option value=\"{0}\">{0}</option>",
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
        field("name", "Name", "", ""),
        field(
            "linkedforeigngroup",
            "LinkedForeignGroup",
            "",
            "for a linked role group: DOMAIN\\group of a trusted forest",
        ),
        field("roles", "Roles", "", "comma-separated, e.g. Mail Recipients, Audit Logs"),
        field("members", "Members", "", "comma-separated, e.g. contoso\\Dana"),
        field("managedby", "ManagedBy", "", "comma-separated"),
        field("member", "Member", "", "a user or group, e.g. contoso\\Dana"),
        csrf = html::csrf_field(csrf),
    )
}

/// `New-RoleGroup` from the form, then the list. A linked role group's
/// domain controller and linked credential are its trust's, from the lab.
pub async fn create(
    console: &Console,
    browser: &mut BrowserSession,
    form: &Fields,
) -> (String, String) {
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
                let done = html::error("New-RoleGroup: -LinkedForeignGroup", &format!("{e:#}"));
                return list(browser, Some(done)).await;
            }
        }
    }
    let cmdlet = cmdlet
        .list("Roles", form.list("roles"))
        .list("Members", form.list("members"))
        .list("ManagedBy", form.list("managedby"));
    let done = outcome(
        browser,
        &cmdlet,
        &format!("Role group `{}` created.", form.get("name")),
    )
    .await;
    list(browser, Some(done)).await
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

/// `Add-RoleGroupMember` from the form, then the list.
pub async fn add_member(browser: &mut BrowserSession, form: &Fields) -> (String, String) {
    let cmdlet = Cmdlet::new("Add-RoleGroupMember")
        .text("Identity", form.get("identity"))
        .text("Member", form.get("member"));
    let done = outcome(
        browser,
        &cmdlet,
        &format!(
            "`{}` added to `{}`.",
            form.get("member"),
            form.get("identity")
        ),
    )
    .await;
    list(browser, Some(done)).await
}

/// Runs `cmdlet`; its line and what happened, as HTML.
async fn outcome(browser: &mut BrowserSession, cmdlet: &Cmdlet, success: &str) -> String {
    let mut out = html::cmdlet_line(&cmdlet.line());
    match cmdlet.run(browser).await {
        Ok(response) => {
            for warning in &response.warnings {
                out.push_str(&html::notice(&format!("WARNING: {warning}")));
            }
            out.push_str(&html::notice(success));
        }
        Err(e) => out.push_str(&failure(cmdlet.name, &e)),
    }
    out
}

/// One role group: its properties, members, and assignments with scopes.
pub async fn detail(browser: &mut BrowserSession, query: &Fields) -> (String, String) {
    let identity = query.get("identity");
    let mut main = "<p><a href=\"/role-groups\">All role groups</a></p>".to_owned();
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
            }
            Ok(response) if cmdlet.name == "Get-ManagementRoleAssignment" => {
                let columns = ASSIGNMENT_COLUMNS.map(str::to_owned);
                main.push_str(&html::records_columns(heading, &columns, &response.records));
            }
            Ok(response) => main.push_str(&html::records_table(heading, &response)),
            Err(e) => main.push_str(&failure(cmdlet.name, &e)),
        }
    }
    (format!("Role group {identity}"), main)
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
