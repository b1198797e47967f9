"""The `torch_files` suite: real torch.save files for the porting tests, with the reference
tensors torch.load gives.

One case per file X.pt (files.pt), with files.ref = X.ref.safetensors: the tensors
`torch.load(X.pt, weights_only=False)` yields (made contiguous; keys relative to the module the
test ports), and for ported blocks files.io = X.io.safetensors: an input and the module's float32
eval output. params: `arch` (the registry name expected), `module` (the path to port), `marker`.
Malicious files (os.system, builtins.eval, subprocess.Popen, posix.system via REDUCE) touch a
marker when unpickled by Python: the generator checks that they really do, removes the markers,
and the test then proves sppnet reading them creates none.
"""
import argparse
import copy
import datetime
import os

import torch
from safetensors.torch import save_file

from . import yueruchen
from .common import randomise


def ref(path, pt, pick):
    """The reference: what torch.load(pt, weights_only=False) gives, through `pick`."""
    loaded = pick(torch.load(pt, weights_only=False))
    save_file({k: v.detach().clone().contiguous() for k, v in loaded.items()}, path)


def io(path, module, shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g)
    with torch.no_grad():
        y = copy.deepcopy(module).float().eval()(x)
    save_file({"input": x, "output": y}, path)


class Payload:
    """Unpickling this runs `fn(*args)`: exactly what sppnet must never do."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def torch_files(suite, reply):
    out = reply.out_dir
    cases = {}

    def add(name, **params):
        files = {role: f"{name}.{ext}" for role, ext in
                 [("pt", "pt"), ("ref", "ref.safetensors"), ("io", "io.safetensors")]
                 if os.path.exists(f"{out}/{name}.{ext}")}
        cases[name] = reply.case(name, params=params, files=files)

    # 1. A bare state_dict (OrderedDict) of the SPP_NET mirror, at protocols 2, 4 and 5.
    torch.manual_seed(0)
    net = yueruchen.build({"input_nc": 3, "ndf": 8, "hidden": 64, "classes": 10})
    sd = net.state_dict()
    for proto in (2, 4, 5):
        torch.save(sd, f"{out}/sd_p{proto}.pt", pickle_protocol=proto)
        ref(f"{out}/sd_p{proto}.ref.safetensors", f"{out}/sd_p{proto}.pt", lambda x: x)
        if proto == 2:
            io(f"{out}/sd_p2.io.safetensors", net, (2, 3, 45, 38), 1)
        add(f"sd_p{proto}", arch="sppnet")

    # 2. A training checkpoint dict holding it, with optimizer state and odd objects.
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 3, 40, 40)).sum().backward()
    opt.step()
    ckpt = {"epoch": 3, "state_dict": net.state_dict(), "optimizer": opt.state_dict(),
            "args": argparse.Namespace(lr=0.1), "when": datetime.datetime(2026, 1, 2)}
    torch.save(ckpt, f"{out}/nested.pt")
    ref(f"{out}/nested.ref.safetensors", f"{out}/nested.pt", lambda x: x["state_dict"])
    add("nested", arch="sppnet")

    # 3. Whole pickled modules: the SPP_NET mirror and ultralytics blocks.
    torch.save(net, f"{out}/module_sppnet.pt")
    ref(f"{out}/module_sppnet.ref.safetensors", f"{out}/module_sppnet.pt", lambda x: x.state_dict())
    add("module_sppnet", arch="sppnet")
    from ultralytics.nn.modules import SPPF, SPP, SPPELAN
    for name, block in [("module_sppf", SPPF(64, 64, 5, 3, True)), ("module_spp", SPP(32, 16, (3, 5, 7))),
                        ("module_sppelan", SPPELAN(32, 32, 8))]:
        randomise(block, 5)
        torch.save(block, f"{out}/{name}.pt")
        ref(f"{out}/{name}.ref.safetensors", f"{out}/{name}.pt", lambda x: x.state_dict())
        io(f"{out}/{name}.io.safetensors", block, (2, block.cv1.conv.in_channels, 11, 8), 2)
        add(name, arch=type(block).__name__.lower())

    # 4. ultralytics training checkpoints, saved the way the trainer saves them.
    from ultralytics.nn.tasks import DetectionModel
    for yaml, layer in [("yolov8n", 9), ("yolo26n", 9), ("yolov9t", 9)]:
        model = DetectionModel(f"{yaml}.yaml", verbose=False)
        randomise(model, 7)
        half = copy.deepcopy(model).half()
        common = {"epoch": -1, "best_fitness": 0.5, "updates": 10, "train_args": {"model": f"{yaml}.yaml", "epochs": 1},
                  "train_metrics": {"metrics/mAP50(B)": 0.1}, "train_results": None,
                  "date": datetime.datetime.now().isoformat(), "version": "8.4.190", "license": "AGPL-3.0", "docs": "x"}
        torch.save({**common, "model": half, "ema": None, "optimizer": None}, f"{out}/{yaml}_best.pt")
        torch.save({**common, "model": None, "ema": copy.deepcopy(half), "optimizer": {"state": {}, "param_groups": []}},
                   f"{out}/{yaml}_last.pt")
        block = half.model[layer]
        ref(f"{out}/{yaml}_best.ref.safetensors", f"{out}/{yaml}_best.pt", lambda x: x["model"].model[layer].state_dict())
        io(f"{out}/{yaml}_best.io.safetensors", block, (1, block.cv1.conv.in_channels, 10, 13), 3)
        add(f"{yaml}_best", module=f"model.{layer}", arch=type(block).__name__.lower())
        add(f"{yaml}_last", module=f"model.{layer}", arch=type(block).__name__.lower(), source="ema")
        cases[f"{yaml}_last"]["files"]["ref"] = f"{yaml}_best.ref.safetensors"
        conv0 = half.model[0]
        ref(f"{out}/{yaml}_conv0.ref.safetensors", f"{out}/{yaml}_best.pt", lambda x: x["model"].model[0].state_dict())
        io(f"{out}/{yaml}_conv0.io.safetensors", conv0, (1, 3, 16, 12), 4)
        add(f"{yaml}_conv0", module="model.0", arch="conv")
        cases[f"{yaml}_conv0"]["files"]["pt"] = f"{yaml}_best.pt"

    # 5. Views, shared storages, every dtype.
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    views = {"base": base, "rows": base[1:4], "strided": base[:, ::3], "transposed": base.t(), "same": base,
             "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 3)}
    for dt in (torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32, torch.int16, torch.int8,
               torch.uint8, torch.bool):
        views[f"dtype_{str(dt).split('.')[1]}"] = (torch.arange(12) % 5 - 2).to(dt).reshape(3, 4)
    torch.save(views, f"{out}/views.pt")
    ref(f"{out}/views.ref.safetensors", f"{out}/views.pt", lambda x: x)
    add("views")

    # 6. Malicious pickles: each would run a command under torch.load(weights_only=False).
    import builtins
    import posix
    import subprocess
    payloads = {
        "evil_os_system": (os.system, ("touch {m}",)),
        "evil_posix_system": (posix.system, ("touch {m}",)),
        "evil_eval": (builtins.eval, ("open('{m}', 'w').close()",)),
        "evil_popen": (subprocess.Popen, (["touch", "{m}"],)),
    }
    for name, (fn, fargs) in payloads.items():
        marker = f"{out}/{name}.marker"
        fargs = tuple(a.format(m=marker) if isinstance(a, str) else [x.format(m=marker) for x in a] for a in fargs)
        torch.save({"weight": torch.ones(2), "payload": Payload(fn, fargs)}, f"{out}/{name}.pt")
        torch.load(f"{out}/{name}.pt", weights_only=False)  # proves the payload is live ...
        import time
        for _ in range(50):
            if os.path.exists(marker):
                break
            time.sleep(0.02)
        assert os.path.exists(marker), f"{name}: payload did not run under torch.load"
        os.remove(marker)  # ... and leaves nothing behind for the Rust test to find
        add(name, marker=marker)
