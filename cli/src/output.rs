//! Printing cmdlet results the way the Exchange Management Shell does: a list for
//! one object, a table for several (or what `Format-List` / `Format-Table`
//! asked for), or JSON for machines.

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

/// How text output lays records out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum View {
    /// A list for one record, a table of the first columns for several.
    #[default]
    Auto,
    /// `Format-List`: every record as a list.
    List,
    /// `Format-Table`: one table with every property.
    Table,
}

const TABLE_COLUMNS: usize = 4;
const MAX_CELL: usize = 40;

fn cell(text: &str) -> String {
    if text.chars().count() > MAX_CELL {
        let cut: String = text.chars().take(MAX_CELL - 3).collect();
        format!("{cut}...")
    } else {
        text.to_owned()
    }
}

fn object(record: &pb::Record) -> serde_json::Map<String, serde_json::Value> {
    record
        .properties
        .iter()
        .map(|p| (p.name.clone(), serde_json::Value::String(p.value.clone())))
        .collect()
}

fn list(record: &pb::Record) -> String {
    let props = &record.properties;
    let width = props.iter().map(|p| p.name.len()).max().unwrap_or(0);
    props
        .iter()
        .map(|p| format!("{:<width$} : {}\n", p.name, p.value))
        .collect()
}

fn table(records: &[pb::Record], names: &[&str]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            names
                .iter()
                .map(|n| {
                    cell(
                        r.properties
                            .iter()
                            .find(|p| p.name == *n)
                            .map_or("", |p| &p.value),
                    )
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(n.len())
        })
        .collect();
    let line = |cells: Vec<String>| -> String {
        let joined: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", joined.join(" ").trim_end())
    };
    let mut out = line(names.iter().map(|n| (*n).to_owned()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// Renders records as `Auto`.
pub fn render(records: &[pb::Record], format: Format) -> String {
    render_view(records, format, View::Auto)
}

/// Renders records in `format`, text laid out as `view`.
pub fn render_view(records: &[pb::Record], format: Format, view: View) -> String {
    match format {
        Format::Json => {
            let objects: Vec<_> = records.iter().map(object).collect();
            serde_json::to_string_pretty(&objects).unwrap_or_default() + "\n"
        }
        Format::Jsonl => records
            .iter()
            .map(|r| serde_json::Value::Object(object(r)).to_string() + "\n")
            .collect(),
        Format::Text if records.is_empty() => String::new(),
        Format::Text if view == View::List || (view == View::Auto && records.len() == 1) => {
            records.iter().map(list).collect::<Vec<_>>().join("\n")
        }
        Format::Text if view == View::Table => {
            let mut names: Vec<&str> = Vec::new();
            for p in records.iter().flat_map(|r| &r.properties) {
                if !names.contains(&p.name.as_str()) {
                    names.push(&p.name);
                }
            }
            table(records, &names)
        }
        Format::Text => {
            let names: Vec<&str> = records[0]
                .properties
                .iter()
                .take(TABLE_COLUMNS)
                .map(|p| p.name.as_str())
                .collect();
            table(records, &names)
        }
    }
}

/// A record from (name, value) pairs, for tests.
#[cfg(test)]
pub(crate) fn record(pairs: &[(&str, &str)]) -> pb::Record {
    pb::Record {
        properties: pairs
            .iter()
            .map(|(n, v)| pb::Property {
                name: (*n).to_owned(),
                value: (*v).to_owned(),
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
            tabled.starts_with("Name Office\n---- -------\ndana Floor 2\n"),
            "{tabled}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_view(&records, Format::Json, View::Auto)).unwrap();
        assert_eq!(json[0]["Name"], "dana");
    }
}
