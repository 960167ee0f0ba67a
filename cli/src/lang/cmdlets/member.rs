//! `Get-Member`: the properties of the piped objects, by type.
//!
//! The shell's objects are property bags (a cmdlet's record as it crossed
//! the wire, an imported CSV row, `[pscustomobject]`-like hashtables), so
//! each property is a `NoteProperty` whose definition is its type and value,
//! as PowerShell shows them for such objects.

use resource_forest::rbac::compare::wildcard_match;

use crate::lang::values::{Object, Val};

/// The type name of `value`, as PowerShell names it.
fn type_name(value: &Val) -> &'static str {
    match value {
        Val::Null => "System.Object",
        Val::Bool(_) => "System.Boolean",
        Val::Int(_) => "System.Int64",
        Val::Num(_) => "System.Double",
        Val::Str(_) => "System.String",
        Val::Array(_) => "System.Object[]",
        Val::Hash(_) => "System.Collections.Hashtable",
        Val::Object(_) => "System.Management.Automation.PSCustomObject",
        Val::Block(_) => "System.Management.Automation.ScriptBlock",
    }
}

/// The short type name a definition starts with.
fn short_type(value: &Val) -> &'static str {
    match value {
        Val::Null => "object",
        Val::Bool(_) => "bool",
        Val::Int(_) => "long",
        Val::Num(_) => "double",
        Val::Str(_) => "string",
        Val::Array(_) => "Object[]",
        Val::Hash(_) => "hashtable",
        Val::Object(_) => "PSCustomObject",
        Val::Block(_) => "scriptblock",
    }
}

/// One row of `Get-Member`'s output.
fn row(type_name: &str, name: &str, member_type: &str, definition: String) -> Val {
    Val::Object(Object {
        properties: vec![
            ("TypeName".into(), Val::Str(type_name.into())),
            ("Name".into(), Val::Str(name.into())),
            ("MemberType".into(), Val::Str(member_type.into())),
            ("Definition".into(), Val::Str(definition)),
        ],
        by_name: false,
    })
}

/// The members of `items`, each type once (in the order first seen), each
/// property of a type once (in the order first seen among its objects),
/// keeping those whose name matches one of `names` (wildcards) when given.
///
/// # Errors
///
/// Nothing piped in: PowerShell's "You must specify an object".
pub fn members(items: &[Val], names: Option<&[String]>) -> Result<Vec<Val>, String> {
    if items.is_empty() {
        return Err(
            "Get-Member needs objects: pipe some in, as in `Get-Mailbox dana | Get-Member`"
                .to_owned(),
        );
    }
    let wanted =
        |name: &str| names.is_none_or(|names| names.iter().any(|n| wildcard_match(n, name)));
    // (type, member name) pairs already written.
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    let mut rows = Vec::new();
    let mut add = |type_name: &'static str, name: &str, member_type: &str, definition: String| {
        let key = (type_name, name.to_ascii_lowercase());
        if wanted(name) && !seen.contains(&key) {
            seen.push(key);
            rows.push(row(type_name, name, member_type, definition));
        }
    };
    for item in items {
        let t = type_name(item);
        match item {
            Val::Object(object) => {
                for (name, value) in &object.properties {
                    add(
                        t,
                        name,
                        "NoteProperty",
                        format!("{} {name}={value}", short_type(value)),
                    );
                }
            }
            Val::Hash(pairs) => {
                add(t, "Count", "Property", "int Count {get;}".to_owned());
                add(
                    t,
                    "Keys",
                    "Property",
                    "System.Collections.ICollection Keys {get;}".to_owned(),
                );
                for (key, value) in pairs {
                    add(
                        t,
                        key,
                        "NoteProperty",
                        format!("{} {key}={value}", short_type(value)),
                    );
                }
            }
            Val::Str(_) => add(t, "Length", "Property", "int Length {get;}".to_owned()),
            Val::Array(_) => add(t, "Count", "Property", "int Count {get;}".to_owned()),
            Val::Null | Val::Bool(_) | Val::Int(_) | Val::Num(_) | Val::Block(_) => {
                add(t, "ToString", "Method", "string ToString()".to_owned());
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::values::object;

    fn names(rows: &[Val]) -> Vec<String> {
        rows.iter().map(|r| r.member("Name").to_string()).collect()
    }

    #[test]
    fn each_property_of_a_type_is_listed_once_in_the_order_first_seen() {
        let dana = object(&[("Name", Val::Str("dana".into())), ("Office", Val::Int(2))]);
        let erin = object(&[("Name", Val::Str("erin".into())), ("Quota", Val::Num(1.5))]);
        let rows = members(&[dana, erin], None).unwrap();
        assert_eq!(names(&rows), ["Name", "Office", "Quota"]);
        assert_eq!(rows[1].member("MemberType").to_string(), "NoteProperty");
        assert_eq!(rows[1].member("Definition").to_string(), "long Office=2");
        assert_eq!(
            rows[0].member("TypeName").to_string(),
            "System.Management.Automation.PSCustomObject"
        );
    }

    #[test]
    fn names_filter_with_wildcards_and_nothing_piped_is_an_error() {
        let dana = object(&[
            ("Name", Val::Str("dana".into())),
            ("Office", Val::Int(2)),
            ("OrganizationalUnit", Val::Str("Sales".into())),
        ]);
        let rows = members(&[dana], Some(&["o*".to_owned()])).unwrap();
        assert_eq!(names(&rows), ["Office", "OrganizationalUnit"]);
        assert!(members(&[], None).unwrap_err().contains("pipe some in"));
    }
}
