//! SIGKILL during a write: the output is never truncated or half-written (it is the old file or
//! the new one, whole), and the temporaries a killed run leaves are removed by the next write.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, s};
use sppnet::io::{read_safetensors, write_safetensors, TEMP_PREFIX};
use tch::{Device, Kind, Tensor};

fn temporaries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(TEMP_PREFIX))
        .collect()
}

#[test]
fn killed_writes_never_leave_a_broken_output_and_are_cleaned_up() {
    let dir = common::tempdir();
    let d = dir.path();
    // A 64 MiB state_dict to port (a Conv with 4096 × 4096 weights), and an old output.
    let big = d.join("big.safetensors");
    let w = Tensor::ones([4096, 4096, 1, 1], (Kind::Float, Device::Cpu));
    let mut tensors = vec![("conv.weight".to_string(), w)];
    for k in ["weight", "bias", "running_mean", "running_var"] {
        tensors.push((
            format!("bn.{k}"),
            Tensor::ones([4096], (Kind::Float, Device::Cpu)),
        ));
    }
    let meta = [
        ("sppnet.arch", "conv"),
        ("sppnet.config", r#"{"c1": 4096, "c2": 4096}"#),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into_iter()
    .collect();
    write_safetensors(&big, &tensors, &meta, true).unwrap();
    let out = d.join("out.safetensors");
    std::fs::write(&out, b"the old output").unwrap();
    let old = std::fs::read(&out).unwrap();

    let (mut killed, mut finished, mut left_behind) = (0, 0, 0);
    for i in 0..24 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sppnet"))
            .args(["port", s(&big), "-o", s(&out), "--force"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(40 + 25 * i));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if status.success() {
            finished += 1;
        } else {
            killed += 1;
        }
        let now = std::fs::read(&out).unwrap();
        if now != old {
            // Replaced: then it is the whole new file.
            let f = read_safetensors(&out).unwrap();
            assert_eq!(f.get("conv.weight").unwrap().size(), [4096, 4096, 1, 1]);
        }
        left_behind += temporaries(d).len();
        assert!(start.elapsed() < Duration::from_secs(60));
    }
    println!("{killed} killed, {finished} finished, {left_behind} temporaries seen");
    assert!(
        killed > 0,
        "no run was killed mid-way: the test proves nothing"
    );
    // The next write to the folder removes what the killed runs left.
    let next = d.join("next.safetensors");
    let (code, _, err) = common::sppnet(&["port", s(&big), "-o", s(&next)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(temporaries(d), Vec::<String>::new());
}
