//! `sppnet inspect`: what a checkpoint holds — tensors, metadata, and for `torch.save` files
//! the pickled module tree with class names and scalar attributes — without reading storages.

use std::path::Path;

use serde_json::{json, Map, Value as Json};
use torch_pickle::safety::Flagged;
use torch_pickle::walk::{Module, MAX_DEPTH};
use torch_pickle::zip::FileAt;
use torch_pickle::{Archive, Pickle, TensorRef, Use, Value};

use super::torch::pickle_error;
use crate::error::{Error, Result};
use crate::io::{open_regular, read_at, read_header};
use crate::modules::REGISTRY;
use crate::text::field;

/// The globals of `p` that `torch.load(weights_only=False)` would import or call beyond
/// PyTorch's allow-list and plain module classes ([`torch_pickle::safety`]); the registry's
/// classes (and the helper classes they declare as parts) count as known module classes.
pub fn flagged_globals(p: &Pickle) -> Vec<Flagged> {
    let known: Vec<&str> = REGISTRY
        .iter()
        .flat_map(|e| e.classes.iter().chain(e.parts).copied())
        .collect();
    torch_pickle::safety::flagged_globals(p, &known)
}

/// One line per flagged global: `name (called)`, `name (named)`, …
pub fn describe_flagged(flagged: &[Flagged]) -> Vec<String> {
    flagged
        .iter()
        .map(|f| {
            let uses: Vec<&str> = f
                .uses
                .iter()
                .map(|u| match u {
                    Use::Named => "imported",
                    Use::Called => "called",
                    Use::Instantiated => "instantiated",
                })
                .collect();
            format!("{} ({})", f.name, uses.join(", "))
        })
        .collect()
}

/// The most modules `inspect` shows in all (the largest ultralytics detectors have ~1 000).
pub const MAX_SHOWN: usize = 5_000;

fn tensor_json(name: &str, t: &TensorRef) -> Json {
    json!({"name": name, "dtype": t.storage.dtype.name(), "shape": t.shape})
}

fn module_json(p: &Pickle, name: &str, m: &Module<'_>, depth: usize, visits: &mut usize) -> Json {
    let mut attrs = Map::new();
    for (k, v) in m.attrs() {
        attrs.insert(k.to_string(), Json::String(p.describe(v)));
    }
    let mut tensors = Vec::new();
    for field in ["_parameters", "_buffers"] {
        if let Some(d) = m.attr(field).and_then(|v| p.dict(v)) {
            for (k, v) in d {
                if let (Value::Str(k), Some(t)) = (k, p.tensor(v)) {
                    tensors.push(tensor_json(k, t));
                }
            }
        }
    }
    let mut children = Vec::new();
    for (k, c) in m.children() {
        if depth >= MAX_DEPTH {
            children.push(json!({"name": "…", "class": "(deeper than the limit)"}));
            break;
        }
        *visits += 1;
        if *visits > MAX_SHOWN {
            children.push(json!({"name": "…", "class": format!("(more than {MAX_SHOWN} modules shown: the rest is left out)")}));
            break;
        }
        children.push(module_json(p, k, &c, depth + 1, visits));
    }
    json!({"name": name, "class": format!("{}.{}", m.class.0, m.class.1), "attrs": attrs, "tensors": tensors, "children": children})
}

