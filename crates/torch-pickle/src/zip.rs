//! A minimal reader of the zip archives `torch.save` writes: STORED entries (no compression),
//! zip64 when large. Every offset and length is checked against the buffer; CRC-32 is checked
//! when an entry is read. Nothing is allocated beyond the entry table.

use crate::error::{Error, Result};

/// One archive member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the archive, e.g. `best/data.pkl`.
    pub name: String,
    /// Byte range of the (uncompressed) data in the archive buffer.
    pub data: std::ops::Range<usize>,
    /// CRC-32 recorded in the central directory.
    pub crc32: u32,
}

/// The central directory of a zip archive held in memory.
#[derive(Debug)]
pub struct Zip<'a> {
    buf: &'a [u8],
    entries: Vec<Entry>,
}

fn bytes_at<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
    at.checked_add(N)
        .and_then(|end| b.get(at..end))
        .map(|s| s.try_into().expect("N bytes"))
        .ok_or(Error::Zip("truncated record"))
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    bytes_at(b, at).map(u16::from_le_bytes)
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    bytes_at(b, at).map(u32::from_le_bytes)
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    bytes_at(b, at).map(u64::from_le_bytes)
}

fn to_usize(v: u64) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::Zip("offset does not fit in memory"))
}

const EOCD: u32 = 0x0605_4b50;
const EOCD64_LOCATOR: u32 = 0x0706_4b50;
const EOCD64: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

