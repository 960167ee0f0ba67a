//! `crossforest-bench compare`: the same model and request stream through
//! crossforest, Cedar and casbin; first every decision is compared, then the
//! engines are timed side by side, taking turns on the same parts of the
//! stream.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::engines::casbin_rbac::Casbin;
use crate::engines::cedar::Cedar;
use crate::engines::crossforest::Crossforest;
use crate::engines::Engine;
use crate::model::{build_model, build_workload, resident_mib, Model, Rng, Shape, Workload};
use crate::rules::{translate, Rules};
use crate::stats::{show, Latencies};
use crate::stream::{generate, kinds, RequestKind, StreamRequest};

/// Callers in the workload.
pub const CALLERS: usize = 32;
/// Allowed and denied recipients per caller.
pub const PAIRS_PER_CALLER: usize = 32;

/// The model, callers and request stream every engine sees.
pub struct Setup {
    /// The organization.
    pub model: Model,
    /// Callers and their allowed/denied recipients.
    pub workload: Workload,
    /// Request kinds.
    pub kinds: Vec<RequestKind>,
    /// The model as engine-neutral rules.
    pub rules: Rules,
    /// The requests.
    pub stream: Vec<StreamRequest>,
}

/// Builds the model of `shape` and a stream of `requests` requests.
///
/// # Errors
/// When the model cannot be generated or translated.
pub fn setup(shape: Shape, requests: usize) -> Result<Setup> {
    let mut rng = Rng(Rng::SEED);
    let model = build_model(&mut rng, shape)?;
    let authorizer = resource_forest::rbac::Authorizer::new(&model.config);
    let workload = build_workload(&mut rng, &model, &authorizer, CALLERS, PAIRS_PER_CALLER)?;
    let rules = translate(&model)?;
    let stream = generate(&mut rng, &model, &workload, requests);
    Ok(Setup {
        model,
        workload,
        kinds: kinds(),
        rules,
        stream,
    })
}

/// Every decision of `engine` on `stream`.
///
/// # Errors
/// When the engine fails on a request.
pub fn decisions(engine: &dyn Engine, stream: &[StreamRequest]) -> Result<Vec<bool>> {
    stream.iter().map(|r| engine.decide(r)).collect()
}

/// Indices where `other` decides differently from `reference`.
pub fn disagreements(reference: &[bool], other: &[bool]) -> Vec<usize> {
    reference
        .iter()
        .zip(other)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i)
        .collect()
}

/// One engine's timed pass.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Engine name.
    pub engine: &'static str,
    /// Wall time of the whole pass (per-request timers included).
    pub total: Duration,
    /// Per-request latencies.
    pub latencies: Latencies,
}

/// Times `engine` on every request of `stream`, each request on its own.
///
/// # Errors
/// When the engine fails on a request, or the stream is empty.
pub fn time(engine: &dyn Engine, stream: &[StreamRequest]) -> Result<Timing> {
    let mut timer = Timer::new(engine, stream.len());
    timer.run(stream)?;
    timer.finish()
}

/// One engine's per-request latencies and wall time, gathered over one or
/// more parts of a stream.
struct Timer<'e> {
    engine: &'e dyn Engine,
    ns: Vec<u64>,
    total: Duration,
}

impl<'e> Timer<'e> {
    fn new(engine: &'e dyn Engine, requests: usize) -> Self {
        Self {
            engine,
            ns: Vec::with_capacity(requests),
            total: Duration::ZERO,
        }
    }

    /// Times every request of `part`.
    fn run(&mut self, part: &[StreamRequest]) -> Result<()> {
        let start = Instant::now();
        for r in part {
            let t = Instant::now();
            std::hint::black_box(self.engine.decide(std::hint::black_box(r))?);
            self.ns.push(t.elapsed().as_nanos() as u64);
        }
        self.total += start.elapsed();
        Ok(())
    }

    fn finish(mut self) -> Result<Timing> {
        let Some(latencies) = Latencies::of(&mut self.ns) else {
            bail!("no requests to time");
        };
        Ok(Timing {
            engine: self.engine.name(),
            total: self.total,
            latencies,
        })
    }
}

/// Requests per turn when the engines are timed side by side: each engine
/// decides the same part of the stream in turn, so a change in the shared
/// machine's load, or in what the process has filled its memory with,
/// falls on every engine alike.
pub const TURN: usize = 10_000;

/// Times `engines` side by side on `stream`, taking turns of [`TURN`]
/// requests (every engine decides every request once, in the same order).
///
/// # Errors
/// When an engine fails on a request, or the stream is empty.
pub fn time_side_by_side(engines: &[&dyn Engine], stream: &[StreamRequest]) -> Result<Vec<Timing>> {
    let mut timers: Vec<Timer<'_>> = engines
        .iter()
        .map(|e| Timer::new(*e, stream.len()))
        .collect();
    for part in stream.chunks(TURN) {
        for timer in &mut timers {
            timer.run(part)?;
        }
    }
    timers.into_iter().map(Timer::finish).collect()
}

