//! A recipient's other attributes (CustomAttribute1, Office, City,
//! Department, …) in two allocations: every name and value back to back in
//! one string, and where each ends. A recipient has a handful of them, so a
//! lookup is a short scan; a `BTreeMap<String, String>` cost a B-tree node
//! and two strings per attribute (≈ 900 bytes for five, issue 8).
//!
//! Kept sorted by name with unique names, as the map was: iteration order,
//! equality and the JSON form (an object, names in order) are the map's.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Attribute name → value, names compared exactly (as the map did).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Name, value, name, value, … without separators.
    text: Box<str>,
    /// Per attribute, where its name ends and where its value ends in `text`
    /// (its name starts where the previous value ends).
    ends: Box<[(usize, usize)]>,
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The attributes in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(n, v)| {
            let pair = (&self.text[start..n], &self.text[n..v]);
            start = v;
            pair
        })
    }

    /// The value of `name`. Scope filters call this on every check: names
    /// are compared by length first, as bytes, without slicing the others.
    pub fn get(&self, name: &str) -> Option<&str> {
        let bytes = self.text.as_bytes();
        let mut start = 0;
        for &(n, v) in &self.ends {
            if n - start == name.len() && bytes.get(start..n) == Some(name.as_bytes()) {
                return self.text.get(n..v);
            }
            start = v;
        }
        None
    }

    /// Whether `name` is set.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// How many attributes are set.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Sets `name` to `value`, returning the value it replaces.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        let (name, value) = (name.as_ref(), value.as_ref());
        let old = self.get(name).map(str::to_owned);
        *self = self
            .iter()
            .filter(|(n, _)| *n != name)
            .chain([(name, value)])
            .collect();
        old
    }

    /// Unsets `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let old = self.get(name).map(str::to_owned)?;
        *self = self.iter().filter(|(n, _)| *n != name).collect();
        Some(old)
    }
}

/// Later pairs replace earlier ones of the same name, as in a map.
impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let sorted: BTreeMap<Key<K>, V> = pairs.into_iter().map(|(k, v)| (Key(k), v)).collect();
        let mut text = String::new();
        let mut ends = Vec::with_capacity(sorted.len());
        for (Key(name), value) in &sorted {
            text.push_str(name.as_ref());
            let name_end = text.len();
            text.push_str(value.as_ref());
            ends.push((name_end, text.len()));
        }
        Self {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }
}

/// Orders names by their text, whatever type carries it.
struct Key<K>(K);

impl<K: AsRef<str>> PartialEq for Key<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_ref() == other.0.as_ref()
    }
}

impl<K: AsRef<str>> Eq for Key<K> {}

impl<K: AsRef<str>> PartialOrd for Key<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: AsRef<str>> Ord for Key<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.as_ref().cmp(other.0.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Attributes {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<String, String>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn behaves_as_the_map_it_replaces() {
        let mut map = map(&[("Office", "Bldg1"), ("City", "Seattle")]);
        let mut attributes: Attributes = map.iter().collect();
        let ops: [(&str, Option<&str>); 7] = [
            ("Department", Some("Sales")),
            ("City", Some("Redmond")),
            ("Office", None),
            ("Nowhere", None),
            ("", Some("empty name")),
            ("CustomAttribute15", Some("")),
            ("City", None),
        ];
        for (name, value) in ops {
            let (before, after) = match value {
                Some(v) => (
                    map.insert(name.to_owned(), v.to_owned()),
                    attributes.insert(name, v),
                ),
                None => (map.remove(name), attributes.remove(name)),
            };
            assert_eq!(before, after, "{name} {value:?}");
            let pairs: Vec<(&str, &str)> = attributes.iter().collect();
            let expected: Vec<(&str, &str)> =
                map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(pairs, expected, "after {name} {value:?}");
            assert_eq!(attributes.len(), map.len());
            for (k, v) in &map {
                assert_eq!(attributes.get(k), Some(v.as_str()));
                assert!(attributes.contains_key(k));
            }
            assert_eq!(attributes.get("Nowhere"), None);
        }
    }

    #[test]
    fn json_form_is_the_maps() -> Result<(), serde_json::Error> {
        let map = map(&[("Office", "Bldg \"1\""), ("City", "Zürich"), ("A", "")]);
        let attributes: Attributes = map.iter().collect();
        let json = serde_json::to_string(&attributes)?;
        assert_eq!(json, serde_json::to_string(&map)?);
        assert_eq!(json, r#"{"A":"","City":"Zürich","Office":"Bldg \"1\""}"#);
        let back: Attributes = serde_json::from_str(&json)?;
        assert_eq!(back, attributes);
        assert_eq!(format!("{back:?}"), format!("{map:?}"));
        Ok(())
    }

    #[test]
    fn a_later_pair_replaces_an_earlier_one() {
        let attributes = Attributes::from([("City", "Seattle"), ("City", "Redmond")]);
        assert_eq!(attributes.len(), 1);
        assert_eq!(attributes.get("City"), Some("Redmond"));
        assert!(Attributes::new().is_empty());
    }
}
