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
