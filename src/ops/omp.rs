//! Running native kernels on libtorch's own OpenMP threads, when the process has them.
//!
//! libtorch's CPU build (PyPI's, which tch links) parallelises with GNU OpenMP, and its worker
//! threads stay alive (and spin for a while) after each parallel op. A kernel that starts its
//! own threads pays for creating them on every call and then competes with those spinning
//! workers for the cores; one that joins libtorch's team pays neither. `GOMP_parallel` and
//! `omp_get_thread_num` are looked up once in the loaded libraries (`dlsym`); where they are
//! not there (another OpenMP runtime, or none), [`parallel`] says so and the caller uses
//! threads of its own.

use std::ffi::{c_int, c_uint, c_void};
use std::sync::OnceLock;

type Parallel = unsafe extern "C" fn(extern "C" fn(*mut c_void), *mut c_void, c_uint, c_uint);
type Query = unsafe extern "C" fn() -> c_int;

/// libgomp's entry points, when loaded.
struct Gomp {
    parallel: Parallel,
    thread_num: Query,
    num_threads: Query,
}

fn gomp() -> Option<&'static Gomp> {
    static GOMP: OnceLock<Option<Gomp>> = OnceLock::new();
    GOMP.get_or_init(|| {
        let find = |name: &[u8]| {
            // SAFETY: a NUL-terminated name looked up in the already loaded objects.
            let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr().cast()) };
            (!p.is_null()).then_some(p)
        };
        let (p, t, n) = (
            find(b"GOMP_parallel\0")?,
            find(b"omp_get_thread_num\0")?,
            find(b"omp_get_num_threads\0")?,
        );
        // SAFETY: libgomp's documented signatures (GOMP_parallel since GCC 4.9).
        unsafe {
            Some(Gomp {
                parallel: std::mem::transmute::<*mut c_void, Parallel>(p),
                thread_num: std::mem::transmute::<*mut c_void, Query>(t),
                num_threads: std::mem::transmute::<*mut c_void, Query>(n),
            })
        }
    })
    .as_ref()
}

/// What each thread of the team runs: `work(part)` for its share of `0..parts`.
struct Team<'a> {
    parts: usize,
    work: &'a (dyn Fn(usize) + Sync),
    gomp: &'static Gomp,
}

extern "C" fn member(data: *mut c_void) {
    // SAFETY: `data` is the `Team` that `parallel` holds for the whole region.
    let team = unsafe { &*(data as *const Team<'_>) };
    // SAFETY: called inside the parallel region libgomp runs.
    let (id, size) = unsafe { ((team.gomp.thread_num)(), (team.gomp.num_threads)()) };
    let (id, size) = (id.max(0) as usize, size.max(1) as usize);
    // The team may be smaller than asked for: stride over the parts so that all are done.
    for part in (id..team.parts).step_by(size) {
        (team.work)(part);
    }
}

/// Run `work(0..parts)` on libtorch's OpenMP team of `threads` threads (the caller is one of
/// them), returning when all are done; `false` (nothing run) where libgomp is not loaded.
/// `work` must not panic (it runs on OpenMP's threads, where a panic aborts).
pub fn parallel(threads: usize, parts: usize, work: &(dyn Fn(usize) + Sync)) -> bool {
    let Some(gomp) = gomp() else { return false };
    let team = Team { parts, work, gomp };
    let threads = c_uint::try_from(threads.clamp(1, parts.max(1))).unwrap_or(1);
    // SAFETY: `member` only reads `team`, which outlives the region (GOMP_parallel returns
    // after every thread has finished).
    unsafe { (gomp.parallel)(member, &team as *const Team<'_> as *mut c_void, threads, 0) };
    true
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_part_runs_once_on_libtorch_threads() {
        let _ = tch::Tensor::from(1.0f32).f_add_scalar(1.0); // libtorch loaded
        let done: Vec<AtomicUsize> = (0..37).map(|_| AtomicUsize::new(0)).collect();
        let ran = super::parallel(4, done.len(), &|i| {
            done[i].fetch_add(1, Ordering::Relaxed);
        });
        assert!(ran, "libgomp should be loaded with PyPI's libtorch");
        assert!(done.iter().all(|d| d.load(Ordering::Relaxed) == 1));
    }
}
