//! The one place that builds TLS configurations.
//!
//! Client certificates are verified per forest: a certificate's single
//! `forest://<forest>/…` URI SAN chooses the verifier, and that verifier holds only
//! the named forest's CAs. CAs of different forests are never merged into one root
//! store, so a trusted forest cannot mint identities of another forest.
//!
//! A forest may have more than one CA at a time: while its CA is rotated, its
//! trust bundle holds the new CA and the old one, and both vouch for that forest
//! (and only that forest) until the rotation is finished.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, RootCertStore,
    ServerConfig, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use crate::identity::{ForestName, ForestUri};
use crate::pki::{certificates_der, IssuedCertificate, PkiError};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key could not be read.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// rustls refused the configuration.
    #[error("invalid TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// A CA certificate could not be used as a trust anchor.
    #[error("the CA certificate of `{forest}` cannot be used: {reason}")]
    TrustAnchor {
        /// The forest whose CA was refused.
        forest: ForestName,
        /// Why.
        reason: String,
    },
    /// The private key is not PKCS#8 PEM.
    #[error("the private key of the {0} certificate is missing or not PKCS#8 PEM")]
    Key(&'static str),
}

/// The crypto provider every crossforest TLS configuration uses (ring).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// CA certificates by forest: whom a node accepts client certificates from.
/// Each forest has one or more CAs (its trust bundle), never another forest's.
#[derive(Debug, Clone, Default)]
pub struct ForestTrustStore {
    cas: BTreeMap<ForestName, Vec<CertificateDer<'static>>>,
}

impl ForestTrustStore {
    /// An empty store: trusts no one.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts certificates naming `forest` when they chain to one of the CA
    /// certificates of the bundle `ca_pem` (one or more PEM certificates),
    /// replacing what was trusted for `forest` before. Every certificate of the
    /// bundle must be usable as a trust anchor.
    pub fn trust(&mut self, forest: ForestName, ca_pem: &str) -> Result<(), TlsError> {
        let cas = certificates_der(ca_pem, &format!("CA certificate bundle of {forest}"))?;
        for (n, ca) in cas.iter().enumerate() {
            let refused = |reason: String| TlsError::TrustAnchor {
                forest: forest.clone(),
                reason: format!("certificate {} of its bundle {reason}", n + 1),
            };
            webpki::anchor_from_trusted_cert(ca)
                .map_err(|e| refused(format!("is unusable: {e}")))?;
            let organization = organization_of(ca);
            if !organization
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(forest.as_str()))
            {
                return Err(refused(format!(
                    "is a CA of `{}`, not of this forest: a forest's bundle holds only its own CAs (R-TRUST-1)",
                    organization.as_deref().unwrap_or("no forest")
                )));
            }
        }
        self.cas.insert(forest, cas);
        Ok(())
    }

    /// The CA certificates of `forest` (its trust bundle), if trusted.
    pub fn cas(&self, forest: &ForestName) -> Option<&[CertificateDer<'static>]> {
        self.cas.get(forest).map(Vec::as_slice)
    }

    /// The trusted forests.
    pub fn forests(&self) -> impl Iterator<Item = &ForestName> {
        self.cas.keys()
    }
}

/// The organization (O=) of a certificate's subject: the forest a crossforest
/// CA belongs to.
fn organization_of(der: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let organization = cert.subject().iter_organization().next()?;
    organization.as_str().ok().map(str::to_owned)
}

/// Refuses a client certificate that does not say it is for client
/// authentication: the extended key usage must be present and name
/// `clientAuth` (a certificate without one would be good for any use).
fn require_client_auth(der: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| refuse(format!("the client certificate cannot be read: {e}")))?;
    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.client_auth => Ok(()),
        Ok(Some(_)) => Err(refuse(
            "the client certificate's extended key usage does not include clientAuth".into(),
        )),
        Ok(None) => Err(refuse(
            "the client certificate has no extended key usage; clientAuth is required".into(),
        )),
        Err(e) => Err(refuse(format!(
            "the client certificate's extended key usage cannot be read: {e}"
        ))),
    }
}

/// A client-certificate verifier that dispatches on the forest named by the
/// certificate's single URI SAN, to a WebPKI verifier holding only that forest's
/// CAs.
#[derive(Debug)]
pub struct PerForestClientVerifier {
    verifiers: BTreeMap<ForestName, Arc<dyn ClientCertVerifier>>,
    hints: Vec<DistinguishedName>,
    provider: Arc<CryptoProvider>,
}

fn refuse(reason: String) -> rustls::Error {
    #[derive(Debug)]
    struct Refused(String);
    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Refused {}
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refused(
        reason,
    )))))
}

impl PerForestClientVerifier {
    /// One verifier per forest of `store`; client certificates are mandatory.
    pub fn new(store: &ForestTrustStore) -> Result<Self, TlsError> {
        let provider = crypto_provider();
        let mut verifiers = BTreeMap::new();
        let mut hints = Vec::new();
        for (forest, cas) in &store.cas {
            let mut roots = RootCertStore::empty();
            for ca in cas {
                roots.add(ca.clone()).map_err(|e| TlsError::TrustAnchor {
                    forest: forest.clone(),
                    reason: e.to_string(),
                })?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| TlsError::TrustAnchor {
                        forest: forest.clone(),
                        reason: e.to_string(),
                    })?;
            hints.extend(verifier.root_hint_subjects().iter().cloned());
            verifiers.insert(forest.clone(), verifier);
        }
        Ok(Self {
            verifiers,
            hints,
            provider,
        })
    }
}

