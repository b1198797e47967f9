//! SIGKILL during a write: the output is never truncated or half-written (it is the old file or
//! the new one, whole), and the temporaries a killed run leaves are removed by the next write —
//! for `port`'s one file and for `detect`'s pictures, where the inputs and a user's look-alike
//! temporaries are never touched either.

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

#[test]
fn killed_detect_runs_leave_whole_pictures_untouched_inputs_and_user_files() {
    let dir = common::tempdir();
    let d = dir.path();
    common::run_python("predict", &["fixtures".as_ref(), d.as_os_str()]);
    let photos = d.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for i in 0..24u32 {
        let (w, h) = (320 + 8 * i, 240);
        let px: Vec<u8> = (0..w * h * 3).map(|k| ((k * 31 + i) % 253) as u8).collect();
        image::RgbImage::from_raw(w, h, px)
            .unwrap()
            .save(photos.join(format!("p{i:02}.png")))
            .unwrap();
    }
    let inputs = crate::hostile_tree::snapshot(&photos);
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    // Earlier outputs, and a user's files that look like sppnet's temporaries.
    for i in 0..24 {
        std::fs::write(out.join(format!("p{i:02}.png")), b"old picture").unwrap();
    }
    let mine = [
        ".sppnet-tmp-999999-mine",
        ".sppnet-tmp-4000000-0123456789abcdef-0123456789abcdef",
    ];
    for m in mine {
        std::fs::write(out.join(m), b"the user's").unwrap();
    }
    std::os::unix::fs::symlink(d.join("victim"), out.join(".sppnet-tmp-999998-link")).unwrap();
    let weights = d.join("detector.pt");
    let args = ["detect", s(&weights), s(&photos), "--device", "cpu"];
    let (mut killed, mut whole, mut old) = (0, 0, 0);
    for i in 0..12u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sppnet"))
            .args(args)
            .args(["--save-dir", s(&out), "--force"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300 + 150 * i));
        let _ = child.kill();
        killed += usize::from(!child.wait().unwrap().success());
        for i in 0..24 {
            let bytes = std::fs::read(out.join(format!("p{i:02}.png"))).unwrap();
            if bytes == b"old picture" {
                old += 1;
            } else {
                let img = image::load_from_memory(&bytes).expect("a whole picture");
                assert_eq!(img.height(), 240);
                whole += 1;
            }
        }
        assert_eq!(
            crate::hostile_tree::snapshot(&photos),
            inputs,
            "an input changed"
        );
    }
    println!("{killed} killed; pictures seen whole {whole}, old {old}");
    assert!(
        killed > 0 && old > 0,
        "no run was killed before its last picture: proves nothing"
    );
    // A whole run afterwards: every picture new, the killed runs' temporaries gone, the user's
    // look-alikes still there.
    let (code, _, err) = common::sppnet(&[&args[..], &["--save-dir", s(&out), "--force"]].concat());
    assert_eq!(code, 0, "{err}");
    let left: Vec<String> = temporaries(&out);
    let mut expected: Vec<String> = mine.iter().map(|m| m.to_string()).collect();
    expected.push(".sppnet-tmp-999998-link".into());
    expected.sort();
    let mut left = left;
    left.sort();
    assert_eq!(left, expected, "only the user's look-alikes may remain");
    for m in mine {
        assert_eq!(std::fs::read(out.join(m)).unwrap(), b"the user's");
    }
    assert!(out
        .join(".sppnet-tmp-999998-link")
        .symlink_metadata()
        .is_ok());
}
