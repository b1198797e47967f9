//! Subcommands. Each parses its flags, calls the library and prints; the flag hints for library
//! errors live here ([`hint`]), since only the command line knows flag names.

pub mod bench;
pub mod demo;
pub mod forward;
pub mod infer;
pub mod inspect;
pub mod parity;
pub mod pool;
pub mod port;
pub mod sizes;

use anyhow::{bail, Context};
use sppnet::io::TensorFile;
use sppnet::Error;
use tch::Tensor;

/// The flag that answers a library error, where there is one.
pub fn hint(e: &Error) -> Option<&'static str> {
    Some(match e {
        Error::NonFinite { .. } => "pass --allow-nonfinite to run it anyway",
        Error::LevelDoesNotFit(_) => "--rule adaptive pools any size",
        Error::NoPort { .. } => "pick a block with --module",
        Error::Ambiguous(_) => "name the class with --arch",
        Error::NoSuchSetting { .. } => "--levels and --rule apply to SppNet checkpoints",
        Error::OutputExists(_) => "pass --force to overwrite",
        Error::UnsafeGlobals(_) => {
            "nothing was run; to port it anyway, name each global you accept with --accept-global"
        }
        _ => return None,
    })
}

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
    sppnet::io::write_safetensors(
        path,
        &[("output".to_string(), y.shallow_clone())],
        &meta,
        force,
    )?;
    Ok(())
}
