//! A periodic health probe of each trusted forest, with the linked credential
//! that forest issued: the standard gRPC health check of its Directory service.
//! The result is `crossforest_trust_link_up{forest}`, as after any
//! linked-credential call.

use std::time::Duration;

use crossforest_shared::client::connect;
use crossforest_shared::serve::Stopping;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use super::feed::CurrentTrusts;
use super::Trust;

/// The service a trusted forest must report SERVING.
pub const DIRECTORY_SERVICE: &str = "crossforest.directory.v1.Directory";

/// Probes `trust` once: whether its directory answers the health check as
/// SERVING to the linked credential. `None` for a trust without one.
pub async fn probe(trust: &Trust) -> Option<bool> {
    let linked = trust.linked_credential.as_ref()?;
    let check = async {
        match connect(&trust.endpoint, &linked.credential).await {
            Ok(channel) => HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: DIRECTORY_SERVICE.to_owned(),
                })
                .await
                .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32),
            Err(_) => false,
        }
    };
    // A server that accepts the connection and never answers is down.
    let up = tokio::time::timeout(trust.timeout, check)
        .await
        .unwrap_or(false);
    trust.metrics.trust_link(trust.forest.as_str(), up);
    Some(up)
}

/// Probes every trust every `interval` until the node stops, logging changes.
/// The trusts are read anew each round from `current` (a reload replaces
/// them); probing ends when it returns `None` (the node is gone).
pub async fn probe_every(current: CurrentTrusts, interval: Duration, mut stopping: Stopping) {
    let mut last = std::collections::BTreeMap::new();
    loop {
        let Some(trusts) = current() else {
            return;
        };
        for trust in trusts.all() {
            if let Some(up) = probe(trust).await {
                if last.insert(trust.forest.clone(), up) != Some(up) {
                    if up {
                        tracing::info!(forest = %trust.forest, "trust link up");
                    } else {
                        tracing::warn!(forest = %trust.forest, address = %trust.endpoint.address, "trust link down: the directory does not answer the linked credential");
                    }
                }
            }
        }
        tokio::select! {
            () = stopping.requested() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
