//! `crossforest-bench scale`: check latency and memory as the organization
//! grows in recipients, assignments and role-group nesting depth. Each point
//! runs in a child process of its own (`scale-point`), so that one point's
//! memory never counts in the next; the parent prints a table and writes an
//! SVG plot.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use plotters::prelude::*;
use resource_forest::rbac::{Access, Authorizer, Request, Subject, Target};

use crate::model::{
    build_model, build_workload, policies, resident_mib, set_mailbox_parameters, Rng, Shape,
};
use crate::stats::{show, Latencies};

/// Calls timed per workload and point.
const SAMPLES: usize = 50_000;

/// What varies along an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Recipients (10k → 1M), 2,000 role groups.
    Recipients,
    /// Assignments (1k → 100k: 200 → 20,000 role groups × 5), 100k recipients.
    Assignments,
    /// Nesting depth (1 → 10), 100k recipients, 2,000 role groups.
    Nesting,
}

impl Axis {
    /// Every axis.
    pub const ALL: [Axis; 3] = [Axis::Recipients, Axis::Assignments, Axis::Nesting];

    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Recipients => "recipients",
            Self::Assignments => "assignments",
            Self::Nesting => "nesting depth",
        }
    }

    /// The shapes measured along it, with the value plotted.
    pub fn points(self) -> Vec<(usize, Shape)> {
        let base = Shape::ORGANIZATION;
        match self {
            Self::Recipients => [10_000, 30_000, 100_000, 300_000, 1_000_000]
                .into_iter()
                .map(|n| {
                    (
                        n,
                        Shape {
                            recipients: n,
                            ..base
                        },
                    )
                })
                .collect(),
            Self::Assignments => [200, 600, 2_000, 6_000, 20_000]
                .into_iter()
                .map(|g| {
                    (
                        g * base.assignments_per_group,
                        Shape {
                            role_groups: g,
                            ..base
                        },
                    )
                })
                .collect(),
            Self::Nesting => [1, 2, 4, 7, 10]
                .into_iter()
                .map(|d| (d, Shape { nesting: d, ..base }))
                .collect(),
        }
    }
}

/// One point's measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Median check, allowed requests.
    pub allowed_p50: Duration,
    /// 99th percentile, allowed requests.
    pub allowed_p99: Duration,
    /// Median check, requests denied by scope.
    pub denied_p50: Duration,
    /// 99th percentile, requests denied by scope.
    pub denied_p99: Duration,
    /// Resident memory of the recipients, configuration and `Authorizer`.
    pub resident_mib: f64,
    /// Role groups a caller reaches on average.
    pub groups_reached: f64,
    /// `Authorizer::new` time.
    pub compile: Duration,
}

impl Point {
    fn to_line(self) -> String {
        format!(
            "point {} {} {} {} {:.3} {:.2} {}",
            self.allowed_p50.as_nanos(),
            self.allowed_p99.as_nanos(),
            self.denied_p50.as_nanos(),
            self.denied_p99.as_nanos(),
            self.resident_mib,
            self.groups_reached,
            self.compile.as_nanos(),
        )
    }

    fn from_line(line: &str) -> Result<Self> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 8 || fields[0] != "point" {
            bail!("not a scale point: `{line}`");
        }
        let ns = |i: usize| -> Result<Duration> {
            Ok(Duration::from_nanos(
                fields[i]
                    .parse()
                    .with_context(|| format!("field {i} of `{line}`"))?,
            ))
        };
        let float = |i: usize| -> Result<f64> {
            fields[i]
                .parse()
                .with_context(|| format!("field {i} of `{line}`"))
        };
        Ok(Self {
            allowed_p50: ns(1)?,
            allowed_p99: ns(2)?,
            denied_p50: ns(3)?,
            denied_p99: ns(4)?,
            resident_mib: float(5)?,
            groups_reached: float(6)?,
            compile: ns(7)?,
        })
    }
}

