//! Writing output files atomically and safely.
//!
//! The bytes go to a temporary file in the target folder, created exclusively (`O_EXCL`,
//! `O_NOFOLLOW`: a planted file or symlink makes the write fail, never redirects it) under an
//! unpredictable name `.sppnet-tmp-<pid>-<random>-<check>`, fsync'd, then renamed into place
//! (or hard-linked, which fails if the output appeared meanwhile, when overwriting was not
//! asked for), and the folder is fsync'd. Only a regular file is ever replaced: a symlink,
//! FIFO, device or directory at the output path is refused, and so is any file in a
//! [`Protected`] set (a run's inputs: `--force` replaces earlier outputs, never an input),
//! checked by device and inode (so a symlinked folder, `dir/.` or a hard link is caught too)
//! before the write and again right before the rename.
//!
//! A killed run can leave its temporary behind. The first write of a process to a folder
//! removes those that sppnet provably made there: the name has exactly the form above with
//! `<check>` the [`temp_check`] of `<pid>-<random>`, the writing process is gone, and the entry
//! is a regular file with one link owned by this user. Anything else — a user's
//! `.sppnet-tmp-<pid>-mine`, a symlink of any name — is never touched.
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
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

/// The check value a temporary's name carries: FNV-1a (64-bit) of `sppnet-tmp:<pid>-<random>`,
/// 16 hex digits. It tells sppnet's temporaries from a user's files that look alike.
pub fn temp_check(pid_random: &str) -> String {
    let h = b"sppnet-tmp:"
        .iter()
        .chain(pid_random.as_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{h:016x}")
}

/// The pid of a temporary's name, when the name is exactly one sppnet makes.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (pid_random, check) = rest.rsplit_once('-')?;
    let (pid, random) = pid_random.split_once('-')?;
    let hex16 = |s: &str| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let ok =
        hex16(random) && pid.bytes().all(|b| b.is_ascii_digit()) && check == temp_check(pid_random);
    ok.then(|| pid.parse().ok()).flatten()
}

/// Remove the temporaries in `dir` that sppnet provably made and whose writing process is gone
/// (see the module documentation); once per folder per process.
pub fn remove_stale_temporaries(dir: &Path) {
    static DONE: std::sync::Mutex<Option<HashSet<PathBuf>>> = std::sync::Mutex::new(None);
    if let Ok(mut done) = DONE.lock() {
        if !done
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf())
        {
            return;
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else {
            continue;
        };
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        let ours = meta.file_type().is_file() && meta.nlink() == 1 && meta.uid() == uid;
        if ours && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Files an output must never replace (a run's inputs), by device and inode.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    /// Device and inode → the path it was given as (a map: a folder of a million inputs is
    /// checked once per picture).
    ids: std::collections::HashMap<(u64, u64), PathBuf>,
}

impl Protected {
    /// The files among `paths` that exist (others are skipped).
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Protected {
        let ids = paths
            .into_iter()
            .filter_map(|p| {
                let m = std::fs::metadata(p).ok()?;
                Some(((m.dev(), m.ino()), p.to_path_buf()))
            })
            .collect();
        Protected { ids }
    }

    /// Refuse `output` when it is one of the protected files (whatever path leads to it).
    pub fn check(&self, output: &Path) -> Result<()> {
        let Ok(m) = std::fs::metadata(output) else {
            return Ok(());
        };
        match self.ids.get(&(m.dev(), m.ino())) {
            Some(input) => Err(Error::WouldReplaceInput {
                output: output.into(),
                input: input.clone(),
            }),
            None => Ok(()),
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
    write_atomic_except(path, bytes, overwrite, &Protected::default())
}

/// [`write_atomic`], refusing to replace any file of `protected`.
pub fn write_atomic_except(
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
    protected: &Protected,
) -> Result<()> {
    protected.check(path)?;
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
    let pid_random = format!("{}-{:016x}", std::process::id(), random());
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{pid_random}-{}",
        temp_check(&pid_random)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(|e| Error::io(path, e))?;
        // Errors name the output, not the temporary (which is removed).
        f.write_all(bytes).map_err(|e| Error::io(path, e))?;
        f.sync_all().map_err(|e| Error::io(path, e))?;
        if overwrite {
            // Checked again right before the rename: only a regular file is replaced (and
            // rename never follows a symlink at the destination).
            refuse_existing(path, true)?;
            protected.check(path)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_sppnet_makes_are_temporaries() {
        let pr = format!("{}-{:016x}", 4_000_000, 0xabcdu64);
        let good = format!("{TEMP_PREFIX}{pr}-{}", temp_check(&pr));
        assert_eq!(temp_pid(&good), Some(4_000_000));
        for bad in [
            format!("{TEMP_PREFIX}4000000-mine"),
            format!("{TEMP_PREFIX}{pr}-0000000000000000"),
            format!("{TEMP_PREFIX}{pr}"),
            format!(
                "{TEMP_PREFIX}4000000-{:016x}-{}x",
                0xabcdu64,
                temp_check(&pr)
            ),
            good.replace("abcd", "abce"),
        ] {
            assert_eq!(temp_pid(&bad), None, "{bad}");
        }
    }
}
