//! The bench protocol: a long-lived `python -m sppnet_ref.bench serve` answering one JSON line
//! per request line, so that timing alternates between the two sides within one run.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use serde::{Deserialize, Serialize};

use super::Reference;
use crate::error::{Error, Result};

/// A request to the timing server.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BenchRequest {
    /// Build case `kind` for an input of `shape` on `device`, seeded, and warm it up.
    Setup {
        /// `yueruchen`, `spp`, `sppf`, `sppelan`, `sppnet`.
        kind: String,
        /// NCHW input shape.
        shape: [i64; 4],
        /// `cpu` or `cuda:N`.
        device: String,
    },
    /// Time `iters` calls.
    Time {
        /// Calls.
        iters: usize,
    },
}

/// A reply of the timing server.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BenchReply {
    /// `setup` succeeded.
    #[serde(default)]
    pub ok: bool,
    /// Seconds per call, for `time`.
    #[serde(default)]
    pub seconds: Vec<f64>,
}

/// A running timing server (killed on drop).
#[derive(Debug)]
pub struct BenchServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl BenchServer {
    /// Start `python -m sppnet_ref.bench --threads N serve`.
    pub fn start(reference: &Reference, threads: i32) -> Result<Self> {
        let mut child = reference
            .command("bench")
            .args(["--threads", &threads.to_string(), "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::Reference(format!("starting {}: {e}", reference.python().display()))
            })?;
        let missing = || Error::Reference("the timing server's pipes are missing".into());
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(missing)?);
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    /// Send one request and read its reply.
    pub fn ask(&mut self, req: &BenchRequest) -> Result<BenchReply> {
        let line = serde_json::to_string(req).map_err(|e| Error::Reference(e.to_string()))?;
        let broken = |e: std::io::Error| Error::Reference(format!("the timing server: {e}"));
        writeln!(self.stdin, "{line}").map_err(broken)?;
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).map_err(broken)?;
        if answer.is_empty() {
            return Err(Error::Reference(
                "the timing server exited (see its stderr above)".into(),
            ));
        }
        serde_json::from_str(&answer).map_err(|e| Error::Reference(format!("timing reply: {e}")))
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
