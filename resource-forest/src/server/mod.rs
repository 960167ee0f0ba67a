//! Serving a resource forest: `serve(listener, node, shutdown)`.

pub mod authorization;
pub mod limits;
pub mod management;
pub mod revision_wait;
pub mod status;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crossforest_shared::observe::{KnownMethods, ObserveLayer};
use crossforest_shared::proto::management::v1::authorization_server::AuthorizationServer;
use crossforest_shared::proto::management::v1::management_server::ManagementServer;
use crossforest_shared::rate_limit::{Rate, RateLimitLayer};
use crossforest_shared::serve::{
    start_operations, tls_incoming, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES,
};
use tokio::net::TcpListener;
use tonic::server::NamedService;

use crate::node::{NodeError, ResourceForest};
use authorization::AuthorizationService;
use management::ManagementService;

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Setup.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Transport.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The metrics endpoint could not listen (the I/O error stays its
    /// source, so that an address in use is told apart).
    #[error("{0}")]
    Metrics(#[from] std::io::Error),
    /// Server reflection could not be built from the contracts.
    #[error("server reflection: {0}")]
    Reflection(String),
}

/// The services a resource forest serves besides the standard ones.
pub const SERVICES: [&str; 2] = [
    <AuthorizationServer<AuthorizationService> as NamedService>::NAME,
    <ManagementServer<ManagementService> as NamedService>::NAME,
];

/// Serves `node` on `listener` until `shutdown` completes: requests get ids,
/// spans and metrics; certificates reload on SIGHUP and on file changes; the
/// metrics endpoint runs when configured. On shutdown the node stops accepting
/// and in-flight requests finish, for at most the drain timeout.
pub async fn serve(
    listener: TcpListener,
    node: Arc<ResourceForest>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let operations = node.config().operations.clone();
    let (signal, stopping) = start_operations(&node, listener.local_addr()?, shutdown).await?;
    let current: crate::trust::feed::CurrentTrusts = {
        // Weak: the followers must not keep a stopped node (and its store) open.
        let node = Arc::downgrade(&node);
        Arc::new(move || node.upgrade().map(|n| n.trusts()))
    };
    if operations.trust_probe_interval_secs > 0 {
        tokio::spawn(crate::trust::probe::probe_every(
            current.clone(),
            Duration::from_secs(operations.trust_probe_interval_secs),
            stopping.clone(),
        ));
    }
    let incoming = tls_incoming(listener, node.tls_config());
    // Follow each trusted forest's change feed while serving; the followers
    // stop when this future ends or is dropped (the sender goes with it).
    let (_stop_feeds, stop_rx) = tokio::sync::watch::channel(false);
    crate::trust::feed::spawn_all(&current, &stop_rx);
    let router = tonic::transport::Server::builder()
        .layer(ObserveLayer::new(
            node.metrics().clone(),
            KnownMethods::serving(&SERVICES),
        ))
        .layer(RateLimitLayer::new(
            Rate::of(&operations),
            node.metrics().clone(),
        ))
        .add_service(
            AuthorizationServer::new(AuthorizationService::new(node.clone()))
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES),
        )
        .add_service(
            ManagementServer::new(ManagementService::new(node))
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES),
        );
    let server = crossforest_shared::serve::with_standard_services(router, &SERVICES)
        .await
        .map_err(|e| ServeError::Reflection(e.to_string()))?
        .serve_with_incoming_shutdown(incoming, signal);
    if let Some(served) = stopping
        .until_drained(server, Duration::from_secs(operations.drain_timeout_secs))
        .await
    {
        served?;
    }
    Ok(())
}