impl ClientCertVerifier for PerForestClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        require_client_auth(end_entity)?;
        let uri = ForestUri::of_certificate(end_entity).map_err(|e| refuse(e.to_string()))?;
        let ForestUri::Principal(principal) = uri else {
            return Err(refuse(format!("`{uri}` is not a principal certificate")));
        };
        let Some(verifier) = self.verifiers.get(&principal.forest) else {
            // A policy refusal, not a bad certificate: the client is told so
            // by the `access_denied` alert (the log says which forest).
            tracing::info!(forest = %principal.forest, "client certificate of a forest not trusted here");
            return Err(CertificateError::ApplicationVerificationFailure.into());
        };
        verifier.verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The certificate chain and key of a PEM credential, for rustls.
pub fn certified_key_parts(
    credential: &IssuedCertificate,
    what: &'static str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let mut certs = credential.certificate_pem.as_bytes();
    let chain: Vec<_> = rustls_pemfile::certs(&mut certs)
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Key(what))?;
    let mut key = credential.private_key_pem.as_bytes();
    let key = rustls_pemfile::private_key(&mut key)
        .ok()
        .flatten()
        .ok_or(TlsError::Key(what))?;
    Ok((chain, key))
}

/// The server configuration of a node: its server certificate, and mandatory
/// client certificates verified per forest against `trust`. Session resumption
/// is off, so that a changed trust store can never be skipped by a resumed session.
pub fn server_config(
    trust: &ForestTrustStore,
    server_certificate: &IssuedCertificate,
) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = Arc::new(PerForestClientVerifier::new(trust)?);
    let (chain, key) = certified_key_parts(server_certificate, "server")?;
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::CertificateAuthority;
    use crate::sid::DomainSid;
    use crate::Principal;

    fn principal_of(forest: &str, rid: u32) -> Result<Principal, Box<dyn std::error::Error>> {
        Ok(Principal {
            forest: forest.parse()?,
            sid: DomainSid::new(1, 2, 3).with_rid(rid),
        })
    }

    fn verify(
        verifier: &PerForestClientVerifier,
        ca: &CertificateAuthority,
        principal: &Principal,
    ) -> Result<(), rustls::Error> {
        let issued = ca
            .issue_principal(principal, "alice")
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        let der = issued
            .certificate_der()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        verifier
            .verify_client_cert(&der, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn every_ca_of_a_bundle_vouches_for_its_forest_only() -> Result<(), Box<dyn std::error::Error>>
    {
        let fabrikam: ForestName = "fabrikam.com".parse()?;
        let old = CertificateAuthority::generate(&fabrikam)?;
        let new = old.successor()?;
        let tailspin = CertificateAuthority::generate(&"tailspin.com".parse()?)?;
        let mut store = ForestTrustStore::new();
        let bundle = format!("{}{}", new.certificate_pem(), old.certificate_pem());
        store.trust(fabrikam.clone(), &bundle)?;
        store.trust("tailspin.com".parse()?, tailspin.certificate_pem())?;
        assert_eq!(store.cas(&fabrikam).map(<[_]>::len), Some(2));
        let verifier = PerForestClientVerifier::new(&store)?;
        let alice = principal_of("fabrikam.com", 1105)?;
        verify(&verifier, &old, &alice)?;
        verify(&verifier, &new, &alice)?;
        // Neither of fabrikam's CAs vouches for tailspin, nor tailspin's for fabrikam.
        let carol = principal_of("tailspin.com", 1105)?;
        assert!(verify(&verifier, &new, &carol).is_err());
        assert!(verify(&verifier, &old, &carol).is_err());
        assert!(verify(&verifier, &tailspin, &alice).is_err());

        // The rotation finished: the bundle holds the new CA only.
        store.trust(fabrikam, new.certificate_pem())?;
        let verifier = PerForestClientVerifier::new(&store)?;
        verify(&verifier, &new, &alice)?;
        let refused = verify(&verifier, &old, &alice)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("UnknownIssuer"), "{refused}");
        Ok(())
    }

    #[test]
    fn a_client_certificate_must_say_it_is_for_client_authentication(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let fabrikam = CertificateAuthority::generate(&"fabrikam.com".parse()?)?;
        let mut store = ForestTrustStore::new();
        store.trust("fabrikam.com".parse()?, fabrikam.certificate_pem())?;
        let verifier = PerForestClientVerifier::new(&store)?;
        let alice = principal_of("fabrikam.com", 1105)?;
        verify(&verifier, &fabrikam, &alice)?;
        for (usages, expected) in [
            (Vec::new(), "no extended key usage"),
            (
                vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth],
                "does not include clientAuth",
            ),
        ] {
            let mut params = fabrikam.principal_params(&alice, "alice")?;
            params.extended_key_usages = usages;
            let der = fabrikam.issue(&params)?.certificate_der()?;
            let refused = verifier
                .verify_client_cert(&der, &[], UnixTime::now())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(refused.contains(expected), "{refused}");
        }
        Ok(())
    }

    #[test]
    fn a_bundle_holding_another_forests_ca_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let fabrikam = CertificateAuthority::generate(&"fabrikam.com".parse()?)?;
        let tailspin = CertificateAuthority::generate(&"tailspin.com".parse()?)?;
        let bundle = format!(
            "{}{}",
            fabrikam.certificate_pem(),
            tailspin.certificate_pem()
        );
        let mut store = ForestTrustStore::new();
        let error = store
            .trust("fabrikam.com".parse()?, &bundle)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("certificate 2 of its bundle is a CA of `tailspin.com`"),
            "{error}"
        );
        assert!(store.cas(&"fabrikam.com".parse()?).is_none());
        Ok(())
    }

    #[test]
    fn a_bundle_with_a_non_certificate_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let mut store = ForestTrustStore::new();
        let error = store
            .trust("fabrikam.com".parse()?, "not a certificate")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("CA certificate bundle of fabrikam.com"),
            "{error}"
        );
        Ok(())
    }
}