impl<'a> Zip<'a> {
    /// Parse the central directory of `buf`.
    pub fn new(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < 22 {
            return Err(Error::Zip("file too short for a zip archive"));
        }
        // The end-of-central-directory record is in the last 22 + 65535 bytes.
        let lo = buf.len().saturating_sub(22 + 0xffff);
        let eocd = (lo..=buf.len() - 22)
            .rev()
            .find(|&i| u32_at(buf, i).ok() == Some(EOCD))
            .ok_or(Error::Zip(
                "no end-of-central-directory record (truncated, or not a zip archive)",
            ))?;
        let mut count = u64::from(u16_at(buf, eocd + 10)?);
        let mut cd_size = u64::from(u32_at(buf, eocd + 12)?);
        let mut cd_offset = u64::from(u32_at(buf, eocd + 16)?);
        if count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
            let loc = eocd
                .checked_sub(20)
                .ok_or(Error::Zip("missing zip64 locator"))?;
            if u32_at(buf, loc)? != EOCD64_LOCATOR {
                return Err(Error::Zip("missing zip64 locator"));
            }
            let at = to_usize(u64_at(buf, loc + 8)?)?;
            if u32_at(buf, at)? != EOCD64 {
                return Err(Error::Zip("bad zip64 end-of-central-directory record"));
            }
            count = u64_at(buf, at + 32)?;
            cd_size = u64_at(buf, at + 40)?;
            cd_offset = u64_at(buf, at + 48)?;
        }
        let (cd_offset, cd_size) = (to_usize(cd_offset)?, to_usize(cd_size)?);
        let cd_end = cd_offset
            .checked_add(cd_size)
            .filter(|&e| e <= buf.len())
            .ok_or(Error::Zip("central directory out of bounds"))?;
        // Each central record is at least 46 bytes: a count beyond that is a lie.
        if count > (cd_size / 46) as u64 {
            return Err(Error::Zip("entry count exceeds the central directory"));
        }
        let mut entries = Vec::with_capacity(count as usize);
        let mut at = cd_offset;
        for _ in 0..count {
            entries.push(Self::central_entry(buf, &mut at, cd_end)?);
        }
        Ok(Zip { buf, entries })
    }

    fn central_entry(buf: &[u8], at: &mut usize, cd_end: usize) -> Result<Entry> {
        let p = *at;
        if p + 46 > cd_end || u32_at(buf, p)? != CENTRAL {
            return Err(Error::Zip("bad central directory record"));
        }
        let method = u16_at(buf, p + 10)?;
        let crc32 = u32_at(buf, p + 16)?;
        let mut comp = u64::from(u32_at(buf, p + 20)?);
        let mut size = u64::from(u32_at(buf, p + 24)?);
        let name_len = usize::from(u16_at(buf, p + 28)?);
        let extra_len = usize::from(u16_at(buf, p + 30)?);
        let comment_len = usize::from(u16_at(buf, p + 32)?);
        let mut local = u64::from(u32_at(buf, p + 42)?);
        let name_end = p + 46 + name_len;
        let end = name_end + extra_len + comment_len;
        if end > cd_end {
            return Err(Error::Zip("central directory record out of bounds"));
        }
        let name = String::from_utf8_lossy(&buf[p + 46..name_end]).into_owned();
        // zip64 extended information: the fields that overflowed, in order.
        let mut x = name_end;
        while x + 4 <= name_end + extra_len {
            let (id, len) = (u16_at(buf, x)?, usize::from(u16_at(buf, x + 2)?));
            if x + 4 + len > name_end + extra_len {
                return Err(Error::Zip("bad extra field"));
            }
            if id == 1 {
                let mut f = x + 4;
                for v in [&mut size, &mut comp, &mut local] {
                    if *v == 0xffff_ffff && f + 8 <= x + 4 + len {
                        *v = u64_at(buf, f)?;
                        f += 8;
                    }
                }
            }
            x += 4 + len;
        }
        *at = end;
        if method != 0 {
            return Err(Error::Compressed(name));
        }
        if comp != size {
            return Err(Error::Zip("stored entry with differing sizes"));
        }
        let local = to_usize(local)?;
        if u32_at(buf, local)? != LOCAL {
            return Err(Error::Zip("bad local file header"));
        }
        let start = local
            + 30
            + usize::from(u16_at(buf, local + 26)?)
            + usize::from(u16_at(buf, local + 28)?);
        let stop = start
            .checked_add(to_usize(size)?)
            .filter(|&s| s <= buf.len())
            .ok_or_else(|| Error::Truncated(name.clone()))?;
        Ok(Entry {
            name,
            data: start..stop,
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

    /// An entry's bytes, after checking its CRC-32.
    pub fn read(&self, entry: &Entry) -> Result<&'a [u8]> {
        let data = &self.buf[entry.data.clone()];
        if crc32fast::hash(data) != entry.crc32 {
            return Err(Error::BadCrc(entry.name.clone()));
        }
        Ok(data)
    }
}

/// Write entries as a stored (uncompressed) zip archive, the layout torch.save uses. For tests,
/// fuzz seeds and tools; no zip64.
pub fn write_stored(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend(20u16.to_le_bytes()); // version made by
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend([0u8; 4]); // flags, method = stored
            h.extend([0u8; 4]); // time, date
            h.extend(crc.to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend([0u8; 6]); // comment length, disk, internal attrs
                h.extend([0u8; 4]); // external attrs
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(header(LOCAL, false));
        out.extend_from_slice(data);
        central.extend(header(CENTRAL, true));
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(EOCD.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_archives_read_back_and_crc_is_checked() {
        let zip = write_stored(&[("a/data.pkl", b"hello"), ("a/data/0", &[1, 2, 3, 4])]);
        let z = Zip::new(&zip).unwrap();
        assert_eq!(z.entries().len(), 2);
        assert_eq!(z.read(z.entry("a/data/0").unwrap()).unwrap(), &[1, 2, 3, 4]);
        let mut bad = zip.clone();
        let at = z.entry("a/data.pkl").unwrap().data.start;
        bad[at] ^= 1;
        let z = Zip::new(&bad).unwrap();
        assert_eq!(
            z.read(z.entry("a/data.pkl").unwrap()),
            Err(Error::BadCrc("a/data.pkl".into()))
        );
        for cut in [1, 10, 30, zip.len() - 5] {
            assert!(Zip::new(&zip[..zip.len() - cut]).is_err(), "cut {cut}");
        }
    }
}
