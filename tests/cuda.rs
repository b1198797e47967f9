//! The CUDA backend is loaded on demand (src/cuda.rs), and loading it late still registers
//! libtorch's CUDA hooks. In its own binary: the process must start without it.

use tch::{Device, Kind, Tensor};

/// What libtorch says when a CUDA op meets the stub hooks (backend never registered).
const STUB: &str = "without ATen_cuda library";

#[test]
fn cuda_backend_loads_on_demand_and_registers_its_hooks() {
    assert!(
        !sppnet::cuda::is_loaded(),
        "libtorch_cuda.so is mapped at start: the binary links it (build.rs must not)"
    );
    // CPU work and a `cpu` device choice leave it alone.
    assert_eq!(sppnet::runtime::parse_device("cpu").unwrap(), Device::Cpu);
    let x = Tensor::f_randn([2, 3], (Kind::Float, Device::Cpu)).unwrap();
    let _ = x.f_matmul(&x.f_tr().unwrap()).unwrap();
    if !sppnet::cuda::gpu_nodes_present() {
        assert_eq!(sppnet::runtime::parse_device("auto").unwrap(), Device::Cpu);
        assert!(
            !sppnet::cuda::is_loaded(),
            "`auto` without GPU nodes loaded it"
        );
    }

    let path = sppnet::cuda::load_cuda().expect("the venv's CUDA libtorch has libtorch_cuda.so");
    assert!(sppnet::cuda::is_loaded(), "{} not mapped", path.display());
    assert!(
        path.is_absolute() && path.ends_with("libtorch_cuda.so"),
        "{}",
        path.display()
    );

    // The hooks are the real ones: a CUDA op either works (GPU machine) or fails for want of a
    // driver or device, never with the stub's "build without ATen_cuda" message.
    match Tensor::f_zeros([1], (Kind::Float, Device::Cuda(0))) {
        Ok(t) => assert_eq!(t.device(), Device::Cuda(0)),
        Err(e) => {
            let e = e.to_string();
            assert!(
                !e.contains(STUB),
                "hooks not registered by the late load: {e}"
            );
            assert!(
                e.to_lowercase().contains("driver") || e.contains("device"),
                "{e}"
            );
        }
    }
}

#[test]
fn deterministic_algorithms_switch_round_trips() {
    // tch has no such switch; ours calls libtorch's at::Context directly.
    assert!(
        !sppnet::cuda::deterministic_algorithms().unwrap(),
        "off by default"
    );
    sppnet::cuda::set_deterministic_algorithms(true).unwrap();
    assert!(sppnet::cuda::deterministic_algorithms().unwrap());
    sppnet::cuda::set_deterministic_algorithms(false).unwrap();
    assert!(!sppnet::cuda::deterministic_algorithms().unwrap());
}
