//! `sppnet port` and `sppnet inspect` on crafted and broken files: one `error:` line, exit code
//! 1, no file written. (Live files from Python: tests/port.rs.)

use crate::common;

use crate::common::{assert_fails, s, sppnet};
use sppnet::io::read_safetensors;
use torch_pickle::craft::{small_state_dict, torch_file, Pk};

#[test]
fn port_and_inspect_refuse_broken_files_with_one_line() {
    let dir = common::tempdir();
    let d = dir.path();
    let out = d.join("out.safetensors");
    let o = s(&out);
    let write = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let good = small_state_dict();
    let data = [0u8; 16];
    let short = Pk::new()
        .dict()
        .str("conv.weight")
        .tensor("FloatStorage", "0", 100, 0, &[4, 1, 5, 5], &[25, 25, 5, 1])
        .setitem()
        .stop();
    let mut crc = good.clone();
    let at = crc
        .windows(4)
        .position(|w| w == 3.0f32.to_le_bytes())
        .unwrap();
    crc[at] ^= 1;
    let cases = [
        (
            write("trunc.pt", &good[..good.len() - 9]),
            "corrupt zip archive",
        ),
        (
            write(
                "legacy.pt",
                &[0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46],
            ),
            "legacy torch.save format",
        ),
        (
            write("text.pt", b"hello, not a checkpoint"),
            "not a torch.save file",
        ),
        (write("crc.pt", &crc), "CRC-32"),
        (
            write("short.pt", &torch_file(&short.0, &[("0", &data)])),
            "storage holds 16 bytes",
        ),
        (
            write("opcode.pt", &torch_file(&[0x80, 2, 0xfe], &[])),
            "unknown opcode 0xfe",
        ),
        (
            write("memo.pt", &torch_file(&[0x80, 2, b'h', 3, b'.'], &[])),
            "memo reference 3 out of range",
        ),
        (
            write("scalar.pt", &torch_file(&[0x80, 2, b'K', 7, b'.'], &[])),
            "not a module or a dict of weights",
        ),
    ];
    for (path, needle) in &cases {
        assert_fails(&["port", s(path), "-o", o], needle, &out);
    }
    for (path, needle) in cases.iter().filter(|(_, n)| {
        ![
            "CRC-32",
            "storage holds 16 bytes",
            "not a module or a dict of weights",
        ]
        .contains(n)
    }) {
        assert_fails(&["inspect", s(path)], needle, &out);
    }
    let small = write("small.pt", &good);
    assert_fails(
        &["port", s(&small), "-o", o],
        "cannot tell the architecture",
        &out,
    );
    assert_fails(
        &["port", s(&small), "-o", o, "--module", "nope"],
        "no tensor under `nope.`",
        &out,
    );
    assert_fails(
        &["port", s(&small), "-o", o, "--arch", "sppx"],
        "unknown --arch",
        &out,
    );
    assert_fails(
        &["port", s(&d.join("missing.pt")), "-o", o],
        "No such file",
        &out,
    );
    let (code, text, err) = sppnet(&["inspect", s(&small)]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("w f32 [2,2]"), "{text}");
}

