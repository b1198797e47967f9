//! Opening input files safely: regular files only (a FIFO would block, `/dev/zero` never ends),
//! their type checked before any byte is read, and reads bounded and allocated fallibly.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// What a path is, for messages.
fn kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Open `path` for reading; refuse anything but a regular file. The open does not block (a
/// FIFO is opened non-blocking and then refused). Returns the file and its length.
pub fn open_regular(path: &Path) -> Result<(File, u64)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::InvalidInput(format!(
            "{}: {}, not a regular file",
            path.display(),
            kind(&meta)
        )));
    }
    Ok((file, meta.len()))
}

/// `len` bytes at `offset`, into a buffer allocated fallibly (a huge length is an error, not
/// an abort).
pub fn read_at(file: &File, path: &Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let n = usize::try_from(len)
        .map_err(|_| Error::InvalidInput(format!("{}: {len} bytes to read", path.display())))?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(n).map_err(|_| {
        Error::InvalidInput(format!(
            "{}: cannot allocate {n} bytes to read it",
            path.display()
        ))
    })?;
    buf.resize(n, 0);
    file.read_exact_at(&mut buf, offset)
        .map_err(|e| Error::io(path, e))?;
    Ok(buf)
}

/// The whole of a regular file of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>> {
    let (file, len) = open_regular(path)?;
    if len > max {
        return Err(Error::InvalidInput(format!(
            "{}: {len} bytes, more than the {max} this reader takes",
            path.display()
        )));
    }
    read_at(&file, path, 0, len)
}
