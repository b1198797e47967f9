//! Loading libtorch's CUDA backend on demand.
//!
//! The binary links `libtorch_cpu` only. `libtorch_cuda.so` (with cuDNN, cuBLAS and the CUDA
//! runtime behind it) costs about 0.2 s and 400 MiB of resident memory to load, so it is loaded
//! only when a CUDA device is asked for, or under `--device auto` when the machine has NVIDIA
//! device nodes. Loading it runs its static initialisers, which register the CUDA hooks with
//! libtorch; libtorch caches those hooks on its first CUDA query, so [`load_cuda`] must run
//! before any `tch::Cuda` call — [`crate::runtime::parse_device`] and [`cuda_available`] see to
//! that.
//!
//! Library users: a program linked against `sppnet` gets torch-sys's default link line, where
//! `--as-needed` drops `libtorch_cuda` as well. Call [`load_cuda`] (or go through
//! [`crate::runtime::parse_device`]) before the first CUDA query and CUDA works there too.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The file name of libtorch's CUDA backend.
pub const LIBTORCH_CUDA: &str = "libtorch_cuda.so";

static LOADED: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();

/// Load `libtorch_cuda.so` into the process (once; later calls return the first outcome).
///
/// It is looked for next to the `libtorch_cpu.so` this process runs with, then by name (the
/// binary's rpath and `LD_LIBRARY_PATH`). Returns the path loaded. Fails with one line naming
/// the library and the loader's reason: a CPU-only libtorch has no such file.
pub fn load_cuda() -> Result<PathBuf> {
    LOADED
        .get_or_init(|| {
            let beside = libtorch_dir().map(|d| d.join(LIBTORCH_CUDA));
            let candidates = beside
                .into_iter()
                .filter(|p| p.exists())
                .chain(std::iter::once(PathBuf::from(LIBTORCH_CUDA)));
            let mut reason = String::new();
            for path in candidates {
                match dlopen_global(&path) {
                    Ok(()) => return Ok(loaded_path().unwrap_or(path)),
                    Err(e) => reason = e,
                }
            }
            Err(reason)
        })
        .clone()
        .map_err(|reason| {
            Error::Cuda(format!(
                "cannot load libtorch's CUDA backend ({LIBTORCH_CUDA}): {reason}"
            ))
        })
}

/// Whether `libtorch_cuda.so` is mapped into this process (loaded by [`load_cuda`] or linked).
pub fn is_loaded() -> bool {
    loaded_path().is_some()
}

/// Whether this machine shows NVIDIA device nodes (`/dev/nvidiactl`, `/dev/nvidia0`) or the
/// WSL GPU node (`/dev/dxg`): the cheap test `--device auto` uses before paying for the load.
pub fn gpu_nodes_present() -> bool {
    ["/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg"]
        .iter()
        .any(|p| Path::new(p).exists())
}

/// Whether CUDA can be used: device nodes present, backend loaded, and libtorch sees a device.
/// Loads the backend when the nodes are there; never loads it otherwise.
pub fn cuda_available() -> bool {
    (is_loaded() || (gpu_nodes_present() && load_cuda().is_ok())) && tch::Cuda::is_available()
}

/// The directory of the `libtorch_cpu.so` mapped into this process.
fn libtorch_dir() -> Option<PathBuf> {
    mapped("libtorch_cpu.so").and_then(|p| p.parent().map(Path::to_path_buf))
}

fn loaded_path() -> Option<PathBuf> {
    mapped(LIBTORCH_CUDA)
}

/// The path of a shared object whose file name is `name`, from `/proc/self/maps`.
fn mapped(name: &str) -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(Path::new)
        .find(|p| p.file_name().is_some_and(|f| f == name))
        .map(Path::to_path_buf)
}

