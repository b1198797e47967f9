//! Detectors built from a model yaml (sppnet's `parse_model`), checked inside the detector
//! suites (`detectors.rs`): every checkpoint's own yaml must build the very model ultralytics
//! pickled (config equal, the head's run-time end-to-end switch aside) whose output is
//! bitwise ultralytics'; and a plain `torch.save(model.state_dict())` plus the family's yaml
//! file, ported by the CLI (`sppnet port … --yaml`), must run bitwise too.

use crate::common;

use serde_json::Value;
use sppnet::modules::detection_model::DetectionModelConfig;
use sppnet::modules::parse_model::{from_stored_yaml, parse_version, YamlOptions};
use sppnet::modules::Notes;
use sppnet::port::{port, PortOptions, Ported};
use sppnet::reference::{CaseReply, Output, Replied};
use sppnet::Model;
use tch::{Device, Tensor};

/// The first difference between two JSON values, as a path.
fn first_diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.keys()
                .chain(y.keys())
                .find_map(|k| match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => first_diff(u, v, &format!("{path}.{k}")),
                    _ => Some(format!("{path}.{k}: present on one side only")),
                })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_diff(u, v, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} (yaml) vs {b} (pickle)")),
    }
}

/// The model the checkpoint's own yaml builds, with the checkpoint's weights; its config
/// must equal the pickled one, except `yaml`/`names` (upstream's dict as stored, and the
/// trained class names) and the head's `end2end` (set at run time, not by the yaml).
pub fn twin(
    name: &str,
    ported: &Ported,
    written_by: Option<&str>,
    problems: &mut Vec<String>,
) -> Option<Model> {
    let pickled = ported.spec.config();
    let typed = DetectionModelConfig::of(&ported.spec).unwrap();
    // The rules of the ultralytics version that wrote the checkpoint (a real one's own).
    let options = YamlOptions {
        version: written_by.map(|v| parse_version(v).unwrap()),
        ..YamlOptions::default()
    };
    let built = match from_stored_yaml(&typed, &options, &mut Notes::new()) {
        Ok(c) => serde_json::to_value(c).unwrap(),
        Err(e) => {
            problems.push(format!("{name}: its yaml does not build: {e}"));
            return None;
        }
    };
    for key in ["layers", "save", "stride", "nc"] {
        if let Some(d) = first_diff(&built[key], &pickled[key], key) {
            problems.push(format!("{name}: built from its yaml, {d}"));
            return None;
        }
    }
    let config: DetectionModelConfig = serde_json::from_value(built).unwrap();
    let spec = config.spec().unwrap();
    match Model::from_tensors(spec, &ported.tensors, Device::Cpu) {
        Ok(m) => Some(m),
        Err(e) => {
            problems.push(format!(
                "{name}: the yaml-built model refuses the weights: {e}"
            ));
            None
        }
    }
}

/// `sppnet port state.pt --yaml NN-yolov8s.yaml` (the scale read from the file name), then
/// every run bitwise against ultralytics; returns the comparisons made.
pub fn state_dict_port(
    replied: &Replied,
    reply: &CaseReply,
    dir: &std::path::Path,
    problems: &mut Vec<String>,
) -> usize {
    let name = &reply.name;
    let (sd, yaml) = (
        replied.file(reply, "state_dict").unwrap(),
        replied.file(reply, "yaml").unwrap(),
    );
    let out = dir.join(format!("{name}-from-yaml.safetensors"));
    let (code, _, err) = common::sppnet(&[
        "port",
        common::s(&sd),
        "--yaml",
        common::s(&yaml),
        "-o",
        common::s(&out),
    ]);
    if code != 0 {
        problems.push(format!("{name}: sppnet port --yaml failed: {err}"));
        return 0;
    }
    let ported = port(&out, &PortOptions::default()).unwrap();
    let model = Model::from_tensors(ported.spec, &ported.tensors, Device::Cpu).unwrap();
    let mut compared = 0;
    for (i, run) in reply.runs.iter().enumerate() {
        let x: &Tensor = replied.input(run).unwrap();
        let d = common::compare(
            &model.forward(x).unwrap(),
            replied.output(run, Output::Eval).unwrap(),
        );
        compared += 1;
        if !d.bitwise {
            problems.push(format!(
                "{name}/{i} from state_dict + yaml: max abs {:e}, max ULP {}",
                d.max_abs, d.max_ulp
            ));
        }
    }
    compared
}
