//! `sppnet port WEIGHTS --yaml MODEL.yaml`: a detector built from a model yaml, its weights from
//! a plain state_dict (here written by sppnet itself, keys with and without `model.`), then run
//! by `sppnet forward` exactly as the library runs it; and bad yamls and flags refused in one
//! line. (Against ultralytics itself, live: tests/parity/yaml_build.rs.)

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::{assert_fails, s, sppnet};
use sppnet::modules::parse_model::{parse_model, YamlOptions};
use sppnet::modules::{DetectionModel, Notes, Spec};
use sppnet::port::{port, PortOptions};
use sppnet::Model;
use tch::{Device, Kind, Tensor};

/// A small SPPF detector in ultralytics' yaml dialect, two scales.
const TINY: &str = r#"
nc: 3
scales: # depth, width, max_channels
  n: [0.33, 0.25, 1024]
  s: [0.33, 0.50, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]] # 0-P1/2
  - [-1, 1, Conv, [128, 3, 2]] # 1-P2/4
  - [-1, 3, C2f, [128, True]]
  - [-1, 1, Conv, [256, 3, 2]] # 3-P3/8
  - [-1, 1, SPPF, [256, 5]]
head:
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 2], 1, Concat, [1]]
  - [-1, 1, C2f, [128]] # 7 (P2/4)
  - [[7, 4], 1, Detect, [nc]]
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The first conv's output channels of a ported file.
fn width(path: &Path) -> i64 {
    let p = port(path, &PortOptions::default()).unwrap();
    p.tensors
        .iter()
        .find(|(k, _)| k == "model.0.conv.weight")
        .unwrap()
        .1
        .size()[0]
}

#[test]
fn a_yaml_and_a_state_dict_make_the_model_the_library_runs() {
    let dir = common::tempdir();
    let d = dir.path();
    // The scale comes from the file name (`…yolov8s…` → s), as ultralytics reads it.
    let yaml = write(d, "tiny-yolov8s.yaml", TINY);
    let json = sppnet::port::yaml::read(&yaml).unwrap();
    let opts = YamlOptions {
        scale: Some("s".into()),
        ..Default::default()
    };
    let config = parse_model(&json, &opts, &mut Notes::new()).unwrap();
    assert_eq!(config.stride, vec![4.0, 8.0], "strides measured at 256×256");
    let model = Model::new(Spec::of::<DetectionModel>(&config).unwrap(), Device::Cpu).unwrap();
    let sd = model.state_dict();
    // Keys as `model.state_dict()` writes them, and as `model.model.state_dict()` does.
    let full = common::save_named(d, "full.safetensors", &sd);
    let bare: Vec<(String, Tensor)> = sd
        .iter()
        .map(|(k, t)| {
            (
                k.trim_start_matches("model.").to_string(),
                t.shallow_clone(),
            )
        })
        .collect();
    let bare = common::save_named(d, "bare.safetensors", &bare);
    let x = Tensor::f_rand([1, 3, 96, 64], (Kind::Float, Device::Cpu)).unwrap();
    let input = common::save(d, "x.safetensors", vec![("input", x.shallow_clone())]);
    let expected = model.forward(&x).unwrap();
    for (weights, extra) in [(&full, vec![]), (&bare, vec!["--scale", "s"])] {
        let out = d.join("m.safetensors");
        let mut args = vec![
            "port",
            s(weights),
            "--yaml",
            s(&yaml),
            "-o",
            s(&out),
            "--force",
        ];
        args.extend(extra);
        let (code, _, err) = sppnet(&args);
        assert_eq!(code, 0, "{err}");
        let y = d.join("y.safetensors");
        let (code, _, err) = sppnet(&[
            "forward",
            "--weights",
            s(&out),
            s(&input),
            "-o",
            s(&y),
            "--force",
        ]);
        assert_eq!(code, 0, "{err}");
        let got = &sppnet::io::read_safetensors(&y).unwrap().tensors[0].1;
        assert!(
            common::compare(got, &expected).bitwise,
            "{}",
            weights.display()
        );
        assert_eq!(width(&out), 32, "scale s: 64 × 0.5");
    }
    // A state_dict saved after `fuse()` (biases, no BatchNorm) gets the fused layout.
    let fused = model.fuse().unwrap();
    let fsd = fused.state_dict();
    let fpath = common::save_named(d, "fused.safetensors", &fsd);
    let (out, y) = (d.join("f.safetensors"), d.join("fy.safetensors"));
    let (code, _, err) = sppnet(&["port", s(&fpath), "--yaml", s(&yaml), "-o", s(&out)]);
    assert!(code == 0 && err.contains("weights are fused"), "{err}");
    let (code, _, err) = sppnet(&["forward", "--weights", s(&out), s(&input), "-o", s(&y)]);
    assert_eq!(code, 0, "{err}");
    let got = &sppnet::io::read_safetensors(&y).unwrap().tensors[0].1;
    assert!(
        common::compare(got, &fused.forward(&x).unwrap()).bitwise,
        "fused"
    );
    // `--scale n` is another model: its weights do not fit, and every mis-shaped key is named.
    let out = d.join("n.safetensors");
    assert_fails(
        &[
            "port",
            s(&full),
            "--yaml",
            s(&yaml),
            "--scale",
            "n",
            "-o",
            s(&out),
        ],
        "model.0.conv.weight",
        &out,
    );
}

