//! A minimal reader of the zip archives `torch.save` writes: STORED entries (no compression),
//! zip64 when large. The archive is read through [`ReadAt`] (a file or bytes in memory): only
//! the end records and the central directory are read when it is opened; an entry's data when it
//! is asked for (CRC-32 checked then). Every offset and length is checked against the source.
//!
//! Anything that could make two readers see different contents is refused: duplicate entry
//! names, a local header whose name differs from the central directory's, overlapping entries,
//! and a central directory that does not end at the end record (offsets of another archive,
//! appended or prepended).

use std::collections::HashSet;

use crate::error::{Error, Result};

/// Random access to the bytes of an archive.
pub trait ReadAt {
    /// Total length in bytes.
    fn size(&self) -> u64;
    /// Fill `buf` from `offset` (the caller has checked the range against [`ReadAt::size`]).
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

impl<T: AsRef<[u8]> + ?Sized> ReadAt for &T {
    fn size(&self) -> u64 {
        self.as_ref().len() as u64
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let src = self.as_ref();
        let start = usize::try_from(offset).map_err(std::io::Error::other)?;
        let part = start
            .checked_add(buf.len())
            .and_then(|end| src.get(start..end))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(part);
        Ok(())
    }
}

/// A file read with positioned reads (it is never read whole).
#[derive(Debug)]
pub struct FileAt {
    file: std::fs::File,
    len: u64,
}

impl FileAt {
    /// Wrap an open file of `len` bytes.
    pub fn new(file: std::fs::File, len: u64) -> Self {
        Self { file, len }
    }
}

impl ReadAt for FileAt {
    fn size(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }
}

/// The largest central directory read (a torch.save archive of 10 000 tensors has ~1 MiB).
pub const MAX_CENTRAL_DIRECTORY: u64 = 64 << 20;

/// `len` bytes at `offset` of `src`, into a buffer allocated fallibly.
pub fn read_vec(src: &impl ReadAt, offset: u64, len: u64) -> Result<Vec<u8>> {
    let end = offset
        .checked_add(len)
        .filter(|&e| e <= src.size())
        .ok_or(Error::Zip("record out of bounds"))?;
    let n = usize::try_from(end - offset).map_err(|_| Error::Zip("record too large"))?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(n)
        .map_err(|_| Error::Format(format!("cannot allocate {n} bytes to read the archive")))?;
    buf.resize(n, 0);
    src.read_exact_at(&mut buf, offset)
        .map_err(|e| Error::Format(format!("read error: {e}")))?;
    Ok(buf)
}

/// One archive member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the archive, e.g. `best/data.pkl`.
    pub name: String,
    /// Byte range of the (uncompressed) data in the archive.
    pub data: std::ops::Range<u64>,
    /// Offset of its local header.
    pub local: u64,
    /// CRC-32 recorded in the central directory.
    pub crc32: u32,
}

/// The central directory of a zip archive.
#[derive(Debug)]
pub struct Zip<S> {
    src: S,
    entries: Vec<Entry>,
}

fn le<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
    at.checked_add(N)
        .and_then(|end| b.get(at..end))
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::Zip("truncated record"))
}
fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    le(b, at).map(u16::from_le_bytes)
}
fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    le(b, at).map(u32::from_le_bytes)
}
fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    le(b, at).map(u64::from_le_bytes)
}

const EOCD: u32 = 0x0605_4b50;
const EOCD64_LOCATOR: u32 = 0x0706_4b50;
const EOCD64: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

impl<S: ReadAt> Zip<S> {
    /// Read the end records and the central directory of `src`, and check every entry.
    pub fn new(src: S) -> Result<Self> {
        let size = src.size();
        if size < 22 {
            return Err(Error::Zip("file too short for a zip archive"));
        }
        // The end-of-central-directory record is in the last 22 + 65535 bytes.
        let tail_start = size.saturating_sub(22 + 0xffff);
        let tail = read_vec(&src, tail_start, size - tail_start)?;
        let at = (0..=tail.len() - 22)
            .rev()
            .find(|&i| u32_at(&tail, i).ok() == Some(EOCD))
            .ok_or(Error::Zip(
                "no end-of-central-directory record (truncated, or not a zip archive)",
            ))?;
        let comment = u64::from(u16_at(&tail, at + 20)?);
        if tail_start + at as u64 + 22 + comment > size {
            return Err(Error::Zip(
                "the end-of-central-directory comment runs past the end of the file",
            ));
        }
        let mut count = u64::from(u16_at(&tail, at + 10)?);
        let mut cd_size = u64::from(u32_at(&tail, at + 12)?);
        let mut cd_offset = u64::from(u32_at(&tail, at + 16)?);
        // The central directory ends where the end records begin: offsets that point elsewhere
        // belong to another archive (one appended to this one, say).
        let mut cd_must_end = tail_start + at as u64;
        let overflowed = count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff;
        let locator = at
            .checked_sub(20)
            .filter(|&l| u32_at(&tail, l).ok() == Some(EOCD64_LOCATOR));
        match locator {
            Some(loc) => {
                // zip64 end records (PyTorch writes them even when nothing overflows) sit
                // between the central directory and the end record.
                let rec_at = u64_at(&tail, loc + 8)?;
                let rec = read_vec(&src, rec_at, 56)?;
                if u32_at(&rec, 0)? != EOCD64 {
                    return Err(Error::Zip("bad zip64 end-of-central-directory record"));
                }
                cd_must_end = rec_at;
                if overflowed {
                    count = u64_at(&rec, 32)?;
                    cd_size = u64_at(&rec, 40)?;
                    cd_offset = u64_at(&rec, 48)?;
                }
            }
            None if overflowed => return Err(Error::Zip("missing zip64 locator")),
            None => {}
        }
        if cd_offset.checked_add(cd_size) != Some(cd_must_end) {
            return Err(Error::Zip(
                "the central directory does not end at the end record (bytes prepended or appended?)",
            ));
        }
        if cd_size > MAX_CENTRAL_DIRECTORY {
            return Err(Error::Zip("central directory larger than 64 MiB"));
        }
        // Each central record is at least 46 bytes: a count beyond that is a lie.
        if count > cd_size / 46 {
            return Err(Error::Zip("entry count exceeds the central directory"));
        }
        let cd = read_vec(&src, cd_offset, cd_size)
            .map_err(|_| Error::Zip("central directory out of bounds"))?;
        let mut entries = Vec::with_capacity(count as usize);
        let mut names = HashSet::new();
        let mut pos = 0;
        for _ in 0..count {
            let e = Self::central_entry(&src, &cd, &mut pos)?;
            if !names.insert(e.name.clone()) {
                return Err(Error::Ambiguous(format!(
                    "the archive holds two entries named `{}`",
                    e.name
                )));
            }
            entries.push(e);
        }
        let mut spans: Vec<(u64, u64, &str)> = entries
            .iter()
            .map(|e| (e.local, e.data.end, e.name.as_str()))
            .collect();
        spans.sort();
        if let Some(w) = spans.windows(2).find(|w| w[1].0 < w[0].1) {
            return Err(Error::Ambiguous(format!(
                "zip entries `{}` and `{}` overlap",
                w[0].2, w[1].2
            )));
        }
        Ok(Zip { src, entries })
    }

