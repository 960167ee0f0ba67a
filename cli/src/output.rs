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
    /// A property whose value heads each run of objects that share it
    /// (`   TypeName: …`, as `Get-Member` groups its rows), shown above the
    /// run's table instead of in it.
    pub group_by: Option<String>,
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
            group_by: None,
        })
    }
}

/// `records` in runs that share `by`'s value, each run headed
/// `   <by>: <value>` and laid out as a table of `columns`, as PowerShell
/// heads the groups of `Get-Member`.
fn grouped(records: &[pb::Record], by: &str, columns: &[String], width: u16) -> String {
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut out = String::new();
    for run in records.chunk_by(|a, b| table::value(a, by) == table::value(b, by)) {
        let heading = run.first().map_or("", |r| table::value(r, by));
        out.push_str(&format!("\n   {by}: {heading}\n\n"));
        out.push_str(&table::table(run, &names, width));
    }
    out
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
            View::Cmdlet(CmdletView {
                columns,
                group_by: Some(by),
                ..
            }) => grouped(records, by, columns, width),
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
    fn a_grouped_view_heads_each_run_with_its_value_as_get_member_does() {
        let member = |t: &str, name: &str| {
            record(&[
                ("TypeName", t),
                ("Name", name),
                ("MemberType", "NoteProperty"),
                ("Definition", "string x=y"),
            ])
        };
        let records = [
            member("System.Management.Automation.PSCustomObject", "Alias"),
            member("System.Management.Automation.PSCustomObject", "Name"),
            member("System.String", "Length"),
        ];
        let view = View::Cmdlet(CmdletView {
            columns: ["Name", "MemberType", "Definition"]
                .map(String::from)
                .to_vec(),
            list: false,
            group_by: Some("TypeName".to_owned()),
        });
        assert_eq!(
            render_at(&records, Format::Text, &view, 80),
            "\n   TypeName: System.Management.Automation.PSCustomObject\n\n\
             Name  MemberType   Definition\n\
             ----  ----------   ----------\n\
             Alias NoteProperty string x=y\n\
             Name  NoteProperty string x=y\n\
             \n   TypeName: System.String\n\n\
             Name   MemberType   Definition\n\
             ----   ----------   ----------\n\
             Length NoteProperty string x=y\n"
        );
    }

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
