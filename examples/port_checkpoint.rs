//! Port a `torch.save` file (a state_dict, a training checkpoint, a pickled module such as an
//! ultralytics `best.pt`) to a self-describing safetensors file, from Rust, without Python.
//!
//! ```sh
//! cargo run --example port_checkpoint -- best.pt sppf.safetensors model.9
//! ```
//!
//! The third argument is the dotted path of the module to port (default: the root).

use std::path::PathBuf;

use sppnet::port::{port, save, PortOptions};
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
    let mut args = std::env::args_os().skip(1);
    let (Some(src), Some(dst)) = (args.next(), args.next()) else {
        return Err("usage: port_checkpoint SRC.pt DST.safetensors [MODULE]".into());
    };
    let opts = PortOptions {
        module: args.next().map(|m| m.to_string_lossy().into_owned()),
        ..Default::default()
    };
    let ported = port(&PathBuf::from(&src), &opts)?;
    for line in ported
        .read
        .iter()
        .chain(&ported.inferred)
        .chain(&ported.assumed)
    {
        println!("{line}");
    }
    save(&ported, &PathBuf::from(&dst), false)?;
    // The file is self-describing: loading it needs nothing else.
    let model = Model::load(&dst, Device::Cpu)?;
    println!(
        "wrote {} ({} tensors): {}",
        dst.to_string_lossy(),
        ported.tensors.len(),
        model.spec()
    );
    Ok(())
}
