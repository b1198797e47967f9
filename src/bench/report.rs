//! `sppnet bench` results: JSON (schema `sppnet-bench/1`) and a Markdown table.

use std::path::Path;

use serde::Serialize;
use tch::Device;

use super::process::ProcessResult;
use super::CaseResult;
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::reference::Reference;

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
        if c.variants.contains_key("rust_copy") {
            v("rust_copy")
        } else {
            v("rust_parallel")
        },
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
        let device = crate::runtime::device_name(device);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Report {
            schema: "sppnet-bench/1",
            machine: Machine {
                cpu: crate::runtime::cpu_model(),
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
        let header = "| case | Rust | Rust, second variant (SPP: parallel pools; maxpool: a copy of the input) | Python | Python / Rust (per-round range) |\n|---|---|---|---|---|\n";
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
                 | `sppnet forward` | {} | {:.0} MiB |\n| Python (`python -m sppnet_ref.bench forward`) | {} | {:.0} MiB |\n\
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
    /// `python -m sppnet_ref.plot` with matplotlib, from the JSON).
    pub fn save(&self, prefix: &Path, reference: &Reference) -> Result<()> {
        let with = |ext: &str| prefix.with_extension(ext);
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Reference(format!("bench report: {e}")))?;
        write_atomic(&with("json"), json.as_bytes(), true)?;
        write_atomic(&with("md"), self.markdown().as_bytes(), true)?;
        if !self.sweep.is_empty() {
            let out = reference
                .command("plot")
                .arg(with("json"))
                .arg(with("png"))
                .output()
                .map_err(|e| Error::Reference(format!("running the plot: {e}")))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                return Err(Error::Reference(format!(
                    "the plot failed: {}",
                    err.lines().last().unwrap_or("")
                )));
            }
        }
        Ok(())
    }
}
