//! Who a peer is: forest names, the `forest://` URI that every certificate carries
//! as its single URI SAN, and the typed [`Principal`] a verified peer certificate
//! turns into.

use std::fmt;
use std::str::FromStr;

use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use x509_parser::extensions::GeneralName;

use crate::sid::{Sid, SidError};

/// Why a forest name, certificate URI or peer identity is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A forest name that is not a lowercase DNS name.
    #[error("`{0}` is not a forest DNS name (expected labels of a-z, 0-9 and `-`, such as `fabrikam.com`)")]
    ForestName(String),
    /// A URI that is not `forest://<forest>/sid/<SID>` or `forest://<forest>/token-signing`.
    #[error("`{0}` is not a forest identity URI (expected `forest://<forest>/sid/<SID>`)")]
    Uri(String),
    /// The SID inside a URI is malformed.
    #[error(transparent)]
    Sid(#[from] SidError),
    /// The certificate could not be parsed.
    #[error("the certificate is not valid X.509: {0}")]
    Certificate(String),
    /// The certificate has no URI SAN, or more than one.
    #[error("the certificate must carry exactly one `forest://` URI SAN, found {0}")]
    UriCount(usize),
    /// The peer presented no certificate.
    #[error("no client certificate was presented")]
    NoCertificate,
    /// The certificate names a role other than the one required.
    #[error("the certificate names `{0}`, which is not a principal")]
    NotAPrincipal(String),
}

/// The DNS name of a forest's root domain, e.g. `fabrikam.com`, always lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ForestName(String);

impl ForestName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The NetBIOS-style short name Exchange admins type before a backslash
    /// (`fabrikam` for `fabrikam.com`).
    pub fn netbios(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }

    /// Whether `domain` (a NetBIOS name or the DNS name, any case) names this forest.
    pub fn answers_to(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case(&self.0) || domain.eq_ignore_ascii_case(self.netbios())
    }
}

impl FromStr for ForestName {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if lower.len() > 253 || !lower.split('.').all(label_ok) {
            return Err(IdentityError::ForestName(s.to_owned()));
        }
        Ok(Self(lower))
    }
}

impl fmt::Display for ForestName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ForestName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ForestName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// What a certificate's `forest://` URI SAN says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForestUri {
    /// A user, group or service account: `forest://<forest>/sid/<SID>`.
    Principal(Principal),
    /// The key a forest signs its tokens with: `forest://<forest>/token-signing`.
    TokenSigning(ForestName),
}

impl ForestUri {
    /// The forest the URI belongs to.
    pub fn forest(&self) -> &ForestName {
        match self {
            Self::Principal(p) => &p.forest,
            Self::TokenSigning(f) => f,
        }
    }

    /// The single `forest://` URI SAN of a DER certificate.
    pub fn of_certificate(der: &[u8]) -> Result<Self, IdentityError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| IdentityError::Certificate(e.to_string()))?;
        let san = cert
            .subject_alternative_name()
            .map_err(|e| IdentityError::Certificate(e.to_string()))?;
        let uris: Vec<&str> = san
            .map(|ext| {
                ext.value
                    .general_names
                    .iter()
                    .filter_map(|name| match name {
                        GeneralName::URI(uri) => Some(*uri),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        match uris.as_slice() {
            [uri] => uri.parse(),
            other => Err(IdentityError::UriCount(other.len())),
        }
    }
}

impl FromStr for ForestUri {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || IdentityError::Uri(s.to_owned());
        let rest = s.strip_prefix("forest://").ok_or_else(bad)?;
        let (forest, path) = rest.split_once('/').ok_or_else(bad)?;
        let forest: ForestName = forest.parse()?;
        if path == "token-signing" {
            return Ok(Self::TokenSigning(forest));
        }
        let sid = path.strip_prefix("sid/").ok_or_else(bad)?;
        Ok(Self::Principal(Principal {
            forest,
            sid: sid.parse()?,
        }))
    }
}

impl fmt::Display for ForestUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Principal(p) => write!(f, "forest://{}/sid/{}", p.forest, p.sid),
            Self::TokenSigning(forest) => write!(f, "forest://{forest}/token-signing"),
        }
    }
}

/// A security principal of a forest, as named by its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The forest that issued the principal's certificate.
    pub forest: ForestName,
    /// The principal's SID in that forest.
    pub sid: Sid,
}

impl Principal {
    /// The principal named by a peer's certificate chain (leaf first), as tonic
    /// hands it over after the TLS verifier has accepted the chain.
    pub fn from_peer_certificates(chain: &[CertificateDer<'_>]) -> Result<Self, IdentityError> {
        let leaf = chain.first().ok_or(IdentityError::NoCertificate)?;
        match ForestUri::of_certificate(leaf)? {
            ForestUri::Principal(p) => Ok(p),
            other => Err(IdentityError::NotAPrincipal(other.to_string())),
        }
    }

    /// The URI this principal's certificate carries.
    pub fn uri(&self) -> ForestUri {
        ForestUri::Principal(self.clone())
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\\{}", self.forest.netbios(), self.sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sid::DomainSid;

    #[test]
    fn uri_round_trips() -> Result<(), IdentityError> {
        let uri = ForestUri::Principal(Principal {
            forest: "Fabrikam.com".parse()?,
            sid: DomainSid::new(1, 2, 3).with_rid(1105),
        });
        assert_eq!(
            uri.to_string(),
            "forest://fabrikam.com/sid/S-1-5-21-1-2-3-1105"
        );
        assert_eq!(uri.to_string().parse::<ForestUri>()?, uri);
        let signing: ForestUri = "forest://fabrikam.com/token-signing".parse()?;
        assert_eq!(signing.forest().as_str(), "fabrikam.com");
        Ok(())
    }

    #[test]
    fn rejects_bad_uris_and_names() {
        for bad in [
            "https://fabrikam.com/sid/S-1-5-21-1-2-3-4",
            "forest://fabrikam.com/user/S-1-5-21-1-2-3-4",
            "forest://fab_rikam.com/sid/S-1-5-21-1-2-3-4",
            "forest://fabrikam.com/sid/S-1-5-21-1-2-3",
            "forest://fabrikam.com",
        ] {
            assert!(bad.parse::<ForestUri>().is_err(), "{bad}");
        }
        assert!("-bad.com".parse::<ForestName>().is_err());
        assert!("a..b".parse::<ForestName>().is_err());
    }

    #[test]
    fn netbios_name_is_the_first_label() -> Result<(), IdentityError> {
        let forest: ForestName = "fabrikam.com".parse()?;
        assert_eq!(forest.netbios(), "fabrikam");
        assert!(forest.answers_to("FABRIKAM"));
        assert!(forest.answers_to("fabrikam.com"));
        assert!(!forest.answers_to("tailspin"));
        Ok(())
    }
}
