//! Starting a lab with the `crossforest` binary, shared by the CLI tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_crossforest");

/// A running lab; stopped with Ctrl-C (SIGINT) when dropped, so that it
/// stops its nodes.
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

/// `crossforest up --dir <dir> <extra…>`, once the lab runs.
pub fn up(dir: &std::path::Path, extra: &[&str]) -> Up {
    let mut child = Command::new(EXE)
        .args(["up", "--dir"])
        .arg(dir)
        .args(extra)
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
    panic!("the lab did not start: {:?}", up.stderr);
}
