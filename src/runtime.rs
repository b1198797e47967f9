//! Process-wide runtime settings: device choice, intra-op threads, input sanity checks.

use tch::Device;

use crate::error::{Error, Result};

/// Parse `auto`, `cpu`, `cuda` or `cuda:N`. `auto` is CUDA device 0 when CUDA is available, else
/// the CPU; asking for CUDA where there is none (or for a device index past the last) is an error.
///
/// CUDA choices load libtorch's CUDA backend first ([`crate::cuda::load_cuda`]); `cpu` never
/// does, and `auto` only where the machine has NVIDIA device nodes.
pub fn parse_device(s: &str) -> Result<Device> {
    let cuda = |i: usize| {
        crate::cuda::load_cuda()
            .map_err(|e| Error::Cuda(format!("device `{s}` asked for, but {e}")))?;
        let n = tch::Cuda::device_count() as usize;
        if i < n {
            Ok(Device::Cuda(i))
        } else if n == 0 {
            Err(Error::Cuda(format!(
                "device `{s}` asked for, but libtorch sees no CUDA device"
            )))
        } else {
            Err(Error::Cuda(format!(
                "device `{s}` asked for, but libtorch sees only {n} CUDA device(s)"
            )))
        }
    };
    match s {
        "auto" if crate::cuda::cuda_available() => Ok(Device::Cuda(0)),
        "auto" => Ok(Device::Cpu),
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(i)) => cuda(i),
            _ => Err(Error::Config(format!(
                "unknown device `{s}` (auto, cpu, cuda, cuda:N)"
            ))),
        },
    }
}

/// A device as the command line and the reports spell it: `cpu` or `cuda:N`.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}

/// Set libtorch's intra-op thread count: `threads` when given, else `OMP_NUM_THREADS` when set,
/// else libtorch's default. Returns the count in force.
///
/// Bitwise parity of convolutions and linear layers with PyTorch needs the same count on both
/// sides (docs/FACTS.md §8).
pub fn configure_threads(threads: Option<usize>) -> Result<i32> {
    let from_env = || -> Result<Option<usize>> {
        match std::env::var("OMP_NUM_THREADS") {
            Ok(v) if !v.trim().is_empty() => {
                v.trim().parse::<usize>().map(Some).map_err(|_| {
                    Error::Config(format!("OMP_NUM_THREADS=`{v}` is not a thread count"))
                })
            }
            _ => Ok(None),
        }
    };
    let wanted = match threads {
        Some(n) => Some(n),
        None => from_env()?,
    };
    if let Some(n) = wanted {
        if n == 0 || n > 256 {
            return Err(Error::Config(format!(
                "thread count must be 1..=256, got {n}"
            )));
        }
        tch::set_num_threads(n as i32);
    }
    Ok(tch::get_num_threads())
}

/// The libtorch this binary was built against and runs with (the rpath points at it).
pub const LIBTORCH_VERSION: &str = env!("SPPNET_LIBTORCH_VERSION");

/// What `sppnet --version` reports: versions, CUDA and cuDNN linked and visible, threads.
///
/// It loads libtorch's CUDA backend (as a CUDA device choice would) in order to report on it.
pub fn environment() -> String {
    let backend = match crate::cuda::load_cuda() {
        Ok(path) => format!("loaded on demand from {}", path.display()),
        Err(e) => format!("not loadable: {e}"),
    };
    // Loaded, as opposed to usable: libtorch's hasCUDA() also needs a driver and a device.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let cudnn_loaded = if maps.contains("libcudnn") {
        "yes"
    } else {
        "no"
    };
    let devices = tch::Cuda::device_count();
    let cudnn = if tch::Cuda::cudnn_is_available() {
        format!("yes (cuDNN {})", tch::utils::version_cudnn())
    } else {
        "no".into()
    };
    format!(
        "{}\nlibtorch {LIBTORCH_VERSION} (tch {})\nlibtorch_cuda: {backend}; libcudnn loaded: \
         {cudnn_loaded}\nCUDA usable: {}; CUDA devices visible: {devices}; cuDNN usable: {cudnn}\n\
         intra-op threads: {} (--threads, else $OMP_NUM_THREADS)",
        env!("CARGO_PKG_VERSION"),
        env!("SPPNET_TCH_VERSION"),
        if tch::utils::has_cuda() { "yes" } else { "no" },
        tch::get_num_threads()
    )
}

/// This process's peak resident set size in KiB (`VmHWM` from /proc/self/status: the
/// high-water mark of the current address space, which — unlike `ru_maxrss` — does not include
/// what a forked child inherited before `exec`). `None` where /proc is unavailable.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The environment variable that makes `sppnet` print its peak RSS on stderr when it exits
/// (`sppnet-peak-rss-kib: N`), for `sppnet bench`'s whole-process measurement.
pub const REPORT_PEAK_RSS: &str = "SPPNET_REPORT_PEAK_RSS";

/// The CPU's `model name` from /proc/cpuinfo (`unknown` where it is not there). libtorch picks
/// convolution kernels by instruction set, so results can differ in the last bits between CPUs.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
