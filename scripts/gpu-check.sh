#!/usr/bin/env bash
# Prepare and describe the CUDA check (docs/FACTS.md §7). `prepare` is verified (2026-11-26: the tch
# 0.24 build against torch 2.11 links, and the bundle runs `--version` and `parity --quick
# --skip-blocks` on this CPU machine); the device step has NOT been run: no GPU machine was lent
# to the tasks so far.
#
# The GPU machine has PyTorch 2.11.0 (python3 at /opt/torch/.venv), CUDA 13, no Rust, no network.
# tch 0.26 does not build against torch 2.11, so:
#   1. here: a torch==2.11.0 venv, a scratch copy of the checkout with tch/torch-sys 0.24 (the
#      release made for 2.11), a release build linked against that torch;
#   2. a bundle (binary + python/ + weights/ + the safetensors abi3 wheel unpacked in pydeps/)
#      in gpu-bundle/ (git-ignored), carried to the device with the device tool's `carry`;
#   3. there: `sppnet parity --device cuda` against the device's own Python and torch, then
#      `sppnet bench --device cuda --quick`, with LD_LIBRARY_PATH at the device's torch/lib
#      (the binary dlopens libtorch_cuda.so from there). Where that Python lacks `ultralytics`
#      (its import chain needs opencv, pillow, matplotlib…, too big to carry), the blocks are
#      left out explicitly (`parity --skip-blocks`, bench `--only yueruchen` / `--only sppnet`)
#      and the output says so.
#
#   scripts/gpu-check.sh prepare      # steps 1–2 (≈5 GB venv, ≈5 min build)
#   scripts/gpu-check.sh command      # prints the one command to give the device tool
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${XDG_CACHE_HOME:-$HOME/.cache}/sppnet/venv-torch211"
scratch=/tmp/sppnet-gpu-build
bundle="$root/gpu-bundle"

case "${1:-}" in
prepare)
  if [ ! -f "$venv/.complete" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --no-cache-dir torch==2.11.0 safetensors numpy
    touch "$venv/.complete"
  fi
  torch_dir=$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
  rm -rf "$scratch" && mkdir -p "$scratch"
  git -C "$root" archive HEAD | tar -x -C "$scratch"
  sed -i 's/^tch = "0.26"/tch = "0.24"/; s/^torch-sys = "0.26"/torch-sys = "0.24"/' "$scratch/Cargo.toml"
  rm -f "$scratch/Cargo.lock" "$scratch/.cargo/config.toml"
  (cd "$scratch" && LIBTORCH="$torch_dir" LIBTORCH_CXX11_ABI=1 cargo build --release --bin sppnet)
  rm -rf "$bundle" && mkdir -p "$bundle"
  cp "$scratch/target/release/sppnet" "$bundle/"
  cp -r "$root/python" "$root/weights" "$bundle/"
  # safetensors' abi3 wheel imports on any CPython >= 3.10: unpacked, it is a PYTHONPATH entry.
  "$venv/bin/python" -m pip download -q --no-deps --only-binary=:all: --implementation cp \
    --abi abi3 --python-version 3.10 --platform manylinux_2_17_x86_64 safetensors==0.8.0 -d "$scratch/wheels"
  "$venv/bin/python" -m zipfile -e "$scratch"/wheels/safetensors-*.whl "$bundle/pydeps"
  grep -q '^/gpu-bundle' "$root/.git/info/exclude" 2>/dev/null || echo /gpu-bundle >> "$root/.git/info/exclude"
  du -sh "$bundle"
  ;;
command)
  cat <<'CMD'
device run, carry ["gpu-bundle"], timeout_s 540:
  set -o pipefail; T=$(/opt/torch/.venv/bin/python -c 'import os,torch;print(os.path.dirname(torch.__file__))');
  export LD_LIBRARY_PATH=$T/lib SPPNET_ROOT=$PWD/gpu-bundle SPPNET_PYTHON=/opt/torch/.venv/bin/python;
  $SPPNET_PYTHON -c 'import safetensors' 2>/dev/null || export PYTHONPATH=$PWD/gpu-bundle/pydeps;
  nvidia-smi -L; gpu-bundle/sppnet --version;
  if $SPPNET_PYTHON -c 'import ultralytics' 2>/dev/null; then SKIP=; else SKIP=--skip-blocks; fi;
  gpu-bundle/sppnet --threads 1 parity --device cuda $SKIP 2>&1 | tee $OUT/parity.txt;
  if [ -z "$SKIP" ]; then gpu-bundle/sppnet bench --device cuda --quick --save $OUT/bench;
  else for o in yueruchen sppnet; do gpu-bundle/sppnet bench --device cuda --quick --only $o; done; fi 2>&1 | tail -30
CMD
  ;;
*)
  sed -n '2,23p' "$0"
  exit 2
  ;;
esac
