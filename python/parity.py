"""Live reference side of sppnet's parity tests: one process computes every case of a suite.

    parity.py pool-sweep OUT_DIR [--threads N]
        Inputs and outputs of the pyramid over every rule, map sizes 1..40 (all squares and a
        spread of non-square pairs), levels [4,2,1] and [6,3,2,1], batch 1 and 3, C 1 and 7,
        with negative values, ±inf and NaN. Cases PyTorch refuses are recorded, not skipped.
        Writes OUT_DIR/sweep.safetensors and OUT_DIR/sweep.json.
    parity.py sppnet SPEC.json OUT_DIR [--threads N]
        For each model in the spec: seeded SPP_NET with perturbed BatchNorm state, saved as a
        safetensors state_dict; for each input: eval output, features, and train-mode output with
        the updated BatchNorm state. Writes OUT_DIR/<model>.safetensors and OUT_DIR/results.safetensors.
    parity.py run-weights WEIGHTS INPUTS OUT [--threads N]
        Loads WEIGHTS (a sppnet safetensors with `sppnet.config` metadata) into the mirror with
        load_state_dict(strict=True) and writes the eval output for every tensor of INPUTS.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yueruchen  # noqa: E402

RULES = ["yueruchen", "adaptive", "paper"]
LEVEL_SETS = [[4, 2, 1], [6, 3, 2, 1]]


def sweep_sizes():
    squares = [(s, s) for s in range(1, 41)]
    # A deterministic spread of non-square pairs: both orientations, thin and near-square maps.
    pairs = [(h, w) for h in range(1, 41) for w in range(1, 41) if h != w and (h * 7 + w * 13) % 23 == 0]
    pairs += [(1, 40), (40, 1), (2, 3), (3, 2), (13, 5), (5, 13), (100, 77)]
    return squares + sorted(set(pairs))


def make_input(idx, n, c, h, w):
    g = torch.Generator().manual_seed(1000 + idx)
    x = torch.randn(n, c, h, w, generator=g) * 3
    kind = idx % 6
    flat = x.view(-1)
    picks = torch.randint(0, flat.numel(), (max(1, flat.numel() // 17),), generator=g)
    if kind == 1:  # ±inf sprinkled
        flat[picks[0::2]] = float("inf")
        flat[picks[1::2]] = float("-inf")
    elif kind == 2:  # NaN and -inf sprinkled
        flat[picks[0::2]] = float("nan")
        flat[picks[1::2]] = float("-inf")
    elif kind == 3:  # all negative: padding must act as -inf, never 0
        x = -x.abs() - 1
    elif kind == 4:  # +0, -0 and negatives: bins whose max is a tie between the two zeros
        x = torch.where(x > 1, 0.0, torch.where(x > -1, -0.0, x))
    elif kind == 5:  # NaNs of both signs (two payloads) among ordinary values
        flat[picks[0::2]] = float("nan")
        flat[picks[1::2]] = -torch.tensor(float("nan"))
    return x


DEVICE = "cpu"  # --device: where the reference runs; inputs and outputs are stored on the CPU


def on_device(fn, x):
    return fn(x.to(DEVICE)).cpu()


def pool_sweep(out_dir):
    tensors, cases, idx = {}, [], 0
    for (h, w) in sweep_sizes():
        for n in (1, 3):
            for c in (1, 7):
                key = f"in/{h}x{w}/n{n}/c{c}"
                x = make_input(idx, n, c, h, w)
                idx += 1
                tensors[key] = x
                for levels in LEVEL_SETS:
                    for rule in RULES:
                        case = {"input": key, "h": h, "w": w, "n": n, "c": c, "levels": levels, "rule": rule}
                        try:
                            y = on_device(lambda t: yueruchen.pyramid_pool(t, levels, rule), x)
                        except (RuntimeError, ValueError) as e:
                            case["status"], case["message"] = "error", str(e).splitlines()[0]
                        else:
                            want = c * sum(k * k for k in levels)
                            if tuple(y.shape) != (n, want):
                                # PyTorch ran, but not with n×n bins per level: sppnet refuses these.
                                case["status"], case["message"] = "wrong_bins", f"shape {tuple(y.shape)}"
                            else:
                                case["status"] = "ok"
                                case["output"] = f"out/{len(cases)}"
                                tensors[case["output"]] = y.contiguous()
                        cases.append(case)
    save_file(tensors, os.path.join(out_dir, "sweep.safetensors"))
    with open(os.path.join(out_dir, "sweep.json"), "w") as f:
        json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "cases": cases}, f)


def perturb(model, seed):
    """Non-trivial BatchNorm state, so eval mode really uses the running statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (model.BN1, model.BN2, model.BN3):
            c = bn.num_features
            bn.weight.copy_(torch.rand(c, generator=g) + 0.5)
            bn.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
            bn.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
            bn.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
            bn.num_batches_tracked.fill_(7)


def sppnet_suite(spec_path, out_dir):
    with open(spec_path) as f:
        spec = json.load(f)
    models, results = {}, {}
    for m in spec["models"]:
        torch.manual_seed(m["seed"])
        model = yueruchen.build(m["config"])
        perturb(model, m["seed"] + 1)
        models[m["name"]] = model
        meta = {"format": "pt"}
        if m.get("metadata", True):
            meta.update({"sppnet.arch": "sppnet", "sppnet.config": json.dumps(m["config"])})
        sd = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(sd, os.path.join(out_dir, m["name"] + ".safetensors"), metadata=meta)
    for inp in spec["inputs"]:
        model = models[inp["model"]].to(DEVICE)
        g = torch.Generator().manual_seed(inp["seed"])
        x = torch.randn(*inp["shape"], generator=g)
        name = inp["name"]
        results[f"{name}/input"] = x
        model.eval()
        with torch.no_grad():
            results[f"{name}/eval"] = on_device(model, x)
            results[f"{name}/features"] = on_device(model.features, x)
        if inp.get("train", False):
            import copy
            trained = copy.deepcopy(model).train()
            with torch.no_grad():
                results[f"{name}/train"] = on_device(trained, x)
            for k, v in trained.state_dict().items():
                if k.startswith(("BN1.", "BN2.")):
                    results[f"{name}/train_state/{k}"] = v.cpu().contiguous()
    save_file(results, os.path.join(out_dir, "results.safetensors"),
              metadata={"torch": torch.__version__, "threads": str(torch.get_num_threads())})


def run_weights(weights, inputs, out):
    with safe_open(weights, "pt") as f:
        meta = f.metadata() or {}
    model = yueruchen.build(json.loads(meta.get("sppnet.config", "{}")))
    model.load_state_dict(load_file(weights), strict=True)
    model.eval()
    with torch.no_grad():
        outputs = {k: model(x) for k, x in load_file(inputs).items()}
    save_file(outputs, out)


def set_device(device):
    """Where the reference runs. On CUDA: cuDNN benchmark off, deterministic algorithms on."""
    global DEVICE
    DEVICE = device
    if device != "cpu":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (must equal Rust's)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda:N (deterministic settings on CUDA)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pool-sweep")
    p.add_argument("out_dir")
    p = sub.add_parser("sppnet")
    p.add_argument("spec")
    p.add_argument("out_dir")
    p = sub.add_parser("run-weights")
    p.add_argument("weights")
    p.add_argument("inputs")
    p.add_argument("out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    set_device(args.device)
    if args.cmd == "pool-sweep":
        pool_sweep(args.out_dir)
    elif args.cmd == "sppnet":
        sppnet_suite(args.spec, args.out_dir)
    else:
        run_weights(args.weights, args.inputs, args.out)


if __name__ == "__main__":
    main()
