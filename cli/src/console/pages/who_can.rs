//! Who can / what can: for a cmdlet, parameters and a target, the signed-in
//! identity's own decision (`Test-CmdletPermission`: the chain, or the
//! nearest miss of a denial) and every principal that may (who-can), each
//! chain drawn as a graph; and what the identity may run
//! (`Get-EffectivePermission`).

use crossforest_shared::proto::management::v1 as pb;

use super::{failure, Cmdlet};
use crate::console::graph::{self, Start};
use crate::console::html::{self, escape, field};
use crate::console::http::Fields;
use crate::console::sessions::BrowserSession;

const TITLE: &str = "Who can / what can";

/// The who-can page; runs the question when the form names a cmdlet.
pub async fn who_can(browser: &mut BrowserSession, query: &Fields) -> (String, String) {
    let (cmdlet, parameters, target) = (
        query.get("cmdlet"),
        query.list("parameters"),
        query.get("target"),
    );
    let mut main = format!(
        "<p>Who may run a cmdlet with these parameters on this target, and through what? \
         Or see <a href=\"/who-can/mine\">what you can run</a>.</p>\
         <form class=\"panel\" method=\"get\" action=\"/who-can\" role=\"search\" aria-label=\"Who can\">{}{}{}\
         <button type=\"submit\">Who can?</button></form>",
        field("cmdlet", "Cmdlet", cmdlet, "e.g. Set-Mailbox"),
        field("parameters", "Parameters", &parameters.join(", "), "comma-separated, without the dash, e.g. Office"),
        field("target", "Target", target, "the recipient acted on, e.g. dana; empty for none"),
    );
    if cmdlet.is_empty() {
        return (TITLE.to_owned(), main);
    }
    let request = pb::CheckRequest {
        cmdlet: cmdlet.to_owned(),
        parameters: parameters.clone(),
        target: target.to_owned(),
        write: None,
        at_least_revision: 0,
    };
    main.push_str(&mine(browser, &request).await);
    main.push_str(&everyone(browser, &request).await);
    (TITLE.to_owned(), main)
}

/// The identity's own decision, with its chains or the nearest miss.
async fn mine(browser: &mut BrowserSession, request: &pb::CheckRequest) -> String {
    let test = Cmdlet::new("Test-CmdletPermission")
        .text("", &request.cmdlet)
        .list("Parameters", request.parameters.clone())
        .text("Identity", &request.target);
    let mut out = format!(
        "<h2 id=\"mine\">May {} run it?</h2>{}",
        escape(&browser.identity),
        html::cmdlet_line(&test.line())
    );
    let decision = match browser.session.check(request.clone()).await {
        Ok(response) => response.decision.unwrap_or_default(),
        Err(e) => return out + &failure("Test-CmdletPermission", &e),
    };
    if decision.allowed {
        out.push_str(&html::notice(&format!("Allowed for {}.", browser.identity)));
        out.push_str(&chains("mine", None, &decision.chains));
        return out;
    }
    out.push_str(&html::error(
        &format!("DENIED for {}", browser.identity),
        &decision.reason,
    ));
    let mut miss = String::new();
    for (label, values) in [
        (
            "Parameters no assignment grants",
            &decision.missing_parameters,
        ),
        ("Roles that would grant what is missing", &decision.roles),
        (
            "Exclusive scopes protecting the target",
            &decision.exclusive_scopes,
        ),
    ] {
        if !values.is_empty() {
            miss.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                escape(label),
                escape(&values.join(", "))
            ));
        }
    }
    if !miss.is_empty() {
        out.push_str(&format!("<h3>Nearest miss</h3><dl>{miss}</dl>"));
    }
    out
}

/// Every principal that may, each with its chains.
async fn everyone(browser: &mut BrowserSession, request: &pb::CheckRequest) -> String {
    let gate = Cmdlet::new("Get-ManagementRoleAssignment")
        .switch("GetEffectiveUsers")
        .text("WritableRecipient", &request.target);
    let mut out = format!(
        "<h2 id=\"everyone\">Who can run it</h2>{}",
        html::cmdlet_line(&gate.line())
    );
    let response = match browser.session.who_can(request.clone()).await {
        Ok(response) => response,
        Err(e) => return out + &failure("Who can", &e),
    };
    if response.principals.is_empty() {
        out.push_str("<p>No one may.</p>");
        return out;
    }
    out.push_str(&format!(
        "<p id=\"who-count\">{} principal(s) may, at organization revision {}.</p>",
        response.principals.len(),
        response.revision
    ));
    for (i, principal) in response.principals.iter().enumerate() {
        let kind = match pb::PrincipalKind::try_from(principal.kind).unwrap_or_default() {
            pb::PrincipalKind::User => "user",
            pb::PrincipalKind::SecurityGroup => "security group",
            pb::PrincipalKind::ForeignGroup => "foreign group",
            pb::PrincipalKind::RoleAssignmentPolicy => "role assignment policy",
            pb::PrincipalKind::Unspecified => "principal",
        };
        out.push_str(&format!(
            "<section class=\"principal\" aria-labelledby=\"p{i}\"><h3 id=\"p{i}\">{} <small>({kind}, {})</small></h3>",
            escape(&principal.name),
            escape(&principal.forest),
        ));
        let start = Start {
            name: &principal.name,
            sid: &principal.sid,
        };
        out.push_str(&chains(&format!("p{i}"), Some(start), &principal.chains));
        out.push_str("</section>");
    }
    out
}

/// Each chain as a graph with its text version (in a disclosure).
fn chains(prefix: &str, start: Option<Start<'_>>, chains: &[pb::Chain]) -> String {
    let mut out = String::from("<div class=\"chains\">");
    for (j, chain) in chains.iter().enumerate() {
        let nodes = graph::nodes(start, chain);
        let id = format!("{prefix}-c{j}");
        let title = format!("Chain {}: through {}", j + 1, chain.assignment);
        out.push_str(&format!(
            "<figure>{}<figcaption><details><summary>{} (text)</summary>{}</details></figcaption></figure>",
            graph::svg(&id, &title, &nodes),
            escape(&title),
            graph::text_version(&nodes)
        ));
    }
    out.push_str("</div>");
    out
}

/// What the identity may run.
pub async fn what_can(browser: &mut BrowserSession) -> (String, String) {
    let cmdlet = Cmdlet::new("Get-EffectivePermission");
    let mut main = format!(
        "<p><a href=\"/who-can\">Ask who can run a cmdlet</a></p><h2>What {} can run</h2>{}",
        escape(&browser.identity),
        html::cmdlet_line(&cmdlet.line())
    );
    match browser.session.what_can().await {
        Ok(response) => main.push_str(&html::table(
            &format!(
                "Cmdlets {} may run (revision {})",
                browser.identity, response.revision
            ),
            &[
                "Cmdlet".into(),
                "Parameters".into(),
                "Granted by (assignment: write scope)".into(),
            ],
            response.permissions.iter().map(|p| {
                vec![
                    escape(&p.cmdlet),
                    escape(&p.parameters.join(", ")),
                    escape(&p.grants.join("; ")),
                ]
            }),
        )),
        Err(e) => main.push_str(&failure("Get-EffectivePermission", &e)),
    }
    (TITLE.to_owned(), main)
}
