//! Each forest's certificate authority, and the certificates it issues, made with
//! rcgen.
//!
//! * Server certificates carry DNS SANs (the forest name and `localhost`) and the
//!   `serverAuth` usage only.
//! * Principal certificates (users and service accounts) carry exactly one URI SAN,
//!   `forest://<forest>/sid/<SID>`, and the `clientAuth` usage only.
//! * The token-signing certificate carries `forest://<forest>/token-signing` and the
//!   `documentSigning` usage only, so that a TLS key can never sign tokens and the
//!   token key can never open a TLS session.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use crate::identity::{ForestName, ForestUri, Principal};

/// `id-kp-documentSigning` (RFC 9336), the usage of token-signing certificates.
pub const DOCUMENT_SIGNING_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 36];

/// How long issued leaf certificates stay valid.
pub const LEAF_VALIDITY: Duration = Duration::days(365);
const CA_VALIDITY: Duration = Duration::days(3650);

/// Why a certificate could not be issued, loaded or stored.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused the parameters or the key.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file holds no certificate or no key.
    #[error("`{path}` holds no {what}")]
    Missing {
        /// The file.
        path: String,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// A CA key that belongs to none of the certificates beside it.
    #[error("the CA key {key} belongs to none of the certificates in {certificates}")]
    KeyMismatch {
        /// Where the key came from.
        key: String,
        /// Where the certificates came from.
        certificates: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot access `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct IssuedCertificate {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The PKCS#8 private key, PEM. Never logged.
    pub private_key_pem: String,
}

impl std::fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("certificate_pem", &self.certificate_pem)
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

impl IssuedCertificate {
    /// Certificate followed by key, the layout of a credential file.
    pub fn to_combined_pem(&self) -> String {
        format!("{}{}", self.certificate_pem, self.private_key_pem)
    }

    /// Reads a credential file holding a certificate and a private key.
    pub fn read_combined(path: &Path) -> Result<Self, PkiError> {
        let text = read_text(path)?;
        let certificate_pem = pem_blocks(&text, "CERTIFICATE");
        let private_key_pem = pem_blocks(&text, "PRIVATE KEY");
        let missing = |what| PkiError::Missing {
            path: path.display().to_string(),
            what,
        };
        if certificate_pem.is_empty() {
            return Err(missing("certificate"));
        }
        if private_key_pem.is_empty() {
            return Err(missing("private key"));
        }
        Ok(Self {
            certificate_pem,
            private_key_pem,
        })
    }

    /// Writes certificate and key into one file, readable by the owner only.
    pub fn write_combined(&self, path: &Path) -> Result<(), PkiError> {
        write_private(path, &self.to_combined_pem())
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> Result<CertificateDer<'static>, PkiError> {
        first_certificate_der(&self.certificate_pem, "issued certificate")
    }
}

/// A forest's certificate authority: the CA that issues, and the trust bundle
/// it is part of (itself, plus during a rotation the CA it replaces or the one
/// replacing it).
pub struct CertificateAuthority {
    forest: ForestName,
    certificate_pem: String,
    certificate_der: CertificateDer<'static>,
    trust_bundle_pem: String,
    key: KeyPair,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("forest", &self.forest)
            .finish_non_exhaustive()
    }
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f; // keep it positive
    SerialNumber::from_slice(&bytes)
}

fn base_params(common_name: &str, validity: Duration) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + validity;
    params.serial_number = Some(random_serial());
    params.use_authority_key_identifier_extension = true;
    params
}

impl CertificateAuthority {
    /// A new self-signed CA for `forest`.
    pub fn generate(forest: &ForestName) -> Result<Self, PkiError> {
        Self::generate_named(forest, |_| format!("{forest} Forest Root CA"))
    }

    /// A new CA for the same forest, with a new key: the CA that replaces this
    /// one in a rotation. Its subject names its key (`<forest> Forest Root CA
    /// key <8 hex digits>`), so that its certificates never appear to be issued
    /// by the CA it replaces. Its trust bundle is its own certificate only.
    pub fn successor(&self) -> Result<Self, PkiError> {
        let forest = &self.forest;
        Self::generate_named(forest, |key| {
            let id = ring::digest::digest(&ring::digest::SHA256, key.public_key_raw());
            let hex: String = id.as_ref()[..4]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{forest} Forest Root CA key {hex}")
        })
    }

    fn generate_named(
        forest: &ForestName,
        common_name: impl FnOnce(&KeyPair) -> String,
    ) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = base_params(&common_name(&key), CA_VALIDITY);
        params
            .distinguished_name
            .push(DnType::OrganizationName, forest.as_str());
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.use_authority_key_identifier_extension = false;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            forest: forest.clone(),
            certificate_pem: cert.pem(),
            certificate_der: cert.der().clone(),
            trust_bundle_pem: cert.pem(),
            key,
        })
    }

    /// Loads a CA from its key and a trust bundle (one or more PEM
    /// certificates) holding its certificate: the one whose public key is the
    /// key's. The others are the forest's other CAs during a rotation.
    pub fn from_pem(
        forest: &ForestName,
        trust_bundle_pem: &str,
        key_pem: &str,
    ) -> Result<Self, PkiError> {
        Self::from_bundle(forest, trust_bundle_pem, key_pem, "CA bundle", "given")
    }

    fn from_bundle(
        forest: &ForestName,
        trust_bundle_pem: &str,
        key_pem: &str,
        bundle_name: &str,
        key_name: &str,
    ) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        let certificates = certificates_der(trust_bundle_pem, bundle_name)?;
        let own = certificates
            .iter()
            .position(|der| public_key_of(der).as_deref() == Some(key.public_key_raw()))
            .ok_or_else(|| PkiError::KeyMismatch {
                key: key_name.to_owned(),
                certificates: bundle_name.to_owned(),
            })?;
        let certificate_der = certificates[own].clone();
        Ok(Self {
            forest: forest.clone(),
            certificate_pem: certificate_pem(&certificate_der),
            certificate_der,
            trust_bundle_pem: trust_bundle_pem.to_owned(),
            key,
        })
    }

    /// Loads a CA from `ca.key` and the trust bundle `ca.pem` in `dir`.
    pub fn load(forest: &ForestName, dir: &Path) -> Result<Self, PkiError> {
        let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
        let cert = read_text(&cert_path)?;
        let key = read_text(&key_path)?;
        Self::from_bundle(
            forest,
            &cert,
            &key,
            &format!("`{}`", cert_path.display()),
            &format!("`{}`", key_path.display()),
        )
    }

    /// Stores the CA as `ca.pem` (its trust bundle) and `ca.key` (owner-only)
    /// in `dir`.
    pub fn store(&self, dir: &Path) -> Result<(), PkiError> {
        write_public(&dir.join("ca.pem"), &self.trust_bundle_pem)?;
        write_private(&dir.join("ca.key"), &self.key.serialize_pem())
    }

    /// This CA with `bundle_pem` as its trust bundle, which must hold this
    /// CA's certificate.
    pub fn with_trust_bundle(mut self, bundle_pem: &str) -> Result<Self, PkiError> {
        let holds_own =
            certificates_der(bundle_pem, "trust bundle")?.contains(&self.certificate_der);
        if !holds_own {
            return Err(PkiError::KeyMismatch {
                key: format!("of {}", self.forest),
                certificates: "the new trust bundle".to_owned(),
            });
        }
        self.trust_bundle_pem = bundle_pem.to_owned();
        Ok(self)
    }

    /// The forest this CA belongs to.
    pub fn forest(&self) -> &ForestName {
        &self.forest
    }

    /// This CA's own certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The forest's trust bundle (this CA's certificate and, during a
    /// rotation, the forest's other CA), PEM: what a peer that trusts this
    /// forest stores.
    pub fn trust_bundle_pem(&self) -> &str {
        &self.trust_bundle_pem
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        &self.certificate_der
    }

    /// Signs arbitrary parameters with this CA; the building block of the other
    /// `issue_*` functions, public so that tests can make deliberately bad
    /// certificates (expired, two URI SANs, wrong usage).
    pub fn issue(&self, params: &CertificateParams) -> Result<IssuedCertificate, PkiError> {
        let key = KeyPair::generate()?;
        let issuer = Issuer::from_ca_cert_der(&self.certificate_der, &self.key)?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(IssuedCertificate {
            certificate_pem: cert.pem(),
            private_key_pem: key.serialize_pem(),
        })
    }

    /// Parameters of a server certificate for this forest: DNS SANs for the forest
    /// name, `localhost` and `extra_dns_names`, `serverAuth` only.
    pub fn server_params(&self, extra_dns_names: &[String]) -> Result<CertificateParams, PkiError> {
        let mut params = base_params(self.forest.as_str(), LEAF_VALIDITY);
        let mut names = vec![self.forest.to_string(), "localhost".to_owned()];
        names.extend(extra_dns_names.iter().cloned());
        params.subject_alt_names = names
            .into_iter()
            .map(|n| n.try_into().map(SanType::DnsName))
            .collect::<Result<_, _>>()?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        Ok(params)
    }

    /// Issues a server certificate (see [`Self::server_params`]).
    pub fn issue_server(&self, extra_dns_names: &[String]) -> Result<IssuedCertificate, PkiError> {
        self.issue(&self.server_params(extra_dns_names)?)
    }

    /// Parameters of a client certificate for `principal`, with `common_name` as
    /// subject: one URI SAN, `clientAuth` only.
    pub fn principal_params(
        &self,
        principal: &Principal,
        common_name: &str,
    ) -> Result<CertificateParams, PkiError> {
        let mut params = base_params(common_name, LEAF_VALIDITY);
        params.subject_alt_names = vec![SanType::URI(principal.uri().to_string().try_into()?)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        Ok(params)
    }

    /// Issues a client certificate for `principal` (see [`Self::principal_params`]).
    pub fn issue_principal(
        &self,
        principal: &Principal,
        common_name: &str,
    ) -> Result<IssuedCertificate, PkiError> {
        self.issue(&self.principal_params(principal, common_name)?)
    }

    /// Parameters of this forest's token-signing certificate: the URI SAN
    /// `forest://<forest>/token-signing`, `documentSigning` only.
    pub fn token_signing_params(&self) -> Result<CertificateParams, PkiError> {
        let mut params = base_params(&format!("{} Token Signing", self.forest), LEAF_VALIDITY);
        let uri = ForestUri::TokenSigning(self.forest.clone()).to_string();
        params.subject_alt_names = vec![SanType::URI(uri.try_into()?)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(
            DOCUMENT_SIGNING_OID.to_vec(),
        )];
        Ok(params)
    }

    /// Issues the certificate of this forest's token-signing key (see
    /// [`Self::token_signing_params`]).
    pub fn issue_token_signing(&self) -> Result<IssuedCertificate, PkiError> {
        self.issue(&self.token_signing_params()?)
    }
}

