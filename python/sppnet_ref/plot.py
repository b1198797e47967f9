"""Plot `sppnet bench`'s size sweep: per-call latency against input size, Rust vs Python.

    python -m sppnet_ref.plot BENCH.json OUT.png

One panel per kind of case (yueruchen SPP, ultralytics SPPF, SppNet), log-log axes, the x axis
being the input's side (H = W). Called by `sppnet bench --save PREFIX`; matplotlib comes with
the pinned ultralytics.
"""
import json
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TITLES = {
    "yueruchen": "yueruchen SPP [4,2,1], 256 channels",
    "sppf": "ultralytics SPPF, 256→256",
    "sppnet": "SppNet (SPP_NET defaults), RGB",
}


def main(src, dst):
    with open(src) as f:
        report = json.load(f)
    sweep = report.get("sweep") or []
    if not sweep:
        sys.exit(f"{src}: no size sweep to plot (run `sppnet bench` without --quick/--only)")
    kinds = []
    for case in sweep:
        kind = case["id"].split("/")[0]
        if kind not in kinds:
            kinds.append(kind)
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds), 3.8), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        cases = [c for c in sweep if c["id"].startswith(kind + "/")]
        sides = [c["shape"][2] for c in cases]
        for side, style, label in [("rust", "o-", "Rust (sppnet)"), ("python", "s--", "Python")]:
            ms = [c["variants"][side]["median_s"] * 1e3 for c in cases]
            ax.plot(sides, ms, style, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sides, [str(s) for s in sides])
        ax.set_xlabel("input side (H = W)")
        ax.set_ylabel("median ms per call")
        ax.set_title(TITLES.get(kind, kind), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    m = report["machine"]
    fig.suptitle(
        f"sppnet bench, batch 1: {m['cpu']}, {m['cores']} cores, {m['device']}, "
        f"{m['threads']} thread(s) each side",
        fontsize=10,
    )
    fig.tight_layout()
    # Written beside the target and renamed: never a half-written PNG.
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=os.path.dirname(os.path.abspath(dst)))
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