fn timed(samples: usize, mut f: impl FnMut(usize)) -> Result<Latencies> {
    for i in 0..samples / 10 {
        f(i);
    }
    let mut ns: Vec<u64> = (0..samples)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_nanos() as u64
        })
        .collect();
    Latencies::of(&mut ns).context("no samples")
}

/// A model, its compiled `Authorizer` and a workload of callers with
/// allowed and denied-by-scope recipients, ready to check.
pub struct CheckLab {
    model: crate::model::Model,
    authorizer: Authorizer,
    workload: crate::model::Workload,
    policies: Vec<String>,
    params: Vec<String>,
    /// Resident growth for the model and the `Authorizer`, in MiB.
    pub resident_mib: f64,
    /// Time `Authorizer::new` took.
    pub compile: Duration,
}

impl CheckLab {
    /// Builds `shape` in this process.
    ///
    /// # Errors
    /// When the model or its workload cannot be generated.
    pub fn build(shape: Shape) -> Result<Self> {
        let before = resident_mib();
        let mut rng = Rng(Rng::SEED);
        let model = build_model(&mut rng, shape)?;
        let t = Instant::now();
        let authorizer = Authorizer::new(&model.config);
        let compile = t.elapsed();
        let resident_mib = resident_mib() - before;
        let workload = build_workload(&mut rng, &model, &authorizer, 32, 32)?;
        Ok(Self {
            model,
            authorizer,
            workload,
            policies: policies(),
            params: set_mailbox_parameters(),
            resident_mib,
            compile,
        })
    }

    fn subject(&self, caller: usize) -> Subject<'_> {
        let caller = &self.workload.callers[caller];
        Subject {
            user: caller.user,
            sids: &caller.sids,
            policies: &self.policies,
        }
    }

    /// `Set-Mailbox` with every generated parameter by `caller` on `recipient`.
    pub fn check(&self, (caller, recipient): (usize, usize)) -> bool {
        let request = Request {
            cmdlet: "Set-Mailbox",
            parameters: &self.params,
            target: Target::Recipient(&self.model.recipients[recipient]),
            access: Access::Write,
        };
        self.authorizer
            .check(black_box(&self.subject(caller)), black_box(&request))
    }

    /// Pairs (caller, recipient) the caller may write.
    pub fn allowed(&self) -> &[(usize, usize)] {
        &self.workload.allowed
    }

    /// Pairs outside the caller's write scopes.
    pub fn denied(&self) -> &[(usize, usize)] {
        &self.workload.denied
    }
}

/// Measures one shape in this process (the `scale-point` command).
///
/// # Errors
/// When the model or its workload cannot be generated.
pub fn measure(shape: Shape) -> Result<Point> {
    let lab = CheckLab::build(shape)?;
    let run = |pairs: &[(usize, usize)]| {
        timed(SAMPLES, |i| {
            black_box(lab.check(pairs[i % pairs.len()]));
        })
    };
    let allowed = run(lab.allowed())?;
    let denied = run(lab.denied())?;
    let callers = lab.workload.callers.len();
    let reached: usize = (0..callers)
        .map(|c| lab.authorizer.role_groups_of(&lab.subject(c)).len())
        .sum();
    Ok(Point {
        allowed_p50: allowed.p50,
        allowed_p99: allowed.p99,
        denied_p50: denied.p50,
        denied_p99: denied.p99,
        resident_mib: lab.resident_mib,
        groups_reached: reached as f64 / callers.max(1) as f64,
        compile: lab.compile,
    })
}

