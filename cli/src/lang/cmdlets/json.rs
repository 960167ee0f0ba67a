//! `ConvertTo-Json` and `ConvertFrom-Json`.

use crate::lang::values::Val;

/// The JSON of the piped items: one item as itself, several as an array.
pub fn to_json(items: Vec<Val>, depth: usize, compress: bool) -> String {
    let value = match Val::from_items(items) {
        Val::Null => serde_json::Value::Null,
        v => v.to_json(depth),
    };
    if compress {
        value.to_string()
    } else {
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

/// The objects of JSON text: an array's items, or the one value.
///
/// # Errors
///
/// The text is not JSON; the message says where.
pub fn from_json(text: &str) -> Result<Vec<Val>, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the text is not JSON: {e}"))?;
    Ok(Val::from_json(json).into_items())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_round_trip() {
        let items =
            from_json(r#"[{"Name":"dana","Quota":2},{"Name":"erin","Quota":null}]"#).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].member("Quota"), Val::Int(2));
        assert_eq!(
            to_json(items, 2, true),
            r#"[{"Name":"dana","Quota":2},{"Name":"erin","Quota":null}]"#
        );
        assert_eq!(to_json(vec![Val::Str("x".into())], 2, true), "\"x\"");
        assert!(from_json("{").unwrap_err().contains("not JSON"));
    }
}
