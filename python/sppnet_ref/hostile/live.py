"""Prove the payloads are real: `python -m sppnet_ref.hostile.live MANIFEST_DIR` runs
`torch.load(weights_only=False)` on every input marked `torch_live` and prints, as JSON,
{input: true} for each whose payload ran (its marker file appeared or its canary directory
was deleted). Run after sppnet's cases: each payload only touches /tmp/sppnet-hostile-*.
"""
import contextlib
import glob
import io
import json
import os
import sys
import time

import torch

from .payloads import CANARY, MARKER


def clear():
    for m in glob.glob(MARKER + "*"):
        os.remove(m)


def main():
    manifest = json.load(open(os.path.join(sys.argv[1], "manifest.json")))
    ran = {}
    for case in manifest:
        path = case.get("input")
        if not case.get("torch_live") or not path or path in ran:
            continue
        clear()
        canary = case.get("canary_dir")
        if canary:
            os.makedirs(canary, exist_ok=True)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                torch.load(path, weights_only=False)
        except BaseException:  # noqa: BLE001 — many payloads make torch.load fail afterwards
            pass
        hit = bool(glob.glob(MARKER + "*"))
        if not hit:  # os.popen / pipepager run their command asynchronously
            time.sleep(0.3)
            hit = bool(glob.glob(MARKER + "*"))
        ran[path] = hit or bool(canary and not os.path.isdir(canary))
        clear()
    for d in glob.glob(CANARY + "*"):
        os.rmdir(d) if os.path.isdir(d) and not os.listdir(d) else None
    print(json.dumps(ran))


if __name__ == "__main__":
    main()