/// How many requests of the stream the peers decide: unsliced Cedar and
/// casbin test every request against all 10,000 translated assignments
/// (milliseconds each on the full model), sliced ones only against their
/// caller's (≈ 100 µs). `None`: the whole stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Cap for unsliced Cedar and casbin.
    pub unsliced: Option<usize>,
    /// Cap for sliced Cedar and casbin.
    pub sliced: Option<usize>,
}

impl Caps {
    /// Every peer decides the whole stream.
    pub const NONE: Caps = Caps {
        unsliced: None,
        sliced: None,
    };

    /// How many of `len` requests a peer decides.
    pub fn of(&self, sliced: bool, len: usize) -> usize {
        let cap = if sliced { self.sliced } else { self.unsliced };
        cap.unwrap_or(len).min(len)
    }
}

/// The engines compared, built on `setup`.
pub struct Engines<'s> {
    /// crossforest's `Authorizer`.
    pub crossforest: Crossforest<'s>,
    /// Cedar, every request against the whole policy set.
    pub cedar: Cedar,
    /// Cedar, every request against its caller's slice of the policies.
    pub cedar_sliced: Cedar,
    /// casbin, every request against every `p` line.
    pub casbin: Casbin,
    /// casbin, every request against its caller's own enforcer.
    pub casbin_sliced: Casbin,
}

impl<'s> Engines<'s> {
    /// Builds them all, reporting build times and memory to stderr.
    ///
    /// # Errors
    /// When a translation is rejected by its engine.
    pub fn build(setup: &'s Setup) -> Result<Self> {
        let callers = &setup.workload.callers;
        let step = |label: &str, t: Instant, before: f64| {
            eprintln!(
                "built {label:<14} in {:>8}  (+{:.1} MiB resident)",
                show(t.elapsed()),
                resident_mib() - before
            );
        };
        let (t, m) = (Instant::now(), resident_mib());
        let crossforest = Crossforest::new(&setup.model, callers, &setup.kinds);
        step("crossforest", t, m);
        let (t, m) = (Instant::now(), resident_mib());
        let cedar = Cedar::new(&setup.model, &setup.rules, callers, &setup.kinds)?;
        step("cedar", t, m);
        let (t, m) = (Instant::now(), resident_mib());
        let casbin = Casbin::new(&setup.model, &setup.rules, callers, &setup.kinds)?;
        step("casbin", t, m);
        let (t, m) = (Instant::now(), resident_mib());
        let casbin_sliced = casbin.sliced()?;
        step("casbin-sliced", t, m);
        Ok(Self {
            crossforest,
            cedar_sliced: cedar.sliced(),
            cedar,
            casbin,
            casbin_sliced,
        })
    }

    /// The peers, each with whether it is sliced per caller.
    pub fn peers(&self) -> [(&dyn Engine, bool); 4] {
        [
            (&self.cedar, false),
            (&self.cedar_sliced, true),
            (&self.casbin, false),
            (&self.casbin_sliced, true),
        ]
    }
}

/// Decides the stream with crossforest and each peer (the first
/// [`Caps::of`] requests) and fails, naming the first few requests, on any
/// disagreement with crossforest. Returns the number of requests crossforest
/// allowed.
///
/// # Errors
/// On an engine failure or a disagreement.
pub fn check_agreement(setup: &Setup, engines: &Engines<'_>, caps: Caps) -> Result<usize> {
    let reference = decisions(&engines.crossforest, &setup.stream)?;
    for (engine, sliced) in engines.peers() {
        let n = caps.of(sliced, setup.stream.len());
        let t = Instant::now();
        let other = decisions(engine, &setup.stream[..n])?;
        let bad = disagreements(&reference[..n], &other);
        eprintln!(
            "{:<14} agrees on {} of {} requests ({})",
            engine.name(),
            n - bad.len(),
            n,
            show(t.elapsed())
        );
        if !bad.is_empty() {
            let first: Vec<String> = bad
                .iter()
                .take(5)
                .map(|i| {
                    let r = setup.stream[*i];
                    let kind = &setup.kinds[r.kind as usize];
                    format!(
                        "#{i}: caller {} {} -{} on {} (crossforest {}, {} {})",
                        r.caller,
                        kind.cmdlet,
                        kind.parameters.join(" -"),
                        setup.model.recipients[r.recipient as usize].name,
                        reference[*i],
                        engine.name(),
                        other[*i]
                    )
                })
                .collect();
            bail!(
                "{} disagrees with crossforest on {} of {} requests; first: {}",
                engine.name(),
                bad.len(),
                n,
                first.join("; ")
            );
        }
    }
    Ok(reference.iter().filter(|a| **a).count())
}