#[test]
fn bad_yamls_and_flags_are_refused_in_one_line() {
    let dir = common::tempdir();
    let d = dir.path();
    let weights = common::save(
        d,
        "w.safetensors",
        vec![(
            "model.0.conv.weight",
            Tensor::zeros([16, 3, 3, 3], (Kind::Float, Device::Cpu)),
        )],
    );
    let w = s(&weights);
    let out = d.join("out.safetensors");
    let o = s(&out);
    let tiny = write(d, "tiny.yaml", TINY);
    let (t, absent) = (s(&tiny), d.join("absent.yaml"));
    // Yamls that do not describe a model: (file, text, what the error names).
    let files = [
        ("bad.yaml", "nc: [1, 2\nbackbone: {", "not YAML"),
        ("list.yaml", "- 1\n- 2\n", "must be a mapping"),
        ("empty.yaml", "nc: 2\n", "needs 1 to 4096 layers"),
        (
            "unknown.yaml",
            "nc: 2\nbackbone:\n  - [-1, 1, Foo, [8]]\n  - [-1, 1, Bar, [8]]\nhead: []\n",
            "Foo",
        ),
        (
            "row.yaml",
            "nc: 2\nbackbone:\n  - [-1, 1, Conv]\n",
            "[from, number, module, args]",
        ),
        (
            "from.yaml",
            "nc: 2\nbackbone:\n  - [-1, 1, Conv, [8]]\n  - [5, 1, Conv, [8]]\n",
            "layer 5",
        ),
        (
            "args.yaml",
            "nc: 2\nbackbone:\n  - [-1, 1, Conv, [8, 3, 1, null, 1, 1, true, 9]]\n",
            "at most 8 arguments",
        ),
        (
            "act.yaml",
            "nc: 2\nactivation: nn.Swish()\nbackbone:\n  - [-1, 1, Conv, [8]]\n",
            "unsupported activation",
        ),
    ];
    let mut cases: Vec<(Vec<String>, &str)> = files
        .iter()
        .map(|&(name, text, needle)| (vec![s(&write(d, name, text)).to_string()], needle))
        .collect();
    // Flags that do not go together, or a file that is not there.
    let flags: [(&[&str], &str); 4] = [
        (&[s(&absent)], "absent.yaml"),
        (&[t, "--scale", "z"], "no scale `z`"),
        (&[t, "--module", "model.4"], "cannot be combined"),
        (&[t, "--ultralytics-version", "eight"], "not a version"),
    ];
    cases.extend(
        flags
            .iter()
            .map(|(a, n)| (a.iter().map(|x| x.to_string()).collect(), *n)),
    );
    for (extra, needle) in cases {
        let mut args = vec!["port", w, "-o", o, "--yaml"];
        args.extend(extra.iter().map(String::as_str));
        assert_fails(&args, needle, &out);
    }
    assert_fails(&["port", w, "-o", o, "--scale", "n"], "--yaml", &out);
}
