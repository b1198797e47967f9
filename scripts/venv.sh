#!/usr/bin/env bash
# Print the path of the project venv, creating it first when it is missing.
#
# Location: $SPPNET_VENV when set, else ~/.cache/sppnet/venv-<hash of the requirement lines of
# python/requirements.txt and python/constraints.txt>,
# so every fresh clone (CI makes one per run) reuses the same ~5 GB install.
# A `.venv` link in the checkout points at it so cargo's [env] (.cargo/config.toml) finds it.
# A venv without the completion marker (an interrupted install) is rebuilt from scratch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
req="$root/python/requirements.txt"
# Every transitive package pinned (python -m sppnet_ref.pins): a fresh set-up resolves to the
# same set next month.
pins="$root/python/constraints.txt"
if [ -n "${SPPNET_VENV:-}" ]; then
  venv=$SPPNET_VENV
else
  # The requirement lines only: editing a comment does not rebuild the venv.
  hash=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$req" "$pins" | sha256sum | cut -c1-12)
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/sppnet/venv-$hash"
fi
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.sppnet-complete" ]; then
  echo "sppnet: creating the Python venv at $venv (~5 GB, 2-4 minutes, once per requirements hash)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir -r "$req" -c "$pins" >&2
  touch "$venv/.sppnet-complete"
fi
ln -sfn "$venv" "$root/.venv"
# libtorch's headers and libraries, for torch-sys (LIBTORCH in .cargo/config.toml).
torch_dir=$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
ln -sfn "$torch_dir" "$root/.libtorch"
echo "$venv"
