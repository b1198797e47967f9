"""Python side of `sppnet bench` (src/bench/ on the Rust side; requests and replies are the
typed `BenchRequest` / `BenchReply` of src/reference/).

    python -m sppnet_ref.bench [--threads N] serve
        Answers JSON lines on stdin, one reply line each on stdout:
        {"op": "setup", "kind": K, "shape": [N, C, H, W], "device": "cpu"}  -> {"ok": true}
            K: maxpool5 / maxpool13 (F.max_pool2d(x, k, 1, k // 2)),
            yueruchen (spatial_pyramid_pool, levels [4,2,1]), spp / sppf / sppelan (ultralytics
            SPP(k=(5,9,13)) / SPPF(k=5) / SPPELAN(c3=C/2), c2 = C), sppnet (SPP_NET defaults).
        {"op": "time", "iters": n}  -> {"seconds": [per-call seconds, ...]}
    python -m sppnet_ref.bench [--threads N] forward WEIGHTS INPUT OUTPUT
        The whole-process counterpart of `sppnet forward`: import torch, load a sppnet SppNet
        checkpoint into the mirror, run the input's only tensor, save `output`.
"""
import argparse
import json
import sys
import time

import torch

from . import yueruchen


def build(kind, shape):
    n, c, h, w = shape
    if kind == "yueruchen":
        return lambda x: yueruchen.spatial_pyramid_pool(x, x.size(0), [x.size(2), x.size(3)], [4, 2, 1])
    if kind == "sppnet":
        return yueruchen.SPP_NET(None, c).eval()
    if kind in ("maxpool5", "maxpool13"):
        k = 5 if kind == "maxpool5" else 13
        return lambda x: torch.nn.functional.max_pool2d(x, k, 1, k // 2)
    from ultralytics.nn.modules import SPP, SPPF, SPPELAN
    if kind == "spp":
        return SPP(c, c).eval()
    if kind == "sppf":
        return SPPF(c, c).eval()
    if kind == "sppelan":
        return SPPELAN(c, c, c // 2).eval()
    raise ValueError(kind)


def serve():
    fn, x, device = None, None, "cpu"
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "setup":
            device = req.get("device", "cpu")
            torch.manual_seed(0)
            fn = build(req["kind"], req["shape"])
            if isinstance(fn, torch.nn.Module):
                fn = fn.to(device)
            x = torch.randn(*req["shape"], device=device)
            with torch.no_grad():
                fn(x)  # warm-up
            reply = {"ok": True}
        else:
            seconds = []
            with torch.no_grad():
                for _ in range(req["iters"]):
                    t = time.perf_counter()
                    fn(x)
                    if device != "cpu":
                        torch.cuda.synchronize()
                    seconds.append(time.perf_counter() - t)
            reply = {"seconds": seconds}
        print(json.dumps(reply), flush=True)


def forward(weights, inp, out):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    with safe_open(weights, "pt") as f:
        config = json.loads((f.metadata() or {}).get("sppnet.config", "{}"))
    model = yueruchen.build(config)
    model.load_state_dict(load_file(weights), strict=True)
    model.eval()
    (x,) = load_file(inp).values()
    with torch.no_grad():
        save_file({"output": model(x)}, out)
    with open("/proc/self/status") as f:  # VmHWM: peak RSS of this process image (see runtime.rs)
        hwm = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    print(f"sppnet-peak-rss-kib: {hwm}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("serve")
    p = sub.add_parser("forward")
    p.add_argument("weights")
    p.add_argument("input")
    p.add_argument("output")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cmd == "serve":
        serve()
    else:
        forward(args.weights, args.input, args.output)


if __name__ == "__main__":
    main()
