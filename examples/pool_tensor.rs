//! Pool a tensor with the spatial pyramid, under each bin rule.
//!
//! ```sh
//! cargo run --example pool_tensor                      # a random 2×64×13×13 map
//! cargo run --example pool_tensor -- IN.safetensors    # the file's only tensor (NCHW)
//! ```

use sppnet::io::read_safetensors;
use sppnet::{spatial_pyramid_pool, Rule};
use tch::{Device, Kind, Tensor};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let x = match std::env::args_os().nth(1) {
        Some(path) => {
            let file = read_safetensors(&path)?;
            let [(_, t)] = file.tensors.as_slice() else {
                return Err(format!("{path:?} must hold exactly one tensor").into());
            };
            t.shallow_clone()
        }
        None => {
            tch::manual_seed(0);
            Tensor::randn([2, 64, 13, 13], (Kind::Float, Device::Cpu))
        }
    };
    let levels = [4, 2, 1];
    for rule in Rule::ALL {
        match spatial_pyramid_pool(&x, &levels, rule) {
            // One fixed-length row per sample, whatever the map size: C · (16 + 4 + 1).
            Ok(v) => println!("{rule:>9}: {:?} -> {:?}", x.size(), v.size()),
            Err(e) => println!("{rule:>9}: {e}"),
        }
    }
    Ok(())
}
