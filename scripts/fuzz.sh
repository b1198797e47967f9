#!/usr/bin/env bash
# Fuzz the torch.save reader (crates/torch-pickle), which never links libtorch.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 600 s each for unpickle and torch_archive
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on stable through RUSTC_BOOTSTRAP (docs/FACTS.md §9).
# New corpus entries go to fuzz/corpus/<target> (git-ignored); fuzz/seeds/<target> is the
# committed seed corpus. A crash is saved under fuzz/artifacts/<target>/: add it to
# crates/torch-pickle/tests/fuzz_regressions/ so it stays a test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(unpickle torch_archive)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -malloc_limit_mb=256 -rss_limit_mb=1024 -timeout=10 -print_final_stats=1
done