/// `crossforest-bench profile-check`: the organization's denied-by-scope (or
/// allowed) pairs checked in a loop for `seconds` under the profiler; the
/// flamegraph goes to `svg`. Returns the checks made and what bounds them.
///
/// # Errors
/// When the model cannot be built, the profiler fails, or a pair decides
/// otherwise than the workload says.
pub fn profile_check(
    shape: Shape,
    denied: bool,
    seconds: f64,
    svg: &Path,
) -> Result<(usize, crate::profile::Summary)> {
    let lab = CheckLab::build(shape)?;
    let pairs = if denied { lab.denied() } else { lab.allowed() };
    if pairs.is_empty() {
        bail!("the workload has no such pairs");
    }
    if let Some(p) = pairs.iter().find(|p| lab.check(**p) == denied) {
        bail!("pair {p:?} does not decide as the workload says");
    }
    let profile = crate::profile::Profile::start(svg)?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut checks = 0;
    while Instant::now() < deadline {
        for p in pairs {
            black_box(lab.check(*p));
        }
        checks += pairs.len();
    }
    Ok((checks, profile.finish()?))
}

/// The `scale-point` command: measures `shape` and prints one line.
///
/// # Errors
/// As [`measure`].
pub fn point_command(shape: Shape) -> Result<()> {
    println!("{}", measure(shape)?.to_line());
    Ok(())
}

fn in_child(shape: Shape) -> Result<Point> {
    let exe = std::env::current_exe().context("locating crossforest-bench")?;
    let out = Command::new(exe)
        .args([
            "scale-point",
            "--recipients",
            &shape.recipients.to_string(),
            "--role-groups",
            &shape.role_groups.to_string(),
            "--assignments-per-group",
            &shape.assignments_per_group.to_string(),
            "--nesting",
            &shape.nesting.to_string(),
        ])
        .output()
        .context("running scale-point")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "scale-point {shape:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("point "))
        .with_context(|| format!("scale-point {shape:?} printed no point"))?;
    Point::from_line(line)
}

