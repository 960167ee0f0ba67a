//! The console's sections. Each runs its cmdlet (or RPC) as the signed-in
//! identity and shows the equivalent cmdlet line:
//!
//! * [`role_groups`] — `Get-RoleGroup`, `New-RoleGroup`, `Set-RoleGroup`,
//!   `Add-RoleGroupMember`;
//! * [`assignments`] — a role group's roles: `New-ManagementRoleAssignment`;
//! * [`removal`] — `Remove-RoleGroupMember`, `Remove-ManagementRoleAssignment`
//!   and `Remove-RoleGroup`, each after a confirmation page;
//! * [`who_can`] — `Test-CmdletPermission` (Check), who-can (WhoCan) with
//!   chain graphs, `Get-EffectivePermission` (WhatCan);
//! * [`what_if`] — a pending cmdlet with `-WhatIf`, or a model plan
//!   (ApplyPermissionModel, what-if only);
//! * [`audit`] — `Search-AdminAuditLog`;
//! * [`trusts`] — each account forest's link, staleness bound and certificates.

pub mod assignments;
pub mod audit;
pub mod removal;
pub mod role_groups;
pub mod trusts;
pub mod what_if;
pub mod who_can;

use hyper::{Method, StatusCode};

use super::html;
use super::http::Fields;
use super::server::Console;
use super::sessions::BrowserSession;
use crate::parse::Value;
use crate::session::SessionError;

/// What a request leads to.
#[derive(Debug)]
pub enum Outcome {
    /// A page: its status, title and main content (HTML).
    Page(StatusCode, String, String),
    /// A change made: 303 See Other to the page that shows its result, with
    /// `message` (HTML: the cmdlet line and what happened) shown there once,
    /// so that reloading that page does not run the cmdlet again.
    Done {
        /// Where to go.
        to: String,
        /// What the page there shows first.
        message: String,
    },
}

impl From<(String, String)> for Outcome {
    fn from((title, main): (String, String)) -> Self {
        Self::Page(StatusCode::OK, title, main)
    }
}

/// Where `method path` leads; `None` when there is no such page.
pub async fn route(
    console: &Console,
    browser: &mut BrowserSession,
    method: &Method,
    path: &str,
    query: &Fields,
    form: &Fields,
) -> Option<Outcome> {
    if let Some(removal) = removal::Removal::at(path) {
        return match *method {
            Method::GET => Some(removal.confirm(browser, query).into()),
            Method::POST => Some(removal.run(browser, form).await),
            _ => None,
        };
    }
    let outcome = match (method, path) {
        (&Method::GET, "/") | (&Method::GET, "/role-groups") => {
            role_groups::list(browser, form).await.into()
        }
        (&Method::POST, "/role-groups/new") => role_groups::create(console, browser, form).await,
        (&Method::POST, "/role-groups/add-member") => role_groups::add_member(browser, form).await,
        (&Method::POST, "/role-groups/set") => role_groups::set(browser, form).await,
        (&Method::GET, "/role-groups/detail") => role_groups::detail(browser, query).await.into(),
        (&Method::POST, "/role-groups/add-role") => assignments::add(browser, form).await,
        (&Method::GET, "/who-can") => who_can::who_can(browser, query).await.into(),
        (&Method::GET, "/who-can/mine") => who_can::what_can(browser).await.into(),
        (&Method::GET, "/what-if") => what_if::form(console, browser).await.into(),
        (&Method::POST, "/what-if") => what_if::plan(console, browser, form).await.into(),
        (&Method::POST, "/what-if/cmdlet") => what_if::pending(console, browser, form).await.into(),
        (&Method::GET, "/audit") => audit::search(browser, query).await.into(),
        (&Method::GET, "/trusts") => trusts::list(console).await.into(),
        _ => return None,
    };
    Some(outcome)
}

/// A cmdlet to run: its name and parameters (positional ones unnamed).
#[derive(Debug, Clone)]
pub struct Cmdlet {
    /// The cmdlet, e.g. `New-RoleGroup`.
    pub name: &'static str,
    /// Parameters in order.
    pub parameters: Vec<(String, Value)>,
}

