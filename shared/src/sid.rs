//! Security identifiers of domain accounts: `S-1-5-21-a-b-c-RID`.
//!
//! A forest's root domain has a [`DomainSid`] (`S-1-5-21-a-b-c`); every user and
//! group in it has a [`Sid`] made of that domain SID and a relative identifier.
//! Both are parsed once, at the edge, so that an invalid SID cannot reach the core.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid SID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SidError {
    /// The string does not start with `S-1-5-21-`.
    #[error("`{0}` is not a domain SID: expected `S-1-5-21-<a>-<b>-<c>[-<RID>]`")]
    Prefix(String),
    /// A sub-authority is not a decimal number that fits in 32 bits.
    #[error(
        "`{sid}` has an invalid sub-authority `{part}`: expected a number from 0 to 4294967295"
    )]
    SubAuthority {
        /// The whole input.
        sid: String,
        /// The offending part.
        part: String,
    },
    /// Wrong number of sub-authorities after `S-1-5-21`.
    #[error("`{sid}` has {found} sub-authorities after `S-1-5-21`; a {what} has {expected}")]
    Length {
        /// The whole input.
        sid: String,
        /// How many were found.
        found: usize,
        /// How many were expected.
        expected: usize,
        /// "domain SID" or "account SID".
        what: &'static str,
    },
}

/// The SID of a domain: `S-1-5-21-a-b-c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainSid([u32; 3]);

/// The SID of an account (user or group) in a domain: `S-1-5-21-a-b-c-RID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    domain: DomainSid,
    rid: u32,
}

/// Well-known relative identifiers of a domain.
pub mod rid {
    /// The domain's built-in Administrator account.
    pub const ADMINISTRATOR: u32 = 500;
    /// The Domain Admins group.
    pub const DOMAIN_ADMINS: u32 = 512;
    /// The first RID handed to accounts created after the built-in ones.
    pub const FIRST_ALLOCATED: u32 = 1101;
}

const PREFIX: &str = "S-1-5-21-";

fn parse_parts(input: &str) -> Result<Vec<u32>, SidError> {
    let rest = input
        .strip_prefix(PREFIX)
        .ok_or_else(|| SidError::Prefix(input.to_owned()))?;
    rest.split('-')
        .map(|part| {
            // `u32::from_str` accepts a leading `+`; a SID never has one. Nor
            // leading zeros: one SID has one text (found by fuzzing).
            if part.is_empty()
                || !part.bytes().all(|b| b.is_ascii_digit())
                || (part.len() > 1 && part.starts_with('0'))
            {
                return Err(SidError::SubAuthority {
                    sid: input.to_owned(),
                    part: part.to_owned(),
                });
            }
            part.parse::<u32>().map_err(|_| SidError::SubAuthority {
                sid: input.to_owned(),
                part: part.to_owned(),
            })
        })
        .collect()
}

impl DomainSid {
    /// A domain SID from its three sub-authorities.
    pub const fn new(a: u32, b: u32, c: u32) -> Self {
        Self([a, b, c])
    }

    /// The three sub-authorities after `S-1-5-21`.
    pub const fn sub_authorities(&self) -> [u32; 3] {
        self.0
    }

    /// The account SID with relative identifier `rid` in this domain.
    pub const fn with_rid(self, rid: u32) -> Sid {
        Sid { domain: self, rid }
    }

    /// Whether `sid` belongs to this domain.
    pub fn contains(&self, sid: &Sid) -> bool {
        sid.domain == *self
    }
}

impl Sid {
    /// The domain part of the SID.
    pub const fn domain(&self) -> DomainSid {
        self.domain
    }

    /// The relative identifier.
    pub const fn rid(&self) -> u32 {
        self.rid
    }
}

impl FromStr for DomainSid {
    type Err = SidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match parse_parts(s)?.as_slice() {
            [a, b, c] => Ok(Self([*a, *b, *c])),
            other => Err(SidError::Length {
                sid: s.to_owned(),
                found: other.len(),
                expected: 3,
                what: "domain SID",
            }),
        }
    }
}

impl FromStr for Sid {
    type Err = SidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match parse_parts(s)?.as_slice() {
            [a, b, c, rid] => Ok(DomainSid([*a, *b, *c]).with_rid(*rid)),
            other => Err(SidError::Length {
                sid: s.to_owned(),
                found: other.len(),
                expected: 4,
                what: "account SID",
            }),
        }
    }
}

impl fmt::Display for DomainSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.0;
        write!(f, "{PREFIX}{a}-{b}-{c}")
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.domain, self.rid)
    }
}

macro_rules! serde_via_string {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_via_string!(Sid);
serde_via_string!(DomainSid);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_an_account_sid() -> Result<(), SidError> {
        let sid: Sid = "S-1-5-21-1004336348-1177238915-682003330-1105".parse()?;
        assert_eq!(sid.rid(), 1105);
        assert_eq!(
            sid.domain(),
            DomainSid::new(1004336348, 1177238915, 682003330)
        );
        Ok(())
    }

    #[test]
    fn rejects_malformed_sids_with_a_reason() {
        let cases = [
            ("S-1-5-32-544", "is not a domain SID"),
            ("S-1-5-21-1-2-3", "a account SID has 4"),
            ("S-1-5-21-1-2-3-4-5", "has 5 sub-authorities"),
            ("S-1-5-21-1-2-x-500", "invalid sub-authority `x`"),
            (
                "S-1-5-21-1-2-4294967296-500",
                "invalid sub-authority `4294967296`",
            ),
            ("S-1-5-21-1--3-500", "invalid sub-authority ``"),
            ("S-1-5-21-+1-2-3-500", "invalid sub-authority `+1`"),
            ("S-1-5-21-09-2-3-500", "invalid sub-authority `09`"),
            ("S-1-5-21-1-2-3-0500", "invalid sub-authority `0500`"),
            ("", "is not a domain SID"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<Sid>().err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(expected)),
                "{input}: {err:?}"
            );
        }
        assert!("S-1-5-21-1-2-3-4".parse::<DomainSid>().is_err());
    }

    #[test]
    fn domain_membership_is_by_domain_sid() {
        let fabrikam = DomainSid::new(1, 2, 3);
        let contoso = DomainSid::new(1, 2, 4);
        assert!(fabrikam.contains(&fabrikam.with_rid(1105)));
        assert!(!contoso.contains(&fabrikam.with_rid(1105)));
    }

    proptest! {
        #[test]
        fn sid_display_parse_round_trips(a: u32, b: u32, c: u32, rid: u32) {
            let sid = DomainSid::new(a, b, c).with_rid(rid);
            prop_assert_eq!(sid.to_string().parse::<Sid>(), Ok(sid));
            let domain = DomainSid::new(a, b, c);
            prop_assert_eq!(domain.to_string().parse::<DomainSid>(), Ok(domain));
        }

        #[test]
        fn parser_never_panics_and_accepts_only_canonical_text(text in "S-1-5-21(-[0-9+]{0,11}){0,6}") {
            if let Ok(sid) = text.parse::<Sid>() {
                prop_assert_eq!(sid.to_string(), text);
            }
        }
    }
}
