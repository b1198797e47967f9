//! A `torch.save` zip archive: `<name>/data.pkl`, `<name>/data/<key>` storages, `byteorder`.

use crate::error::{Error, Result};
use crate::pickle::{self, Pickle};
use crate::tensor::TensorRef;
use crate::zip::Zip;

/// Byte order of the storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little-endian (every file written on x86 or ARM).
    Little,
    /// Big-endian (files written on s390x and the like).
    Big,
}

/// An opened torch.save archive: its pickle parsed, its storages read on demand.
#[derive(Debug)]
pub struct Archive<'a> {
    zip: Zip<'a>,
    prefix: String,
    /// The parsed `data.pkl`.
    pub pickle: Pickle,
    /// The storages' byte order.
    pub byteorder: ByteOrder,
}

/// Pickle protocol-2 header of the legacy (pre-1.6) format's magic number.
const LEGACY_MAGIC: [u8; 4] = [0x80, 0x02, 0x8a, 0x0a];

impl<'a> Archive<'a> {
    /// Open an archive held in memory, parse its pickle, and check its layout.
    pub fn open(buf: &'a [u8]) -> Result<Self> {
        if buf.starts_with(&LEGACY_MAGIC) || buf.first() == Some(&0x80) {
            return Err(Error::Format(
                "legacy torch.save format (PyTorch < 1.6, not a zip archive): load it in Python and save it \
                 again with a current torch.save"
                    .into(),
            ));
        }
        if !buf.starts_with(b"PK") {
            return Err(Error::Format(
                "not a torch.save file (neither a zip archive nor a legacy pickle)".into(),
            ));
        }
        let zip = Zip::new(buf)?;
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
        let pkl = names
            .iter()
            .find(|n| n.ends_with("data.pkl") && n.matches('/').count() <= 1)
            .ok_or_else(|| {
                Error::Format("zip archive without data.pkl: not a torch.save file".into())
            })?;
        let prefix = pkl.strip_suffix("data.pkl").expect("suffix").to_string();
        let pickle = pickle::parse(zip.read(zip.entry(pkl).expect("listed"))?)?;
        let byteorder = match zip.entry(&format!("{prefix}byteorder")) {
            None => ByteOrder::Little,
            Some(e) => match zip.read(e)? {
                b"little" => ByteOrder::Little,
                b"big" => ByteOrder::Big,
                other => {
                    return Err(Error::Format(format!(
                        "unknown byteorder `{}`",
                        String::from_utf8_lossy(other)
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

    /// The raw bytes of a storage (CRC-checked).
    pub fn storage(&self, key: &str) -> Result<&'a [u8]> {
        let name = format!("{}data/{key}", self.prefix);
        let entry = self.zip.entry(&name).ok_or_else(|| {
            Error::Tensor(
                key.into(),
                format!("storage `{name}` missing from the archive"),
            )
        })?;
        self.zip.read(entry)
    }

    /// A tensor's storage bytes, after checking the view fits them.
    pub fn tensor_storage(&self, t: &TensorRef) -> Result<&'a [u8]> {
        let bytes = self.storage(&t.storage.key)?;
        let range = t.check(bytes.len())?;
        Ok(&bytes[range])
    }
}
