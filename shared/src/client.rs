//! Mutual-TLS channels from a principal to a forest's node.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::identity::ForestName;
use crate::pki::IssuedCertificate;

/// Why a channel could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The endpoint address is not usable.
    #[error("`{address}` is not a usable endpoint: {reason}")]
    Address {
        /// The address as given.
        address: String,
        /// Why.
        reason: String,
    },
    /// The connection or the TLS handshake failed.
    #[error("cannot reach {forest} at `{address}`: {reason}")]
    Unreachable {
        /// The forest.
        forest: ForestName,
        /// The address.
        address: String,
        /// The transport's explanation.
        reason: String,
    },
}

/// Where a forest's node listens and which CAs its server certificate may chain
/// to.
#[derive(Debug, Clone)]
pub struct ForestEndpoint {
    /// The forest; its name is the DNS name checked in the server certificate.
    pub forest: ForestName,
    /// `host:port`.
    pub address: String,
    /// The forest's trust bundle (its CA certificate, or the old and the new
    /// one during a CA rotation), PEM: used only to authenticate the server.
    pub ca_pem: String,
}

/// What the TLS alerts a server sends about a client certificate mean for
/// the person holding it.
const CLIENT_CERTIFICATE_ALERTS: &[(&str, &str)] = &[
    (
        "received fatal alert: UnknownCA",
        "the server does not trust the CA that issued your certificate (was it issued before a CA rotation was finished?)",
    ),
    (
        "received fatal alert: CertificateExpired",
        "the server refused your certificate: it has expired (or is not valid yet)",
    ),
];

/// An error and each of its sources not already in its text, joined by `: `
/// (a TLS alert under a transport error, for instance), with what a TLS
/// alert about the client certificate means.
pub fn full_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    for (alert, meaning) in CLIENT_CERTIFICATE_ALERTS {
        if text.contains(alert) {
            text.push_str(" — ");
            text.push_str(meaning);
        }
    }
    text
}

/// Opens an mTLS channel to `endpoint`, presenting `credential`.
pub async fn connect(
    endpoint: &ForestEndpoint,
    credential: &IssuedCertificate,
) -> Result<Channel, ConnectError> {
    let address = endpoint.address.clone();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&endpoint.ca_pem))
        .identity(Identity::from_pem(
            &credential.certificate_pem,
            &credential.private_key_pem,
        ))
        .domain_name(endpoint.forest.as_str());
    let bad = |e: &dyn std::error::Error| ConnectError::Address {
        address: address.clone(),
        reason: full_chain(e),
    };
    let uri = format!("https://{address}");
    let channel = Endpoint::from_shared(uri)
        .map_err(|e| bad(&e))?
        .tls_config(tls)
        .map_err(|e| bad(&e))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| ConnectError::Unreachable {
            forest: endpoint.forest.clone(),
            address: address.clone(),
            reason: full_chain(&e),
        })?;
    Ok(channel)
}
