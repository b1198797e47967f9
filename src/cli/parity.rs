//! `sppnet parity`: every ported module against live Python on the same libtorch and thread
//! count, on each device; a table of bitwise / max abs / max ULP, exit code 1 beyond tolerance.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sppnet::checkpoint::read_safetensors;
use sppnet::compare::diff;
use sppnet::runtime::{configure_threads, parse_device};
use sppnet::{spatial_pyramid_pool, Model, Overrides, Rule};
use tch::{Device, Tensor};

use super::{python_dir, reference_python};

/// Max abs error accepted on CUDA (cuDNN may use TF32); on the CPU the match must be bitwise.
const CUDA_TOLERANCE: f64 = 1e-3;

/// Arguments of `sppnet parity`.
#[derive(Args)]
pub struct ParityArgs {
    /// cpu, cuda, cuda:N [default: the CPU, and CUDA device 0 when available].
    #[arg(long)]
    device: Option<String>,
    /// Fewer SppNet sizes and block configurations (the pool sweep always runs whole).
    #[arg(long)]
    quick: bool,
    /// Print the rows as JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Leave out the ultralytics blocks (for a Python without the `ultralytics` package, e.g. a
    /// GPU machine's stock torch); the output says they were not run.
    #[arg(long)]
    skip_blocks: bool,
    /// The Python interpreter [default: $SPPNET_PYTHON, else the checkout's .venv].
    #[arg(long)]
    python: Option<PathBuf>,
}

/// One comparison (or one group of pool cases).
#[derive(Serialize)]
struct Row {
    case: String,
    shape: String,
    device: String,
    bitwise: bool,
    max_abs: f64,
    max_ulp: u64,
    ok: bool,
}

struct Ctx {
    python: PathBuf,
    threads: i32,
    device: Device,
    dev: String,
    dir: PathBuf,
}

