//! Link libtorch so that binaries run without LD_LIBRARY_PATH.
//!
//! torch-sys (a direct dependency, `links = "tch"`) tells us where libtorch lives through
//! `DEP_TCH_LIBTORCH_LIB`. We embed that directory as an rpath, canonicalised so that it does
//! not go through the checkout's `.libtorch` link.
//!
//! The CUDA backend is deliberately *not* linked: the default `--as-needed` drops
//! `libtorch_cuda.so`, and `sppnet::cuda::load_cuda` `dlopen`s it when a CUDA device is asked
//! for, before libtorch's first CUDA query. A CPU run so starts in a fraction of the time and
//! memory (docs/FACTS.md §1, README "Benchmarks").
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=DEP_TCH_LIBTORCH_LIB is not set; no libtorch rpath embedded");
        return;
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.into());
    // The linked libtorch's version, for `sppnet --version` (pip's torch/version.py).
    let version = std::fs::read_to_string(dir.join("../version.py"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("__version__"))?;
            Some(line.split(['\'', '"']).nth(1)?.to_string())
        });
    println!(
        "cargo:rustc-env=SPPNET_LIBTORCH_VERSION={}",
        version.as_deref().unwrap_or("unknown")
    );
    // The tch release in use, for `sppnet --version` (a scratch build may swap it; see
    // scripts/gpu-check.sh).
    println!("cargo:rerun-if-changed=Cargo.lock");
    let tch = std::fs::read_to_string("Cargo.lock").ok().and_then(|lock| {
        let key = "\nname = \"tch\"\nversion = \"";
        let at = lock.find(key)? + key.len();
        Some(lock[at..].split('"').next()?.to_string())
    });
    println!(
        "cargo:rustc-env=SPPNET_TCH_VERSION={}",
        tch.as_deref().unwrap_or("unknown")
    );
    println!("cargo:rustc-link-arg=-Wl,-rpath={}", dir.display());
}
