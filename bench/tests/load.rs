//! The load generator completes bounded cells against a real node over mutual
//! TLS and counts wrong answers (issue 8). Nothing here is timed.

use std::time::Duration;

use crossforest_bench::load::{process_cpu, Lab, Limits, Operation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_cells_finish_every_request_with_the_right_answer() -> anyhow::Result<()> {
    let lab = Lab::start(2).await?;
    let limits = Limits {
        requests: 40,
        duration: Duration::from_secs(120),
    };
    for operation in [
        Operation::Check,
        Operation::GetMailbox,
        Operation::NewMailbox,
        Operation::SetMailbox,
    ] {
        let cell = lab.cell(operation, 4, limits).await?;
        assert_eq!(cell.completed, 40, "{operation:?}");
        assert_eq!(cell.failures, 0, "{operation:?}");
        assert_eq!(cell.latencies.count, 40);
        assert!(cell.latencies.p50 <= cell.latencies.p99);
        assert!(cell.throughput() > 0.0);
    }
    // The count bound holds with more streams than requests.
    let cell = lab
        .cell(
            Operation::Check,
            16,
            Limits {
                requests: 5,
                duration: Duration::from_secs(120),
            },
        )
        .await?;
    assert_eq!(cell.completed, 5);
    Ok(())
}

#[test]
fn process_cpu_time_grows_with_work() -> anyhow::Result<()> {
    let before = process_cpu()?;
    let mut x = 0u64;
    let start = std::time::Instant::now();
    // Busy until the clock ticks (USER_HZ: 10 ms), for at most 20 s of wall time.
    while process_cpu()? <= before && start.elapsed() < Duration::from_secs(20) {
        for _ in 0..100_000 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
    }
    assert!(process_cpu()? > before, "{x}");
    Ok(())
}
