"""Regenerate weights/: the tiny reference SppNet checkpoint and its golden dumps (`make weights`).

    python -m sppnet_ref.make_weights [--out weights] [--threads 2]

weights/sppnet_tiny.safetensors         SPP_NET(input_nc=3, ndf=8, hidden=64, classes=10), seed 0,
                                        perturbed BatchNorm state; config in the metadata.
weights/sppnet_tiny_golden.safetensors  inputs `<size>/input` and this mirror's eval outputs
                                        `<size>/output` and pooled features `<size>/features`
                                        for 32×32, 45×45, 64×64 (batch 2) and 100×77 (batch 2).
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file

from . import yueruchen
from .common import perturb

CONFIG = {"input_nc": 3, "ndf": 8, "levels": [4, 2, 1], "hidden": 64, "classes": 10, "rule": "yueruchen"}
SIZES = [("32x32", 1, 32, 32), ("45x45", 1, 45, 45), ("64x64", 2, 64, 64), ("100x77", 2, 100, 77)]


def cpu_model():
    """The CPU's `model name` (libtorch picks convolution kernels by instruction set: bits are
    only comparable on the same CPU, docs/FACTS.md §8)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "weights"))
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads (the tests use 2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(0)
    model = yueruchen.build(CONFIG)
    perturb(model, 1)
    model.eval()
    meta = {"format": "pt", "sppnet.arch": "sppnet", "sppnet.config": json.dumps(CONFIG)}
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(args.out, "sppnet_tiny.safetensors"), metadata=meta)

    g = torch.Generator().manual_seed(42)
    golden = {}
    for name, n, h, w in SIZES:
        x = torch.rand(n, 3, h, w, generator=g)
        with torch.no_grad():
            golden[f"{name}/input"] = x
            golden[f"{name}/output"] = model(x)
            golden[f"{name}/features"] = model.features(x)
    gmeta = {"torch": torch.__version__, "threads": str(args.threads), "cpu": cpu_model(),
             "weights": "sppnet_tiny.safetensors"}
    save_file(golden, os.path.join(args.out, "sppnet_tiny_golden.safetensors"), metadata=gmeta)
    print(f"wrote {args.out}/sppnet_tiny.safetensors and sppnet_tiny_golden.safetensors (torch {torch.__version__})")


if __name__ == "__main__":
    main()
