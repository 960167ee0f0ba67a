//! Everything the crossforest nodes share: security identifiers, the generated
//! protocol code, the forests' PKI, mutual-TLS configuration with per-forest trust
//! stores, and signed forest tokens.
//!
//! # Layout
//! * [`sid`]: `Sid` and `DomainSid`, parsed once at the edge.
//! * [`identity`]: forest names, the `forest://` URI carried by certificates, and
//!   the typed [`identity::Principal`] a peer certificate turns into.
//! * [`ou`]: organizational units by canonical name or DN.
//! * [`pki`]: certificate authorities and certificate issue with rcgen.
//! * [`private`]: owner-only files and directories, and the start-up check.
//! * [`text`]: caller-supplied text made safe to keep and show: deceptive
//!   names refused, echoes bounded and escaped.
//! * [`tls`]: rustls configurations; the client-certificate verifier that checks
//!   each certificate only against the CA of the forest it names.
//! * [`token`]: forest tokens, signed by an account forest and verified by the
//!   resource forest.
//! * [`token_cache`]: tokens already verified, so a session's later requests
//!   skip the signature checks.
//! * [`serve`]: the TLS accept loop that feeds tonic servers, and the server
//!   edge both node kinds share: the peer's principal and
//!   [`serve::status`], the one builder of error statuses and their stable
//!   codes.
//! * [`client`]: mTLS channels to a forest.
//! * [`config`]: node TOML files, their validation, and JSON state files.
//! * [`inspect`]: subjects, SANs, serials and validity of certificates.
//! * [`metrics`]: Prometheus metrics and the `/metrics` endpoint.
//! * [`observe`]: request ids, request spans and request metrics (a tower
//!   layer), labelled only by the methods a node serves.
//! * [`rate_limit`]: a token bucket per principal (a tower layer).
//! * [`limits`]: every limit on request fields, echoed text and request rates.
//! * [`proto`]: generated prost messages and tonic services.

pub mod client;
pub mod config;
pub mod identity;
pub mod inspect;
pub mod limits;
pub mod metrics;
pub mod observe;
pub mod ou;
pub mod pki;
pub mod private;
pub mod rate_limit;
pub mod report;
pub mod serve;
pub mod sid;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod tls;
pub mod token;
pub mod token_cache;

/// Generated protocol code, one module per versioned package.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    /// The encoded `FileDescriptorSet` of every contract, for gRPC server
    /// reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/crossforest_descriptor.bin"));

    /// `crossforest.directory.v1`: the account forest's directory.
    pub mod directory {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("crossforest.directory.v1");
        }
    }
    /// `crossforest.error.v1`: why a call failed, as every node tells it.
    pub mod error {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("crossforest.error.v1");
        }
    }
    /// `crossforest.token.v1`: forest tokens.
    pub mod token {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("crossforest.token.v1");
        }
    }
    /// `crossforest.management.v1`: Exchange management on the resource forest.
    pub mod management {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("crossforest.management.v1");
        }
    }
}

pub use identity::{ForestName, Principal};
pub use sid::{DomainSid, Sid};
