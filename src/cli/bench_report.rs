//! `sppnet bench` results: JSON (schema `sppnet-bench/1`) and a Markdown table.

use std::path::Path;

use anyhow::{bail, Context};
use serde::Serialize;
use tch::Device;

use super::bench::CaseResult;
use super::bench_process::ProcessResult;

/// Everything one `sppnet bench` run measured.
#[derive(Serialize)]
pub struct Report {
    /// `sppnet-bench/1`.
    pub schema: &'static str,
    /// CPU model, cores, device, threads.
    pub machine: Machine,
    /// Per-call medians.
    pub cases: Vec<CaseResult>,
    /// Latency against input size, batch 1 (what the PNG plots); empty under `--quick`.
    pub sweep: Vec<CaseResult>,
    /// Whole-process cost, when measured.
    pub process: Option<ProcessResult>,
}

/// Where it ran.
#[derive(Serialize)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Intra-op threads on both sides.
    pub threads: i32,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn fmt_s(s: f64) -> String {
    match s {
        s if s < 1e-3 => format!("{:.1} µs", s * 1e6),
        s if s < 1.0 => format!("{:.2} ms", s * 1e3),
        s => format!("{s:.2} s"),
    }
}

/// One Markdown table row.
fn row(c: &CaseResult) -> String {
    let v = |k: &str| {
        c.variants
            .get(k)
            .map_or("—".to_string(), |t| fmt_s(t.median_s))
    };
    format!(
        "| {} | {} | {} | {} | {:.2}× ({:.2}–{:.2}) |\n",
        c.id,
        v("rust"),
        v("rust_parallel"),
        v("python"),
        c.speedup_vs_python,
        c.speedup_range[0],
        c.speedup_range[1]
    )
}

impl Report {
    /// Assemble a report.
    pub fn new(
        device: Device,
        threads: i32,
        cases: Vec<CaseResult>,
        sweep: Vec<CaseResult>,
        process: Option<ProcessResult>,
    ) -> Self {
        let device = sppnet::runtime::device_name(device);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Report {
            schema: "sppnet-bench/1",
            machine: Machine {
                cpu: cpu_model(),
                cores,
                device,
                threads,
            },
            cases,
            sweep,
            process,
        }
    }

    /// The Markdown tables.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "Machine: {}, {} cores, device {}, {} intra-op thread(s) on both sides; medians per call.\n\n",
            m.cpu, m.cores, m.device, m.threads
        );
        let header = "| case | Rust | Rust, parallel pools | Python | Python / Rust (per-round range) |\n|---|---|---|---|---|\n";
        out += header;
        for c in &self.cases {
            out += &row(c);
        }
        if !self.sweep.is_empty() {
            out += "\nLatency against input size (batch 1; plotted in the PNG):\n\n";
            out += header;
            for c in &self.sweep {
                out += &row(c);
            }
        }
        if let Some(p) = &self.process {
            out += &format!(
                "\nWhole process ({}; median of {} runs each):\n\n| | wall | peak RSS |\n|---|---|---|\n\
                 | `sppnet forward` | {} | {:.0} MiB |\n| Python (`python/bench.py forward`) | {} | {:.0} MiB |\n\
                 | Rust / Python | {:.2}× | {:.2}× |\n",
                p.task,
                p.runs,
                fmt_s(p.rust.wall_s),
                p.rust.peak_rss_mib,
                fmt_s(p.python.wall_s),
                p.python.peak_rss_mib,
                p.wall_ratio,
                p.rss_ratio
            );
        }
        out
    }

    /// Write `PREFIX.json` and `PREFIX.md`, and, when the sweep ran, `PREFIX.png` (drawn by
    /// `python/plot_bench.py` with matplotlib, from the JSON).
    pub fn save(&self, prefix: &Path, python: &Path) -> anyhow::Result<()> {
        let with = |ext: &str| prefix.with_extension(ext);
        sppnet::checkpoint::write_atomic(
            &with("json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
            true,
        )?;
        sppnet::checkpoint::write_atomic(&with("md"), self.markdown().as_bytes(), true)?;
        if !self.sweep.is_empty() {
            let out = std::process::Command::new(python)
                .arg(super::python_dir().join("plot_bench.py"))
                .arg(with("json"))
                .arg(with("png"))
                .output()
                .with_context(|| format!("running {}", python.display()))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                bail!(
                    "python/plot_bench.py failed: {}",
                    err.lines().last().unwrap_or("")
                );
            }
        }
        Ok(())
    }
}
