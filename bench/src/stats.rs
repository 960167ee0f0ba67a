//! Latency summaries.

use std::time::Duration;

/// Percentiles of a set of latencies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latencies {
    /// Number of samples.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Largest.
    pub max: Duration,
    /// Mean.
    pub mean: Duration,
}

impl Latencies {
    /// Summarises `samples` (in nanoseconds; sorted in place). `None` when empty.
    pub fn of(samples: &mut [u64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q) as usize).min(samples.len() - 1);
            Duration::from_nanos(samples[i])
        };
        let sum: u128 = samples.iter().map(|s| u128::from(*s)).sum();
        Some(Self {
            count: samples.len(),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration::from_nanos(samples[samples.len() - 1]),
            mean: Duration::from_nanos((sum / samples.len() as u128) as u64),
        })
    }
}

/// A duration for tables: ns below 10 µs, µs below 10 ms, ms above.
pub fn show(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 10_000 {
        format!("{ns} ns")
    } else if ns < 10_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{:.2} ms", ns as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_thousand() {
        let mut v: Vec<u64> = (1..=1000).rev().collect();
        let l = Latencies::of(&mut v).expect("non-empty");
        assert_eq!(l.p50, Duration::from_nanos(501));
        assert_eq!(l.p99, Duration::from_nanos(991));
        assert_eq!(l.p999, Duration::from_nanos(1000));
        assert_eq!(l.max, Duration::from_nanos(1000));
        assert_eq!(l.mean, Duration::from_nanos(500));
        assert!(Latencies::of(&mut []).is_none());
    }

    #[test]
    fn durations_shown_in_readable_units() {
        assert_eq!(show(Duration::from_nanos(950)), "950 ns");
        assert_eq!(show(Duration::from_nanos(12_340)), "12.3 µs");
        assert_eq!(show(Duration::from_millis(25)), "25.00 ms");
    }
}
