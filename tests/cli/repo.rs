//! The repository's own rules, checked: the library's layers only point down (as
//! docs/ARCHITECTURE.md lists them), files stay under 400 lines, and nothing refers to files
//! outside the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common;

/// docs/ARCHITECTURE.md's layers: a module may use modules of its own layer or above.
const LAYERS: [&[&str]; 7] = [
    &[
        "error", "tensor", "compare", "runtime", "cuda", "io", "text",
    ],
    &["ops", "nn", "images"],
    &["modules"],
    &["model"],
    &["port"],
    &["reference", "detect"],
    &["parity", "bench"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// The top-level library module a file of `src/` belongs to.
fn owner(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root.join("src")).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

#[test]
fn library_layers_only_point_down_and_have_no_cycles() {
    let root = common::root();
    let mut rs = Vec::new();
    files(&root.join("src"), "rs", &mut rs);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in &rs {
        let Some(module) = owner(&root, file) else {
            continue;
        };
        if ["lib", "main", "cli"].contains(&module.as_str()) {
            continue;
        }
        let from = layer(&module).unwrap_or_else(|| panic!("{module} is in no layer"));
        let text = std::fs::read_to_string(file).unwrap();
        // Code only: doc links (`[`crate::cuda::load_cuda`]`) are not imports.
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let text = code;
        for (i, _) in text.match_indices("crate::") {
            let used: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let Some(to) = layer(&used) else { continue };
            if to > from {
                problems.push(format!("{} uses crate::{used}", file.display()));
            }
            if used != module {
                edges.entry(module.clone()).or_default().insert(used);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "upward imports:\n{}",
        problems.join("\n")
    );
    // No cycle among modules of one layer either.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if path.iter().any(|p| p == m) {
            path.push(m.to_string());
            return Some(path.clone());
        }
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    for m in edges.keys() {
        if let Some(cycle) = visit(m, &edges, &mut Vec::new()) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
    assert!(edges["model"].contains("modules") && edges["port"].contains("model"));
}

#[test]
fn files_stay_small_and_refer_to_nothing_outside_the_repository() {
    let root = common::root();
    let mut all = Vec::new();
    for (dir, ext) in [
        ("src", "rs"),
        ("tests", "rs"),
        ("examples", "rs"),
        ("crates", "rs"),
        ("python", "py"),
        ("docs", "md"),
        ("scripts", "sh"),
    ] {
        files(&root.join(dir), ext, &mut all);
    }
    all.push(root.join("README.md"));
    all.push(root.join("Makefile"));
    let mut problems = Vec::new();
    for f in &all {
        let text = std::fs::read_to_string(f).unwrap();
        let lines = text.lines().count();
        let is_code = f.extension().is_some_and(|e| e == "rs" || e == "py");
        if is_code && lines > 400 {
            problems.push(format!("{}: {lines} lines", f.display()));
        }
        // Spelled in pieces, so that this file does not name them itself.
        for needle in [["NOTES", " §"].concat(), ["..", "/shared"].concat()] {
            if text.contains(&needle) {
                problems.push(format!("{} refers to `{needle}`", f.display()));
            }
        }
    }
    assert!(all.len() > 50, "{} files", all.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The reference is reproducible: every package the venv holds because of
/// python/requirements.txt, transitively, is pinned in python/constraints.txt at the version
/// installed (`python -m sppnet_ref.pins --check`), which scripts/venv.sh installs with.
#[test]
fn the_python_reference_is_pinned_whole() {
    let out = common::run_python("pins", &["--check".as_ref()]);
    assert!(out.contains("all pinned"), "{out}");
    let venv = std::fs::read_to_string(common::root().join("scripts/venv.sh")).unwrap();
    assert!(
        venv.contains("-c \"$pins\""),
        "scripts/venv.sh installs without the constraints"
    );
}
