//! Printing cmdlet results the way the Exchange Management Shell does: each
//! cmdlet's default view (a table of its columns, one row for one object, or
//! a list), what `Format-List` / `Format-Table` asked for, or JSON for
//! machines with the values' types kept.

use crossforest_shared::proto::management::v1 as pb;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Table for several objects, list for one.
    Text,
    /// One JSON array of objects.
    Json,
    /// JSON lines: one JSON object per record per line (e.g. the admin audit
    /// log exported with `Search-AdminAuditLog`).
    Jsonl,
}

mod json;
mod table;

pub use table::{terminal_width, FALLBACK_WIDTH};

/// How text output lays records out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum View {
    /// Records without a view of their own (the shell's): a list for one
    /// record, a table of the first columns for several.
    #[default]
    Auto,
    /// `Format-List`: every record as a list.
    List,
    /// `Format-Table`: one table with every property.
    Table,
    /// The cmdlet's default view, as the resource forest declares it.
    Cmdlet(CmdletView),
}

/// A cmdlet's default view: a table of these columns (one row for one
/// object, as EMS), or a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmdletView {
    /// The columns of its table, in order.
    pub columns: Vec<String>,
    /// Its objects show as a list.
    pub list: bool,
}

impl View {
    /// The view of a cmdlet's response: its default view when the node
    /// declares one, else [`View::Auto`].
    pub fn of(response: &pb::InvokeResponse) -> Self {
        if response.default_columns.is_empty() && !response.list_view {
            return Self::Auto;
        }
        Self::Cmdlet(CmdletView {
            columns: response.default_columns.clone(),
            list: response.list_view,
        })
    }
}

/// Columns of a table of records without a view of their own.
const TABLE_COLUMNS: usize = 4;

/// A warning as the shell prints it: `WARNING: …`, yellow on a terminal.
pub fn warning(text: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[33mWARNING: {text}\x1b[0m\n")
    } else {
        format!("WARNING: {text}\n")
    }
}

fn list(record: &pb::Record) -> String {
    let props = &record.properties;
    let width = props.iter().map(|p| p.name.len()).max().unwrap_or(0);
    props
        .iter()
        .map(|p| format!("{:<width$} : {}\n", p.name, p.value))
        .collect()
}

fn lists(records: &[pb::Record]) -> String {
    records.iter().map(list).collect::<Vec<_>>().join("\n")
}

/// Renders records as `Auto`.
pub fn render(records: &[pb::Record], format: Format) -> String {
    render_view(records, format, View::Auto)
}

/// Renders records in `format`, text laid out as `view` in the terminal's
/// width.
pub fn render_view(records: &[pb::Record], format: Format, view: View) -> String {
    render_at(records, format, &view, terminal_width())
}

/// Renders records in `format`, text laid out as `view` in `width` columns.
pub fn render_at(records: &[pb::Record], format: Format, view: &View, width: u16) -> String {
    match format {
        Format::Json => {
            let objects: Vec<_> = records.iter().map(json::object).collect();
            serde_json::to_string_pretty(&objects).unwrap_or_default() + "\n"
        }
        Format::Jsonl => records
            .iter()
            .map(|r| serde_json::Value::Object(json::object(r)).to_string() + "\n")
            .collect(),
        Format::Text if records.is_empty() => String::new(),
        Format::Text => match view {
            View::List => lists(records),
            View::Cmdlet(CmdletView { list: true, .. }) => lists(records),
            View::Cmdlet(CmdletView { columns, .. }) => {
                let names: Vec<&str> = columns.iter().map(String::as_str).collect();
                table::table(records, &names, width)
            }
            View::Table => {
                let mut names: Vec<&str> = Vec::new();
                for p in records.iter().flat_map(|r| &r.properties) {
                    if !names.contains(&p.name.as_str()) {
                        names.push(&p.name);
                    }
                }
                table::table(records, &names, width)
            }
            View::Auto if records.len() == 1 => lists(records),
            View::Auto => {
                let names: Vec<&str> = records[0]
                    .properties
                    .iter()
                    .take(TABLE_COLUMNS)
                    .map(|p| p.name.as_str())
                    .collect();
                table::table(records, &names, width)
            }
        },
    }
}

/// A record from (name, value) pairs, text only (as a node without types
/// sends them): for tests.
pub fn record(pairs: &[(&str, &str)]) -> pb::Record {
    pb::Record {
        properties: pairs
            .iter()
            .map(|(n, v)| pb::Property {
                name: (*n).to_owned(),
                value: (*v).to_owned(),
                typed: None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_and_formats() {
        let records = [
            record(&[("Name", "dana"), ("Office", "Floor 2")]),
            record(&[("Name", "erin"), ("Office", "\"3\"")]),
        ];
        let jsonl = render_view(&records, Format::Jsonl, View::List);
        let lines: Vec<&str> = jsonl.lines().collect();
        assert_eq!(lines.len(), 2);
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["Office"], "\"3\"");
        let listed = render_view(&records, Format::Text, View::List);
        assert!(
            listed.contains("Name   : dana\nOffice : Floor 2\n\nName   : erin"),
            "{listed}"
        );
        let tabled = render_view(&records[..1], Format::Text, View::Table);
        assert!(
            tabled.starts_with("Name Office\n---- ------\ndana Floor 2\n"),
            "{tabled}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_view(&records, Format::Json, View::Auto)).unwrap();
        assert_eq!(json[0]["Name"], "dana");
    }
}
