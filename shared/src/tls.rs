//! The one place that builds TLS configurations.
//!
//! Client certificates are verified per forest: a certificate's single
//! `forest://<forest>/…` URI SAN chooses the verifier, and that verifier holds only
//! the named forest's CA. CAs of different forests are never merged into one root
//! store, so a trusted forest cannot mint identities of another forest.

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
use crate::pki::{first_certificate_der, IssuedCertificate, PkiError};

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
#[derive(Debug, Clone, Default)]
pub struct ForestTrustStore {
    cas: BTreeMap<ForestName, CertificateDer<'static>>,
}

impl ForestTrustStore {
    /// An empty store: trusts no one.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts certificates naming `forest` when they chain to `ca_pem`.
    pub fn trust(&mut self, forest: ForestName, ca_pem: &str) -> Result<(), TlsError> {
        let der = first_certificate_der(ca_pem, &format!("CA certificate of {forest}"))?;
        self.cas.insert(forest, der);
        Ok(())
    }

    /// The CA certificate of `forest`, if trusted.
    pub fn ca(&self, forest: &ForestName) -> Option<&CertificateDer<'static>> {
        self.cas.get(forest)
    }

    /// The trusted forests.
    pub fn forests(&self) -> impl Iterator<Item = &ForestName> {
        self.cas.keys()
    }
}

/// A client-certificate verifier that dispatches on the forest named by the
/// certificate's single URI SAN, to a WebPKI verifier holding only that forest's CA.
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
        for (forest, ca) in &store.cas {
            let mut roots = RootCertStore::empty();
            roots.add(ca.clone()).map_err(|e| TlsError::TrustAnchor {
                forest: forest.clone(),
                reason: e.to_string(),
            })?;
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
        let uri = ForestUri::of_certificate(end_entity).map_err(|e| refuse(e.to_string()))?;
        let ForestUri::Principal(principal) = uri else {
            return Err(refuse(format!("`{uri}` is not a principal certificate")));
        };
        let verifier = self.verifiers.get(&principal.forest).ok_or_else(|| {
            refuse(format!(
                "the certificate names forest `{}`, which is not trusted here",
                principal.forest
            ))
        })?;
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
