//! Writing output files atomically and safely.
//!
//! The bytes go to a temporary file in the target folder, created exclusively (`O_EXCL`,
//! `O_NOFOLLOW`: a planted file or symlink makes the write fail, never redirects it) under an
//! unpredictable name `.sppnet-tmp-<pid>-<random>`, fsync'd, then renamed into place (or
//! hard-linked, which fails if the output appeared meanwhile, when overwriting was not asked
//! for), and the folder is fsync'd. Only a regular file is ever replaced: a symlink, FIFO,
//! device or directory at the output path is refused. Temporaries a killed run left behind are
//! recognised by their prefix and removed by the next write to that folder once their process
//! is gone.

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The prefix of every temporary output file.
pub const TEMP_PREFIX: &str = ".sppnet-tmp-";

/// What is at `path`, when it is not a regular file.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    })
}

/// Fail early when `path` exists and may not be overwritten, or when it is anything but a
/// regular file (those are never replaced).
pub fn refuse_existing(path: &Path, overwrite: bool) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
        Ok(meta) => match not_regular(&meta) {
            Some(what) => Err(Error::NotReplaceable {
                path: path.into(),
                what,
            }),
            None if !overwrite => Err(Error::OutputExists(path.into())),
            None => Ok(()),
        },
    }
}

/// 64 unpredictable bits (SipHash keyed from the OS's randomness).
fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(now.map_or(0, |d| d.as_nanos()));
    h.finish()
}

/// Remove temporaries in `dir` whose writing process no longer exists (a killed run's).
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Write `bytes` to `path` as the module documentation describes. An existing regular file
/// is replaced only when `overwrite`.
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    refuse_existing(path, overwrite)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if path.file_name().is_none() {
        return Err(Error::InvalidInput(format!(
            "{} is not a file path",
            path.display()
        )));
    }
    remove_stale_temporaries(&dir);
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{}-{:016x}",
        std::process::id(),
        random()
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        if overwrite {
            // Checked again right before the rename: only a regular file is replaced (and
            // rename never follows a symlink at the destination).
            refuse_existing(path, true)?;
            std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
        } else {
            // hard_link fails if `path` appeared meanwhile: never clobber without asking.
            std::fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Error::OutputExists(path.into()),
                _ => Error::io(path, e),
            })
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result?;
    sync_dir(&dir)
}