/// The `scale` command: every point of every axis, a table on stdout and the
/// plot at `svg`.
///
/// # Errors
/// When a point fails or the plot cannot be written.
pub fn run(svg: &Path) -> Result<()> {
    println!(
        "| axis | value | allowed p50 | allowed p99 | denied p50 | denied p99 | resident | per recipient | role groups reached | Authorizer::new |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut series = Vec::new();
    for axis in Axis::ALL {
        let mut points = Vec::new();
        for (value, shape) in axis.points() {
            let p = in_child(shape)?;
            println!(
                "| {} | {} | {} | {} | {} | {} | {:.1} MiB | {:.0} B | {:.1} | {} |",
                axis.name(),
                value,
                show(p.allowed_p50),
                show(p.allowed_p99),
                show(p.denied_p50),
                show(p.denied_p99),
                p.resident_mib,
                p.resident_mib * 1024.0 * 1024.0 / shape.recipients as f64,
                p.groups_reached,
                show(p.compile),
            );
            points.push((value, p));
        }
        series.push((axis, points));
    }
    plot(svg, &series)?;
    println!("\nplot written to {}", svg.display());
    Ok(())
}

type Series = [(Axis, Vec<(usize, Point)>)];

/// A latency line of the plot: its name, colour and what it reads.
type LatencyLine = (&'static str, RGBColor, fn(&Point) -> Duration);

/// Draws latency (top row) and memory (bottom row) for each axis.
///
/// # Errors
/// When the SVG cannot be drawn or written.
pub fn plot(svg: &Path, series: &Series) -> Result<()> {
    let root = SVGBackend::new(svg, (1500, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let root = root
        .titled(
            "crossforest Authorizer::check: latency and memory vs scale",
            ("sans-serif", 24),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let panels = root.split_evenly((2, series.len()));
    for (i, (axis, points)) in series.iter().enumerate() {
        let xs: Vec<f64> = points.iter().map(|(v, _)| *v as f64).collect();
        let (lo, hi) = (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(0.0, f64::max),
        );
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let top = points
            .iter()
            .map(|(_, p)| us(p.allowed_p99).max(us(p.denied_p99)))
            .fold(0.0, f64::max)
            * 1.1;
        let latency: [LatencyLine; 4] = [
            ("allowed p50", BLUE, |p| p.allowed_p50),
            ("denied p50", RED, |p| p.denied_p50),
            ("allowed p99", CYAN, |p| p.allowed_p99),
            ("denied p99", MAGENTA, |p| p.denied_p99),
        ];
        let log = *axis != Axis::Nesting;
        draw_panel(
            &panels[i],
            &format!("check latency (µs) vs {}", axis.name()),
            (lo, hi, log),
            top,
            &latency
                .iter()
                .map(|(name, color, f)| {
                    (
                        *name,
                        *color,
                        points
                            .iter()
                            .map(|(v, p)| (*v as f64, us(f(p))))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect::<Vec<_>>(),
        )?;
        let memory: Vec<(f64, f64)> = points
            .iter()
            .map(|(v, p)| (*v as f64, p.resident_mib))
            .collect();
        let top = memory.iter().map(|(_, m)| *m).fold(0.0, f64::max) * 1.1;
        draw_panel(
            &panels[series.len() + i],
            &format!("resident MiB vs {}", axis.name()),
            (lo, hi, log),
            top,
            &[("resident memory", GREEN, memory)],
        )?;
    }
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

type Line = (&'static str, RGBColor, Vec<(f64, f64)>);

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    (lo, hi, log): (f64, f64, bool),
    top: f64,
    lines: &[Line],
) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("drawing `{title}`: {e}");
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(55);
    let top = top.max(1e-3);
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart.configure_mesh().draw().map_err(|e| err(&e))?;
            for (name, color, points) in lines {
                let color = *color;
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| err(&e))?
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
                chart
                    .draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(|e| err(&e))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| err(&e))?;
        }};
    }
    if log {
        draw!(builder
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..top)
            .map_err(|e| err(&e))?);
    } else {
        draw!(builder
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(|e| err(&e))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_survives_the_line_between_processes() -> Result<()> {
        let p = Point {
            allowed_p50: Duration::from_nanos(1_234),
            allowed_p99: Duration::from_nanos(5_678),
            denied_p50: Duration::from_nanos(1_500),
            denied_p99: Duration::from_nanos(9_000),
            resident_mib: 160.25,
            groups_reached: 7.5,
            compile: Duration::from_millis(15),
        };
        assert_eq!(Point::from_line(&p.to_line())?, p);
        assert!(Point::from_line("point 1 2 3").is_err());
        Ok(())
    }

    #[test]
    fn axes_span_the_issue_ranges() {
        let ends = |axis: Axis| {
            let points = axis.points();
            (points[0].0, points[points.len() - 1].0)
        };
        assert_eq!(ends(Axis::Recipients), (10_000, 1_000_000));
        assert_eq!(ends(Axis::Assignments), (1_000, 100_000));
        assert_eq!(ends(Axis::Nesting), (1, 10));
    }

    #[test]
    fn the_plot_is_an_svg_with_every_axis() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let svg = dir.path().join("scale.svg");
        let p = |n: u64| Point {
            allowed_p50: Duration::from_nanos(1_000 + n),
            allowed_p99: Duration::from_nanos(3_000 + n),
            denied_p50: Duration::from_nanos(1_500 + n),
            denied_p99: Duration::from_nanos(4_000 + n),
            resident_mib: 10.0 + n as f64,
            groups_reached: 7.0,
            compile: Duration::from_millis(1),
        };
        let series: Vec<(Axis, Vec<(usize, Point)>)> = Axis::ALL
            .iter()
            .map(|a| (*a, vec![(1, p(1)), (10, p(10)), (100, p(100))]))
            .collect();
        plot(&svg, &series)?;
        let text = std::fs::read_to_string(&svg)?;
        assert!(text.starts_with("<svg"), "{}", &text[..text.len().min(80)]);
        for axis in Axis::ALL {
            assert!(
                text.contains(&format!("vs {}", axis.name())),
                "{}",
                axis.name()
            );
        }
        Ok(())
    }
}
