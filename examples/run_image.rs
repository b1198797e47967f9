//! Load a ported checkpoint and run it on an image of any size.
//!
//! ```sh
//! cargo run --example run_image -- weights/sppnet_tiny.safetensors photo.png
//! ```
//!
//! The checkpoint is self-describing (class and config in its metadata: what `sppnet port`
//! writes); the image is decoded to RGB in [0, 1] and normalised with ImageNet's statistics.

use std::path::PathBuf;

use sppnet::images::{load_image, top_k, Normalize, DEFAULT_MAX_PIXELS};
use sppnet::Model;
use tch::Device;

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
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [weights, image] = args.as_slice() else {
        return Err("usage: run_image WEIGHTS.safetensors IMAGE.png".into());
    };
    let model = Model::load(weights, Device::Cpu)?;
    let x = load_image(image, &Normalize::default(), DEFAULT_MAX_PIXELS)?.unsqueeze(0);
    let y = model.forward(&model.prepare_input(&x)?)?;
    println!(
        "{} on {:?}: output {:?}",
        model.spec().class(),
        x.size(),
        y.size()
    );
    if y.dim() == 2 {
        for (class, score) in top_k(&y.get(0), 3)? {
            println!("class {class}: {score:.4}");
        }
    }
    Ok(())
}
