//! The shell's values: strings, numbers, booleans, `$null`, arrays,
//! hashtables, objects with ordered properties (a cmdlet's records) and
//! script blocks.

use std::fmt;
use std::rc::Rc;

use crossforest_shared::proto::management::v1 as pb;

use super::ast::Block;

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `$null`.
    Null,
    /// `$true` / `$false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Num(f64),
    /// A string.
    Str(String),
    /// `@(…)` or `a, b`.
    Array(Vec<Val>),
    /// `@{ Name = 'x' }`, in the order written.
    Hash(Vec<(String, Val)>),
    /// A record: a cmdlet's output, an imported CSV row.
    Object(Object),
    /// `{ … }`.
    Block(Rc<Block>),
}

/// An object with ordered properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    /// Properties in order.
    pub properties: Vec<(String, Val)>,
    /// Whether a cmdlet it is piped to binds its properties to parameters
    /// of the same names (rows of `Import-Csv`, `ConvertFrom-Json`), as
    /// PowerShell's ValueFromPipelineByPropertyName; records of the
    /// resource forest bind their identity only.
    pub by_name: bool,
}

impl Object {
    /// The property `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Val> {
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The record the output formatter shows: each value's text as a table
    /// cell shows it (a list's items joined by `, `, as the resource forest
    /// sends them) and its type.
    pub fn to_record(&self) -> pb::Record {
        pb::Record {
            properties: self
                .properties
                .iter()
                .map(|(name, value)| pb::Property {
                    name: name.clone(),
                    value: match value {
                        // An object in a cell shows as its name, as
                        // `Group-Object`'s Group column does.
                        Val::Array(items) => items
                            .iter()
                            .map(|item| match item {
                                Val::Object(o) => o
                                    .get("Name")
                                    .or_else(|| o.get("Identity"))
                                    .map_or_else(|| item.to_string(), Val::to_string),
                                other => other.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                        other => other.to_string(),
                    },
                    typed: value.typed(),
                })
                .collect(),
        }
    }
}

impl Val {
    /// The value as the wire types it, where it has such a type.
    fn typed(&self) -> Option<pb::PropertyValue> {
        use pb::property_value::Kind;
        let kind = match self {
            Val::Null => Kind::Null(true),
            Val::Bool(b) => Kind::Boolean(*b),
            Val::Int(n) => Kind::Integer(*n),
            Val::Str(s) => Kind::Text(s.clone()),
            Val::Array(items) => Kind::List(pb::StringList {
                values: items.iter().map(Val::to_string).collect(),
            }),
            Val::Num(_) | Val::Hash(_) | Val::Object(_) | Val::Block(_) => return None,
        };
        Some(pb::PropertyValue { kind: Some(kind) })
    }

    /// A property the resource forest sent, as the type it gave (its text
    /// from a node that sends no types).
    fn of_property(property: pb::Property) -> Val {
        use pb::property_value::Kind;
        match property.typed.and_then(|t| t.kind) {
            Some(Kind::Text(t)) => Val::Str(t),
            Some(Kind::Integer(n)) => Val::Int(n),
            Some(Kind::Boolean(b)) => Val::Bool(b),
            Some(Kind::List(l)) => Val::Array(l.values.into_iter().map(Val::Str).collect()),
            Some(Kind::Null(_)) => Val::Null,
            None => Val::Str(property.value),
        }
    }
}

impl From<pb::Record> for Val {
    fn from(record: pb::Record) -> Self {
        Val::Object(Object {
            properties: record
                .properties
                .into_iter()
                .map(|p| (p.name.clone(), Val::of_property(p)))
                .collect(),
            by_name: false,
        })
    }
}

fn hash_get<'a>(pairs: &'a [(String, Val)], name: &str) -> Option<&'a Val> {
    pairs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

impl Val {
    /// A value from the items a pipeline produced: `$null` for none, the
    /// item for one, else an array (as PowerShell's assignment).
    pub fn from_items(mut items: Vec<Val>) -> Val {
        match items.len() {
            0 => Val::Null,
            1 => items.pop().unwrap_or(Val::Null),
            _ => Val::Array(items),
        }
    }

