//! The admin audit log: `Search-AdminAuditLog` with its filters.

use super::{failure, Cmdlet};
use crate::console::html::{self, field};
use crate::console::http::Fields;
use crate::console::sessions::BrowserSession;

const TITLE: &str = "Admin audit log";

/// How many entries the page asks for when the form says nothing.
const DEFAULT_RESULT_SIZE: &str = "100";

/// The search form and its results.
pub async fn search(browser: &mut BrowserSession, query: &Fields) -> (String, String) {
    let result_size = match query.get("resultsize") {
        "" => DEFAULT_RESULT_SIZE,
        size => size,
    };
    let is_success = match query.get("issuccess") {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let mut cmdlet = Cmdlet::new("Search-AdminAuditLog")
        .list("Cmdlets", query.list("cmdlets"))
        .list("Parameters", query.list("parameters"))
        .list("ObjectIds", query.list("objectids"))
        .list("UserIds", query.list("userids"))
        .text("StartDate", query.get("startdate"))
        .text("EndDate", query.get("enddate"));
    if let Some(success) = is_success {
        cmdlet = cmdlet.boolean("IsSuccess", success);
    }
    let cmdlet = cmdlet.text("ResultSize", result_size);
    let selected = |value: Option<bool>| if value == is_success { " selected" } else { "" };
    let mut main = format!(
        "<form class=\"panel\" method=\"get\" action=\"/audit\" role=\"search\" aria-label=\"Search the admin audit log\">\
         {}{}{}{}{}{}\
         <div class=\"field\"><label for=\"issuccess\">IsSuccess</label><select id=\"issuccess\" name=\"issuccess\">\
         <option value=\"\"{}>either</option><option value=\"true\"{}>$true</option><option value=\"false\"{}>$false</option></select></div>\
         {}<button type=\"submit\">Search</button></form>",
        field("cmdlets", "Cmdlets", &query.list("cmdlets").join(", "), "comma-separated"),
        field("parameters", "Parameters", &query.list("parameters").join(", "), "comma-separated"),
        field("objectids", "ObjectIds", &query.list("objectids").join(", "), "objects changed"),
        field("userids", "UserIds", &query.list("userids").join(", "), "callers, e.g. fabrikam\\alice"),
        field("startdate", "StartDate", query.get("startdate"), "e.g. 2026-01-31"),
        field("enddate", "EndDate", query.get("enddate"), ""),
        selected(None),
        selected(Some(true)),
        selected(Some(false)),
        field("resultsize", "ResultSize", result_size, "at most this many entries"),
    );
    main.push_str(&html::cmdlet_line(&cmdlet.line()));
    match cmdlet.run(browser).await {
        Ok(response) => {
            main.push_str(&format!(
                "<p>{} entr{}.</p>",
                response.records.len(),
                if response.records.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            ));
            main.push_str(&html::records_table("Admin audit log entries", &response));
        }
        Err(e) => main.push_str(&failure("Search-AdminAuditLog", &e)),
    }
    (TITLE.to_owned(), main)
}
