//! The console's HTML: the one escape function every server-supplied text
//! goes through, the page layout (skip link, landmarks, navigation), and the
//! pieces pages share (the cmdlet line, errors, record tables).

use std::fmt::Write as _;

use crossforest_shared::proto::management::v1 as pb;

/// `text` escaped for HTML text and attribute values (double-quoted): the
/// only way text from the server, the lab or the browser enters a page.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The sections of the console, in navigation order: path and label.
pub const SECTIONS: [(&str, &str); 5] = [
    ("/role-groups", "Role groups"),
    ("/who-can", "Who can / what can"),
    ("/what-if", "What-if"),
    ("/audit", "Admin audit log"),
    ("/trusts", "Trusts"),
];

const STYLE: &str = include_str!("console.css");

/// Who is signed in, for the page header: identity and the form token the
/// sign-out form carries.
pub struct Header<'a> {
    /// `DOMAIN\user`.
    pub identity: &'a str,
    /// The session's form token.
    pub csrf: &'a str,
}

/// A whole page: `title`, the current section's path (for `aria-current`),
/// who is signed in (none on the sign-in page), and the main content
/// (already HTML).
pub fn page(title: &str, current: &str, header: Option<&Header<'_>>, main: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · crossforest console</title><style>{STYLE}</style></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to main content</a>\
         <header><span class=\"brand\">crossforest console</span>",
        escape(title)
    );
    if let Some(header) = header {
        out.push_str("<nav aria-label=\"Sections\"><ul>");
        for (path, label) in SECTIONS {
            let current = if path == current {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(out, "<li><a href=\"{path}\"{current}>{label}</a></li>");
        }
        let _ = write!(
            out,
            "</ul></nav><form class=\"signout\" method=\"post\" action=\"/sign-out\">\
             <span id=\"signed-in\">Signed in as <strong>{}</strong></span>{}\
             <button type=\"submit\">Sign out</button></form>",
            escape(header.identity),
            csrf_field(header.csrf)
        );
    }
    let _ = write!(
        out,
        "</header><main id=\"main\" tabindex=\"-1\"><h1>{}</h1>{main}</main></body></html>",
        escape(title)
    );
    out
}

/// The hidden form field carrying the session's form token.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    )
}

/// The equivalent cmdlet line of an action, as the shell would run it.
pub fn cmdlet_line(line: &str) -> String {
    equivalent("Equivalent cmdlet:", line)
}

/// A command line the action equals, under `label`.
pub fn equivalent(label: &str, line: &str) -> String {
    format!(
        "<p class=\"cmdlet-label\">{}</p><pre class=\"cmdlet\"><code>{}</code></pre>",
        escape(label),
        escape(line)
    )
}

/// An error, announced to screen readers: `what` failed, and why.
pub fn error(what: &str, why: &str) -> String {
    format!(
        "<div class=\"error\" role=\"alert\"><p><strong>{}</strong></p><p>{}</p></div>",
        escape(what),
        escape(why)
    )
}

/// A success note, announced politely.
pub fn notice(text: &str) -> String {
    format!(
        "<div class=\"notice\" role=\"status\"><p>{}</p></div>",
        escape(text)
    )
}

/// The records a cmdlet returned as a table with a caption and column
/// headers: the cmdlet's default columns (else every property of the first
/// record), or a line saying there were none.
pub fn records_table(caption: &str, response: &pb::InvokeResponse) -> String {
    let columns: Vec<String> = if response.default_columns.is_empty() || response.list_view {
        response
            .records
            .first()
            .map(|r| r.properties.iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default()
    } else {
        response.default_columns.clone()
    };
    records_columns(caption, &columns, &response.records)
}

/// Records as a table of the properties `columns`, in that order.
pub fn records_columns(caption: &str, columns: &[String], records: &[pb::Record]) -> String {
    table(
        caption,
        columns,
        records.iter().map(|record| {
            columns
                .iter()
                .map(|c| escape(&property(record, c)))
                .collect()
        }),
    )
}

/// Records as a table of the properties `columns`, with a last column
/// "Remove" holding each record's `link` (HTML).
pub fn removable_records(
    caption: &str,
    columns: &[&str],
    records: &[pb::Record],
    link: impl Fn(&pb::Record) -> String,
) -> String {
    let mut headers: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    headers.push("Remove".to_owned());
    table(
        caption,
        &headers,
        records.iter().map(|record| {
            let mut row: Vec<String> = columns
                .iter()
                .map(|c| escape(&property(record, c)))
                .collect();
            row.push(link(record));
            row
        }),
    )
}

/// The value of the property `name` of `record` (empty when it has none).
pub fn property(record: &pb::Record, name: &str) -> String {
    record
        .properties
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.clone())
        .unwrap_or_default()
}

/// A table with column headers, each row's first cell its header; cells
/// are HTML (escaped by the caller). A note when it has no rows.
pub fn table(caption: &str, columns: &[String], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut body = String::new();
    for row in rows {
        body.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i == 0 {
                let _ = write!(body, "<th scope=\"row\">{cell}</th>");
            } else {
                let _ = write!(body, "<td>{cell}</td>");
            }
        }
        body.push_str("</tr>");
    }
    if body.is_empty() {
        return format!("<p>{}: none.</p>", escape(caption));
    }
    let mut out = format!(
        "<div class=\"scroll\"><table><caption>{}</caption><thead><tr>",
        escape(caption)
    );
    for column in columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(column));
    }
    let _ = write!(out, "</tr></thead><tbody>{body}</tbody></table></div>");
    out
}

/// A labelled text field; `hint` is read after the label.
pub fn field(name: &str, label: &str, value: &str, hint: &str) -> String {
    let described = if hint.is_empty() {
        String::new()
    } else {
        format!(
            " aria-describedby=\"{name}-hint\"><span class=\"hint\" id=\"{name}-hint\">{}</span",
            escape(hint)
        )
    };
    format!(
        "<div class=\"field\"><label for=\"{name}\">{}</label><input type=\"text\" id=\"{name}\" name=\"{name}\" value=\"{}\"{described}></div>",
        escape(label),
        escape(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_attribute_breakouts() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(
            escape("fabrikam\\Exchange Admins"),
            "fabrikam\\Exchange Admins"
        );
    }

    #[test]
    fn a_page_has_a_skip_link_landmarks_and_escaped_title_and_identity() {
        let header = Header {
            identity: "fabrikam\\<b>",
            csrf: "t\"k",
        };
        let html = page("A <title>", "/who-can", Some(&header), "<p>body</p>");
        assert!(html.contains("<a class=\"skip\" href=\"#main\">"));
        assert!(html.contains("<main id=\"main\""));
        assert!(html.contains("<nav aria-label=\"Sections\">"));
        assert!(html.contains("<title>A &lt;title&gt; · crossforest console</title>"));
        assert!(html.contains("fabrikam\\&lt;b&gt;"));
        assert!(html.contains("value=\"t&quot;k\""));
        assert!(html.contains("href=\"/who-can\" aria-current=\"page\""));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn a_record_table_escapes_cells_and_has_headers() {
        let response = pb::InvokeResponse {
            records: vec![pb::Record {
                properties: vec![pb::Property {
                    name: "Name".into(),
                    value: "<img src=x>".into(),
                    typed: None,
                }],
            }],
            default_columns: vec!["Name".into()],
            ..Default::default()
        };
        let html = records_table("Role groups", &response);
        assert!(html.contains("<th scope=\"col\">Name</th>"));
        assert!(html.contains("&lt;img src=x&gt;"));
        assert!(!html.contains("<img"));
    }
}