impl Ctx {
    fn python(&self, script: &str, args: &[&Path]) -> anyhow::Result<()> {
        let out = Command::new(&self.python)
            .arg(python_dir().join(script))
            .args([
                "--threads",
                &self.threads.to_string(),
                "--device",
                &self.dev,
            ])
            .args(args)
            .output()
            .with_context(|| format!("starting {} (run `make setup`)", self.python.display()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            bail!(
                "python/{script} failed: {}",
                err.lines().last().unwrap_or("")
            );
        }
        Ok(())
    }

    fn row(&self, case: String, shape: &[i64], got: &Tensor, want: &Tensor) -> anyhow::Result<Row> {
        let d = diff(got, want)?;
        let ok = if self.device == Device::Cpu {
            d.bitwise
        } else {
            d.within(CUDA_TOLERANCE)
        };
        let shape = shape
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join("×");
        Ok(Row {
            case,
            shape,
            device: self.dev.clone(),
            bitwise: d.bitwise,
            max_abs: d.max_abs,
            max_ulp: d.max_ulp,
            ok,
        })
    }
}

#[derive(Deserialize)]
struct PoolCase {
    input: String,
    levels: Vec<i64>,
    rule: Rule,
    output: Option<String>,
}

/// The whole pool sweep, one row per rule (cases pooled by both sides, and refused by both).
fn pool(c: &Ctx) -> anyhow::Result<Vec<Row>> {
    let dir = c.dir.join(format!("pool-{}", c.dev));
    std::fs::create_dir_all(&dir)?;
    c.python("parity.py", &[Path::new("pool-sweep"), &dir])?;
    let data = read_safetensors(dir.join("sweep.safetensors"))?;
    let sweep: Value = serde_json::from_slice(&std::fs::read(dir.join("sweep.json"))?)?;
    let cases: Vec<PoolCase> = serde_json::from_value(sweep["cases"].clone())?;
    let mut rows = Vec::new();
    for rule in Rule::ALL {
        let (mut worst, mut bitwise, mut agree, mut n) = (0f64, true, true, 0);
        let mut ulp = 0;
        for case in cases.iter().filter(|k| k.rule == rule) {
            n += 1;
            let x = data
                .get(&case.input)
                .context("sweep input")?
                .f_to_device(c.device)?;
            match (
                spatial_pyramid_pool(&x, &case.levels, rule),
                case.output.as_deref(),
            ) {
                (Ok(y), Some(key)) => {
                    let d = diff(&y, data.get(key).context("sweep output")?)?;
                    (worst, ulp, bitwise) = (
                        worst.max(d.max_abs),
                        ulp.max(d.max_ulp),
                        bitwise && d.bitwise,
                    );
                }
                (Err(_), None) => {}
                _ => agree = false, // one side pooled, the other refused
            }
        }
        let ok = agree
            && if c.device == Device::Cpu {
                bitwise
            } else {
                worst <= CUDA_TOLERANCE
            };
        let case = format!(
            "spatial_pyramid_pool {rule} ({n} cases{})",
            if agree { "" } else { ", DISAGREE on refusals" }
        );
        rows.push(Row {
            case,
            shape: "1–40², 76 non-square".into(),
            device: c.dev.clone(),
            bitwise,
            max_abs: worst,
            max_ulp: ulp,
            ok,
        });
    }
    Ok(rows)
}

/// SppNet default and tiny configs, eval outputs.
fn sppnet(c: &Ctx, quick: bool) -> anyhow::Result<Vec<Row>> {
    let sizes: &[(i64, i64)] = if quick {
        &[(32, 32), (100, 77)]
    } else {
        &[(32, 32), (45, 45), (64, 64), (100, 77), (224, 224)]
    };
    let configs = [
        ("default", json!({})),
        ("tiny", json!({"ndf": 8, "hidden": 64, "classes": 10})),
    ];
    let mut inputs = Vec::new();
    for (name, _) in &configs {
        for (i, (h, w)) in sizes.iter().enumerate() {
            inputs.push(json!({"name": format!("{name}/{h}x{w}"), "model": name, "shape": [2, 3, h, w], "seed": i}));
        }
    }
    let models: Vec<Value> = configs
        .iter()
        .enumerate()
        .map(|(i, (n, cfg))| json!({"name": n, "config": cfg, "seed": i}))
        .collect();
    let dir = c.dir.join(format!("sppnet-{}", c.dev));
    std::fs::create_dir_all(&dir)?;
    let spec = dir.join("spec.json");
    std::fs::write(
        &spec,
        json!({"models": models, "inputs": inputs}).to_string(),
    )?;
    c.python("parity.py", &[Path::new("sppnet"), &spec, &dir])?;
    let results = read_safetensors(dir.join("results.safetensors"))?;
    let mut rows = Vec::new();
    for (name, _) in &configs {
        let (model, _) = Model::load(
            dir.join(format!("{name}.safetensors")),
            c.device,
            &Overrides::default(),
        )?;
        for input in inputs.iter().filter(|i| i["model"] == *name) {
            let key = input["name"].as_str().expect("name");
            let x = results.get(&format!("{key}/input")).context("input")?;
            let y = model.forward(&x.f_to_device(c.device)?)?;
            rows.push(c.row(
                format!("SppNet {name}"),
                &x.size(),
                &y,
                results.get(&format!("{key}/eval")).context("eval")?,
            )?);
        }
    }
    Ok(rows)
}

/// ultralytics blocks against ultralytics' own classes, unfused and fused.
fn blocks(c: &Ctx, quick: bool) -> anyhow::Result<Vec<Row>> {
    let mut cases = vec![
        json!({"name": "Conv_k3s2", "class": "Conv", "args": {"c1": 16, "c2": 32, "k": 3, "s": 2}, "bn_eps": 1e-3}),
        json!({"name": "SPP_5-9-13", "class": "SPP", "args": {"c1": 64, "c2": 64}}),
        json!({"name": "SPPF_silu", "class": "SPPF", "args": {"c1": 64, "c2": 64}, "cv1_act": "SiLU", "bn_eps": 1e-3}),
        json!({"name": "SPPF_yolo26", "class": "SPPF", "args": {"c1": 64, "c2": 64, "shortcut": true}, "cv1_act": "Identity"}),
        json!({"name": "SPPELAN", "class": "SPPELAN", "args": {"c1": 64, "c2": 32, "c3": 16}}),
    ];
    if !quick {
        cases.extend([
            json!({"name": "Conv_relu", "class": "Conv", "args": {"c1": 8, "c2": 8, "k": 3}, "act": "ReLU"}),
            json!({"name": "SPP_3-5-7", "class": "SPP", "args": {"c1": 256, "c2": 64, "k": [3, 5, 7]}, "bn_shift": -10.0}),
            json!({"name": "SPPF_n4", "class": "SPPF", "args": {"c1": 256, "c2": 128, "n": 4}}),
            json!({"name": "SPPELAN_c3_32", "class": "SPPELAN", "args": {"c1": 256, "c2": 256, "c3": 32}, "bn_eps": 1e-3}),
        ]);
    }
    let shapes: &[[i64; 2]] = if quick {
        &[[20, 20]]
    } else {
        &[[20, 20], [13, 7], [1, 1], [41, 41]]
    };
    for (i, case) in cases.iter_mut().enumerate() {
        let c1 = case["args"]["c1"].as_i64().expect("c1");
        let inputs: Vec<Value> = shapes
            .iter()
            .map(|[h, w]| json!({"shape": [2, c1, h, w], "scale": 2.0}))
            .collect();
        let obj = case.as_object_mut().expect("object");
        obj.insert("seed".into(), json!(i));
        obj.insert("fuse".into(), json!(true));
        obj.insert("inputs".into(), json!(inputs));
    }
    let dir = c.dir.join(format!("blocks-{}", c.dev));
    std::fs::create_dir_all(&dir)?;
    let spec = dir.join("spec.json");
    std::fs::write(&spec, json!({ "cases": cases }).to_string())?;
    c.python("ultra_parity.py", &[Path::new("blocks"), &spec, &dir])?;
    let results = read_safetensors(dir.join("results.safetensors"))?;
    let mut rows = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let (model, _) = Model::load(
            dir.join(format!("{name}.safetensors")),
            c.device,
            &Overrides::default(),
        )?;
        let fused = model.fuse()?;
        for i in 0..shapes.len() {
            let x = results.get(&format!("{name}/{i}/input")).context("input")?;
            let xd = x.f_to_device(c.device)?;
            rows.push(c.row(
                name.to_string(),
                &x.size(),
                &model.forward(&xd)?,
                results.get(&format!("{name}/{i}/eval")).context("eval")?,
            )?);
            rows.push(c.row(
                format!("{name} fused"),
                &x.size(),
                &fused.forward(&xd)?,
                results.get(&format!("{name}/{i}/fused")).context("fused")?,
            )?);
        }
    }
    Ok(rows)
}