/// The PEM blocks of one label (`CERTIFICATE`, `PRIVATE KEY`) in `text`, joined.
fn pem_blocks(text: &str, label: &str) -> String {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let Some(stop) = rest[start..].find(&end) else {
            break;
        };
        let stop = start + stop + end.len();
        out.push_str(&rest[start..stop]);
        out.push('\n');
        rest = &rest[stop..];
    }
    out
}

/// The public key (the subject public key's bits) of a DER certificate.
fn public_key_of(der: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.public_key().subject_public_key.data.to_vec())
}

/// A DER certificate as PEM.
fn certificate_pem(der: &CertificateDer<'_>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Every certificate of a PEM text (a certificate or a bundle of several),
/// DER, in order; an error if there is none or one cannot be read.
pub fn certificates_der(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let mut reader = pem.as_bytes();
    let certificates = rustls_pemfile::certs(&mut reader)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::Missing {
            path: format!("{what} ({e})"),
            what: "readable PEM certificate",
        })?;
    if certificates.is_empty() {
        return Err(PkiError::Missing {
            path: what.to_owned(),
            what: "certificate",
        });
    }
    Ok(certificates)
}

/// The first certificate of a PEM text, DER.
pub fn first_certificate_der(pem: &str, what: &str) -> Result<CertificateDer<'static>, PkiError> {
    let mut reader = pem.as_bytes();
    let first = rustls_pemfile::certs(&mut reader)
        .next()
        .and_then(Result::ok);
    first.ok_or_else(|| PkiError::Missing {
        path: what.to_owned(),
        what: "certificate",
    })
}

