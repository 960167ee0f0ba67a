//! Serving a resource forest: `serve(listener, node, shutdown)`.

pub mod authorization;
pub mod management;

use std::future::Future;
use std::sync::Arc;

use crossforest_shared::proto::management::v1::authorization_server::AuthorizationServer;
use crossforest_shared::proto::management::v1::management_server::ManagementServer;
use crossforest_shared::serve::tls_incoming;
use tokio::net::TcpListener;

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
}

/// Serves `node` on `listener` until `shutdown` completes; in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    node: Arc<ResourceForest>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let incoming = tls_incoming(listener, node.tls_config()?);
    tonic::transport::Server::builder()
        .add_service(AuthorizationServer::new(AuthorizationService::new(
            node.clone(),
        )))
        .add_service(ManagementServer::new(ManagementService::new(node)))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
