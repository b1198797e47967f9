//! The README stays true: the two commands come first and the bin-rule table is exactly what
//! `sppnet sizes` prints. (Its Rust example runs as a doctest, see `ReadmeDoctests`.)

use crate::common;

#[test]
fn readme_starts_with_the_two_commands_and_has_the_live_size_table() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let first_block = readme.split("```").nth(1).expect("a code block");
    assert!(
        first_block.contains("make demo") && first_block.contains("make test"),
        "{first_block}"
    );
    let (code, table, err) = common::sppnet(&["sizes", "--levels", "4,2,1", "--max", "32"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        readme.contains(&table),
        "README's size table is stale; `sppnet sizes` prints:\n{table}"
    );
    let ci = std::fs::read_to_string(common::root().join(".ci/run")).unwrap();
    assert!(
        ci.contains("make test"),
        ".ci/run must run the README's test command"
    );
}

/// Every `sppnet pool … --op` example of the pooling-table section runs as written, on a
/// feature map and rois made here.
#[test]
fn readme_pooling_examples_run() {
    use sppnet::io::write_safetensors;
    use tch::{Device, Kind, Tensor};
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let section = readme
        .split("## The seed's pooling table")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the pooling-table section");
    let examples: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("sppnet pool ") && l.contains("--op "))
        .collect();
    let ops: std::collections::BTreeSet<&str> = examples
        .iter()
        .filter_map(|l| l.split("--op ").nth(1)?.split(' ').next())
        .collect();
    assert_eq!(ops.len(), 6, "one example per op: {ops:?}");
    let dir = common::tempdir();
    let x = Tensor::rand([2, 4, 32, 24], (Kind::Float, Device::Cpu));
    let rois =
        Tensor::from_slice(&[0f32, 0., 0., 300., 400., 1., 40., 16., 200., 100.]).view([2, 5]);
    let save = |name: &str, t: Tensor| {
        write_safetensors(
            dir.path().join(name),
            &[("x".to_string(), t)],
            &Default::default(),
            true,
        )
        .unwrap()
    };
    save("features.safetensors", x);
    save("rois.safetensors", rois);
    for line in examples {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sppnet"))
            .args(&args)
            .arg("--force")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
