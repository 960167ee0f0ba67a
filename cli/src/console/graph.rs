//! A permission chain as a picture: principal → SID → foreign group →
//! (linked) role group → assignment → role → entry → scope, one box per
//! step with an arrow and a label between, drawn as inline SVG on the
//! server; with a `<title>`/`<desc>` and a text version for screen readers.

use std::fmt::Write as _;

use crossforest_shared::proto::management::v1 as pb;

use super::html::escape;

/// One box of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What the step is: `SID`, `Foreign group`, `Role group`, …
    pub kind: &'static str,
    /// Its name.
    pub label: String,
}

/// The principal a chain starts from, when it is not the chain's first
/// link (who-can: the foreign group or user that may).
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// `DOMAIN\name` (a foreign group as `forest\name`).
    pub name: &'a str,
    /// Its SID, if any.
    pub sid: &'a str,
}

fn link_kind(kind: i32) -> &'static str {
    match pb::LinkKind::try_from(kind).unwrap_or_default() {
        pb::LinkKind::Sid => "SID",
        pb::LinkKind::ForeignGroup => "Foreign group",
        pb::LinkKind::RoleGroup => "Role group",
        pb::LinkKind::Policy => "Role assignment policy",
        pb::LinkKind::Unspecified => "Link",
    }
}

/// The boxes of `chain`, from `start` (skipped when the chain's first link
/// already names it) to the scope.
pub fn nodes(start: Option<Start<'_>>, chain: &pb::Chain) -> Vec<Node> {
    let mut out = Vec::new();
    if let Some(start) = start {
        let named = chain.links.first().is_some_and(|l| {
            l.value == start.name || (!start.sid.is_empty() && l.value == start.sid)
        });
        if !named {
            let label = if start.sid.is_empty() {
                start.name.to_owned()
            } else {
                format!("{} ({})", start.name, start.sid)
            };
            out.push(Node {
                kind: "Principal",
                label,
            });
        }
    }
    out.extend(chain.links.iter().map(|l| Node {
        kind: link_kind(l.kind),
        label: l.value.clone(),
    }));
    for (kind, label) in [
        ("Assignment", &chain.assignment),
        ("Role", &chain.role),
        ("Role entry", &chain.entry),
        ("Scope", &chain.scope),
    ] {
        if !label.is_empty() {
            out.push(Node {
                kind,
                label: label.clone(),
            });
        }
    }
    out
}

/// What the arrow into a box of `kind` says, coming from a box of `from`.
fn relation(from: &str, kind: &str) -> &'static str {
    match (from, kind) {
        ("Foreign group", "Role group") => "linked to",
        (_, "Foreign group" | "Role group") => "member of",
        (_, "Assignment") => "assigned by",
        (_, "Role") => "assigns role",
        (_, "Role entry") => "grants",
        (_, "Scope") => "within",
        _ => "then",
    }
}

const WIDTH: usize = 600;
const BOX: usize = 46;
const GAP: usize = 30;
const CHARS: usize = 78;

/// `text` cut to `CHARS` characters, with an ellipsis when cut.
fn fit(text: &str) -> String {
    if text.chars().count() <= CHARS {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// The chain as one sentence: `A → member of → B → …`.
pub fn sentence(nodes: &[Node]) -> String {
    let mut out = String::new();
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            let _ = write!(out, " → {} → ", relation(nodes[i - 1].kind, node.kind));
        }
        let _ = write!(out, "{} {}", node.kind.to_lowercase(), node.label);
    }
    out
}