    /// The items a pipeline enumerates: an array's items, nothing for
    /// `$null`, else the value itself.
    pub fn into_items(self) -> Vec<Val> {
        match self {
            Val::Array(items) => items,
            Val::Null => Vec::new(),
            other => vec![other],
        }
    }

    /// `.Name`: a property, a hashtable's key, `Count`/`Length` of a
    /// collection; on an array, the property of each item (member
    /// enumeration).
    pub fn member(&self, name: &str) -> Val {
        let count = name.eq_ignore_ascii_case("Count") || name.eq_ignore_ascii_case("Length");
        match self {
            Val::Object(o) => match o.get(name) {
                Some(v) => v.clone(),
                None if name.eq_ignore_ascii_case("Count") => Val::Int(1),
                None => Val::Null,
            },
            Val::Hash(pairs) => match hash_get(pairs, name) {
                Some(v) => v.clone(),
                None if count => Val::Int(pairs.len() as i64),
                None => Val::Null,
            },
            Val::Array(items) if count => Val::Int(items.len() as i64),
            Val::Array(items) => Val::from_items(
                items
                    .iter()
                    .map(|i| i.member(name))
                    .filter(|v| *v != Val::Null)
                    .collect(),
            ),
            Val::Str(s) if name.eq_ignore_ascii_case("Length") => {
                Val::Int(s.chars().count() as i64)
            }
            Val::Null if count => Val::Int(0),
            _ if name.eq_ignore_ascii_case("Count") => Val::Int(1),
            _ => Val::Null,
        }
    }

    /// `[i]`: an array's item (negative from the end), a hashtable's key.
    pub fn index(&self, key: &Val) -> Val {
        match (self, key) {
            (Val::Hash(pairs), key) => hash_get(pairs, &key.to_string())
                .cloned()
                .unwrap_or(Val::Null),
            (Val::Object(o), Val::Str(name)) => o.get(name).cloned().unwrap_or(Val::Null),
            (value, key) => {
                let Some(i) = key.as_number().map(|n| n as i64) else {
                    return Val::Null;
                };
                let items: Vec<Val> = match value {
                    Val::Array(items) => items.clone(),
                    Val::Str(s) => s.chars().map(|c| Val::Str(c.to_string())).collect(),
                    Val::Null => Vec::new(),
                    other => vec![other.clone()],
                };
                let at = if i < 0 { items.len() as i64 + i } else { i };
                usize::try_from(at)
                    .ok()
                    .and_then(|at| items.get(at).cloned())
                    .unwrap_or(Val::Null)
            }
        }
    }

    /// Whether the value counts as true (`if`, `Where-Object`, `-not`).
    pub fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Bool(b) => *b,
            Val::Int(n) => *n != 0,
            Val::Num(n) => *n != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Array(items) => match items.as_slice() {
                [] => false,
                [one] => one.truthy(),
                _ => true,
            },
            Val::Hash(_) | Val::Object(_) | Val::Block(_) => true,
        }
    }

    /// The value as a number, when it is or reads as one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Val::Int(n) => Some(*n as f64),
            Val::Num(n) => Some(*n),
            Val::Bool(b) => Some(f64::from(u8::from(*b))),
            Val::Str(s) => s.trim().parse().ok().filter(|n: &f64| n.is_finite()),
            _ => None,
        }
    }

    /// A number, as an integer when it is one.
    pub fn number(n: f64) -> Val {
        if n.fract() == 0.0 && n.abs() < 9.0e15 {
            Val::Int(n as i64)
        } else {
            Val::Num(n)
        }
    }

    /// A JSON value (`ConvertTo-Json`, `--format json`).
    pub fn to_json(&self, depth: usize) -> serde_json::Value {
        use serde_json::Value as J;
        let nested = |v: &Val| {
            if depth == 0 {
                J::String(v.to_string())
            } else {
                v.to_json(depth - 1)
            }
        };
        match self {
            Val::Null => J::Null,
            Val::Bool(b) => J::Bool(*b),
            Val::Int(n) => J::from(*n),
            Val::Num(n) => serde_json::Number::from_f64(*n).map_or(J::Null, J::Number),
            Val::Str(s) => J::String(s.clone()),
            Val::Block(b) => J::String(b.text.clone()),
            Val::Array(items) => J::Array(items.iter().map(nested).collect()),
            Val::Hash(pairs) => {
                J::Object(pairs.iter().map(|(k, v)| (k.clone(), nested(v))).collect())
            }
            Val::Object(o) => J::Object(
                o.properties
                    .iter()
                    .map(|(k, v)| (k.clone(), nested(v)))
                    .collect(),
            ),
        }
    }

    /// A value from JSON (`ConvertFrom-Json`): objects bind by name.
    pub fn from_json(json: serde_json::Value) -> Val {
        use serde_json::Value as J;
        match json {
            J::Null => Val::Null,
            J::Bool(b) => Val::Bool(b),
            J::Number(n) => n
                .as_i64()
                .map_or_else(|| Val::Num(n.as_f64().unwrap_or(0.0)), Val::Int),
            J::String(s) => Val::Str(s),
            J::Array(items) => Val::Array(items.into_iter().map(Val::from_json).collect()),
            J::Object(map) => Val::Object(Object {
                properties: map
                    .into_iter()
                    .map(|(k, v)| (k, Val::from_json(v)))
                    .collect(),
                by_name: true,
            }),
        }
    }
}