/// `dlopen(path, RTLD_NOW | RTLD_GLOBAL)`, kept open for the life of the process: global, as
/// Python's `import torch` does, so that libraries libtorch opens later resolve against it.
fn dlopen_global(path: &Path) -> std::result::Result<(), String> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: `c` is a valid NUL-terminated string; the handle is deliberately never closed.
    let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if handle.is_null() {
        // SAFETY: dlerror returns NULL or a NUL-terminated string owned by libc.
        let err = unsafe { libc::dlerror() };
        let msg = if err.is_null() {
            "dlopen failed".to_string()
        } else {
            unsafe { CStr::from_ptr(err) }
                .to_string_lossy()
                .into_owned()
        };
        return Err(msg);
    }
    Ok(())
}

/// `at::globalContext()`, the process's libtorch settings.
const GLOBAL_CONTEXT: &str = "_ZN2at13globalContextEv";
/// `at::Context::setDeterministicAlgorithms(bool enabled, bool warn_only)`.
const SET_DETERMINISTIC: &str = "_ZN2at7Context26setDeterministicAlgorithmsEbb";
/// `at::Context::deterministicAlgorithms() const`.
const GET_DETERMINISTIC: &str = "_ZNK2at7Context23deterministicAlgorithmsEv";

/// Look a symbol of the loaded libtorch up by its (C++-mangled) name.
fn symbol(name: &str) -> Result<*mut libc::c_void> {
    let c = CString::new(name).map_err(|_| Error::Cuda(format!("bad symbol name {name}")))?;
    // SAFETY: RTLD_DEFAULT searches the objects already loaded; `c` is NUL-terminated.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
    if p.is_null() {
        return Err(Error::Cuda(format!(
            "this libtorch does not export {name} (a different libtorch version?)"
        )));
    }
    Ok(p)
}

fn global_context() -> Result<*mut libc::c_void> {
    let f = symbol(GLOBAL_CONTEXT)?;
    // SAFETY: `at::globalContext()` takes nothing and returns `at::Context&` (a pointer).
    let f: extern "C" fn() -> *mut libc::c_void = unsafe { std::mem::transmute(f) };
    Ok(f())
}

/// PyTorch's `torch.use_deterministic_algorithms(on)`, which tch does not expose: libtorch then
/// picks deterministic kernels (cuDNN included) and refuses ops that have none. `parity` turns it
/// on for CUDA runs, as the Python reference (`python/sppnet_ref/common.py`) does on its side. Reached through libtorch's exported
/// `at::Context` methods, looked up at run time, so a libtorch without them gives an error
/// rather than a failed link.
pub fn set_deterministic_algorithms(on: bool) -> Result<()> {
    let ctx = global_context()?;
    let f = symbol(SET_DETERMINISTIC)?;
    // SAFETY: a non-virtual member function `void (Context*, bool, bool)` in the Itanium ABI.
    let f: extern "C" fn(*mut libc::c_void, bool, bool) = unsafe { std::mem::transmute(f) };
    f(ctx, on, false);
    Ok(())
}

/// PyTorch's `torch.are_deterministic_algorithms_enabled()`.
pub fn deterministic_algorithms() -> Result<bool> {
    let ctx = global_context()?;
    let f = symbol(GET_DETERMINISTIC)?;
    // SAFETY: a non-virtual const member function `bool (const Context*)` in the Itanium ABI.
    let f: extern "C" fn(*mut libc::c_void) -> bool = unsafe { std::mem::transmute(f) };
    Ok(f(ctx))
}

/// What bitwise-reproducible CUDA runs need, as the Python reference sets it: deterministic
/// algorithms on, cuDNN benchmarking off, and a fixed cuBLAS workspace
/// (`CUBLAS_WORKSPACE_CONFIG=:4096:8`, read when the first cuBLAS handle is made, so call this
/// before any CUDA work).
pub fn deterministic_cuda() -> Result<()> {
    if std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
        std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
    }
    tch::Cuda::cudnn_set_benchmark(false);
    set_deterministic_algorithms(true)
}
