//! `Select-Object` and the property lists of `Sort-Object`, `Group-Object`
//! and `Format-*`: property names (with wildcards) and calculated properties
//! `@{Name='Mail'; Expression={$_.PrimarySmtpAddress}}`.

use std::rc::Rc;

use crate::lang::ast::Block;
use crate::lang::values::Val;

/// How a value is read from an object.
#[derive(Debug, Clone)]
pub enum Key {
    /// A property.
    Name(String),
    /// A script block run with `$_` set to the object.
    Block(Rc<Block>),
}

/// One column of `Select-Object -Property` (or `Format-*`).
#[derive(Debug, Clone)]
pub enum Column {
    /// A property name, or a wildcard over the names.
    Name(String),
    /// `@{n='Label'; e={…}}`.
    Calculated(String, Key),
}

fn key_of(value: &Val) -> Result<Key, String> {
    match value {
        Val::Block(b) => Ok(Key::Block(b.clone())),
        Val::Str(_) => Ok(Key::Name(value.to_string())),
        other => Err(format!(
            "`{other}` is neither a property name nor a script block"
        )),
    }
}

fn entry<'a>(pairs: &'a [(String, Val)], names: &[&str]) -> Option<&'a Val> {
    pairs
        .iter()
        .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .map(|(_, v)| v)
}

/// The columns a `-Property` value names.
///
/// # Errors
///
/// A hashtable without `Expression`, or a value that names nothing.
pub fn columns(value: &Val) -> Result<Vec<Column>, String> {
    value
        .clone()
        .into_items()
        .iter()
        .map(|item| match item {
            Val::Hash(pairs) => {
                let expression = entry(pairs, &["Expression", "e"])
                    .ok_or("a calculated property needs `Expression` (e), as in @{n='Mail'; e={$_.PrimarySmtpAddress}}")?;
                let key = key_of(expression)?;
                let label = entry(pairs, &["Name", "n", "Label", "l"])
                    .map(Val::to_string)
                    .unwrap_or_else(|| match &key {
                        Key::Name(n) => n.clone(),
                        Key::Block(b) => b.text.clone(),
                    });
                Ok(Column::Calculated(label, key))
            }
            Val::Block(b) => Ok(Column::Calculated(b.text.clone(), Key::Block(b.clone()))),
            other => Ok(Column::Name(other.to_string())),
        })
        .collect()
}

/// The keys a `-Property` value of `Sort-Object` or `Group-Object` names.
///
/// # Errors
///
/// As [`columns`].
pub fn keys(value: &Val) -> Result<Vec<Key>, String> {
    Ok(columns(value)?
        .into_iter()
        .map(|c| match c {
            Column::Name(n) => Key::Name(n),
            Column::Calculated(_, k) => k,
        })
        .collect())
}

/// `-First`, `-Last`, `-Skip` and `-Unique` over the items.
#[derive(Debug, Clone, Default)]
pub struct Range {
    /// `-First n`.
    pub first: Option<usize>,
    /// `-Last n`.
    pub last: Option<usize>,
    /// `-Skip n`.
    pub skip: usize,
    /// `-Unique`.
    pub unique: bool,
}

impl Range {
    /// The items the range keeps, in order.
    pub fn apply(&self, mut items: Vec<Val>) -> Vec<Val> {
        if self.unique {
            let mut seen: Vec<Val> = Vec::new();
            items.retain(|item| {
                let fresh = !seen.iter().any(|s| {
                    super::sort::compare(s, item).is_eq() && s.to_string() == item.to_string()
                });
                if fresh {
                    seen.push(item.clone());
                }
                fresh
            });
        }
        let mut items: Vec<Val> = items.into_iter().skip(self.skip).collect();
        if let Some(first) = self.first {
            items.truncate(first);
        }
        if let Some(last) = self.last {
            let from = items.len().saturating_sub(last);
            items.drain(..from);
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_take_first_last_skip_and_unique() {
        let items: Vec<Val> = [1, 2, 2, 3, 4].into_iter().map(Val::Int).collect();
        let take = |r: Range| r.apply(items.clone());
        assert_eq!(
            take(Range {
                first: Some(2),
                ..Range::default()
            }),
            [Val::Int(1), Val::Int(2)]
        );
        assert_eq!(
            take(Range {
                last: Some(1),
                ..Range::default()
            }),
            [Val::Int(4)]
        );
        assert_eq!(
            take(Range {
                skip: 3,
                ..Range::default()
            }),
            [Val::Int(3), Val::Int(4)]
        );
        assert_eq!(
            take(Range {
                unique: true,
                ..Range::default()
            })
            .len(),
            4
        );
    }

    #[test]
    fn calculated_properties_need_an_expression() {
        let hash = Val::Hash(vec![
            ("n".into(), Val::Str("Mail".into())),
            ("e".into(), Val::Str("PrimarySmtpAddress".into())),
        ]);
        let cols = columns(&Val::Array(vec![Val::Str("Name".into()), hash])).unwrap();
        assert!(matches!(&cols[0], Column::Name(n) if n == "Name"));
        assert!(
            matches!(&cols[1], Column::Calculated(l, Key::Name(p)) if l == "Mail" && p == "PrimarySmtpAddress")
        );
        let bad = Val::Hash(vec![("n".into(), Val::Str("x".into()))]);
        assert!(columns(&bad).unwrap_err().contains("Expression"));
    }
}