/// The chain as inline SVG (`id` unique in the page): a box per node, top
/// to bottom, each full label in its own `<title>`.
pub fn svg(id: &str, title: &str, nodes: &[Node]) -> String {
    let height = nodes.len() * (BOX + GAP) - GAP + 2;
    let mut out = format!(
        "<svg class=\"chain\" id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>\
         <defs><marker id=\"{id}-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#334e68\"/></marker></defs>",
        escape(title),
        escape(&sentence(nodes))
    );
    for (i, node) in nodes.iter().enumerate() {
        let y = 1 + i * (BOX + GAP);
        if i > 0 {
            let (y1, y2) = (y - GAP, y - 1);
            let _ = write!(
                out,
                "<line x1=\"40\" y1=\"{y1}\" x2=\"40\" y2=\"{y2}\" stroke=\"#334e68\" stroke-width=\"1.5\" marker-end=\"url(#{id}-arrow)\"/>\
                 <text x=\"50\" y=\"{}\" font-size=\"11\" fill=\"#4a5563\" font-style=\"italic\">{}</text>",
                y1 + GAP / 2 + 4,
                relation(nodes[i - 1].kind, node.kind)
            );
        }
        let fill = match node.kind {
            "Principal" | "SID" => "#e3f0fb",
            "Foreign group" => "#fff4d6",
            "Role group" | "Role assignment policy" => "#e6f4ea",
            "Scope" => "#f3e8fd",
            _ => "#f6f8fa",
        };
        let _ = write!(
            out,
            "<g class=\"node\" data-kind=\"{}\"><title>{}: {}</title>\
             <rect x=\"1\" y=\"{y}\" width=\"{}\" height=\"{BOX}\" rx=\"6\" fill=\"{fill}\" stroke=\"#334e68\"/>\
             <text x=\"12\" y=\"{}\" font-size=\"11\" font-weight=\"700\" fill=\"#334e68\">{}</text>\
             <text x=\"12\" y=\"{}\" font-size=\"13\" fill=\"#1b1f24\">{}</text></g>",
            escape(node.kind),
            escape(node.kind),
            escape(&node.label),
            WIDTH - 2,
            y + 16,
            escape(&node.kind.to_uppercase()),
            y + 35,
            escape(&fit(&node.label)),
        );
    }
    out.push_str("</svg>");
    out
}

/// The chain as an ordered list, the text version of the picture.
pub fn text_version(nodes: &[Node]) -> String {
    let mut out = String::from("<ol class=\"chain-text\">");
    for node in nodes {
        let _ = write!(
            out,
            "<li><strong>{}</strong>: {}</li>",
            escape(node.kind),
            escape(&node.label)
        );
    }
    out.push_str("</ol>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> pb::Chain {
        pb::Chain {
            links: vec![
                pb::Link {
                    kind: pb::LinkKind::ForeignGroup.into(),
                    value: "fabrikam\\Exchange Admins".into(),
                },
                pb::Link {
                    kind: pb::LinkKind::RoleGroup.into(),
                    value: "fabrikam Recipient Admins".into(),
                },
            ],
            assignment: "Mail Recipients_fabrikam Recipient Admins".into(),
            role: "Mail Recipients".into(),
            entry: "Set-Mailbox -Identity -Office".into(),
            scope: "implicit write <Organization>".into(),
            text: String::new(),
        }
    }

    #[test]
    fn a_linked_chain_has_every_step_in_order() {
        let nodes = nodes(
            Some(Start {
                name: "fabrikam\\Exchange Admins",
                sid: "S-1-5-21-1-2-3-1104",
            }),
            &chain(),
        );
        let kinds: Vec<_> = nodes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            [
                "Foreign group",
                "Role group",
                "Assignment",
                "Role",
                "Role entry",
                "Scope"
            ]
        );
        assert_eq!(
            sentence(&nodes[..2]),
            "foreign group fabrikam\\Exchange Admins → linked to → role group fabrikam Recipient Admins"
        );
    }

    #[test]
    fn a_principal_not_named_by_the_chain_starts_it() {
        let nodes = nodes(
            Some(Start {
                name: "fabrikam\\bob",
                sid: "S-1-5-21-9",
            }),
            &chain(),
        );
        assert_eq!(nodes[0].kind, "Principal");
        assert_eq!(nodes[0].label, "fabrikam\\bob (S-1-5-21-9)");
        assert_eq!(relation(nodes[0].kind, nodes[1].kind), "member of");
    }

    #[test]
    fn the_svg_has_a_box_and_arrow_per_step_and_escapes_labels() {
        let nodes = nodes(None, &chain());
        let svg = svg("c1", "Chain 1", &nodes);
        assert_eq!(svg.matches("<rect").count(), nodes.len());
        assert_eq!(svg.matches("<line").count(), nodes.len() - 1);
        assert!(svg.contains("aria-labelledby=\"c1-title c1-desc\""));
        assert!(svg.contains("implicit write &lt;Organization&gt;"));
        assert!(!svg.contains("<Organization>"));
        assert!(svg.contains(">linked to<"));
        let text = text_version(&nodes);
        assert_eq!(text.matches("<li>").count(), nodes.len());
    }

    #[test]
    fn a_long_label_is_cut_in_the_box_but_whole_in_its_title() {
        let long = "x".repeat(200);
        let nodes = vec![Node {
            kind: "Scope",
            label: long.clone(),
        }];
        let svg = svg("c2", "t", &nodes);
        assert!(svg.contains(&format!("Scope: {long}")));
        assert!(svg.contains(&format!("{}…", "x".repeat(CHARS - 1))));
    }
}
