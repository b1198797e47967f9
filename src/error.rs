//! The library's error type: every fallible public function returns [`Result`].

use std::path::PathBuf;

/// Everything that can go wrong in sppnet. Each variant renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libtorch refused an operation.
    #[error("libtorch: {}", first_line(&.0.to_string()))]
    Tch(#[from] tch::TchError),

    /// Reading or writing a file failed.
    #[error("{}: {error}", .path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error (shown in the message, so not chained as a source).
        error: std::io::Error,
    },

    /// A `torch.save` file could not be read (format, structure or a refused construct).
    #[error("{0}")]
    Checkpoint(#[from] torch_pickle::Error),

    /// Reading a `torch.save` file failed; names the file.
    #[error("{}: {error}", .path.display())]
    TorchFile {
        /// The file involved.
        path: PathBuf,
        /// What the reader said.
        error: torch_pickle::Error,
    },

    /// A file is not valid safetensors (truncated, corrupt header, bad offsets, …).
    #[error("{}: not a valid safetensors file: {reason}", .path.display())]
    Safetensors {
        /// The file involved.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },

    /// A tensor handed to us has the wrong rank, dtype, size or values.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A pyramid level cannot be pooled from the feature map under the chosen rule.
    #[error("{0}")]
    LevelDoesNotFit(String),

    /// A tensor holds NaN or ±inf where finite values were asked for.
    #[error("{what} holds {count} NaN or infinite value(s)")]
    NonFinite {
        /// What the tensor is.
        what: String,
        /// How many values are not finite.
        count: i64,
    },

    /// A model uses classes that have no port: every one of them, with where it sits.
    #[error("the model uses {}", unsupported_text(.0))]
    Unsupported(Vec<(String, String)>),

    /// A pickled module's class has no port in the registry.
    #[error("class `{class}` has no sppnet port ({known}){}", holds_text(.holds))]
    NoPort {
        /// The class found.
        class: String,
        /// The registered classes, for the message.
        known: String,
        /// Paths and classes of descendants that do have a port.
        holds: Vec<(String, String)>,
    },

    /// A state_dict's keys fit more than one architecture, or none.
    #[error("cannot tell the architecture of these weights: {0}")]
    Ambiguous(String),

    /// A setting was given for a module that has no such setting.
    #[error("{class} has no setting `{field}`")]
    NoSuchSetting {
        /// The module's upstream class.
        class: String,
        /// The setting asked for.
        field: String,
    },

    /// libtorch's CUDA backend could not be loaded, or the CUDA device asked for is not there.
    #[error("{0}")]
    Cuda(String),

    /// A model or layer configuration is inconsistent.
    #[error("invalid config: {0}")]
    Config(String),

    /// A state_dict does not match the module: every problem, listed together.
    #[error("state_dict does not match {module}: {}", .problems.join("; "))]
    StateDict {
        /// The module the state_dict was loaded into.
        module: String,
        /// One entry per missing, unexpected, shape- or dtype-mismatched key.
        problems: Vec<String>,
    },

    /// The Python reference could not be run, or answered something unexpected.
    #[error("the Python reference: {0}")]
    Reference(String),

    /// An image file cannot be used (not decodable, empty, too large a file).
    #[error("{}: {reason}", .path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// A file asks for more work or memory than sppnet allows.
    #[error("{0}")]
    Limit(String),

    /// An image has more pixels than the caller's limit (checked from its header).
    #[error("{0}")]
    PixelLimit(String),

    /// A checkpoint names globals that `torch.load(weights_only=False)` would import or call.
    #[error("the checkpoint references globals outside PyTorch's weights_only allow-list, which torch.load would import or call: {}", .0.join(", "))]
    UnsafeGlobals(Vec<String>),

    /// The output path holds something that is never replaced.
    #[error("{} is {what}, not a regular file: refusing to replace it", .path.display())]
    NotReplaceable {
        /// The output path.
        path: PathBuf,
        /// What is there.
        what: &'static str,
    },

    /// An output would replace one of the run's inputs (never done, even when overwriting).
    #[error("writing {} would replace the input {}: an output never replaces an input, even when overwriting", .output.display(), .input.display())]
    WouldReplaceInput {
        /// The output path.
        output: PathBuf,
        /// The input it leads to.
        input: PathBuf,
    },

    /// An estimated size is over a limit the caller can raise.
    #[error("{0}")]
    MemoryLimit(String),

    /// An output file exists and overwriting was not asked for.
    #[error("{} already exists", .0.display())]
    OutputExists(PathBuf),
}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}

fn unsupported_text(classes: &[(String, String)]) -> String {
    let mut by_class: Vec<(String, Vec<String>)> = Vec::new();
    for (path, class) in classes {
        match by_class.iter_mut().find(|(c, _)| c == class) {
            Some((_, paths)) => paths.push(path.clone()),
            None => by_class.push((class.clone(), vec![path.clone()])),
        }
    }
    let listed: Vec<String> = by_class
        .iter()
        .map(|(c, p)| format!("`{c}` ({})", p.join(", ")))
        .collect();
    format!(
        "{} class(es) sppnet does not implement: {}",
        by_class.len(),
        listed.join(", ")
    )
}

fn holds_text(holds: &[(String, String)]) -> String {
    const SHOWN: usize = 6;
    // The outermost ported modules only (not their own sub-modules), containers left out.
    let top: Vec<&(String, String)> = holds
        .iter()
        .filter(|(_, c)| {
            !matches!(
                c.as_str(),
                "Sequential" | "ModuleList" | "Conv2d" | "Identity"
            )
        })
        .filter(|(p, _)| {
            !holds.iter().any(|(q, c)| {
                c != "Sequential" && c != "ModuleList" && p.starts_with(&format!("{q}."))
            })
        })
        .collect();
    if top.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = top
        .iter()
        .take(SHOWN)
        .map(|(p, c)| format!("{p} ({c})"))
        .collect();
    let more = match top.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!("; it holds {}{more}", listed.join(", "))
}

/// libtorch errors carry a C++ backtrace after the first line (or, as tch words some, after
/// ` Exception raised from` on the same line, the message said twice); users need the message.
fn first_line(s: &str) -> &str {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(s);
    let line = line.split(" Exception raised from ").next().unwrap_or(line);
    // `Internal torch error: X: Internal torch error: X` → the first X.
    match line.find(": Internal torch error: ") {
        Some(at) if line.starts_with("Internal torch error: ") => &line[..at],
        _ => line,
    }
}
