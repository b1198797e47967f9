//! The one typed protocol between sppnet and its Python reference (`python/sppnet_ref`, whose
//! `protocol.py` mirrors these types).
//!
//! A [`Suite`] goes to Python as a job file; Python answers with a [`Reply`] (JSON) and one
//! safetensors file of tensors, named by opaque keys that the reply lists: the Rust side never
//! builds a tensor key from strings. `sppnet parity`, `sppnet bench` and the tests use it.

mod server;
mod suite;

pub use server::{BenchReply, BenchRequest, BenchServer};
pub use suite::{
    BlockCase, ContoursCase, DetectorCase, GradCase, InputSpec, LetterboxCase, NmsCase,
    PilResizeCase, PoolingCase, PredictCase, ResizeCase, ScaleBoxesCase, SppNetInput, SppNetModel,
    Suite,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::Tensor;

use crate::error::{Error, Result};
use crate::io::{read_safetensors, TensorFile};

/// The protocol's version, in every job and reply.
pub const SCHEMA: &str = "sppnet-ref/1";

/// The project root: `$SPPNET_ROOT` (a bundle carried to another machine), else the checkout
/// this library was built from.
pub fn project_root() -> PathBuf {
    std::env::var_os("SPPNET_ROOT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// A Python interpreter with the `sppnet_ref` package beside it.
#[derive(Debug, Clone)]
pub struct Reference {
    python: PathBuf,
    package_dir: PathBuf,
}

/// What one job sends: the suite and how to run it.
#[derive(Serialize)]
struct Job<'a> {
    schema: &'static str,
    threads: i32,
    device: &'a str,
    out_dir: &'a Path,
    suite: &'a Suite,
}

/// A reply: one entry per case of the suite.
#[derive(Debug, Clone, Deserialize)]
pub struct Reply {
    /// [`SCHEMA`].
    pub schema: String,
    /// The reference's `torch.__version__`.
    pub torch: String,
    /// Its intra-op threads.
    pub threads: i32,
    /// The cases, in the order Python made them.
    pub cases: Vec<CaseReply>,
}

/// One case: a module (or a pool setting) and its runs.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseReply {
    /// The case's name.
    pub name: String,
    /// The upstream class, where the case is a module.
    #[serde(default)]
    pub class: Option<String>,
    /// Suite-specific parameters.
    #[serde(default)]
    pub params: Value,
    /// Files written for it, by role (`weights`, `fused`, `pt`, `ref`, `io`), relative to the
    /// job's folder ([`Replied::file`]).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Inputs and what the reference made of them.
    #[serde(default)]
    pub runs: Vec<Run>,
}

/// What the reference computed from one input.
#[derive(Debug, Clone, Deserialize)]
pub struct Run {
    /// The input's name, where the suite names inputs.
    #[serde(default)]
    pub name: String,
    /// Tensor key of the input.
    pub input: String,
    /// Tensor keys of the outputs.
    #[serde(default)]
    pub outputs: BTreeMap<Output, String>,
    /// Tensor keys of the module state after a training-mode run, by state_dict key.
    #[serde(default)]
    pub state: BTreeMap<String, String>,
    /// Tensor keys of each parameter's gradient after a backward pass, by state_dict key.
    #[serde(default)]
    pub grads: BTreeMap<String, String>,
    /// Why the reference refused this input, if it did.
    #[serde(default)]
    pub refused: Option<Refusal>,
}

/// Which output of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// Eval-mode output.
    Eval,
    /// Eval-mode output of the fused module.
    Fused,
    /// Training-mode output.
    Train,
    /// The fixed-length feature vector.
    Features,
    /// The gradient fed back into the output (seeded).
    GradOutput,
    /// The input's gradient autograd computed from it.
    GradInput,
    /// A second input the reference made for the run (an roi case's `[K, 5]` rois).
    Rois,
    /// The mask prototypes of a segmentation model, eval mode (its second output).
    Proto,
    /// The mask prototypes of the fused model.
    FusedProto,
    /// A segmentation predict's instance masks (`result.masks.data`, uint8 `[n, h, w]`).
    Masks,
    /// A segmentation predict's polygons (`result.masks.xy`, f32 `[n, 3]` rows `mask, x, y`).
    Segments,
    /// A classify predict's probabilities (`result.probs.data`, f32 `[1, nc]`).
    Probs,
    /// A semantic predict's class map (`result.semantic_mask.data`, int32 `[h, w]`) or a depth
    /// predict's map (`result.depth.data`, f32 `[h, w]`).
    Map,
}

/// A refused input.
#[derive(Debug, Clone, Deserialize)]
pub struct Refusal {
    /// `error` (PyTorch raised) or `wrong_bins` (it ran, with the wrong number of bins).
    pub kind: String,
    /// The first line of what it said.
    pub message: String,
}