impl fmt::Display for Val {
    /// The text PowerShell converts a value to: `True`, `3`, items joined by
    /// spaces, `@{Name=x; Office=y}` for an object.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => Ok(()),
            Val::Bool(true) => f.write_str("True"),
            Val::Bool(false) => f.write_str("False"),
            Val::Int(n) => write!(f, "{n}"),
            Val::Num(n) => write!(f, "{n}"),
            Val::Str(s) => f.write_str(s),
            Val::Block(b) => f.write_str(&b.text),
            Val::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
            Val::Hash(pairs)
            | Val::Object(Object {
                properties: pairs, ..
            }) => {
                f.write_str("@{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A record of `pairs`, for tests.
#[cfg(test)]
pub(crate) fn object(pairs: &[(&str, Val)]) -> Val {
    Val::Object(Object {
        properties: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        by_name: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_counts_and_indexes() {
        let dana = object(&[("Name", Val::Str("dana".into()))]);
        let erin = object(&[("Name", Val::Str("erin".into()))]);
        let both = Val::Array(vec![dana.clone(), erin]);
        assert_eq!(both.member("count"), Val::Int(2));
        assert_eq!(dana.member("Count"), Val::Int(1));
        assert_eq!(Val::Null.member("Count"), Val::Int(0));
        assert_eq!(
            both.member("name"),
            Val::Array(vec![Val::Str("dana".into()), Val::Str("erin".into())])
        );
        assert_eq!(both.index(&Val::Int(0)), dana);
        assert_eq!(
            both.index(&Val::Int(-1)).member("Name"),
            Val::Str("erin".into())
        );
        assert_eq!(both.index(&Val::Int(5)), Val::Null);
        let hash = Val::Hash(vec![("Office".into(), Val::Int(2))]);
        assert_eq!(hash.member("office"), Val::Int(2));
        assert_eq!(hash.index(&Val::Str("OFFICE".into())), Val::Int(2));
    }

    #[test]
    fn truth_and_text_as_powershell() {
        assert!(!Val::Str(String::new()).truthy());
        assert!(!Val::Array(vec![Val::Int(0)]).truthy());
        assert!(Val::Array(vec![Val::Int(0), Val::Int(0)]).truthy());
        assert_eq!(Val::Bool(true).to_string(), "True");
        assert_eq!(Val::number(2.0), Val::Int(2));
        assert_eq!(
            object(&[("A", Val::Int(1)), ("B", Val::Null)]).to_string(),
            "@{A=1; B=}"
        );
        assert_eq!(Val::from_items(vec![Val::Int(1)]), Val::Int(1));
        assert_eq!(Val::from_items(vec![]), Val::Null);
    }

    #[test]
    fn json_round_trips_objects_that_bind_by_name() {
        let json = serde_json::json!({"Name": "dana", "Quota": 5, "Tags": ["a"]});
        let Val::Object(o) = Val::from_json(json.clone()) else {
            panic!()
        };
        assert!(o.by_name);
        assert_eq!(Val::Object(o).to_json(2), json);
    }
}
