//! TLS session resumption across a trust change (issue 16): a session made
//! while a forest's CA was trusted cannot be resumed to skip the check after
//! the trust bundle changed.

use std::sync::Arc;

use crossforest_shared::pki::{CertificateAuthority, IssuedCertificate};
use crossforest_shared::tls::{certified_key_parts, crypto_provider};
use crossforest_shared::ForestName;
use rustls::HandshakeKind;
use rustls_pki_types::ServerName;
use tokio::io::AsyncReadExt;

/// A client TLS configuration for `credential` trusting `ca_pem`, with
/// rustls's session cache: a second connection offers to resume the first.
pub fn client(ca_pem: &str, credential: &IssuedCertificate) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(crossforest_shared::pki::first_certificate_der(ca_pem, "ca").unwrap())
        .unwrap();
    let (chain, key) = certified_key_parts(credential, "client").unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// Connects, and reads what the server sends first (its HTTP/2 settings,
/// and with them its session tickets): how the handshake went, and whether
/// the server then served the connection.
async fn connect(
    address: &str,
    config: &Arc<rustls::ClientConfig>,
) -> (Option<HandshakeKind>, bool) {
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let Ok(mut tls) = tokio_rustls::TlsConnector::from(config.clone())
        .connect(ServerName::try_from("contoso.com").unwrap(), tcp)
        .await
    else {
        return (None, false);
    };
    let kind = tls.get_ref().1.handshake_kind();
    let mut buf = [0u8; 64];
    let served = matches!(tls.read(&mut buf).await, Ok(n) if n > 0);
    (kind, served)
}

#[tokio::test]
async fn a_trust_change_is_not_skipped_by_resuming_a_tls_session() {
    let f = super::common::federation().await;
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let resource = f.endpoint("contoso.com").unwrap();
    let alice = f.lab().credential(&fabrikam, "alice").unwrap();
    let config = client(&resource.ca_pem, &alice);

    let (first, served) = connect(&resource.address, &config).await;
    assert_eq!(first, Some(HandshakeKind::Full));
    assert!(served);
    // The client offers to resume; the server never lets it: every
    // connection's certificate is verified against the trusts in force.
    let (second, served) = connect(&resource.address, &config).await;
    assert_eq!(second, Some(HandshakeKind::Full));
    assert!(served);

    // contoso.com stops trusting the CA that issued alice's certificate.
    let other = CertificateAuthority::generate(&fabrikam).unwrap();
    let bundle = f.dir().join("contoso.com/trusts/fabrikam.com/ca.pem");
    crossforest_shared::pki::write_public(&bundle, other.certificate_pem()).unwrap();
    f.reload("contoso.com").unwrap();

    let (after, served) = connect(&resource.address, &config).await;
    assert_ne!(
        after,
        Some(HandshakeKind::Resumed),
        "a session resumed across the trust change"
    );
    assert!(
        !served,
        "a certificate the trust no longer vouches for was served"
    );
}
