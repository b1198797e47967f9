//! Shared harness of the integration tests: the live Python reference and comparisons.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::Once;

use sppnet::compare::{diff, Diff};
use sppnet::io::write_safetensors;
use sppnet::reference::{Reference, Replied, Suite};
use tch::Tensor;

/// Intra-op threads on both sides: bitwise parity of convolutions needs the same count
/// (docs/FACTS.md §8). Set explicitly in Rust and passed to every Python process.
pub const THREADS: i32 = 2;

/// The checkout's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python: `$SPPNET_PYTHON` (set by .cargo/config.toml), else `.venv/bin/python`.
/// Panics with the set-up command when it is missing: a parity test never passes without it.
pub fn python() -> PathBuf {
    let p = std::env::var_os("SPPNET_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "the Python reference is missing ({} not found). Live parity tests need the project venv: \
         run `make test` (or `bash scripts/venv.sh`), which creates it (~5 GB, a few minutes).",
        p.display()
    );
    p
}

/// The Python reference (the venv's interpreter with `python/sppnet_ref`).
pub fn reference() -> Reference {
    Reference::new(python(), &root())
}

/// Run `suite` in the reference with [`THREADS`] threads on the CPU, in `dir`; panics with
/// Python's last line on failure.
pub fn run_suite(suite: &Suite, dir: &Path) -> Replied {
    reference()
        .run(suite, THREADS, "cpu", dir)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Run `python -m sppnet_ref.<module> <args>`; panics with Python's stderr on failure.
pub fn run_python(module: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = reference()
        .command(module)
        .args(args)
        .output()
        .expect("failed to start the venv's python");
    assert!(
        out.status.success(),
        "python -m sppnet_ref.{module} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Set the Rust side's thread count (once per test binary).
pub fn init_threads() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| tch::set_num_threads(THREADS));
    assert_eq!(tch::get_num_threads(), THREADS);
}

/// Compare, panicking on a shape mismatch.
pub fn compare(actual: &Tensor, expected: &Tensor) -> Diff {
    diff(actual, expected).expect("comparable tensors")
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

// ---- the binary ----

/// Run the `sppnet` binary; returns (exit code, stdout, stderr).
pub fn sppnet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sppnet"))
        .args(args)
        .env_remove("OMP_NUM_THREADS")
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Exit code 1, exactly one stderr line `error: …` containing `needle`, `out` not created.
pub fn assert_fails(args: &[&str], needle: &str, out: &Path) {
    let (code, _, err) = sppnet(args);
    assert_eq!(code, 1, "{args:?}: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: one line expected, got {err}"
    );
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "{args:?}: `{needle}` not in {err}"
    );
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(sppnet::io::TEMP_PREFIX)
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Write named tensors to `dir/name` as safetensors.
pub fn save(dir: &Path, name: &str, tensors: Vec<(&str, Tensor)>) -> PathBuf {
    let named: Vec<(String, Tensor)> = tensors
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    save_named(dir, name, &named)
}

/// [`save`] for named tensors as a `state_dict()` returns them.
pub fn save_named(dir: &Path, name: &str, tensors: &[(String, Tensor)]) -> PathBuf {
    let path = dir.join(name);
    write_safetensors(&path, tensors, &Default::default(), true).unwrap();
    path
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