/// Reads a text file, naming it in the error.
pub fn read_text(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes a public file (certificates).
pub fn write_public(path: &Path, text: &str) -> Result<(), PkiError> {
    write_replacing(path, text, 0o644)
}

/// Writes a secret file (keys, passwords), readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> Result<(), PkiError> {
    write_replacing(path, text, 0o600)
}

/// Writes beside `path` and renames over it, so that a node reloading its
/// certificates never reads half a file.
fn write_replacing(path: &Path, text: &str, mode: u32) -> Result<(), PkiError> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        if !parent.exists() {
            crate::private::dir(parent).map_err(io_error(parent))?;
        }
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(io_error(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sid::DomainSid;

    #[test]
    fn principal_certificate_carries_one_uri_naming_the_principal(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let forest: ForestName = "fabrikam.com".parse()?;
        let ca = CertificateAuthority::generate(&forest)?;
        let principal = Principal {
            forest,
            sid: DomainSid::new(1, 2, 3).with_rid(1105),
        };
        let issued = ca.issue_principal(&principal, "alice")?;
        let der = issued.certificate_der()?;
        assert_eq!(
            ForestUri::of_certificate(&der)?,
            ForestUri::Principal(principal)
        );
        Ok(())
    }

    #[test]
    fn a_ca_is_the_certificate_of_its_bundle_that_its_key_belongs_to(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let forest: ForestName = "fabrikam.com".parse()?;
        let (old, new) = (
            CertificateAuthority::generate(&forest)?,
            CertificateAuthority::generate(&forest)?,
        );
        let bundle = format!("{}{}", new.certificate_pem(), old.certificate_pem());
        let dir = tempfile::tempdir()?;
        let old_der = old.certificate_der().clone();
        let old_pem = old.certificate_pem().to_owned();
        old.with_trust_bundle(&bundle)?.store(dir.path())?;
        let loaded = CertificateAuthority::load(&forest, dir.path())?;
        assert_eq!(loaded.certificate_der(), &old_der);
        assert_eq!(loaded.trust_bundle_pem(), bundle);
        assert_eq!(loaded.certificate_pem(), old_pem);
        assert_eq!(certificates_der(&bundle, "bundle")?.len(), 2);

        write_public(&dir.path().join("ca.pem"), new.certificate_pem())?;
        let error = CertificateAuthority::load(&forest, dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("ca.key` belongs to none of the certificates in `"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn combined_credential_file_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let forest: ForestName = "fabrikam.com".parse()?;
        let ca = CertificateAuthority::generate(&forest)?;
        let issued = ca.issue_server(&[])?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("server.pem");
        issued.write_combined(&path)?;
        let back = IssuedCertificate::read_combined(&path)?;
        assert_eq!(back.certificate_pem.trim(), issued.certificate_pem.trim());
        assert_eq!(back.private_key_pem.trim(), issued.private_key_pem.trim());
        ca.store(dir.path())?;
        let loaded = CertificateAuthority::load(&forest, dir.path())?;
        assert_eq!(loaded.certificate_der(), ca.certificate_der());
        Ok(())
    }
}