/// Describe a checkpoint as JSON (see docs/PORTING.md for the fields). Reads headers and the
/// pickle only, never a tensor's data.
pub fn inspect(path: &Path) -> Result<Json> {
    let (file, len) = open_regular(path)?;
    let head = read_at(&file, path, 0, len.min(16))?;
    if super::is_safetensors(&head) {
        let h = read_header(path)?;
        let tensors: Vec<Json> = h
            .tensors
            .iter()
            .map(|t| json!({"name": t.name, "dtype": t.dtype, "shape": t.shape}))
            .collect();
        return Ok(json!({"format": "safetensors", "metadata": h.metadata, "tensors": tensors}));
    }
    let archive = Archive::open(FileAt::new(file, len)).map_err(|e| pickle_error(path, e))?;
    let p = &archive.pickle;
    let root = p
        .root
        .as_ref()
        .ok_or_else(|| Error::Config("empty pickle".into()))?;
    let mut globals: Vec<String> = p.globals.iter().map(|(m, n)| format!("{m}.{n}")).collect();
    globals.sort();
    globals.dedup();
    let dangerous = describe_flagged(&flagged_globals(p));
    // One budget for every module tree the file holds.
    let mut visits = 0;
    let mut obj = Map::new();
    obj.insert("format".into(), json!("torch.save"));
    obj.insert(
        "byteorder".into(),
        json!(format!("{:?}", archive.byteorder).to_lowercase()),
    );
    obj.insert("globals".into(), json!(globals));
    obj.insert("dangerous_globals".into(), json!(dangerous));
    if let Some(m) = p.module(root) {
        obj.insert("module".into(), module_json(p, "", &m, 0, &mut visits));
    } else if let Some(sd) = p.state_dict(root) {
        obj.insert(
            "tensors".into(),
            sd.iter().map(|(n, t)| tensor_json(n, t)).collect(),
        );
    } else if let Some(d) = p.dict(root) {
        let mut entries = Map::new();
        let mut modules = Map::new();
        for (k, v) in d {
            let key = match k {
                Value::Str(s) => s.to_string(),
                other => p.describe(other),
            };
            if let Some(m) = p.module(v) {
                modules.insert(key.clone(), module_json(p, "", &m, 0, &mut visits));
            } else if let Some(sd) = p.state_dict(v) {
                modules.insert(key.clone(), json!({"tensors": sd.iter().map(|(n, t)| tensor_json(n, t)).collect::<Vec<_>>()}));
            }
            entries.insert(key, Json::String(p.describe(v)));
        }
        obj.insert("entries".into(), Json::Object(entries));
        obj.insert("modules".into(), Json::Object(modules));
    } else {
        obj.insert("root".into(), Json::String(p.describe(root)));
    }
    Ok(Json::Object(obj))
}

/// A JSON string as one field of one line ([`crate::text::field`]); other values empty.
fn text(v: &Json) -> String {
    field(v.as_str().unwrap_or("")).into_owned()
}

/// The JSON of [`inspect`] as indented text: one line per fact, every name from the file escaped so that it stays one
/// field of its line (a newline in a tensor name cannot forge a `WARNING:` line).
pub fn render(j: &Json) -> String {
    let mut out = String::new();
    if let Some(f) = j["format"].as_str() {
        out += &format!("format: {}\n", field(f));
    }
    if let Some(m) = j["metadata"].as_object() {
        for (k, v) in m {
            out += &format!("metadata {}: {}\n", field(k), text(v));
        }
    }
    if let Some(d) = j["dangerous_globals"].as_array().filter(|d| !d.is_empty()) {
        let names: Vec<String> = d.iter().map(text).collect();
        out += &format!(
            "WARNING: references {} globals outside PyTorch's weights_only allow-list: {}; torch.load(weights_only=False) would import or call them (code can run); sppnet read them as inert data and ran nothing\n",
            names.len(),
            names.join(", ")
        );
    }
    if let Some(e) = j["entries"].as_object() {
        for (k, v) in e {
            out += &format!("{}: {}\n", field(k), text(v));
        }
    }
    fn tensors(out: &mut String, t: &Json, indent: &str) {
        for t in t.as_array().into_iter().flatten() {
            *out += &format!(
                "{indent}{} {} {}\n",
                text(&t["name"]),
                text(&t["dtype"]),
                t["shape"]
            );
        }
    }
    fn module(out: &mut String, m: &Json, indent: &str) {
        let attrs: Vec<String> = m["attrs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{}={}", field(k), text(v)))
            .collect();
        *out += &format!(
            "{indent}{} ({}) {}\n",
            text(&m["name"]),
            text(&m["class"]),
            attrs.join(" ")
        );
        tensors(out, &m["tensors"], &format!("{indent}  · "));
        for c in m["children"].as_array().into_iter().flatten() {
            module(out, c, &format!("{indent}  "));
        }
    }
    if j["module"].is_object() {
        module(&mut out, &j["module"], "");
    }
    for (k, m) in j["modules"].as_object().into_iter().flatten() {
        out += &format!("[{}]\n", field(k));
        if m["class"].is_string() {
            module(&mut out, m, "  ");
        } else {
            tensors(&mut out, &m["tensors"], "  ");
        }
    }
    tensors(&mut out, &j["tensors"], "");
    out
}
