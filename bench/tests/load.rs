//! The load generator completes bounded cells against a real node over mutual
//! TLS and counts wrong answers (issue 8). Nothing here is timed.

use std::time::Duration;

use crossforest_bench::load::{process_cpu, threads_cpu, Lab, Limits, Operation, BULK};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_cells_finish_every_request_with_the_right_answer() -> anyhow::Result<()> {
    let lab = Lab::start(2).await?;
    let limits = Limits {
        requests: 40,
        duration: Duration::from_secs(120),
    };
    for operation in [
        Operation::Check,
        Operation::CheckBulk,
        Operation::CheckBulkDecisions,
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
        let bulk = matches!(
            operation,
            Operation::CheckBulk | Operation::CheckBulkDecisions
        );
        let decisions = if bulk { BULK } else { 1 };
        assert_eq!(cell.decisions_per_request, decisions, "{operation:?}");
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

#[test]
fn a_server_thread_s_cpu_is_counted_as_the_server_s() -> anyhow::Result<()> {
    let name = crossforest_bench::load::SERVER_THREADS;
    let before = threads_cpu(name)?;
    let busy = std::thread::Builder::new().name(name.to_owned()).spawn(
        move || -> anyhow::Result<Duration> {
            let mut x = 0u64;
            let start = std::time::Instant::now();
            // Busy until the clock ticks, for at most 20 s of wall time.
            while threads_cpu(name)? <= before && start.elapsed() < Duration::from_secs(20) {
                for _ in 0..100_000 {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            }
            std::hint::black_box(x);
            threads_cpu(name)
        },
    )?;
    let during = busy
        .join()
        .map_err(|_| anyhow::anyhow!("the busy thread panicked"))??;
    assert!(during > before, "{during:?} after {before:?}");
    // This thread is not the server's: its own work is not counted there.
    assert_eq!(
        std::thread::current().name().map(|n| n == name),
        Some(false)
    );
    Ok(())
}