/// Run `sppnet parity`; exit code 1 when any row is beyond its tolerance.
pub fn run(args: ParityArgs, threads: Option<usize>) -> anyhow::Result<ExitCode> {
    // Bitwise parity needs the same count on both sides (NOTES §8): 1 unless asked otherwise.
    let threads = configure_threads(threads.or(Some(1)))?;
    let python = reference_python(args.python.clone())?;
    let devices = match &args.device {
        Some(d) => vec![parse_device(d)?],
        None if sppnet::cuda::cuda_available() => vec![Device::Cpu, Device::Cuda(0)],
        None => vec![Device::Cpu],
    };
    let tmp = tempfile::tempdir()?;
    let mut rows = Vec::new();
    for device in devices {
        if let Device::Cuda(_) = device {
            // As python/parity.py does: cuBLAS needs a fixed workspace for deterministic
            // results (read when the first cuBLAS handle is made, i.e. after this).
            if std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
                std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
            }
            tch::Cuda::cudnn_set_benchmark(false);
            sppnet::cuda::set_deterministic_algorithms(true)?;
        }
        let dev = sppnet::runtime::device_name(device);
        eprintln!("parity on {dev} ({threads} thread(s)) …");
        let c = Ctx {
            python: python.clone(),
            threads,
            device,
            dev,
            dir: tmp.path().to_path_buf(),
        };
        rows.extend(pool(&c)?);
        rows.extend(sppnet(&c, args.quick)?);
        if !args.skip_blocks {
            rows.extend(blocks(&c, args.quick)?);
        }
    }
    let skipped: &[&str] = if args.skip_blocks {
        &["ultralytics blocks (--skip-blocks)"]
    } else {
        &[]
    };
    let failed = rows.iter().filter(|r| !r.ok).count();
    if args.json {
        super::print(
            &(serde_json::to_string_pretty(
                &json!({"threads": threads, "rows": rows, "failed": failed, "skipped": skipped}),
            )? + "\n"),
        )?;
    } else {
        let mut out = format!("| case | shape | device | bitwise | max abs err | max ULP | ok (CPU: bitwise; CUDA: ≤ {CUDA_TOLERANCE:e}) |\n|---|---|---|---|---|---|---|\n");
        for r in &rows {
            let yes = |b: bool| if b { "yes" } else { "NO" };
            out += &format!(
                "| {} | {} | {} | {} | {:.3e} | {} | {} |\n",
                r.case,
                r.shape,
                r.device,
                yes(r.bitwise),
                r.max_abs,
                r.max_ulp,
                yes(r.ok)
            );
        }
        for what in skipped {
            out += &format!("\nNOT RUN: {what}\n");
        }
        super::print(&out)?;
    }
    if failed > 0 {
        bail!("{failed} of {} parity rows beyond tolerance", rows.len());
    }
    Ok(ExitCode::SUCCESS)
}