    fn central_entry(src: &S, cd: &[u8], pos: &mut usize) -> Result<Entry> {
        let p = *pos;
        if u32_at(cd, p)? != CENTRAL {
            return Err(Error::Zip("bad central directory record"));
        }
        let method = u16_at(cd, p + 10)?;
        let crc32 = u32_at(cd, p + 16)?;
        let mut comp = u64::from(u32_at(cd, p + 20)?);
        let mut size = u64::from(u32_at(cd, p + 24)?);
        let name_len = usize::from(u16_at(cd, p + 28)?);
        let extra_len = usize::from(u16_at(cd, p + 30)?);
        let comment_len = usize::from(u16_at(cd, p + 32)?);
        let mut local = u64::from(u32_at(cd, p + 42)?);
        let name_end = p + 46 + name_len;
        let end = name_end + extra_len + comment_len;
        let raw_name = cd
            .get(p + 46..name_end)
            .ok_or(Error::Zip("central directory record out of bounds"))?;
        if end > cd.len() {
            return Err(Error::Zip("central directory record out of bounds"));
        }
        let name = std::str::from_utf8(raw_name)
            .map_err(|_| Error::Zip("entry name is not UTF-8"))?
            .to_string();
        // zip64 extended information: the fields that overflowed, in order.
        let mut x = name_end;
        while x + 4 <= name_end + extra_len {
            let (id, len) = (u16_at(cd, x)?, usize::from(u16_at(cd, x + 2)?));
            if x + 4 + len > name_end + extra_len {
                return Err(Error::Zip("bad extra field"));
            }
            if id == 1 {
                let mut f = x + 4;
                for v in [&mut size, &mut comp, &mut local] {
                    if *v == 0xffff_ffff && f + 8 <= x + 4 + len {
                        *v = u64_at(cd, f)?;
                        f += 8;
                    }
                }
            }
            x += 4 + len;
        }
        *pos = end;
        if method != 0 {
            return Err(Error::Compressed(name));
        }
        if comp != size {
            return Err(Error::Zip("stored entry with differing sizes"));
        }
        let header = read_vec(src, local, 30).map_err(|_| Error::Zip("bad local file header"))?;
        if u32_at(&header, 0)? != LOCAL {
            return Err(Error::Zip("bad local file header"));
        }
        let local_name_len = u64::from(u16_at(&header, 26)?);
        let local_extra_len = u64::from(u16_at(&header, 28)?);
        let local_name = read_vec(src, local + 30, local_name_len)
            .map_err(|_| Error::Zip("bad local file header"))?;
        if local_name != raw_name {
            return Err(Error::Ambiguous(format!(
                "zip entry `{name}` has another name in its local header"
            )));
        }
        let start = local + 30 + local_name_len + local_extra_len;
        let stop = start
            .checked_add(size)
            .filter(|&s| s <= src.size())
            .ok_or_else(|| Error::Truncated(name.clone()))?;
        Ok(Entry {
            name,
            data: start..stop,
            local,
            crc32,
        })
    }

    /// All entries, in central-directory order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry called `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The archive's source.
    pub fn source(&self) -> &S {
        &self.src
    }

    /// An entry's bytes (allocated fallibly), after checking its CRC-32.
    pub fn read(&self, entry: &Entry) -> Result<Vec<u8>> {
        let data = read_vec(
            &self.src,
            entry.data.start,
            entry.data.end - entry.data.start,
        )?;
        if crc32fast::hash(&data) != entry.crc32 {
            return Err(Error::BadCrc(entry.name.clone()));
        }
        Ok(data)
    }
}