impl Cmdlet {
    /// `name` without parameters.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            parameters: Vec::new(),
        }
    }

    /// Adds `-name text` (nothing when `text` is empty).
    pub fn text(mut self, name: &str, text: &str) -> Self {
        if !text.is_empty() {
            self.parameters
                .push((name.to_owned(), Value::Text(text.to_owned())));
        }
        self
    }

    /// Adds `-name a,b` (nothing when `values` is empty).
    pub fn list(mut self, name: &str, values: Vec<String>) -> Self {
        if !values.is_empty() {
            self.parameters.push((name.to_owned(), Value::List(values)));
        }
        self
    }

    /// Adds the switch `-name`.
    pub fn switch(mut self, name: &str) -> Self {
        self.parameters.push((name.to_owned(), Value::Switch));
        self
    }

    /// Adds `-name:$true` or `$false`.
    pub fn boolean(mut self, name: &str, value: bool) -> Self {
        self.parameters.push((name.to_owned(), Value::Bool(value)));
        self
    }

    /// The cmdlet as one shell line, every value quoted as the shell reads it.
    pub fn line(&self) -> String {
        let mut line = self.name.to_owned();
        for (name, value) in &self.parameters {
            line.push(' ');
            if !name.is_empty() {
                line.push('-');
                line.push_str(name);
            }
            let space = if name.is_empty() { "" } else { " " };
            match value {
                Value::Text(text) => {
                    line.push_str(space);
                    line.push_str(&quote(text));
                }
                Value::List(values) => {
                    line.push_str(space);
                    line.push_str(
                        &values
                            .iter()
                            .map(|v| quote(v))
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                }
                Value::Bool(b) => line.push_str(if *b { ":$true" } else { ":$false" }),
                Value::Switch => {}
            }
        }
        line
    }

    /// Runs the cmdlet as the signed-in identity.
    pub async fn run(
        &self,
        browser: &mut BrowserSession,
    ) -> Result<crossforest_shared::proto::management::v1::InvokeResponse, SessionError> {
        browser
            .session
            .invoke(self.name, self.parameters.clone())
            .await
    }
}

/// `text` as one shell word: bare when it holds only letters, digits and
/// `-_.\@/:`, else single-quoted (a quote doubled).
pub fn quote(text: &str) -> String {
    let bare = !text.is_empty()
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.\\@/:".contains(c));
    if bare {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

/// The status of a refused or failed cmdlet: 403 for a denial, else 400.
pub fn failure_status(error: &SessionError) -> StatusCode {
    if error.is_denied() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// What went wrong with `what`, with the resource forest's reason: a
/// denial says DENIED and the rule, an invalid argument names the parameter.
pub fn failure(what: &str, error: &SessionError) -> String {
    let heading = if error.is_denied() {
        format!("DENIED: {what}")
    } else {
        format!("{what} failed")
    };
    html::error(&heading, &error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cmdlet_line_reads_back_as_the_same_parameters() {
        let cmdlet = Cmdlet::new("New-RoleGroup")
            .text("", "positional")
            .text("Name", "Bob's \"Admins\" $x")
            .list("Roles", vec!["Mail Recipients".into(), "Audit Logs".into()])
            .list(
                "Members",
                vec!["fabrikam\\bob".into(), "contoso\\Dana".into()],
            )
            .text("Description", "")
            .boolean("IsSuccess", false);
        let line = cmdlet.line();
        assert_eq!(
            line,
            "New-RoleGroup positional -Name 'Bob''s \"Admins\" $x' -Roles 'Mail Recipients','Audit Logs' -Members fabrikam\\bob,contoso\\Dana -IsSuccess:$false"
        );
        let parsed = crate::parse::parse(&line).unwrap();
        assert_eq!(parsed.cmdlet, "New-RoleGroup");
        assert_eq!(parsed.parameters, cmdlet.parameters);
    }

    #[test]
    fn a_value_like_a_parameter_name_is_quoted() {
        assert_eq!(quote("-Force"), "'-Force'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("dana"), "dana");
    }
}
