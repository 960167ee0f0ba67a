//! The TLS accept loop in front of every tonic server.
//!
//! Handshakes run concurrently (one slow peer cannot stall the listener) and are
//! bounded in time; a refused handshake is logged with the peer address and the
//! reason, and never reaches a gRPC service. Past the handshake, [`caller`]
//! reads the peer's principal and [`status`] builds every error status.

pub mod peers;
pub mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

/// The largest request message a node decodes; larger ones are refused with
/// RESOURCE_EXHAUSTED before any service sees them. Every server sets it.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// The largest response message a node sends (membership snapshots, audit
/// searches); clients of the nodes accept up to this.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// How often an idle change feed sends a keep-alive; a subscriber that hears
/// nothing for [`FEED_SILENCE_LIMIT`] treats the link as down.
pub const FEED_KEEP_ALIVE: Duration = Duration::from_secs(1);

/// How long a change-feed subscriber waits for any message before it
/// reconnects.
pub const FEED_SILENCE_LIMIT: Duration = Duration::from_secs(4);

/// How long a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS configuration a node serves with, replaced whole when certificates
/// or trust bundles are reloaded: new connections use the new one, established
/// sessions keep theirs.
pub type SharedTlsConfig = Arc<ArcSwap<ServerConfig>>;

/// Accepted, verified TLS connections from `listener`, for
/// `tonic::transport::Server::serve_with_incoming_shutdown`. Each handshake uses
/// the configuration current when the connection arrives. The loop stops when
/// the returned stream is dropped.
pub fn tls_incoming(
    listener: TcpListener,
    config: SharedTlsConfig,
) -> ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tx.closed() => return,
            };
            let (tcp, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // gRPC sends small frames: without TCP_NODELAY, Nagle's algorithm
            // and the peer's delayed ACK hold each response about 40 ms.
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::warn!(%peer, %error, "could not set TCP_NODELAY");
            }
            let acceptor = TlsAcceptor::from(config.load_full());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(error)) => {
                        tracing::info!(%peer, %error, "TLS handshake refused");
                    }
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// The principal of a request's verified client certificate, as the observe
/// layer read it from the request's own TLS connection info: set only by this
/// crate's layer (request extensions never come from the wire), so
/// [`caller`] need not parse the certificate a second time.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedPeer(pub(crate) crate::Principal);

/// The principal named by the verified client certificate of a request. The TLS
/// verifier has already checked the chain against the CA of the forest the
/// certificate names; this only reads the name (or takes it from the observe
/// layer, which read it for the request's span).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<crate::Principal, tonic::Status> {
    if let Some(VerifiedPeer(principal)) = request.extensions().get::<VerifiedPeer>() {
        return Ok(principal.clone());
    }
    let certs = request.peer_certs().ok_or_else(|| {
        status::EdgeError::Unauthenticated("no client certificate was presented".into())
    })?;
    crate::Principal::from_peer_certificates(&certs)
        .map_err(|e| status::EdgeError::Unauthenticated(e.to_string()).into())
}

/// Completes on Ctrl-C or SIGTERM: the shutdown signal of a node process.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Binds a node's listen address. The node announces it (see
/// [`start_operations`]) once it is ready to serve and handles its signals.
pub async fn bind(listen: &str) -> std::io::Result<(TcpListener, std::net::SocketAddr)> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on `{listen}`: {e}")))?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

/// Announces the bound `address` in `<data_dir>/listening`, which launchers
/// wait for instead of sleeping.
pub fn announce(data_dir: &std::path::Path, address: std::net::SocketAddr) -> std::io::Result<()> {
    let path = data_dir.join("listening");
    crate::config::write_atomic(&path, address.to_string().as_bytes())
        .map_err(std::io::Error::other)?;
    crate::private::file(&path)
}

/// The reflection services every node serves: `grpc.reflection.v1` and
/// `grpc.reflection.v1alpha`, the version Python's `grpcio-reflection` client
/// speaks.
pub const REFLECTION_SERVICES: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// The gRPC health service every node serves.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// The standard services every node serves besides its own.
pub const STANDARD_SERVICES: [&str; 3] = [
    HEALTH_SERVICE,
    REFLECTION_SERVICES[0],
    REFLECTION_SERVICES[1],
];

/// Adds the standard gRPC services every node serves: health checking
/// (`grpc.health.v1.Health`, each of `services` reported SERVING) and server
/// reflection, both `v1` and `v1alpha`, listing `services` and the standard ones.
pub async fn with_standard_services<L>(
    router: tonic::transport::server::Router<L>,
    services: &[&str],
) -> Result<tonic::transport::server::Router<L>, tonic_reflection::server::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for service in services {
        reporter
            .set_service_status(*service, tonic_health::ServingStatus::Serving)
            .await;
    }
    // Both versions answer the same: this node's services and the standard
    // ones, not every contract of the workspace.
    let reflection = || {
        let builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .with_service_name(HEALTH_SERVICE);
        REFLECTION_SERVICES
            .iter()
            .chain(services)
            .fold(builder, |builder, service| {
                builder.with_service_name(*service)
            })
    };
    Ok(router
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?))
}

/// The stop of a node: requested by the shutdown signal, then a bounded drain.
#[derive(Debug, Clone)]
pub struct Stopping {
    requested: tokio::sync::watch::Receiver<bool>,
}

impl Stopping {
    /// Completes once shutdown was requested.
    pub async fn requested(&mut self) {
        let _ = self.requested.wait_for(|stop| *stop).await;
    }

