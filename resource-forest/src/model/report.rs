//! The outcomes of a tests file as a readable report (✓/✗ per assertion,
//! the explanation under each failure) and as JUnit XML for CI.

use super::assertions::Outcome;

/// The readable report: one line per assertion, the explanation indented
/// under failures (and under successes when `verbose`), then a summary.
pub fn text(outcomes: &[Outcome], verbose: bool) -> String {
    let mut out = String::new();
    for o in outcomes {
        out.push_str(&format!(
            "{} {}\n",
            if o.passed { "✓" } else { "✗" },
            o.name
        ));
        if !o.passed || verbose {
            for line in &o.lines {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    out.push_str(&format!(
        "{} passed, {failed} failed\n",
        outcomes.len() - failed
    ));
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test suite named `suite`, one test case per assertion, a
/// `<failure>` with the explanation for each that failed.
pub fn junit(suite: &str, outcomes: &[Outcome]) -> String {
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{0}\" failures=\"{failed}\">\n  <testsuite name=\"{1}\" tests=\"{0}\" failures=\"{failed}\">\n",
        outcomes.len(),
        escape(suite)
    );
    for o in outcomes {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(suite),
            escape(&o.name)
        ));
        if o.passed {
            out.push_str("/>\n");
        } else {
            let detail = o.lines.join("\n");
            out.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                escape(o.lines.first().map(String::as_str).unwrap_or("failed")),
                escape(&detail)
            ));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
