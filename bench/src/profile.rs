//! Flamegraphs of a benchmark run (issue 8: where a goal is missed, say what
//! bounds it). The `pprof` crate samples every thread on `SIGPROF` (no perf
//! permissions needed); [`Profile::finish`] writes the SVG and returns the
//! frames that take the largest share of the samples, to quote beside it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _, Result};

/// Samples per second: odd, so as not to beat with periodic work.
const FREQUENCY: i32 = 997;

/// A running profile of this process.
pub struct Profile {
    guard: pprof::ProfilerGuard<'static>,
    svg: PathBuf,
}

/// A function's share of the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// The function (demangled, without its hash).
    pub function: String,
    /// Fraction of all samples, 0–1.
    pub share: f64,
}

/// What a profile found.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Samples taken.
    pub samples: isize,
    /// Functions by the samples in which they were on the stack (inclusive).
    pub inclusive: Vec<Share>,
    /// Functions by the samples in which they were running (self).
    pub own: Vec<Share>,
}

impl Profile {
    /// Starts sampling; the flamegraph goes to `svg` on [`Profile::finish`].
    ///
    /// # Errors
    /// When the profiler cannot start (another one is running).
    pub fn start(svg: &Path) -> Result<Self> {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .map_err(|e| anyhow!("starting the profiler: {e}"))?;
        Ok(Self {
            guard,
            svg: svg.to_owned(),
        })
    }

    /// Stops sampling, writes the flamegraph and summarises it.
    ///
    /// # Errors
    /// When the report cannot be built or the SVG written.
    pub fn finish(self) -> Result<Summary> {
        let report = self
            .guard
            .report()
            .build()
            .map_err(|e| anyhow!("profile report: {e}"))?;
        drop(self.guard);
        if let Some(dir) = self.svg.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = std::fs::File::create(&self.svg)
            .with_context(|| format!("creating {}", self.svg.display()))?;
        report
            .flamegraph(std::io::BufWriter::new(file))
            .map_err(|e| anyhow!("writing {}: {e}", self.svg.display()))?;
        let stacks = report.data.iter().map(|(frames, count)| {
            let names: Vec<String> = frames
                .frames
                .iter()
                .flat_map(|frame| frame.iter().map(|s| function(&s.name())))
                .collect();
            (names, *count)
        });
        Ok(summarise(stacks))
    }
}

/// A symbol's name without the `::h0123…` hash rustc appends.
fn function(symbol: &str) -> String {
    match symbol.rsplit_once("::h") {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name.to_owned()
        }
        _ => symbol.to_owned(),
    }
}

/// Shares of stacks given leaf first, with their sample counts.
pub fn summarise(stacks: impl IntoIterator<Item = (Vec<String>, isize)>) -> Summary {
    let mut samples = 0;
    let mut inclusive: HashMap<String, isize> = HashMap::new();
    let mut own: HashMap<String, isize> = HashMap::new();
    for (names, count) in stacks {
        samples += count;
        if let Some(leaf) = names.first() {
            *own.entry(leaf.clone()).or_default() += count;
        }
        let distinct: HashSet<&String> = names.iter().collect();
        for name in distinct {
            *inclusive.entry(name.clone()).or_default() += count;
        }
    }
    let ranked = |counts: HashMap<String, isize>| {
        let mut shares: Vec<Share> = counts
            .into_iter()
            .map(|(function, n)| Share {
                function,
                share: n as f64 / samples.max(1) as f64,
            })
            .collect();
        shares.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| a.function.cmp(&b.function))
        });
        shares
    };
    Summary {
        samples,
        inclusive: ranked(inclusive),
        own: ranked(own),
    }
}

impl Summary {
    /// The top `n` of both rankings, for the terminal and BENCHMARKS.md;
    /// frames on every stack (`main` and the driver) are left out.
    pub fn print(&self, svg: &Path, n: usize) {
        println!("\nflamegraph {} ({} samples)", svg.display(), self.samples);
        for (title, list) in [("self", &self.own), ("inclusive", &self.inclusive)] {
            println!("\n| {title} | function |\n|---|---|");
            for s in list.iter().filter(|s| s.share < 0.9995).take(n) {
                println!("| {:.1} % | `{}` |", s.share * 100.0, s.function);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_count_self_at_the_leaf_and_inclusive_once_per_stack() {
        let stack = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let summary = summarise([
            (stack(&["alloc", "check", "main"]), 3),
            (stack(&["check", "main"]), 1),
            // Recursion: `walk` twice on one stack still counts once.
            (stack(&["walk", "walk", "main"]), 4),
        ]);
        assert_eq!(summary.samples, 8);
        let share = |list: &[Share], f: &str| {
            list.iter()
                .find(|s| s.function == f)
                .map(|s| s.share)
                .unwrap_or_default()
        };
        assert_eq!(share(&summary.own, "walk"), 0.5);
        assert_eq!(share(&summary.own, "alloc"), 0.375);
        assert_eq!(share(&summary.own, "main"), 0.0);
        assert_eq!(share(&summary.inclusive, "main"), 1.0);
        assert_eq!(share(&summary.inclusive, "check"), 0.5);
        assert_eq!(share(&summary.inclusive, "walk"), 0.5);
        assert_eq!(summary.own[0].function, "walk");
    }

    #[test]
    fn hashes_are_dropped_from_names_but_not_other_suffixes() {
        assert_eq!(
            function("resource_forest::rbac::Authorizer::check::h0123456789abcdef"),
            "resource_forest::rbac::Authorizer::check"
        );
        assert_eq!(function("a::hello"), "a::hello");
        assert_eq!(function("memcpy"), "memcpy");
    }
}
