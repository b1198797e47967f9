//! Subcommands. Each parses its flags, calls the library and prints; the flag hints for library
//! errors live here ([`hint`]), since only the command line knows flag names.

pub mod bench;
pub mod demo;
pub mod detect;
pub mod forward;
pub mod infer;
pub mod inspect;
pub mod parity;
pub mod pool;
pub mod port;
pub mod sizes;
pub mod term;

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
        Error::PixelLimit(_) => "--max-pixels raises the limit",
        Error::MemoryLimit(_) => "--max-memory raises the limit",
        Error::WouldReplaceInput { .. } => "write the output elsewhere (-o, --save-dir)",
        Error::UnsafeGlobals(_) => {
            "nothing was run; to port it anyway, name each global you accept with --accept-global"
        }
        _ => return None,
    })
}

/// A library error as the command line says it: the message, and the flag that answers it.
pub fn explain(e: &Error) -> String {
    match hint(e) {
        Some(h) => format!("{e} ({h})"),
        None => e.to_string(),
    }
}

/// One image's failure on its own stderr line: `PATH: error: WHY` (the path said once).
pub fn file_error(path: &std::path::Path, why: &str) {
    let shown = sppnet::text::path(path);
    let why = why
        .strip_prefix(&format!("{}: ", path.display()))
        .or_else(|| why.strip_prefix(&format!("{shown}: ")))
        .unwrap_or(why);
    term::note(&format!("{shown}: error: {why}"));
}

/// A file's `"path"` in JSON output, and `"path_bytes"` (its exact bytes, base64) when it is
/// not UTF-8 — `"path"` then shows U+FFFD for those bytes and cannot find the file again.
pub fn insert_path(obj: &mut serde_json::Map<String, serde_json::Value>, path: &std::path::Path) {
    let (shown, bytes) = sppnet::text::path_json(path);
    obj.insert("path".into(), shown.into());
    if let Some(b) = bytes {
        obj.insert("path_bytes".into(), b.into());
    }
}

/// The closing line of an image command (images, time, rate, failures, and `more`), then exit
/// code 1 when any image failed.
pub fn finish_images(
    total: usize,
    failed: usize,
    seconds: f64,
    more: &str,
) -> anyhow::Result<std::process::ExitCode> {
    let done = total - failed;
    term::note(&format!(
        "{done} images in {seconds:.2} s ({:.1} images/s), {failed} failed{more}",
        done as f64 / seconds.max(1e-9)
    ));
    if failed > 0 {
        bail!("{failed} of {total} images failed");
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// A pyramid level: a bin count in 1..=1024.
pub fn level(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a pyramid level (a bin count from 1 to 1024)"
        )),
    }
}

/// A size in bytes: a whole number with an optional binary suffix K, M, G or T (`512M`,
/// `4G`; `B` and `iB` may follow), at least 1 MiB.
pub fn byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("`{s}` is not a size like 512M or 4G")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let bad = || format!("`{s}` is not a size from 1M to 1024T (like 512M or 4G)");
    let n: u64 = num.trim().parse().map_err(|_| bad())?;
    let bytes = n.checked_mul(1 << shift).ok_or_else(bad)?;
    match (1 << 20..=1 << 50).contains(&bytes) {
        true => Ok(bytes),
        false => Err(bad()),
    }
}

/// A finite number.
pub fn finite(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not a finite number")),
    }
}

/// A finite number above zero.
pub fn positive(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a finite number above 0")),
    }
}

/// A number in [0, 1] (a confidence or IoU threshold).
pub fn unit(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number in [0, 1]")),
    }
}

/// A count of at least 1.
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(format!("`{s}` is not a whole number of at least 1")),
    }
}

/// A class index (0 or more).
pub fn class_index(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(v) if (0..=1 << 20).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a class index (a whole number from 0)"
        )),
    }
}

/// A finite f32 above zero.
pub fn positive_f32(s: &str) -> Result<f32, String> {
    positive(s).and_then(|v| {
        let v = v as f32;
        (v > 0.0 && v.is_finite())
            .then_some(v)
            .ok_or_else(|| format!("`{s}` is not a positive f32"))
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

/// Write `y` as the single tensor `output` of a safetensors file, with string metadata,
/// atomically (what `pool` and `forward` produce).
pub fn write_output(
    path: &std::path::Path,
    outputs: &[(String, Tensor)],
    meta: &[(&str, String)],
    force: bool,
) -> anyhow::Result<()> {
    let meta = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    sppnet::io::write_safetensors(path, outputs, &meta, force)?;
    Ok(())
}