/// A reply with its tensors and the folder its files are in.
#[derive(Debug)]
pub struct Replied {
    /// The reply.
    pub reply: Reply,
    /// Every tensor it names.
    pub tensors: TensorFile,
    /// The job's folder.
    pub dir: PathBuf,
}

impl Replied {
    /// The tensor under `key`.
    pub fn tensor(&self, key: &str) -> Result<&Tensor> {
        self.tensors
            .get(key)
            .ok_or_else(|| Error::Reference(format!("the reply names tensor `{key}`, absent")))
    }

    /// The input of `run`.
    pub fn input(&self, run: &Run) -> Result<&Tensor> {
        self.tensor(&run.input)
    }

    /// Output `which` of `run`.
    pub fn output(&self, run: &Run, which: Output) -> Result<&Tensor> {
        let key = run
            .outputs
            .get(&which)
            .ok_or_else(|| Error::Reference(format!("a run has no {which:?} output")))?;
        self.tensor(key)
    }

    /// The case called `name`.
    pub fn case(&self, name: &str) -> Result<&CaseReply> {
        self.reply
            .cases
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::Reference(format!("the reply has no case `{name}`")))
    }

    /// The file of `case` with `role`, as a path.
    pub fn file(&self, case: &CaseReply, role: &str) -> Result<PathBuf> {
        case.files
            .get(role)
            .map(|f| self.dir.join(f))
            .ok_or_else(|| Error::Reference(format!("case `{}` has no {role} file", case.name)))
    }
}

impl Reference {
    /// The interpreter `python`, with the package in `<root>/python`.
    pub fn new(python: PathBuf, root: &Path) -> Self {
        Self {
            python,
            package_dir: root.join("python"),
        }
    }

    /// The interpreter `given`, else `$SPPNET_PYTHON`, else the checkout's `.venv`; refused
    /// (before anything runs) when it names a file that is not there.
    pub fn locate(given: Option<PathBuf>) -> Result<Self> {
        let root = project_root();
        let python = given
            .or_else(|| std::env::var_os("SPPNET_PYTHON").map(PathBuf::from))
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        if python.components().count() > 1 && !python.exists() {
            return Err(Error::Reference(format!(
                "{} does not exist (run `make setup`, which creates the venv)",
                python.display()
            )));
        }
        Ok(Self::new(python, &root))
    }

    /// The interpreter's path.
    pub fn python(&self) -> &Path {
        &self.python
    }

    /// `python -m sppnet_ref.<module>` with the package first on `PYTHONPATH` (entries already
    /// there are kept after it).
    pub fn command(&self, module: &str) -> Command {
        let mut c = Command::new(&self.python);
        let module = match module {
            "" => "sppnet_ref".to_string(),
            m => format!("sppnet_ref.{m}"),
        };
        let mut path = vec![self.package_dir.clone()];
        if let Some(more) = std::env::var_os("PYTHONPATH") {
            path.extend(std::env::split_paths(&more));
        }
        let path = std::env::join_paths(path).unwrap_or_else(|_| self.package_dir.clone().into());
        c.args(["-m", &module])
            .env("PYTHONPATH", path)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        c
    }

    /// Run `suite` in Python with `threads` intra-op threads on `device` (`cpu`, `cuda:N`),
    /// writing into `dir`, and read the reply.
    pub fn run(&self, suite: &Suite, threads: i32, device: &str, dir: &Path) -> Result<Replied> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let job = Job {
            schema: SCHEMA,
            threads,
            device,
            out_dir: dir,
            suite,
        };
        let job_path = dir.join("job.json");
        let text = serde_json::to_string(&job).map_err(|e| Error::Reference(e.to_string()))?;
        std::fs::write(&job_path, text).map_err(|e| Error::io(&job_path, e))?;
        let out =
            self.command("").arg(&job_path).output().map_err(|e| {
                Error::Reference(format!("starting {}: {e}", self.python.display()))
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Reference(format!(
                "the `{}` suite failed: {}",
                suite.kind(),
                err.lines().last().unwrap_or("(no output)")
            )));
        }
        let reply_path = dir.join("reply.json");
        let bytes = std::fs::read(&reply_path).map_err(|e| Error::io(&reply_path, e))?;
        let reply: Reply = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Reference(format!("{}: {e}", reply_path.display())))?;
        if reply.schema != SCHEMA {
            return Err(Error::Reference(format!(
                "reply schema `{}`, expected `{SCHEMA}`",
                reply.schema
            )));
        }
        Ok(Replied {
            reply,
            tensors: read_safetensors(dir.join("tensors.safetensors"))?,
            dir: dir.to_path_buf(),
        })
    }
}
