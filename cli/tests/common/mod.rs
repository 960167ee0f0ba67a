//! What the command-line tests share: the `crossforest` executable and a
//! lab started with `crossforest up`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The `crossforest` executable under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_crossforest");

/// A running `crossforest up`; stopped with Ctrl-C (SIGINT) when dropped,
/// so that it stops its nodes.
pub struct Up {
    child: Child,
    /// What `up` wrote to standard error until the lab ran.
    pub stderr: Vec<String>,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Starts `crossforest <options> up --dir <dir> <up_options>`; returns it
/// once the lab runs.
pub fn up(dir: &Path, options: &[&str], up_options: &[&str]) -> Up {
    let mut child = Command::new(EXE)
        .args(options)
        .args(["up", "--dir"])
        .arg(dir)
        .args(up_options)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut up = Up {
        child,
        stderr: Vec::new(),
    };
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let running = line.contains("lab running");
        up.stderr.push(line);
        if running {
            return up;
        }
    }
    panic!("the lab did not start: {:#?}", up.stderr);
}