    /// Runs `served` (a server that drains on shutdown) to its end, or until
    /// `drain` has passed since shutdown was requested: then in-flight
    /// requests are abandoned, with a warning, and `None` is returned.
    pub async fn until_drained<T>(
        mut self,
        served: impl std::future::Future<Output = T>,
        drain: Duration,
    ) -> Option<T> {
        let deadline = async {
            self.requested().await;
            tokio::time::sleep(drain).await;
        };
        tokio::select! {
            out = served => {
                tracing::info!("stopped");
                Some(out)
            }
            () = deadline => {
                tracing::warn!(
                    drain_timeout_secs = drain.as_secs(),
                    "in-flight requests did not finish within the drain timeout; stopping anyway"
                );
                None
            }
        }
    }
}

/// What [`start_operations`] needs of a node.
pub trait OperatedNode: Send + Sync + 'static {
    /// Its `[operations]` settings.
    fn operations(&self) -> &crate::config::Operations;
    /// Its data directory, where its addresses are announced.
    fn data_dir(&self) -> &std::path::Path;
    /// Its metrics.
    fn node_metrics(&self) -> &Arc<crate::metrics::Metrics>;
    /// The files whose change reloads it.
    fn files_to_watch(&self) -> Vec<PathBuf>;
    /// Reloads its certificates and trust bundles; on failure it keeps the
    /// ones in use (and logs why).
    fn reload_certificates(&self);
}

/// Starts what runs beside `node`'s gRPC server: the metrics endpoint (when
/// `operations.metrics_listen` is set) and the certificate reloader (SIGHUP is
/// handled from here on); then announces `address` (see [`announce`]). Returns
/// the signal to give tonic and the [`Stopping`] to drain with.
pub async fn start_operations<N: OperatedNode>(
    node: &Arc<N>,
    address: std::net::SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<(impl std::future::Future<Output = ()> + Send, Stopping)> {
    let (operations, data_dir) = (node.operations(), node.data_dir());
    let (watcher, reloader) = (node.clone(), node.clone());
    let files = move || watcher.files_to_watch();
    let reload = move || reloader.reload_certificates();
    let metrics = node.node_metrics().clone();
    let (signal, stopping) = on_shutdown(shutdown);
    if let Some(listen) = &operations.metrics_listen {
        let (listener, address) = crate::metrics::bind_metrics(listen, data_dir).await?;
        tracing::info!(%address, "metrics at http://{address}/metrics");
        let mut stop = stopping.clone();
        tokio::spawn(crate::metrics::serve_metrics(
            listener,
            metrics,
            async move {
                stop.requested().await;
            },
        ));
    }
    tokio::spawn(reload_on_change(
        files,
        reload,
        Duration::from_secs(operations.reload_interval_secs),
        Hangup::install(),
        stopping.clone(),
    ));
    announce(data_dir, address)?;
    Ok((signal, stopping))
}

/// Splits a shutdown signal into the future tonic stops accepting on (which
/// logs the start of the drain) and a [`Stopping`] for everything else that
/// must stop with the node.
pub fn on_shutdown(
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> (impl std::future::Future<Output = ()> + Send, Stopping) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        tracing::info!("no longer accepting connections; draining in-flight requests");
        let _ = tx.send(true);
    };
    (signal, Stopping { requested: rx })
}

/// Size and modification time of each file, to notice replaced certificates.
fn fingerprint(files: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

/// SIGHUP, handled from the moment this is created (before, it would end the
/// process).
#[derive(Debug)]
pub struct Hangup(#[cfg(unix)] Option<tokio::signal::unix::Signal>);

impl Hangup {
    /// Starts handling SIGHUP (nothing on other platforms).
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            Self(tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok())
        }
        #[cfg(not(unix))]
        {
            Self()
        }
    }

    /// Completes on the next SIGHUP.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = self.0.as_mut() {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}

/// Calls `reload` on SIGHUP, and whenever one of `files()` changes (checked
/// every `interval`; zero checks only on SIGHUP), until the node stops.
pub async fn reload_on_change(
    files: impl Fn() -> Vec<PathBuf> + Send,
    reload: impl Fn() + Send,
    interval: Duration,
    mut hangup: Hangup,
    mut stopping: Stopping,
) {
    let mut watched = files();
    let mut last = fingerprint(&watched);
    loop {
        let sighup = hangup.recv();
        let tick = async {
            if interval.is_zero() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(interval).await;
        };
        tokio::select! {
            () = stopping.requested() => return,
            () = sighup => {
                tracing::info!("SIGHUP: reloading certificates and trust bundles");
            }
            () = tick => {
                if fingerprint(&watched) == last {
                    continue;
                }
                tracing::info!("certificate or trust bundle files changed: reloading");
            }
        }
        // Fingerprint before reading: a file replaced while the reload reads
        // (one of several a CA rotation renames) is seen at the next check.
        watched = files();
        last = fingerprint(&watched);
        reload();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_takes_the_principal_the_observe_layer_read_and_else_needs_a_certificate(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let principal = crate::Principal {
            forest: "fabrikam.com".parse()?,
            sid: crate::sid::DomainSid::new(1, 2, 3).with_rid(1105),
        };
        let mut request = tonic::Request::new(());
        request
            .extensions_mut()
            .insert(VerifiedPeer(principal.clone()));
        assert_eq!(caller(&request)?, principal);
        let bare = tonic::Request::new(());
        let denied = caller(&bare).err().map(|s| s.code());
        assert_eq!(denied, Some(tonic::Code::Unauthenticated));
        Ok(())
    }
}
