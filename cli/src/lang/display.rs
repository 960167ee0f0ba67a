//! Showing a statement's output: objects through the list and table
//! formatter ([`crate::output`]), other values one per line; JSON as typed
//! values.

use crate::output::{render_view, Format, View};

use super::values::Val;

/// `values` as the shell shows them in `format`, objects laid out as `view`.
pub fn render(values: &[Val], format: Format, view: View) -> String {
    match format {
        Format::Json => {
            let json: Vec<serde_json::Value> = values.iter().map(|v| v.to_json(2)).collect();
            serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
        }
        Format::Jsonl => values
            .iter()
            .map(|v| v.to_json(2).to_string() + "\n")
            .collect(),
        Format::Text => {
            let mut out = String::new();
            let mut records = Vec::new();
            for value in values {
                match value {
                    Val::Object(o) => records.push(o.to_record()),
                    other => {
                        out.push_str(&render_view(
                            &std::mem::take(&mut records),
                            format,
                            view.clone(),
                        ));
                        out.push_str(&other.to_string());
                        out.push('\n');
                    }
                }
            }
            out.push_str(&render_view(&records, format, view));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::values::Object;

    #[test]
    fn objects_as_tables_other_values_as_lines() {
        let dana = Val::Object(Object {
            properties: vec![("Name".into(), Val::Str("dana".into()))],
            by_name: false,
        });
        let text = render(&[Val::Int(2), dana.clone()], Format::Text, View::Auto);
        assert_eq!(text, "2\nName : dana\n");
        let json = render(&[Val::Int(2), dana], Format::Jsonl, View::Auto);
        assert_eq!(json, "2\n{\"Name\":\"dana\"}\n");
    }
}
