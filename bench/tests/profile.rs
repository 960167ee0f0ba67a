//! The profiler writes a flamegraph of what ran and names it in its summary
//! (issue 8). Nothing is timed: the work is a fixed amount.

use crossforest_bench::profile::Profile;

#[inline(never)]
fn spin_for_the_profiler(rounds: u64) -> u64 {
    (0..rounds).fold(0u64, |h, i| {
        std::hint::black_box(h.rotate_left(5) ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    })
}

#[test]
fn a_profile_writes_an_svg_naming_the_busy_function() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svg = dir.path().join("nested").join("flame.svg");
    let profile = Profile::start(&svg)?;
    // Enough work for many samples at ≈ 1 kHz even on a slow machine.
    std::hint::black_box(spin_for_the_profiler(std::hint::black_box(400_000_000)));
    let summary = profile.finish()?;
    assert!(summary.samples > 0, "no samples");
    let text = std::fs::read_to_string(&svg)?;
    assert!(text.contains("<svg"), "not an SVG");
    assert!(
        text.contains("spin_for_the_profiler"),
        "the busy function is missing from the flamegraph"
    );
    assert!(
        summary
            .inclusive
            .iter()
            .any(|s| s.function.ends_with("spin_for_the_profiler") && s.share > 0.5),
        "the busy function is not most of the samples: {:?}",
        &summary.inclusive[..summary.inclusive.len().min(5)]
    );
    Ok(())
}
