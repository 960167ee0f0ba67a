//! Printing cmdlet results the way the Exchange Management Shell does: a list for
//! one object, a table for several, or JSON for machines.

use crossforest_shared::proto::management::v1 as pb;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Table for several objects, list for one.
    Text,
    /// One JSON array of objects.
    Json,
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

/// Renders records.
pub fn render(records: &[pb::Record], format: Format) -> String {
    match format {
        Format::Json => {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = records
                .iter()
                .map(|r| {
                    r.properties
                        .iter()
                        .map(|p| (p.name.clone(), serde_json::Value::String(p.value.clone())))
                        .collect()
                })
                .collect();
            serde_json::to_string_pretty(&objects).unwrap_or_default()
        }
        Format::Text if records.len() == 1 => {
            let props = &records[0].properties;
            let width = props.iter().map(|p| p.name.len()).max().unwrap_or(0);
            props
                .iter()
                .map(|p| format!("{:<width$} : {}\n", p.name, p.value))
                .collect()
        }
        Format::Text if records.is_empty() => String::new(),
        Format::Text => {
            let names: Vec<&str> = records[0]
                .properties
                .iter()
                .take(TABLE_COLUMNS)
                .map(|p| p.name.as_str())
                .collect();
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
    }
}
