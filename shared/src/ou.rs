//! Organizational units, named as Exchange shows them: canonical names such as
//! `contoso.com/Users/Seattle`. Distinguished names (`OU=Seattle,OU=Users,DC=contoso,DC=com`)
//! are accepted on input and converted.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Why an OU name is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an organizational unit: use a canonical name such as `contoso.com/Users` or a DN such as `OU=Users,DC=contoso,DC=com`")]
pub struct OuError(pub String);

/// An organizational unit: the domain and the OU path below it. Clones share
/// one copy (every recipient of an OU holds it: issue 8's memory per
/// recipient).
#[derive(Clone, Eq)]
pub struct OrganizationalUnit(Arc<Parts>);

#[derive(PartialEq, Eq)]
struct Parts {
    segments: Box<[Box<str>]>,
    /// The segments lower-cased, each followed by `/`: subtree containment is
    /// then one prefix comparison (segments never contain `/`).
    folded: Box<str>,
}

impl fmt::Debug for OrganizationalUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrganizationalUnit")
            .field("segments", &self.0.segments)
            .field("folded", &self.0.folded)
            .finish()
    }
}

impl PartialEq for OrganizationalUnit {
    fn eq(&self, other: &Self) -> bool {
        self.0.segments.len() == other.0.segments.len() && self.is_within(other)
    }
}

impl OrganizationalUnit {
    /// Whether `self` is `ancestor` or lies in its subtree (R-SCOPE-6).
    pub fn is_within(&self, ancestor: &OrganizationalUnit) -> bool {
        self.0.folded.starts_with(&*ancestor.0.folded)
    }

    fn from_segments(segments: Vec<String>) -> Self {
        let mut folded = String::new();
        for s in &segments {
            folded.push_str(&s.to_ascii_lowercase());
            folded.push('/');
        }
        Self(Arc::new(Parts {
            segments: segments.into_iter().map(String::into_boxed_str).collect(),
            folded: folded.into_boxed_str(),
        }))
    }

    /// The child OU `name`.
    pub fn child(&self, name: &str) -> Self {
        let mut segments: Vec<String> = self.0.segments.iter().map(|s| s.to_string()).collect();
        segments.push(name.to_owned());
        Self::from_segments(segments)
    }

    /// The domain's DNS name (the first segment).
    pub fn domain(&self) -> &str {
        self.0.segments.first().map_or("", |s| s)
    }

    /// The distinguished name, e.g. `OU=Seattle,OU=Users,DC=contoso,DC=com`
    /// (segments never hold the characters a DN escapes).
    pub fn distinguished_name(&self) -> String {
        let ous = self
            .0
            .segments
            .iter()
            .skip(1)
            .rev()
            .map(|s| format!("OU={s}"));
        let dcs = self.domain().split('.').map(|l| format!("DC={l}"));
        ous.chain(dcs).collect::<Vec<_>>().join(",")
    }
}

fn valid_segment(s: &str) -> bool {
    !s.trim().is_empty()
        && s.len() <= 64
        && !s
            .chars()
            .any(|c| c.is_control() || "/\\,=+<>#;\"".contains(c))
}

impl FromStr for OrganizationalUnit {
    type Err = OuError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || OuError(s.to_owned());
        let segments: Vec<String> = if s.contains('=') {
            let mut dcs = Vec::new();
            let mut ous = Vec::new();
            for part in s.split(',') {
                let (key, value) = part.split_once('=').ok_or_else(bad)?;
                match key.trim().to_ascii_uppercase().as_str() {
                    "DC" => dcs.push(value.trim().to_owned()),
                    "OU" | "CN" if dcs.is_empty() => ous.push(value.trim().to_owned()),
                    _ => return Err(bad()),
                }
            }
            if dcs.len() < 2 {
                return Err(bad());
            }
            ous.reverse();
            std::iter::once(dcs.join(".")).chain(ous).collect()
        } else {
            s.trim_end_matches('/')
                .split('/')
                .map(str::to_owned)
                .collect()
        };
        let domain_ok = segments.first().is_some_and(|d| {
            d.contains('.')
                && d.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        });
        if !domain_ok || !segments.iter().skip(1).all(|seg| valid_segment(seg)) {
            return Err(bad());
        }
        Ok(Self::from_segments(segments))
    }
}

impl fmt::Display for OrganizationalUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.segments.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(segment)?;
        }
        Ok(())
    }
}

impl Serialize for OrganizationalUnit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OrganizationalUnit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_and_dn_forms_agree() -> Result<(), OuError> {
        let canonical: OrganizationalUnit = "contoso.com/Users/Seattle".parse()?;
        let dn: OrganizationalUnit = "OU=Seattle,OU=Users,DC=contoso,DC=com".parse()?;
        assert_eq!(
            dn.distinguished_name(),
            "OU=Seattle,OU=Users,DC=contoso,DC=com"
        );
        assert_eq!(canonical, dn);
        assert_eq!(dn.to_string(), "contoso.com/Users/Seattle");
        Ok(())
    }

    #[test]
    fn subtree_containment_is_by_whole_segments() -> Result<(), OuError> {
        let users: OrganizationalUnit = "contoso.com/Users".parse()?;
        let seattle: OrganizationalUnit = "contoso.com/users/Seattle".parse()?;
        let users2: OrganizationalUnit = "contoso.com/Users2".parse()?;
        assert!(seattle.is_within(&users));
        assert!(users.is_within(&users));
        assert!(!users.is_within(&seattle));
        assert!(!users2.is_within(&users));
        Ok(())
    }

    #[test]
    fn clones_share_one_copy_and_children_are_their_own() -> Result<(), OuError> {
        let users: OrganizationalUnit = "contoso.com/Users".parse()?;
        let copy = users.clone();
        assert!(Arc::ptr_eq(&users.0, &copy.0));
        let child = users.child("Seattle");
        assert!(!Arc::ptr_eq(&users.0, &child.0));
        assert_eq!(child.to_string(), "contoso.com/Users/Seattle");
        assert_eq!(child.domain(), "contoso.com");
        assert!(child.is_within(&copy));
        assert_eq!(
            format!("{users:?}"),
            r#"OrganizationalUnit { segments: ["contoso.com", "Users"], folded: "contoso.com/users/" }"#
        );
        Ok(())
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "Users",
            "contoso.com//x",
            "OU=x",
            "OU=a,DC=com",
            "DC=contoso,DC=com,OU=x",
        ] {
            assert!(bad.parse::<OrganizationalUnit>().is_err(), "{bad}");
        }
    }
}
