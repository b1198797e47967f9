//! A `torch.save` zip archive: `<name>/data.pkl`, `<name>/data/<key>` storages, `byteorder`.
//!
//! Opening reads the zip directory and `data.pkl` only; a storage is read when asked for. An
//! archive that `torch.load` and this reader could read differently is refused: more than one
//! `data.pkl`, or entries outside the one archive folder (see also [`crate::zip`]).

use crate::error::{Error, Result};
use crate::pickle::{self, Pickle};
use crate::tensor::TensorRef;
use crate::zip::{read_vec, ReadAt, Zip};

/// Byte order of the storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little-endian (every file written on x86 or ARM).
    Little,
    /// Big-endian (files written on s390x and the like).
    Big,
}

/// The largest `data.pkl` read (ultralytics' largest models pickle to a few MiB).
pub const MAX_PICKLE: u64 = 256 << 20;

/// An opened torch.save archive: its pickle parsed, its storages read on demand.
#[derive(Debug)]
pub struct Archive<S> {
    zip: Zip<S>,
    prefix: String,
    /// The parsed `data.pkl`.
    pub pickle: Pickle,
    /// The storages' byte order.
    pub byteorder: ByteOrder,
}

/// Pickle protocol-2 header of the legacy (pre-1.6) format's magic number.
const LEGACY_MAGIC: [u8; 4] = [0x80, 0x02, 0x8a, 0x0a];

impl<S: ReadAt> Archive<S> {
    /// Open an archive (a file, or bytes in memory), parse its pickle, and check its layout.
    pub fn open(src: S) -> Result<Self> {
        let head = read_vec(&src, 0, src.size().min(4))?;
        if head.starts_with(&LEGACY_MAGIC) || head.first() == Some(&0x80) {
            return Err(Error::Format(
                "legacy torch.save format (PyTorch < 1.6, not a zip archive): load it in Python and save it \
                 again with a current torch.save"
                    .into(),
            ));
        }
        if !head.starts_with(b"PK") {
            return Err(Error::Format(
                "not a torch.save file (neither a zip archive nor a legacy pickle)".into(),
            ));
        }
        let zip = Zip::new(src)?;
        let names: Vec<&str> = zip.entries().iter().map(|e| e.name.as_str()).collect();
        if names
            .iter()
            .any(|n| n.ends_with("/constants.pkl") || n.contains("/code/"))
        {
            return Err(Error::Format(
                "a TorchScript archive (torch.jit.save): load it in Python and save its state_dict"
                    .into(),
            ));
        }
        let pickles: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
            .collect();
        let pkl = match pickles.as_slice() {
            [one] => *one,
            [] => {
                return Err(Error::Format(
                    "zip archive without data.pkl: not a torch.save file".into(),
                ))
            }
            more => {
                return Err(Error::Ambiguous(format!(
                    "{} data.pkl entries ({})",
                    more.len(),
                    more.join(", ")
                )))
            }
        };
        let prefix = pkl.strip_suffix("data.pkl").unwrap_or_default().to_string();
        // torch.load reads `<the first entry's folder>/data.pkl`; every entry in that one
        // folder means there is no other reading.
        if let Some(outside) = names.iter().find(|n| !n.starts_with(&prefix)) {
            return Err(Error::Ambiguous(format!(
                "entry `{outside}` lies outside the archive folder `{prefix}`"
            )));
        }
        let entry = zip.entry(pkl).ok_or(Error::Zip("data.pkl vanished"))?;
        if entry.data.end - entry.data.start > MAX_PICKLE {
            return Err(Error::Limit(format!(
                "data.pkl is larger than {} MiB",
                MAX_PICKLE >> 20
            )));
        }
        let pickle = pickle::parse(&zip.read(entry)?)?;
        let byteorder = match zip.entry(&format!("{prefix}byteorder")) {
            None => ByteOrder::Little,
            Some(e) => match zip.read(e)?.as_slice() {
                b"little" => ByteOrder::Little,
                b"big" => ByteOrder::Big,
                other => {
                    return Err(Error::Format(format!(
                        "unknown byteorder `{}`",
                        String::from_utf8_lossy(other).escape_debug()
                    )))
                }
            },
        };
        Ok(Archive {
            zip,
            prefix,
            pickle,
            byteorder,
        })
    }

    /// The zip entries, for reports.
    pub fn zip(&self) -> &Zip<S> {
        &self.zip
    }

    /// The raw bytes of a storage (read now, CRC-checked).
    pub fn storage(&self, key: &str) -> Result<Vec<u8>> {
        let name = format!("{}data/{key}", self.prefix);
        let entry = self.zip.entry(&name).ok_or_else(|| {
            Error::Tensor(
                key.into(),
                format!("storage `{name}` missing from the archive"),
            )
        })?;
        self.zip.read(entry)
    }

    /// A tensor's storage bytes (the part its view covers), after checking the view fits them.
    pub fn tensor_storage(&self, t: &TensorRef) -> Result<Vec<u8>> {
        let mut bytes = self.storage(&t.storage.key)?;
        let range = t.check(bytes.len())?;
        bytes.truncate(range.end);
        bytes.drain(..range.start);
        Ok(bytes)
    }
}
