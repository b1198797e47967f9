//! Whole-process cost: `sppnet forward` against the equivalent Python script, wall time and
//! peak resident memory of each child process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::io::write_safetensors;
use crate::reference::{project_root, Reference};
use crate::runtime::REPORT_PEAK_RSS;

/// Median wall time and peak RSS of one side's runs.
#[derive(Serialize)]
pub struct ProcessRun {
    /// Median wall-clock seconds, start to exit.
    pub wall_s: f64,
    /// Median peak resident set size, MiB.
    pub peak_rss_mib: f64,
}

/// Rust against Python, whole process.
#[derive(Serialize)]
pub struct ProcessResult {
    /// What ran.
    pub task: String,
    /// Runs per side (alternating).
    pub runs: usize,
    /// `sppnet forward`.
    pub rust: ProcessRun,
    /// `python -m sppnet_ref.bench forward`.
    pub python: ProcessRun,
    /// Rust wall / Python wall (target ≤ 0.2).
    pub wall_ratio: f64,
    /// Rust peak RSS / Python peak RSS (target ≤ 0.3).
    pub rss_ratio: f64,
}

/// Run `cmd` to completion; (wall seconds, peak RSS MiB as the child reports it).
///
/// The child prints `sppnet-peak-rss-kib: N` (its `VmHWM`). `wait4`'s `ru_maxrss` is no use
/// here: it counts the bench's own memory, which the child holds between fork and exec.
fn measure(cmd: &mut Command) -> Result<(f64, f64)> {
    let start = Instant::now();
    let out = cmd
        .env(REPORT_PEAK_RSS, "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Reference(format!("spawning a bench process: {e}")))?;
    let wall = start.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(Error::Reference(format!(
            "bench process {:?} failed: {}",
            cmd.get_program(),
            err.lines().last().unwrap_or("")
        )));
    }
    let kib: f64 = err
        .lines()
        .find_map(|l| l.strip_prefix("sppnet-peak-rss-kib: "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::Reference("a bench process did not report its peak RSS".into()))?;
    Ok((wall, kib / 1024.0))
}

fn med(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Both sides run the committed tiny SppNet on a 1×3×64×64 input on the CPU, `RUNS` times each:
/// `exe` (the `sppnet` binary) `forward` against `python -m sppnet_ref.bench forward`.
pub fn whole_process(reference: &Reference, exe: &Path, threads: i32) -> Result<ProcessResult> {
    const RUNS: usize = 5;
    eprintln!("bench whole process …");
    let dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let weights = project_root().join("weights/sppnet_tiny.safetensors");
    let input = dir.path().join("in.safetensors");
    tch::manual_seed(0);
    let x = Tensor::rand([1, 3, 64, 64], (Kind::Float, Device::Cpu));
    write_safetensors(&input, &[("x".into(), x)], &Default::default(), true)?;
    let out = dir.path().join("out.safetensors");
    let threads = threads.to_string();
    let (mut rust, mut py) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        rust.push(measure(
            Command::new(exe)
                .args([
                    "--threads",
                    &threads,
                    "forward",
                    "--device",
                    "cpu",
                    "--force",
                    "--weights",
                ])
                .arg(&weights)
                .arg(&input)
                .arg("-o")
                .arg(&out),
        )?);
        py.push(measure(
            reference
                .command("bench")
                .args(["--threads", &threads, "forward"])
                .arg(&weights)
                .arg(&input)
                .arg(&out),
        )?);
    }
    let side = |v: &[(f64, f64)]| ProcessRun {
        wall_s: med(v.iter().map(|r| r.0).collect()),
        peak_rss_mib: med(v.iter().map(|r| r.1).collect()),
    };
    let (rust, python) = (side(&rust), side(&py));
    Ok(ProcessResult {
        task: "tiny SppNet forward, 1×3×64×64, CPU, load + run + save".into(),
        runs: RUNS,
        wall_ratio: rust.wall_s / python.wall_s,
        rss_ratio: rust.peak_rss_mib / python.peak_rss_mib,
        rust,
        python,
    })
}
