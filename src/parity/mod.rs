//! Every ported module against the live Python reference on the same libtorch and thread count:
//! one [`Row`] per comparison (or per group of pool cases), bitwise on the CPU, within
//! [`CUDA_TOLERANCE`] on CUDA.

mod cases;
mod detectors;
pub mod table;
mod tasks;

use std::path::Path;

use serde::Serialize;
use tch::{Device, Tensor};

use crate::compare::diff;
use crate::error::Result;
use crate::reference::{Reference, Replied, Suite};
use crate::runtime::device_name;
use crate::{spatial_pyramid_pool, Model, Rule};

pub use cases::{block_cases, sppnet_suite};
pub use detectors::JPEG_LEVELS;
pub use tasks::predict_case;

/// Max abs error accepted on CUDA (cuDNN may use TF32); on the CPU the match must be bitwise.
pub const CUDA_TOLERANCE: f64 = 1e-3;

/// One comparison (or one group of pool cases).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What was compared.
    pub case: String,
    /// Input shape(s).
    pub shape: String,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Same bytes.
    pub bitwise: bool,
    /// Largest absolute difference.
    pub max_abs: f64,
    /// Largest distance in ULPs.
    pub max_ulp: u64,
    /// Within the device's tolerance.
    pub ok: bool,
}

/// What to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Fewer SppNet sizes and block configurations (the pool sweep always runs whole).
    pub quick: bool,
    /// Leave out the ultralytics blocks and whole detectors (a Python without `ultralytics`).
    pub skip_blocks: bool,
}

struct Ctx<'a> {
    reference: &'a Reference,
    threads: i32,
    device: Device,
    dir: &'a Path,
}

impl Ctx<'_> {
    fn dev(&self) -> String {
        device_name(self.device)
    }

    fn run(&self, suite: &Suite, name: &str) -> Result<Replied> {
        let dir = self.dir.join(format!("{name}-{}", self.dev()));
        self.reference.run(suite, self.threads, &self.dev(), &dir)
    }

    fn ok(&self, bitwise: bool, max_abs: f64) -> bool {
        match self.device {
            Device::Cpu => bitwise,
            _ => bitwise || max_abs <= CUDA_TOLERANCE,
        }
    }

    fn row(&self, case: String, x: &Tensor, got: &Tensor, want: &Tensor) -> Result<Row> {
        let d = diff(got, want)?;
        let shape: Vec<String> = x.size().iter().map(i64::to_string).collect();
        Ok(Row {
            case,
            shape: shape.join("×"),
            device: self.dev(),
            bitwise: d.bitwise,
            max_abs: d.max_abs,
            max_ulp: d.max_ulp,
            ok: self.ok(d.bitwise, d.max_abs),
        })
    }
}

/// Run every suite on `device` with `threads` threads on both sides (temporary files in
/// `dir`). CUDA gets deterministic algorithms ([`crate::cuda::deterministic_cuda`]) first.
pub fn run(
    reference: &Reference,
    device: Device,
    threads: i32,
    opts: Options,
    dir: &Path,
) -> Result<Vec<Row>> {
    if let Device::Cuda(_) = device {
        crate::cuda::deterministic_cuda()?;
    }
    let c = Ctx {
        reference,
        threads,
        device,
        dir,
    };
    let mut rows = pool(&c)?;
    rows.extend(sppnet(&c, opts.quick)?);
    if !opts.skip_blocks {
        rows.extend(blocks(&c, opts.quick)?);
        rows.extend(detectors::rows(&c, opts.quick)?);
        rows.extend(tasks::rows(&c)?);
        if device == Device::Cpu {
            rows.extend(table_rows(&c)?);
        }
    }
    Ok(rows)
}

