"""Reference suites on our mirror of yueruchen's code (yueruchen.py), run through the protocol.

    pool_sweep   inputs and outputs of the pyramid over every rule, map sizes 1..40 (all squares
                 and a spread of non-square pairs), levels [4,2,1] and [6,3,2,1], batch 1 and 3,
                 C 1 and 7, with negative values, +-inf, NaN, +-0 ties and NaN payloads. Cases
                 PyTorch refuses are recorded (`refused`), not skipped.
    sppnet       for each model of the suite: a seeded SPP_NET with perturbed BatchNorm state,
                 saved as a safetensors state_dict (files.weights); for each input: eval output,
                 features, and (train: true) the training-mode output and updated BatchNorm state.
    run_weights  loads a sppnet safetensors checkpoint (`sppnet.config` metadata) into the mirror
                 with load_state_dict(strict=True); the eval output of every tensor of `inputs`.
"""
import copy
import json

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from . import common, yueruchen
from .common import on_device, perturb

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


def pool_sweep(suite, reply):
    idx = 0
    for (h, w) in sweep_sizes():
        for n in (1, 3):
            for c in (1, 7):
                x = make_input(idx, n, c, h, w)
                idx += 1
                for levels in LEVEL_SETS:
                    for rule in RULES:
                        case = reply.case(f"{rule}/{levels}/{h}x{w}/n{n}/c{c}",
                                          params={"h": h, "w": w, "n": n, "c": c, "levels": levels, "rule": rule})
                        try:
                            y = on_device(lambda t: yueruchen.pyramid_pool(t, levels, rule), x)
                        except (RuntimeError, ValueError) as e:
                            reply.run(case, x, refused={"kind": "error", "message": str(e).splitlines()[0]})
                            continue
                        if tuple(y.shape) != (n, c * sum(k * k for k in levels)):
                            # PyTorch ran, but not with n x n bins per level: sppnet refuses these.
                            reply.run(case, x, refused={"kind": "wrong_bins", "message": f"shape {tuple(y.shape)}"})
                        else:
                            reply.run(case, x, eval=y)


def sppnet_suite(suite, reply):
    models, cases = {}, {}
    for m in suite["models"]:
        torch.manual_seed(m["seed"])
        model = yueruchen.build(m["config"])
        perturb(model, m["seed"] + 1)
        models[m["name"]] = model
        meta = {"format": "pt"}
        if m.get("metadata", True):
            meta.update({"sppnet.arch": "sppnet", "sppnet.config": json.dumps(m["config"])})
        sd = {k: v.contiguous() for k, v in model.state_dict().items()}
        weights = m["name"] + ".safetensors"
        save_file(sd, reply.path(weights), metadata=meta)
        cases[m["name"]] = reply.case(m["name"], files={"weights": weights})
    for inp in suite["inputs"]:
        model = models[inp["model"]].to(common.DEVICE).eval()
        g = torch.Generator().manual_seed(inp["seed"])
        x = torch.randn(*inp["shape"], generator=g)
        with torch.no_grad():
            outputs = {"eval": on_device(model, x), "features": on_device(model.features, x)}
            if inp.get("train", False):
                trained = copy.deepcopy(model).train()
                outputs["train"] = on_device(trained, x)
        run = reply.run(cases[inp["model"]], x, name=inp["name"], **outputs)
        if inp.get("train", False):
            for k, v in trained.state_dict().items():
                if k.startswith(("BN1.", "BN2.")):
                    reply.state(run, k, v)


def run_weights(suite, reply):
    weights = suite["weights"]
    with safe_open(weights, "pt") as f:
        meta = f.metadata() or {}
    model = yueruchen.build(json.loads(meta.get("sppnet.config", "{}")))
    model.load_state_dict(load_file(weights), strict=True)
    model.eval()
    case = reply.case("run_weights")
    with torch.no_grad():
        for name, x in load_file(suite["inputs"]).items():
            reply.run(case, x, name=name, eval=model(x))
