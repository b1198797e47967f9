//! Subcommands. Each parses nothing itself: it gets its clap args and calls the library.

pub mod bench;
mod bench_process;
mod bench_report;
pub mod demo;
pub mod forward;
pub mod infer;
pub mod inspect;
pub mod parity;
pub mod pool;
pub mod port;
pub mod sizes;

use anyhow::{bail, Context};
use sppnet::checkpoint::TensorFile;
use tch::Tensor;

/// The input tensor of a file: `key` when given, else the file's only tensor.
pub fn select_tensor(
    file: &TensorFile,
    key: Option<&str>,
    path: &std::path::Path,
) -> anyhow::Result<Tensor> {
    let names = file.names();
    match key {
        Some(k) => file
            .get(k)
            .map(Tensor::shallow_clone)
            .with_context(|| format!("{}: no tensor `{k}` (it has {names:?})", path.display())),
        None => match file.tensors.as_slice() {
            [(_, t)] => Ok(t.shallow_clone()),
            [] => bail!("{}: the file holds no tensor", path.display()),
            _ => bail!(
                "{}: the file holds {} tensors {names:?}; pick one with --key",
                path.display(),
                names.len()
            ),
        },
    }
}

/// Write to stdout; a closed pipe (`sppnet inspect … | head`) ends the output quietly instead of
/// panicking as `print!` does.
pub fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The Python interpreter of the reference side: `given`, else `$SPPNET_PYTHON`, else the
/// checkout's `.venv` (made by `make`).
pub fn python_path(given: Option<std::path::PathBuf>) -> std::path::PathBuf {
    given
        .or_else(|| std::env::var_os("SPPNET_PYTHON").map(std::path::PathBuf::from))
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
        })
}

/// [`python_path`], refused up front (before any progress output) when it names a file that is
/// not there.
pub fn reference_python(given: Option<std::path::PathBuf>) -> anyhow::Result<std::path::PathBuf> {
    let p = python_path(given);
    if p.components().count() > 1 && !p.exists() {
        anyhow::bail!(
            "the Python reference {} does not exist (run `make setup`, or pass --python / set SPPNET_PYTHON)",
            p.display()
        );
    }
    Ok(p)
}

/// The project root: `$SPPNET_ROOT` (a bundle carried to another machine), else the checkout
/// this binary was built from.
pub fn project_root() -> std::path::PathBuf {
    std::env::var_os("SPPNET_ROOT").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        std::path::PathBuf::from,
    )
}

/// The project's `python/` folder (the reference scripts).
pub fn python_dir() -> std::path::PathBuf {
    project_root().join("python")
}

/// Write `y` as the single tensor `output` of a safetensors file, with string metadata,
/// atomically (what `pool` and `forward` produce).
pub fn write_output(
    path: &std::path::Path,
    y: &Tensor,
    meta: &[(&str, String)],
    force: bool,
) -> anyhow::Result<()> {
    let meta = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    sppnet::checkpoint::write_safetensors(
        path,
        &[("output".to_string(), y.shallow_clone())],
        &meta,
        force,
    )?;
    Ok(())
}
