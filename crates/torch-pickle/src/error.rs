//! Errors of the reader: each one line, naming the problem.

/// Everything that can be wrong with a torch.save file.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The zip structure is broken.
    #[error("corrupt zip archive: {0}")]
    Zip(&'static str),
    /// An entry's data runs past the end of the file.
    #[error("zip entry `{0}` is truncated")]
    Truncated(String),
    /// An entry's CRC-32 does not match its data.
    #[error("zip entry `{0}` fails its CRC-32 check (corrupt file)")]
    BadCrc(String),
    /// An entry is compressed, which torch.save never does.
    #[error("zip entry `{0}` is compressed: not a file torch.save wrote")]
    Compressed(String),
    /// The file is not in the zip format torch.save has written since PyTorch 1.6.
    #[error("{0}")]
    Format(String),
    /// The pickle stream is malformed or uses something this reader refuses.
    #[error("pickle: {0} (at byte {1})")]
    Pickle(String, usize),
    /// A tensor record is inconsistent with its storage.
    #[error("tensor `{0}`: {1}")]
    Tensor(String, String),
    /// The file could be read in two ways (duplicate or overlapping entries, two pickles): a
    /// scanner and `torch.load` might not see the same contents, so it is refused.
    #[error("ambiguous archive: {0}")]
    Ambiguous(String),
    /// The file asks for more work or memory than the reader allows.
    #[error("{0}")]
    Limit(String),
    /// The data is valid but not what was asked for.
    #[error("{0}")]
    Structure(String),
}

/// Reader result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
