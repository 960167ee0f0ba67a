//! What-if: a pending cmdlet run with `-WhatIf`, or a permission model (the
//! organization's, exported, to edit) planned by the resource forest as the
//! signed-in identity, changing nothing: the objects that would change, the
//! cmdlets that would change them, and who would gain or lose which cmdlets.

use crossforest_shared::proto::management::v1 as pb;

use super::failure;
use crate::console::html::{self, escape};
use crate::console::http::Fields;
use crate::console::server::Console;
use crate::console::sessions::BrowserSession;
use crate::parse::Value;

const TITLE: &str = "What-if";

/// The model name the audit log records for a plan from the console.
const MODEL_NAME: &str = "console.toml";

/// The form, holding the organization's model as the identity may read it.
pub async fn form(console: &Console, browser: &mut BrowserSession) -> (String, String) {
    let mut main = String::new();
    let model = match crate::model::export_model(&mut browser.session).await {
        Ok(model) => model,
        Err(e) => {
            main.push_str(&html::error(
                "Could not read the organization's model (ExportRbac) to start from",
                &format!("{e:#}"),
            ));
            String::new()
        }
    };
    main.push_str(&editor(console, browser, &model));
    (TITLE.to_owned(), main)
}

fn editor(console: &Console, browser: &BrowserSession, model: &str) -> String {
    format!(
        "<h2 id=\"pending\">A pending cmdlet</h2>\
         <form class=\"panel\" method=\"post\" action=\"/what-if/cmdlet\" aria-labelledby=\"pending\">{csrf}\
         <div class=\"field wide\"><label for=\"line\">Cmdlet line</label>\
         <input type=\"text\" id=\"line\" name=\"line\" aria-describedby=\"line-hint\">\
         <span class=\"hint\" id=\"line-hint\">run with -WhatIf, e.g. Add-RoleGroupMember \"Organization Management\" -Member contoso\\Dana</span></div>\
         <button type=\"submit\">What if?</button></form>\
         <h2 id=\"model-heading\">A permission model</h2>\
         <p>Edit the model (it starts as the organization's configuration: what differs from \
         what setup installs) and plan it: the resource forest shows what would change and who \
         would gain or lose which cmdlets, and changes nothing. Apply a plan with \
         <code>crossforest model apply</code>.</p>{}\
         <form method=\"post\" action=\"/what-if\">{}\
         <div class=\"field\"><label for=\"model\">Model (TOML)</label>\
         <textarea id=\"model\" name=\"model\" rows=\"22\" spellcheck=\"false\">{}</textarea></div>\
         <p><button type=\"submit\">Plan (what-if)</button></p></form>",
        html::equivalent("Equivalent command:", &format!(
            "crossforest model plan --lab {} --as {} {MODEL_NAME}",
            crate::pki::quoted(&console.lab.dir().display().to_string()),
            crate::pki::quoted(&browser.identity)
        )),
        html::csrf_field(&browser.csrf),
        escape(model),
        csrf = html::csrf_field(&browser.csrf),
    )
}

/// Runs the posted cmdlet line with `-WhatIf`: who would gain or lose
/// which cmdlets, nothing changed.
pub async fn pending(
    console: &Console,
    browser: &mut BrowserSession,
    fields: &Fields,
) -> (String, String) {
    let typed = fields.get("line");
    let mut main = String::new();
    match crate::parse::parse(typed) {
        Err(e) => main.push_str(&html::error(
            "The cmdlet line does not parse",
            &e.to_string(),
        )),
        Ok(mut parsed) => {
            let mut line = typed.to_owned();
            if !parsed
                .parameters
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("WhatIf"))
            {
                parsed.parameters.push(("WhatIf".to_owned(), Value::Switch));
                line.push_str(" -WhatIf");
            }
            main.push_str(&html::cmdlet_line(&line));
            match browser
                .session
                .invoke(&parsed.cmdlet, parsed.parameters)
                .await
            {
                Ok(response) => {
                    for warning in &response.warnings {
                        main.push_str(&html::notice(&format!("WARNING: {warning}")));
                    }
                    main.push_str(&html::records_table("What would change", &response));
                }
                Err(e) => main.push_str(&failure(&parsed.cmdlet, &e)),
            }
        }
    }
    main.push_str(&form(console, browser).await.1);
    (TITLE.to_owned(), main)
}

/// Plans the posted model.
pub async fn plan(
    console: &Console,
    browser: &mut BrowserSession,
    form: &Fields,
) -> (String, String) {
    let model = form
        .0
        .iter()
        .find(|(n, _)| n == "model")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut main = String::new();
    let request = pb::ApplyPermissionModelRequest {
        model: model.clone(),
        name: MODEL_NAME.to_owned(),
        what_if: true,
        expected: None,
    };
    match browser.session.apply_permission_model(request).await {
        Ok(plan) => main.push_str(&render(&plan)),
        Err(e) => main.push_str(&failure("The plan", &e)),
    }
    main.push_str(&editor(console, browser, &model));
    (TITLE.to_owned(), main)
}

/// The plan: changes with their cmdlets, then gains and losses.
pub fn render(plan: &pb::ApplyPermissionModelResponse) -> String {
    if plan.changes.is_empty() {
        return html::notice(&format!(
            "No changes: the organization matches the model (revision {}).",
            plan.revision
        ));
    }
    let mut out = format!(
        "<h2 id=\"changes\">{} object(s) would change (revision {})</h2><ul>",
        plan.changes.len(),
        plan.revision
    );
    for change in &plan.changes {
        out.push_str(&format!("<li><code>{}</code>", escape(&change.line)));
        if !change.cmdlets.is_empty() {
            out.push_str(&format!(
                "<pre class=\"cmdlet\"><code>{}</code></pre>",
                escape(&change.cmdlets.join("\n"))
            ));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul><h2 id=\"gains\">Who would gain or lose which cmdlets</h2>");
    out.push_str(&html::table(
        "Gains and losses per principal",
        &["Principal".into(), "Gains".into(), "Loses".into()],
        plan.principals.iter().map(|p| {
            vec![
                escape(&p.principal),
                format!(
                    "<span class=\"gains\">{}</span>",
                    escape(&p.gains.join(", "))
                ),
                format!(
                    "<span class=\"loses\">{}</span>",
                    escape(&p.loses.join(", "))
                ),
            ]
        }),
    ));
    out
}
