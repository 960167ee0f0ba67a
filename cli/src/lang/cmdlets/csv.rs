//! `Export-Csv` and `Import-Csv`: one row per object, the first object's
//! properties as the header, every field quoted as PowerShell writes them.

use crate::lang::values::{Object, Val};

fn field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// CSV text of `items`: a header line unless `header` is false (appending).
pub fn to_csv(items: &[Val], delimiter: char, header: bool) -> String {
    let names: Vec<String> = match items.first() {
        Some(Val::Object(o)) => o.properties.iter().map(|(n, _)| n.clone()).collect(),
        Some(Val::Hash(pairs)) => pairs.iter().map(|(n, _)| n.clone()).collect(),
        Some(_) => vec!["Value".to_owned()],
        None => return String::new(),
    };
    let sep = delimiter.to_string();
    let mut out = String::new();
    if header {
        out.push_str(
            &names
                .iter()
                .map(|n| field(n))
                .collect::<Vec<_>>()
                .join(&sep),
        );
        out.push('\n');
    }
    for item in items {
        let row: Vec<String> = names
            .iter()
            .map(|n| match item {
                Val::Object(_) | Val::Hash(_) => field(&item.member(n).to_string()),
                other => field(&other.to_string()),
            })
            .collect();
        out.push_str(&row.join(&sep));
        out.push('\n');
    }
    out
}

/// The rows of CSV text, split into fields (quotes, doubled quotes and line
/// breaks inside quotes as RFC 4180).
fn rows(text: &str, delimiter: char) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, c) if c == delimiter => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                line += 1;
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("a quoted field is not closed at line {line}"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows
        .into_iter()
        .filter(|r| !(r.len() == 1 && r[0].trim().is_empty()))
        .collect())
}

/// The objects of CSV text: the first row (after an optional `#TYPE` line)
/// names the properties. The objects bind to parameters by name.
///
/// # Errors
///
/// An unclosed quote, or a row with more fields than the header.
pub fn from_csv(text: &str, delimiter: char) -> Result<Vec<Val>, String> {
    let mut rows = rows(text, delimiter)?.into_iter();
    let mut header = rows.next().unwrap_or_default();
    if header.first().is_some_and(|f| f.starts_with("#TYPE")) {
        header = rows.next().unwrap_or_default();
    }
    rows.enumerate()
        .map(|(i, row)| {
            if row.len() > header.len() {
                return Err(format!(
                    "row {} has {} fields; the header names {}",
                    i + 2,
                    row.len(),
                    header.len()
                ));
            }
            Ok(Val::Object(Object {
                properties: header
                    .iter()
                    .enumerate()
                    .map(|(j, name)| {
                        let value = row.get(j).map_or(Val::Null, |v| Val::Str(v.clone()));
                        (name.trim().to_owned(), value)
                    })
                    .collect(),
                by_name: true,
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_quotes_and_binds_by_name() {
        let text = "Name,Alias,OrganizationalUnit\n\"Smith, Dana\",dana,contoso.com/Sales\nerin,\"e\"\"x\",\n";
        let rows = from_csv(text, ',').unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].member("name"), Val::Str("Smith, Dana".into()));
        assert_eq!(rows[1].member("Alias"), Val::Str("e\"x".into()));
        assert!(matches!(&rows[0], Val::Object(o) if o.by_name));
        assert!(from_csv("a\n\"x", ',').unwrap_err().contains("not closed"));
        assert!(from_csv("a\n1,2", ',').unwrap_err().contains("row 2"));
    }

    proptest! {
        #[test]
        fn export_then_import_round_trips(values in proptest::collection::vec("[a-zA-Z0-9 ,\"\n]{0,10}", 1..5)) {
            let items: Vec<Val> = values.iter().map(|v| Val::Object(Object {
                properties: vec![("Name".into(), Val::Str(v.clone())), ("N".into(), Val::Str("1".into()))],
                by_name: false,
            })).collect();
            let back = from_csv(&to_csv(&items, ',', true), ',').unwrap();
            prop_assert_eq!(back.len(), items.len());
            for (a, b) in back.iter().zip(&items) {
                prop_assert_eq!(a.member("Name"), b.member("Name"));
            }
        }
    }
}
