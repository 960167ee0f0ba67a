//! `Sort-Object` and `Group-Object`: ordering and grouping by key values.

use std::cmp::Ordering;

use resource_forest::rbac::compare::order;

use crate::lang::values::{Object, Val};

/// How two key values order: `$null` first, numbers as numbers, text
/// case-insensitively.
pub fn compare(a: &Val, b: &Val) -> Ordering {
    match (a, b) {
        (Val::Null, Val::Null) => Ordering::Equal,
        (Val::Null, _) => Ordering::Less,
        (_, Val::Null) => Ordering::Greater,
        (a, b) => order(&a.to_string(), &b.to_string(), false),
    }
}

fn compare_keys(a: &[Val], b: &[Val]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| compare(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// `Sort-Object`: `rows` are the items with their key values; stable.
/// `-Unique` keeps the first item of each run of equal keys.
pub fn sort(mut rows: Vec<(Val, Vec<Val>)>, descending: bool, unique: bool) -> Vec<Val> {
    rows.sort_by(|(_, a), (_, b)| {
        let o = compare_keys(a, b);
        if descending {
            o.reverse()
        } else {
            o
        }
    });
    if unique {
        rows.dedup_by(|(_, b), (_, a)| compare_keys(a, b).is_eq());
    }
    rows.into_iter().map(|(item, _)| item).collect()
}

/// `Group-Object`: one `Count, Name, Group` object per distinct key, in
/// order of first appearance (`-NoElement` leaves out `Group`).
pub fn group(rows: Vec<(Val, Vec<Val>)>, no_element: bool) -> Vec<Val> {
    let mut groups: Vec<(Vec<Val>, Vec<Val>)> = Vec::new();
    for (item, key) in rows {
        match groups
            .iter_mut()
            .find(|(k, _)| compare_keys(k, &key).is_eq())
        {
            Some((_, items)) => items.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    groups
        .into_iter()
        .map(|(key, items)| {
            let name = key
                .iter()
                .map(Val::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let mut properties = vec![
                ("Count".to_owned(), Val::Int(items.len() as i64)),
                ("Name".to_owned(), Val::Str(name)),
            ];
            if !no_element {
                properties.push(("Group".to_owned(), Val::Array(items)));
            }
            Val::Object(Object {
                properties,
                by_name: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Val {
        Val::Str(text.into())
    }

    #[test]
    fn sorts_numbers_as_numbers_text_without_case_and_stably() {
        let rows = vec![
            (s("a"), vec![s("10")]),
            (s("b"), vec![s("9")]),
            (s("c"), vec![s("10")]),
            (s("d"), vec![Val::Null]),
        ];
        assert_eq!(
            sort(rows.clone(), false, false),
            [s("d"), s("b"), s("a"), s("c")]
        );
        assert_eq!(
            sort(rows.clone(), true, false),
            [s("a"), s("c"), s("b"), s("d")]
        );
        assert_eq!(sort(rows, false, true), [s("d"), s("b"), s("a")]);
        let names = vec![(s("x"), vec![s("erin")]), (s("y"), vec![s("Dana")])];
        assert_eq!(sort(names, false, false), [s("y"), s("x")]);
    }

    #[test]
    fn groups_in_order_of_first_appearance() {
        let rows = vec![
            (s("dana"), vec![s("Sales")]),
            (s("frank"), vec![s("Seattle")]),
            (s("erin"), vec![s("sales")]),
        ];
        let groups = group(rows, false);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].member("Count"), Val::Int(2));
        assert_eq!(groups[0].member("Name"), s("Sales"));
        assert_eq!(
            groups[0].member("Group"),
            Val::Array(vec![s("dana"), s("erin")])
        );
        let bare = group(vec![(s("a"), vec![s("k")])], true);
        assert_eq!(bare[0].member("Group"), Val::Null);
    }
}
