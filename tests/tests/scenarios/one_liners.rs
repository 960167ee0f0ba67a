//! Everyday one-liners of an Exchange administrator (issue 18):
//! `examples/one-liners.ps1` runs line by line in one shell, as the
//! interactive shell runs them, against a fresh lab; what each line writes
//! (output, warnings and errors) must be `examples/one-liners.expected`.
//! The expectations use `-ExpandProperty`, `Format-List` and JSON rather than
//! tables, and SIDs and times are normalised. After an intended change,
//! `CROSSFOREST_BLESS=1` rewrites the expected file: read its diff.

use crossforest_cli::output::Format;
use crossforest_cli::shell::Shell;
use regex::Regex;

use super::common::federation;

fn example(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// `text` with what differs between runs replaced.
fn normalised(text: &str) -> String {
    let sid = Regex::new(r"S-1-5-21-\d+-\d+-\d+-\d+").unwrap();
    let time = Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").unwrap();
    let text = sid.replace_all(text, "S-1-5-21-<domain>-<rid>");
    time.replace_all(&text, "<time>").into_owned()
}

#[tokio::test]
async fn everyday_one_liners_write_what_the_expected_file_says() {
    let f = federation().await;
    let admin = f.administrator().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("mailboxes.csv");
    let mut shell = Shell::new(admin.into(), Format::Text);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let set = format!("$csv = '{}'", csv.display());
    shell.statement(&set, &mut out, &mut err).await.unwrap();
    assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));

    let script = std::fs::read_to_string(example("one-liners.ps1")).unwrap();
    let mut transcript = String::new();
    let mut lines = 0;
    for line in script.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        lines += 1;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        shell.statement(line, &mut out, &mut err).await.unwrap();
        transcript.push_str(&format!("PS> {line}\n"));
        transcript.push_str(&String::from_utf8_lossy(&out));
        transcript.push_str(&String::from_utf8_lossy(&err));
    }
    assert!(lines >= 40, "{lines} one-liners");
    let transcript = normalised(&transcript).replace(&csv.display().to_string(), "$csv");

    let expected_path = example("one-liners.expected");
    if std::env::var_os("CROSSFOREST_BLESS").is_some() {
        std::fs::write(&expected_path, &transcript).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    for (i, (got, want)) in transcript.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "line {} of one-liners.expected", i + 1);
    }
    assert_eq!(transcript, expected);
}
