#!/usr/bin/env bash
# Fuzz the torch.save reader (fuzz/: crates/torch-pickle, never links libtorch) and the native
# pooling kernels against libtorch (fuzz/kernels/: links libtorch, built without a sanitizer).
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default: 600 s each for unpickle, torch_archive, max_pool
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on stable through RUSTC_BOOTSTRAP (docs/FACTS.md §9).
# New corpus entries go to <dir>/corpus/<target> (git-ignored); fuzz/seeds/<target> is the
# committed seed corpus. A crash is saved under <dir>/artifacts/<target>/: add it to
# crates/torch-pickle/tests/fuzz_regressions/ (reader) or to a kernel unit test so it stays a test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(unpickle torch_archive max_pool)
for t in "${targets[@]}"; do
  if [ "$t" = max_pool ]; then
    # libtorch is not built with ASAN; its allocations need more room than the reader's.
    dir="$root/fuzz/kernels" flags=(--fuzz-dir "$root/fuzz/kernels" -s none) limits=(-malloc_limit_mb=2048 -rss_limit_mb=4096)
  else
    dir="$root/fuzz" flags=() limits=(-malloc_limit_mb=256 -rss_limit_mb=1024)
  fi
  cd "$dir"
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "$root/fuzz/seeds/$t" ] && seeds=("$root/fuzz/seeds/$t")
  # The kernel target links libtorch, which it finds through the checkout's .libtorch link.
  LD_LIBRARY_PATH="$root/.libtorch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  RUSTC_BOOTSTRAP=1 cargo fuzz run "${flags[@]}" "$t" "corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$secs" "${limits[@]}" -timeout=10 -print_final_stats=1
done
