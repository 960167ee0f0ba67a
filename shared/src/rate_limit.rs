//! A token bucket per principal, in front of every gRPC service of a node:
//! one trusted certificate cannot take the node for itself.
//!
//! The principal is the forest and SID of the verified client certificate,
//! as the [`crate::observe`] layer read it (so the layer goes after it), and
//! is charged before any service reads a token or a field: a disabled user,
//! or a caller without a token, is limited all the same. Past its bucket a
//! request is answered RESOURCE_EXHAUSTED with the time to wait in
//! [`RETRY_PUSHBACK_KEY`], and counted in
//! `crossforest_rate_limited_total{forest}`. The table of buckets is bounded
//! ([`crate::limits::MAX_TRACKED_PRINCIPALS`]): a bucket full again is no
//! different from a new one, so idle principals are dropped first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::{ready, Either, Ready};
use http::{Request, Response};

use crate::metrics::Metrics;
use crate::serve::status::EdgeError;
use crate::Principal;

pub use crate::serve::status::RETRY_PUSHBACK_KEY;

/// The `forest` label of requests without a readable certificate principal.
pub const UNIDENTIFIED: &str = "unidentified";

/// How often idle buckets are dropped even while the table is not full.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Most tokens a bucket holds.
    pub burst: f64,
}

