//! What the command-line tests share: the `crossforest` executable and a
//! lab started with `crossforest up`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The `crossforest` executable under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_crossforest");

/// A running `crossforest up`; stopped with Ctrl-C (SIGINT) when dropped.
pub struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Starts `crossforest <options> up --dir <dir>`; returns it once the lab
/// runs, with what it said on the way.
pub fn up(dir: &Path, options: &[&str]) -> (Up, Vec<String>) {
    let mut child = Command::new(EXE)
        .args(options)
        .args(["up", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let up = Up(child);
    let mut said = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let running = line.contains("lab running");
        said.push(line);
        if running {
            return (up, said);
        }
    }
    panic!("the lab did not start: {said:#?}");
}
