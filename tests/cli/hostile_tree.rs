//! The hostile suite's file-system side: the files a case lays out in its folder before the run
//! (`files`), a snapshot of that folder and of every input file the arguments name, and the
//! checks after the run — every entry that was there is unchanged (bytes, link target, kind),
//! new files appear only under `may_write`, no sppnet temporary is left anywhere, and the
//! `expect_files` exist.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sppnet::io::TEMP_PREFIX;

/// What is at a path, as far as the checks care.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A regular file's bytes.
    File(Vec<u8>),
    /// A symlink's target.
    Link(PathBuf),
    /// A folder.
    Dir,
    /// Anything else (FIFO, socket, device).
    Other,
}

/// Every entry under `root` (symlinks not followed), by path.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let entry = entry_of(&p);
        if entry == Entry::Dir {
            walk(&p, out);
        }
        out.insert(p, entry);
    }
}

/// What is at `p` now (`None` when nothing is).
pub fn entry_at(p: &Path) -> Option<Entry> {
    p.symlink_metadata().ok().map(|_| entry_of(p))
}

fn entry_of(p: &Path) -> Entry {
    match p.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => {
            Entry::Link(std::fs::read_link(p).unwrap_or_default())
        }
        Ok(m) if m.is_dir() => Entry::Dir,
        Ok(m) if m.is_file() => Entry::File(std::fs::read(p).unwrap_or_default()),
        _ => Entry::Other,
    }
}

/// Lay out the case's `files` under `dir` (`{TMP}` in targets already substituted by `subst`).
pub fn lay_out(case: &Value, dir: &Path, subst: &dyn Fn(&str) -> OsString) {
    for f in case["files"].as_array().into_iter().flatten() {
        let path = dir.join(subst(f["path"].as_str().unwrap_or("")));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        if f["dir"].as_bool() == Some(true) {
            std::fs::create_dir_all(&path).unwrap();
        } else if let Some(to) = f["symlink"].as_str() {
            std::os::unix::fs::symlink(subst(to), &path).unwrap();
        } else if let Some(from) = f["from"].as_str() {
            std::fs::copy(from, &path).unwrap_or_else(|e| panic!("{from}: {e}"));
        } else {
            std::fs::write(&path, f["text"].as_str().unwrap_or("")).unwrap();
        }
    }
}

/// The input files the arguments name outside the case folder, with their bytes now.
pub fn named_inputs(args: &[OsString], dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    args.iter()
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && !p.starts_with(dir) && p.is_file())
        .filter(|p| !p.starts_with("/dev") && !p.starts_with("/proc"))
        .filter(|p| p.metadata().is_ok_and(|m| m.len() < 64 << 20))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

/// The problems after a run: entries changed or gone, files where none may appear, sppnet
/// temporaries left, expected files missing, named inputs changed.
pub fn problems(
    case: &Value,
    dir: &Path,
    out_path: &Path,
    before: &BTreeMap<PathBuf, Entry>,
    inputs: &[(PathBuf, Vec<u8>)],
    subst: &dyn Fn(&str) -> OsString,
) -> Vec<String> {
    let mut out = Vec::new();
    let after = snapshot(dir);
    for (p, was) in before.iter().filter(|(p, _)| *p != out_path) {
        match after.get(p) {
            None => out.push(format!("{} vanished", p.display())),
            Some(now) if now != was => out.push(format!("{} changed", p.display())),
            _ => {}
        }
    }
    let expected: Vec<OsString> = case["expect_files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| subst(v.as_str().unwrap_or("")))
        .chain(
            case["expect_files_b64"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| OsString::from_vec(crate::hostile::base64(v.as_str().unwrap_or("")))),
        )
        .collect();
    let may: Vec<PathBuf> = case["may_write"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| dir.join(subst(m.as_str().unwrap_or(""))))
        .chain([out_path.to_path_buf()])
        .chain(expected.iter().map(|rel| dir.join(rel)))
        .collect();
    for (p, e) in &after {
        if before.contains_key(p) {
            continue;
        }
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(TEMP_PREFIX) {
            out.push(format!("temporary file left: {}", p.display()));
        } else if *e != Entry::Dir && !may.iter().any(|m| p.starts_with(m)) {
            out.push(format!("{} appeared outside may_write", p.display()));
        }
    }
    for rel in &expected {
        if entry_at(&dir.join(rel)).is_none() {
            out.push(format!("{} was not written", rel.to_string_lossy()));
        }
    }
    for (p, bytes) in inputs {
        if std::fs::read(p).ok().as_ref() != Some(bytes) {
            out.push(format!("the input {} changed", p.display()));
        }
    }
    out
}

/// Lines of `text` that start (after leading spaces) with one of the case's `forbid_lines`.
pub fn forged_lines(case: &Value, text: &str) -> Vec<String> {
    let forbidden: Vec<&str> = case["forbid_lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    text.lines()
        .filter(|l| forbidden.iter().any(|f| l.trim_start().starts_with(f)))
        .map(str::to_string)
        .collect()
}
