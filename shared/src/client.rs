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
    /// The server refused the client certificate in the TLS handshake.
    #[error(transparent)]
    Refused(#[from] CertificateRefused),
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

/// Why a server refused a client certificate, as the TLS alert it sent says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `access_denied`: the certificate names a forest the server does not
    /// trust.
    UntrustedForest,
    /// `unknown_ca`: the server does not trust the CA that issued it (one
    /// retired by a CA rotation, or a rogue one).
    UnknownCa,
    /// `certificate_expired`: expired, or not valid yet.
    Expired,
    /// `bad_certificate`: not a principal certificate with exactly one
    /// `forest://` URI.
    BadCertificate,
    /// Any other alert about the handshake.
    Other,
}

/// A TLS handshake a server refused because of the client certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.explain())]
pub struct CertificateRefused {
    /// The forest whose node refused.
    pub server: ForestName,
    /// The forest the client certificate names, when it names one.
    pub client: Option<ForestName>,
    /// Why, by the alert.
    pub refusal: Refusal,
    /// The alert as TLS reported it, e.g. `received fatal alert: UnknownCA`.
    pub alert: String,
}

impl CertificateRefused {
    /// The refusal in `error`'s chain of causes, if the server sent a fatal
    /// TLS alert; `client_certificate` names the client's forest.
    pub fn find(
        error: &(dyn std::error::Error + 'static),
        server: &ForestName,
        client_certificate: Option<&IssuedCertificate>,
    ) -> Option<Self> {
        let alert = received_alert(error)?;
        let refusal = match alert {
            rustls::AlertDescription::AccessDenied => Refusal::UntrustedForest,
            rustls::AlertDescription::UnknownCA => Refusal::UnknownCa,
            rustls::AlertDescription::CertificateExpired => Refusal::Expired,
            rustls::AlertDescription::BadCertificate => Refusal::BadCertificate,
            _ => Refusal::Other,
        };
        let client = client_certificate
            .and_then(|c| c.certificate_der().ok())
            .and_then(|der| crate::identity::ForestUri::of_certificate(&der).ok())
            .map(|uri| uri.forest().clone());
        Some(Self {
            server: server.clone(),
            client,
            refusal,
            alert: format!("received fatal alert: {alert:?}"),
        })
    }

    fn explain(&self) -> String {
        let server = &self.server;
        let client = self
            .client
            .as_ref()
            .map_or_else(|| "its forest".to_owned(), ToString::to_string);
        let why = match self.refusal {
            Refusal::UntrustedForest => format!("{server} does not trust certificates of {client}"),
            Refusal::UnknownCa => format!(
                "{server} does not trust the CA that issued this certificate of {client} (was it issued before a CA rotation was finished?)"
            ),
            Refusal::Expired => format!(
                "{server} refused this certificate of {client}: it has expired (or is not valid yet)"
            ),
            Refusal::BadCertificate => format!(
                "{server} refused this certificate of {client}: it is not a principal certificate with exactly one `forest://` URI"
            ),
            Refusal::Other => format!("{server} refused the TLS handshake"),
        };
        format!("{why} ({})", self.alert)
    }
}

/// The fatal TLS alert a peer sent, somewhere in `error`'s causes. The TLS
/// layer reports it inside an I/O error, which hides it from `source()` and
/// keeps only its text, `received fatal alert: <name>`.
fn received_alert(error: &(dyn std::error::Error + 'static)) -> Option<rustls::AlertDescription> {
    use rustls::AlertDescription as A;
    const KNOWN: [A; 8] = [
        A::AccessDenied,
        A::UnknownCA,
        A::CertificateExpired,
        A::BadCertificate,
        A::CertificateRevoked,
        A::CertificateUnknown,
        A::CertificateRequired,
        A::HandshakeFailure,
    ];
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(rustls::Error::AlertReceived(alert)) = e.downcast_ref::<rustls::Error>() {
            return Some(*alert);
        }
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if let Some(inner) = inner {
            if let Some(rustls::Error::AlertReceived(alert)) = inner.downcast_ref::<rustls::Error>()
            {
                return Some(*alert);
            }
            let text = inner.to_string();
            if let Some(name) = text.strip_prefix("received fatal alert: ") {
                return KNOWN.into_iter().find(|a| format!("{a:?}") == name);
            }
        }
        next = e.source();
    }
    None
}

/// What the TLS alerts a server sends about a client certificate mean for
/// the person holding it.
const CLIENT_CERTIFICATE_ALERTS: &[(&str, &str)] = &[
    (
        "received fatal alert: UnknownCA",
        "the server does not trust the CA that issued your certificate (was it issued before a CA rotation was finished?)",
    ),
    (
        "received fatal alert: AccessDenied",
        "the server does not trust certificates of your forest",
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
        .map_err(
            |e| match CertificateRefused::find(&e, &endpoint.forest, Some(credential)) {
                Some(refused) => ConnectError::Refused(refused),
                None => ConnectError::Unreachable {
                    forest: endpoint.forest.clone(),
                    address: address.clone(),
                    reason: full_chain(&e),
                },
            },
        )?;
    Ok(channel)
}
