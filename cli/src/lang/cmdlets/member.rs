//! `Get-Member`: the properties of the piped objects, by type.
//!
//! The shell's objects are property bags (a cmdlet's record as it crossed
//! the wire, an imported CSV row, `[pscustomobject]`-like hashtables), so
//! each property is a `NoteProperty` whose definition is its type and value,
//! as PowerShell shows them for such objects.

use std::collections::HashSet;

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

/// Where a member type comes in a type's list (PowerShell lists methods,
/// then note properties, then properties).
fn rank(member_type: &str) -> u8 {
    match member_type {
        "Method" => 0,
        "NoteProperty" => 1,
        _ => 2,
    }
}

/// The members found so far.
struct Members<'n> {
    /// The names kept (wildcards), if given.
    names: Option<&'n [String]>,
    /// The types in the order first seen.
    types: Vec<&'static str>,
    /// The members met, by (type's place, lower-cased name): piping many
    /// objects costs a look-up per property, and a member is matched against
    /// the names and its definition written once.
    seen: HashSet<(usize, String)>,
    /// Each row with its sort key (type's place, member type's rank,
    /// lower-cased name).
    rows: Vec<((usize, u8, String), Val)>,
}

impl Members<'_> {
    fn add(
        &mut self,
        type_name: &'static str,
        name: &str,
        member_type: &str,
        definition: impl FnOnce() -> String,
    ) {
        let place = self
            .types
            .iter()
            .position(|&t| t == type_name)
            .unwrap_or_else(|| {
                self.types.push(type_name);
                self.types.len() - 1
            });
        let lower = name.to_ascii_lowercase();
        // Each member is matched against the names once, kept or not.
        if self.seen.insert((place, lower.clone()))
            && self
                .names
                .is_none_or(|names| names.iter().any(|n| wildcard_match(n, name)))
        {
            let key = (place, rank(member_type), lower);
            let row = row(type_name, name, member_type, definition());
            self.rows.push((key, row));
        }
    }
}

/// The members of `items`, each type once (in the order first seen), each
/// member of a type once, by member type and then by name as PowerShell
/// sorts them, keeping those whose name matches one of `names` (wildcards)
/// when given.
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
    let mut members = Members {
        names,
        types: Vec::new(),
        seen: HashSet::new(),
        rows: Vec::new(),
    };
    for item in items {
        let t = type_name(item);
        match item {
            Val::Object(object) => {
                for (name, value) in &object.properties {
                    members.add(t, name, "NoteProperty", || {
                        format!("{} {name}={value}", short_type(value))
                    });
                }
            }
            Val::Hash(pairs) => {
                members.add(t, "Count", "Property", || "int Count {get;}".to_owned());
                members.add(t, "Keys", "Property", || {
                    "System.Collections.ICollection Keys {get;}".to_owned()
                });
                for (key, value) in pairs {
                    members.add(t, key, "NoteProperty", || {
                        format!("{} {key}={value}", short_type(value))
                    });
                }
            }
            Val::Str(_) => members.add(t, "Length", "Property", || "int Length {get;}".to_owned()),
            Val::Array(_) => members.add(t, "Count", "Property", || "int Count {get;}".to_owned()),
            Val::Null | Val::Bool(_) | Val::Int(_) | Val::Num(_) | Val::Block(_) => {
                members.add(t, "ToString", "Method", || "string ToString()".to_owned());
            }
        }
    }
    let mut rows = members.rows;
    rows.sort_by(|(a, _), (b, _)| a.cmp(b));
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::values::object;

    fn names(rows: &[Val]) -> Vec<String> {
        rows.iter().map(|r| r.member("Name").to_string()).collect()
    }

    #[test]
    fn each_property_of_a_type_is_listed_once_by_name_and_types_in_the_order_first_seen() {
        let dana = object(&[("Office", Val::Int(2)), ("Name", Val::Str("dana".into()))]);
        let erin = object(&[("Quota", Val::Num(1.5)), ("name", Val::Str("erin".into()))]);
        let rows = members(&[dana, erin, Val::Str("x".into())], None).unwrap();
        assert_eq!(names(&rows), ["Name", "Office", "Quota", "Length"]);
        assert_eq!(rows[1].member("MemberType").to_string(), "NoteProperty");
        assert_eq!(rows[1].member("Definition").to_string(), "long Office=2");
        assert_eq!(rows[3].member("TypeName").to_string(), "System.String");
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