/// `crossforest-bench compare`: set up, check agreement, time, print.
/// crossforest decides all `requests`; each peer the first [`Caps::of`]
/// requests; ratios are taken on the same requests (one table per number of
/// requests).
///
/// # Errors
/// On a set-up failure, an engine failure or a disagreement.
pub fn run(shape: Shape, requests: usize, caps: Caps) -> Result<()> {
    let before = resident_mib();
    let setup = setup(shape, requests)?;
    eprintln!(
        "model: {} recipients, {} role groups, {} assignments ({} rules after translation), {} callers × {} SIDs; {} requests; {:.1} MiB resident (from {:.1})",
        setup.model.recipients.len(),
        setup.model.config.role_groups.len(),
        setup.model.config.assignments.len(),
        setup.rules.rules.len(),
        setup.workload.callers.len(),
        crate::model::SIDS_PER_CALLER,
        setup.stream.len(),
        resident_mib(),
        before,
    );
    let engines = Engines::build(&setup)?;
    eprintln!(
        "cedar: {} policies ({:.0} in a caller's slice on average); casbin: {} p lines ({:.0} in a caller's enforcer on average)",
        engines.cedar.policy_count,
        engines.cedar.mean_slice,
        engines.casbin.policy_count,
        engines.casbin_sliced.mean_slice
    );
    let allowed = check_agreement(&setup, &engines, caps)?;
    let len = setup.stream.len();
    println!(
        "every engine agrees with crossforest on every request it decided ({allowed} of {len} allowed by crossforest, {} denied)",
        len - allowed
    );
    let mut prefixes: Vec<usize> = engines
        .peers()
        .iter()
        .map(|(_, sliced)| caps.of(*sliced, len))
        .chain([len])
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    for n in prefixes {
        let stream = &setup.stream[..n];
        // crossforest once on its own first, the peers idle (as
        // `--engines crossforest` times it), then every engine in turns.
        let alone = time(&engines.crossforest, stream)?;
        let mut timed: Vec<&dyn Engine> = vec![&engines.crossforest];
        timed.extend(
            engines
                .peers()
                .into_iter()
                .filter(|(_, sliced)| caps.of(*sliced, len) == n)
                .map(|(engine, _)| engine),
        );
        let t = Instant::now();
        let timings = time_side_by_side(&timed, stream)?;
        eprintln!(
            "timed {} engines side by side on {n} in turns of {TURN}: {}",
            timed.len(),
            show(t.elapsed())
        );
        println!(
            "\non the first {n} requests (side by side, in turns of {} requests; \"crossforest alone\": timed on its own just before, \
             uninterrupted; in turns, each of crossforest's few milliseconds follows the peers' seconds and starts with cold caches):\n",
            TURN.min(n)
        );
        let alone = Timing {
            engine: "crossforest alone",
            ..alone
        };
        print_table(&timings, Some(&alone));
    }
    Ok(())
}

/// `crossforest-bench compare --engines crossforest`: crossforest alone on
/// the same model and stream, no peers built (seconds instead of half an
/// hour), timed `passes` times after one untimed pass that decides every
/// request (as the agreement check does before the side-by-side timing).
/// With `flamegraph`, the timed passes run under the profiler.
///
/// # Errors
/// On a set-up failure, an engine failure or a profiler failure.
pub fn run_crossforest(
    shape: Shape,
    requests: usize,
    passes: usize,
    flamegraph: Option<&std::path::Path>,
) -> Result<()> {
    let setup = setup(shape, requests)?;
    let t = Instant::now();
    let crossforest = Crossforest::new(&setup.model, &setup.workload.callers, &setup.kinds);
    eprintln!("built crossforest in {}", show(t.elapsed()));
    let allowed = decisions(&crossforest, &setup.stream)?
        .iter()
        .filter(|a| **a)
        .count();
    let len = setup.stream.len();
    println!(
        "crossforest alone: {allowed} of {len} allowed, {} denied",
        len - allowed
    );
    let profile = flamegraph.map(crate::profile::Profile::start).transpose()?;
    let timings = (0..passes.max(1))
        .map(|_| time(&crossforest, &setup.stream))
        .collect::<Result<Vec<_>>>()?;
    if let (Some(profile), Some(svg)) = (profile, flamegraph) {
        profile.finish()?.print(svg, 15);
    }
    println!(
        "\n{} timed passes over the {len} requests:\n",
        timings.len()
    );
    print_table(&timings, None);
    Ok(())
}

fn print_table(timings: &[Timing], alone: Option<&Timing>) {
    let Some(base) = timings.first() else {
        return;
    };
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-12);
    println!(
        "| engine | total | p50 | p99 | p99.9 | mean | p50 ÷ crossforest | p50 ÷ crossforest alone | total ÷ crossforest |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for t in timings.iter().chain(alone) {
        let l = &t.latencies;
        let alone = alone.map_or_else(
            || "–".to_owned(),
            |a| format!("{:.1}×", ratio(l.p50, a.latencies.p50)),
        );
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1}× | {alone} | {:.1}× |",
            t.engine,
            show(t.total),
            show(l.p50),
            show(l.p99),
            show(l.p999),
            show(l.mean),
            ratio(l.p50, base.latencies.p50),
            ratio(t.total, base.total),
        );
    }
}
