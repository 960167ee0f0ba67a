//! What a certificate says, for operators: subject, SANs, serial, validity.
//! Never reads or prints keys.

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;

use crate::pki::PkiError;

/// The operator-facing facts of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The subject, e.g. `CN=contoso.com`.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// Subject alternative names: `DNS:…`, `IP:…`, `URI:…`.
    pub sans: Vec<String>,
    /// The serial number, hexadecimal.
    pub serial: String,
    /// Not valid before, RFC 3339.
    pub not_before: String,
    /// Not valid after, RFC 3339.
    pub not_after: String,
    /// Whether it is a CA certificate.
    pub is_ca: bool,
}

/// Summarises a DER certificate.
pub fn summarize(der: &CertificateDer<'_>) -> Result<CertificateSummary, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| PkiError::Missing {
        path: format!("certificate ({e})"),
        what: "parsable X.509 certificate",
    })?;
    let sans = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(d) => format!("DNS:{d}"),
                    GeneralName::URI(u) => format!("URI:{u}"),
                    GeneralName::IPAddress(ip) => match <[u8; 4]>::try_from(*ip) {
                        Ok(v4) => format!("IP:{}", std::net::Ipv4Addr::from(v4)),
                        Err(_) => format!("IP:{ip:02x?}"),
                    },
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .unwrap_or_default();
    let rfc3339 = |t: x509_parser::time::ASN1Time| {
        t.to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| t.to_string())
    };
    Ok(CertificateSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        serial: cert.raw_serial_as_string().replace(':', ""),
        not_before: rfc3339(cert.validity().not_before),
        not_after: rfc3339(cert.validity().not_after),
        is_ca: cert.is_ca(),
    })
}

/// Summarises the first certificate of a PEM text.
pub fn summarize_pem(pem: &str, what: &str) -> Result<CertificateSummary, PkiError> {
    summarize(&crate::pki::first_certificate_der(pem, what)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::CertificateAuthority;

    #[test]
    fn a_server_certificate_is_summarised() -> Result<(), Box<dyn std::error::Error>> {
        let ca = CertificateAuthority::generate(&"contoso.com".parse()?)?;
        let issued = ca.issue_server(&[])?;
        let s = summarize_pem(&issued.certificate_pem, "server")?;
        assert_eq!(s.subject, "CN=contoso.com");
        assert!(s.sans.contains(&"DNS:contoso.com".to_owned()), "{s:?}");
        assert!(s.sans.contains(&"IP:127.0.0.1".to_owned()), "{s:?}");
        assert!(!s.is_ca && !s.serial.is_empty());
        let again = summarize_pem(&ca.issue_server(&[])?.certificate_pem, "server")?;
        assert_ne!(s.serial, again.serial);
        assert!(summarize_pem(ca.certificate_pem(), "ca")?.is_ca);
        Ok(())
    }
}