/// The pooling table (forward and backward, one row per op) and whole modules under autograd
/// (one row per module), CPU only: roi SPP runs on the CPU, and gradients are compared bitwise.
fn table_rows(c: &Ctx<'_>) -> Result<Vec<Row>> {
    let summary_row = |case: String, shape: &str, s: &table::Summary| Row {
        case: format!(
            "{case} ({} comparisons, {} refused alike)",
            s.compared, s.refused
        ),
        shape: shape.into(),
        device: c.dev(),
        bitwise: s.bitwise,
        max_abs: s.max_abs,
        max_ulp: s.max_ulp,
        ok: s.bitwise && s.problems.is_empty(),
    };
    let suite = Suite::Pooling {
        cases: table::pooling_cases(),
    };
    let mut rows: Vec<Row> = table::check_pooling(&c.run(&suite, "pooling")?)?
        .iter()
        .map(|(op, s)| {
            let what = match op.strip_prefix("ported ") {
                Some(op) => {
                    format!("pooling table: {op}, the upstream module pickled, ported, run")
                }
                None => format!("pooling table: {op}, forward + input gradient"),
            };
            summary_row(what, "1×1 … 13×13", s)
        })
        .collect();
    let suite = Suite::Grads {
        cases: table::grad_cases(),
    };
    for (name, s) in table::check_grads(&c.run(&suite, "grads")?)? {
        rows.push(summary_row(
            format!("{name}: output, input and weight gradients"),
            "3×5 … 64×64",
            &s,
        ));
    }
    Ok(rows)
}

/// The whole pool sweep, one row per rule (cases pooled by both sides, and refused by both).
fn pool(c: &Ctx<'_>) -> Result<Vec<Row>> {
    let replied = c.run(&Suite::PoolSweep, "pool")?;
    let mut rows = Vec::new();
    for rule in Rule::ALL {
        let (mut worst, mut ulp, mut bitwise, mut agree, mut n) = (0f64, 0u64, true, true, 0);
        for case in &replied.reply.cases {
            if case.params["rule"] != rule.name() {
                continue;
            }
            let levels: Vec<i64> = serde_json::from_value(case.params["levels"].clone())
                .map_err(|e| crate::Error::Reference(format!("sweep levels: {e}")))?;
            for run in &case.runs {
                n += 1;
                let x = replied.input(run)?.f_to_device(c.device)?;
                match (spatial_pyramid_pool(&x, &levels, rule), &run.refused) {
                    (Ok(y), None) => {
                        let d = diff(&y, replied.output(run, crate::reference::Output::Eval)?)?;
                        worst = worst.max(d.max_abs);
                        ulp = ulp.max(d.max_ulp);
                        bitwise &= d.bitwise;
                    }
                    (Err(_), Some(_)) => {}
                    _ => agree = false, // one side pooled, the other refused
                }
            }
        }
        let case = format!(
            "spatial_pyramid_pool {rule} ({n} cases{})",
            if agree { "" } else { ", DISAGREE on refusals" }
        );
        rows.push(Row {
            case,
            shape: "1–40², 76 non-square".into(),
            device: c.dev(),
            bitwise,
            max_abs: worst,
            max_ulp: ulp,
            ok: agree && c.ok(bitwise, worst),
        });
    }
    Ok(rows)
}

/// SppNet default and tiny configs, eval outputs.
fn sppnet(c: &Ctx<'_>, quick: bool) -> Result<Vec<Row>> {
    let replied = c.run(&sppnet_suite(quick), "sppnet")?;
    let mut rows = Vec::new();
    for case in &replied.reply.cases {
        let model = Model::load(replied.file(case, "weights")?, c.device)?;
        for run in &case.runs {
            let x = replied.input(run)?;
            let y = model.forward(&x.f_to_device(c.device)?)?;
            let want = replied.output(run, crate::reference::Output::Eval)?;
            rows.push(c.row(format!("SppNet {}", case.name), x, &y, want)?);
        }
    }
    Ok(rows)
}

/// ultralytics blocks against ultralytics' own classes, unfused and fused.
fn blocks(c: &Ctx<'_>, quick: bool) -> Result<Vec<Row>> {
    let replied = c.run(
        &Suite::Blocks {
            cases: block_cases(quick),
        },
        "blocks",
    )?;
    let mut rows = Vec::new();
    for case in &replied.reply.cases {
        let model = Model::load(replied.file(case, "weights")?, c.device)?;
        let fused = model.fuse()?;
        for run in &case.runs {
            let x = replied.input(run)?;
            let xd = x.f_to_device(c.device)?;
            use crate::reference::Output::{Eval, Fused};
            let want = replied.output(run, Eval)?;
            rows.push(c.row(case.name.clone(), x, &model.forward(&xd)?, want)?);
            let want = replied.output(run, Fused)?;
            rows.push(c.row(
                format!("{} fused", case.name),
                x,
                &fused.forward(&xd)?,
                want,
            )?);
        }
    }
    Ok(rows)
}