#[test]
fn port_checks_strictly_and_states_its_assumptions() {
    let dir = common::tempdir();
    let d = dir.path();
    // A Conv state_dict (c1 2 → c2 4, k 1) with a stray key and a missing running_var.
    let f32s = |n: usize| {
        (0..n)
            .flat_map(|i| (i as f32 * 0.25 - 1.0).to_le_bytes())
            .collect::<Vec<u8>>()
    };
    let (w, v) = (f32s(8), f32s(4));
    let entry = |pk: Pk, key: &str, storage: &str, numel: i64, shape: &[i64], stride: &[i64]| {
        pk.str(key)
            .tensor("FloatStorage", storage, numel, 0, shape, stride)
            .setitem()
    };
    let mut pk = Pk::new().dict();
    pk = entry(pk, "conv.weight", "0", 8, &[4, 2, 1, 1], &[2, 1, 1, 1]);
    for (key, st) in [
        ("bn.weight", "1"),
        ("bn.bias", "2"),
        ("bn.running_mean", "3"),
    ] {
        pk = entry(pk, key, st, 4, &[4], &[1]);
    }
    pk = entry(pk, "bn.extra", "4", 4, &[4], &[1]);
    let file = torch_file(
        &pk.stop().0,
        &[("0", &w), ("1", &v), ("2", &v), ("3", &v), ("4", &v)],
    );
    let src = d.join("conv.pt");
    std::fs::write(&src, file).unwrap();
    let out = d.join("conv.safetensors");
    let (code, _, err) = sppnet(&["port", s(&src), "-o", s(&out)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("missing `bn.running_var`") && err.contains("unexpected `bn.extra`"),
        "{err}"
    );
    assert!(!out.exists());

    // Without the stray key and with running_var: ported, with its assumptions printed.
    let mut pk = Pk::new().dict();
    pk = entry(pk, "conv.weight", "0", 8, &[4, 2, 1, 1], &[2, 1, 1, 1]);
    for (key, st) in [
        ("bn.weight", "1"),
        ("bn.bias", "2"),
        ("bn.running_mean", "3"),
        ("bn.running_var", "4"),
    ] {
        pk = entry(pk, key, st, 4, &[4], &[1]);
    }
    let file = torch_file(
        &pk.stop().0,
        &[
            ("0", &w),
            ("1", &v),
            ("2", &v),
            ("3", &v),
            ("4", &f32s(4).iter().map(|b| b | 0x3f).collect::<Vec<u8>>()),
        ],
    );
    std::fs::write(&src, file).unwrap();
    let (code, _, err) = sppnet(&[
        "port",
        s(&src),
        "-o",
        s(&out),
        "--bn-eps",
        "0.001",
        "--act",
        "ReLU",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("read:")
            && err.contains("inferred:")
            && err.contains("assumed:")
            && err.contains("stride 1"),
        "{err}"
    );
    let f = read_safetensors(&out).unwrap();
    assert_eq!(f.metadata["sppnet.arch"], "conv");
    assert!(
        f.metadata["sppnet.config"].contains("\"act\":\"ReLU\"")
            && f.metadata["sppnet.config"].contains("0.001")
    );
    let (code, _, err) = sppnet(&["port", s(&src), "-o", s(&out)]);
    assert!(code == 1 && err.contains("already exists"), "{err}");
}

#[test]
fn big_endian_archives_are_converted() {
    use sppnet::port::torch::to_tensor;
    use torch_pickle::walk::{find_root, Root, Source};
    let floats: Vec<u8> = [1.5f32, -2.0, 3.25, 4.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let longs: Vec<u8> = [7i64, -9].iter().flat_map(|v| v.to_be_bytes()).collect();
    let pk = Pk::new()
        .dict()
        .str("f")
        .tensor("FloatStorage", "0", 4, 0, &[2, 2], &[1, 2])
        .setitem()
        .str("l")
        .tensor("LongStorage", "1", 2, 0, &[2], &[1])
        .setitem()
        .stop();
    let entries: [(&str, &[u8]); 4] = [
        ("archive/data.pkl", &pk.0),
        ("archive/byteorder", b"big"),
        ("archive/data/0", &floats),
        ("archive/data/1", &longs),
    ];
    let bytes = torch_pickle::craft::write_stored(&entries);
    let archive = torch_pickle::Archive::open(&bytes).unwrap();
    assert_eq!(archive.byteorder, torch_pickle::ByteOrder::Big);
    let (Root::StateDict(sd), _) = find_root(&archive.pickle, Source::Model).unwrap() else {
        panic!("a state_dict")
    };
    let f = to_tensor(&archive, &mut Default::default(), "f", &sd[0].1).unwrap();
    // Column-major view (stride [1, 2]) of [1.5, -2, 3.25, 4].
    assert_eq!(
        Vec::<f32>::try_from(f.flatten(0, -1)).unwrap(),
        [1.5, 3.25, -2.0, 4.0]
    );
    let l = to_tensor(&archive, &mut Default::default(), "l", &sd[1].1).unwrap();
    assert_eq!(Vec::<i64>::try_from(l).unwrap(), [7, -9]);
}

/// Checkpoints in the patterns older ultralytics versions pickle (8.0's training namespace, a
/// `getattr(Detect, "forward")`, a classifier's torchvision transforms), made by ultralytics
/// itself: each ports with no `--accept-global` and runs; the namespace's imgsz is read.
#[test]
fn legacy_checkpoint_patterns_port_without_accepting_globals() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    crate::common::run_python("legacy", &[d.as_os_str()]);
    for name in ["namespace.pt", "getattr.pt", "transforms.pt"] {
        let src = d.join(name);
        let out = d.join(format!("{name}.safetensors"));
        let (code, _, err) = crate::common::sppnet(&["port", s(&src), "-o", s(&out)]);
        assert_eq!(code, 0, "{name}: {err}");
        let (code, shown, err) = crate::common::sppnet(&["inspect", s(&src)]);
        assert!(
            code == 0 && !shown.contains("WARNING"),
            "{name}: {err}{shown}"
        );
    }
    let img = d.join("a.png");
    image::RgbImage::from_pixel(64, 48, image::Rgb([90, 120, 200]))
        .save(&img)
        .unwrap();
    let (code, _, err) = crate::common::sppnet(&["detect", s(&d.join("namespace.pt")), s(&img)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("--imgsz 320, the size the model was trained at"),
        "{err}"
    );
}