impl Rate {
    /// The rate of `[operations]`: `None` (no limit) when
    /// `requests_per_second` is 0.
    pub fn of(operations: &crate::config::Operations) -> Option<Self> {
        (operations.requests_per_second > 0).then(|| Self {
            per_second: f64::from(operations.requests_per_second),
            burst: f64::from(operations.burst.max(1)),
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn refilled(self, rate: Rate, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        (self.tokens + elapsed * rate.per_second).min(rate.burst)
    }
}

/// The buckets of every principal seen lately.
#[derive(Debug)]
pub struct Buckets {
    rate: Rate,
    capacity: usize,
    table: HashMap<Option<Principal>, Bucket>,
    swept: Instant,
}

impl Buckets {
    /// Buckets of `rate`, for at most `capacity` principals.
    pub fn new(rate: Rate, capacity: usize, now: Instant) -> Self {
        Self {
            rate,
            capacity: capacity.max(1),
            table: HashMap::new(),
            swept: now,
        }
    }

    /// Takes one token of `principal`'s bucket at `now`; else how long until
    /// one is there.
    pub fn take(&mut self, principal: Option<&Principal>, now: Instant) -> Result<(), Duration> {
        let rate = self.rate;
        if now.saturating_duration_since(self.swept) >= SWEEP_INTERVAL {
            self.sweep(now);
        }
        let key = principal.cloned();
        if !self.table.contains_key(&key) && self.table.len() >= self.capacity {
            self.make_room(now);
        }
        let bucket = self.table.entry(key).or_insert(Bucket {
            tokens: rate.burst,
            last: now,
        });
        let tokens = bucket.refilled(rate, now);
        bucket.last = now;
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Ok(())
        } else {
            bucket.tokens = tokens;
            Err(Duration::from_secs_f64((1.0 - tokens) / rate.per_second))
        }
    }

    /// How many principals have a bucket.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no principal has a bucket.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Drops the buckets that are full again.
    fn sweep(&mut self, now: Instant) {
        let rate = self.rate;
        self.table
            .retain(|_, bucket| bucket.refilled(rate, now) < rate.burst);
        self.swept = now;
    }

    /// Room for one more: idle buckets go, else the longest idle one.
    fn make_room(&mut self, now: Instant) {
        self.sweep(now);
        if self.table.len() >= self.capacity {
            let oldest = self
                .table
                .iter()
                .min_by_key(|(_, bucket)| bucket.last)
                .map(|(key, _)| key.clone());
            if let Some(key) = oldest {
                self.table.remove(&key);
            }
        }
    }
}

/// The layer: add after [`crate::observe::ObserveLayer`] with
/// `tonic::transport::Server::builder().layer(…)`.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    buckets: Option<Arc<Mutex<Buckets>>>,
    metrics: Arc<Metrics>,
}

impl RateLimitLayer {
    /// Limits each principal to `rate` (`None`: no limit), counting refusals
    /// in `metrics`.
    pub fn new(rate: Option<Rate>, metrics: Arc<Metrics>) -> Self {
        let buckets = rate.map(|rate| {
            Arc::new(Mutex::new(Buckets::new(
                rate,
                crate::limits::MAX_TRACKED_PRINCIPALS,
                Instant::now(),
            )))
        });
        Self { buckets, metrics }
    }
}

impl<S> tower_layer::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimited {
            inner,
            buckets: self.buckets.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

/// The service the layer wraps around a node's routes.
#[derive(Debug, Clone)]
pub struct RateLimited<S> {
    inner: S,
    buckets: Option<Arc<Mutex<Buckets>>>,
    metrics: Arc<Metrics>,
}

/// The answer to a request past its principal's bucket.
pub fn refusal(principal: Option<&Principal>, wait: Duration) -> tonic::Status {
    let who = principal.map_or_else(
        || "this caller".to_owned(),
        |p| format!("`{}\\{}`", p.forest.netbios(), p.sid),
    );
    // Whole milliseconds, rounded up: the caller waits at least this long.
    let millis = wait.as_micros().div_ceil(1000).max(1);
    EdgeError::Exhausted(format!(
        "{who} sent requests faster than this node's rate limit; retry in {millis} ms"
    ))
    .into_status_retry_after(std::time::Duration::from_millis(
        u64::try_from(millis).unwrap_or(u64::MAX),
    ))
}

impl<S, B, RB> tower_service::Service<Request<B>> for RateLimited<S>
where
    S: tower_service::Service<Request<B>, Response = Response<RB>>,
    RB: Default,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response<RB>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Some(buckets) = &self.buckets else {
            return Either::Left(self.inner.call(request));
        };
        let principal = request
            .extensions()
            .get::<crate::serve::VerifiedPeer>()
            .map(|peer| &peer.0);
        let taken = match buckets.lock() {
            Ok(mut buckets) => buckets.take(principal, Instant::now()),
            // A panic elsewhere poisoned the table: serve rather than refuse
            // everyone.
            Err(_) => Ok(()),
        };
        match taken {
            Ok(()) => Either::Left(self.inner.call(request)),
            Err(wait) => {
                self.metrics
                    .rate_limited(principal.map_or(UNIDENTIFIED, |p| p.forest.as_str()));
                Either::Right(ready(Ok(refusal(principal, wait).into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(rid: u32) -> Principal {
        Principal {
            forest: "fabrikam.com".parse().unwrap(),
            sid: crate::sid::DomainSid::new(1, 2, 3).with_rid(rid),
        }
    }

    const RATE: Rate = Rate {
        per_second: 10.0,
        burst: 5.0,
    };

    #[test]
    fn a_burst_past_the_bucket_is_refused_with_the_wait_and_others_are_unaffected() {
        let start = Instant::now();
        let mut buckets = Buckets::new(RATE, 100, start);
        let (alice, bob) = (principal(1105), principal(1106));
        for _ in 0..5 {
            assert_eq!(buckets.take(Some(&alice), start), Ok(()));
        }
        // One token comes back every 100 ms.
        assert_eq!(
            buckets.take(Some(&alice), start),
            Err(Duration::from_millis(100))
        );
        assert_eq!(buckets.take(Some(&bob), start), Ok(()));
        let later = start + Duration::from_millis(100);
        assert_eq!(buckets.take(Some(&alice), later), Ok(()));
        assert!(buckets.take(Some(&alice), later).is_err());
    }

    #[test]
    fn the_table_keeps_at_most_its_capacity_dropping_idle_principals_first() {
        let start = Instant::now();
        let mut buckets = Buckets::new(RATE, 3, start);
        let busy = principal(1);
        for _ in 0..5 {
            let _ = buckets.take(Some(&busy), start);
        }
        for rid in 2..1000 {
            let _ = buckets.take(Some(&principal(rid)), start + Duration::from_millis(1));
            assert!(buckets.len() <= 3);
        }
        let now = start + Duration::from_secs(1);
        for rid in 2000..2010 {
            let _ = buckets.take(Some(&principal(rid)), now);
            assert!(buckets.len() <= 3);
        }
    }

    #[test]
    fn the_refusal_is_resource_exhausted_with_a_retry_hint() {
        let status = refusal(Some(&principal(1105)), Duration::from_micros(2500));
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status
                .metadata()
                .get(RETRY_PUSHBACK_KEY)
                .and_then(|v| v.to_str().ok()),
            Some("3")
        );
        assert!(
            status.message().contains("retry in 3 ms"),
            "{}",
            status.message()
        );
        assert_eq!(
            EdgeError::from_status(&status).map(|e| e.code()),
            Some(crate::serve::status::ErrorCode::Exhausted)
        );
    }
}
