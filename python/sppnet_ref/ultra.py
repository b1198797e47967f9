"""Reference suites on ultralytics' own classes (never re-implemented), run through the protocol.

    blocks   each case builds an ultralytics Conv/SPP/SPPF/SPPELAN from `args`, sets BatchNorm eps
             and momentum, randomises weights and BatchNorm state (seeded), exports it
             (files.weights) and records eval outputs for its inputs. Options per case: `half`
             (f16 weights; reference = module.half().float()), `fuse` (ultralytics'
             fuse_conv_and_bn: files.fused and `fused` outputs), `train` (training-mode outputs
             and updated BatchNorm state), `bn_shift` (added to every BatchNorm bias).
    models   DetectionModel from yolov8n/yolo11n/yolo26n/yolov9t yamls (offline), BatchNorm state
             randomised; exports its SPP-family block and first two Convs, unfused and after
             model.fuse(), with outputs.
"""
import copy

import torch
import torch.nn as nn
import ultralytics  # noqa: F401  (sets OMP_NUM_THREADS=1 for children; common.setup sets threads)

from . import common
from .common import make_act, make_inputs, on_device, randomise
from .export import export, fuse_block


def build(case):
    from ultralytics.nn.modules import Conv, SPP, SPPF, SPPELAN
    a, cls = case["args"], case["class"]
    if cls == "Conv":
        m = Conv(a["c1"], a["c2"], a.get("k", 1), a.get("s", 1), a.get("p"), a.get("g", 1), a.get("d", 1),
                 act=make_act(case.get("act", "SiLU")))
    elif cls == "SPP":
        m = SPP(a["c1"], a["c2"], tuple(a.get("k", (5, 9, 13))))
    elif cls == "SPPF":
        m = SPPF(a["c1"], a["c2"], a.get("k", 5), a.get("n", 3), a.get("shortcut", False))
        if "cv1_act" in case:  # the pre-YOLO26 variant has SiLU here
            m.cv1.act = nn.SiLU() if case["cv1_act"] == "SiLU" else nn.Identity()
    elif cls == "SPPELAN":
        m = SPPELAN(a["c1"], a["c2"], a["c3"], a.get("k", 5))
    else:
        raise ValueError(cls)
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.eps, bn.momentum = case.get("bn_eps") or 1e-5, case.get("bn_momentum") or 0.1
    randomise(m, case["seed"], case.get("bn_shift") or 0.0)
    return m


def run_inputs(case, module, inputs, reply, fused=None, train=False):
    module.eval().to(common.DEVICE)
    if fused is not None:
        fused.to(common.DEVICE)
    for x in inputs:
        outputs = {}
        with torch.no_grad():
            outputs["eval"] = on_device(module, x)
            if fused is not None:
                outputs["fused"] = on_device(fused, x)
            trained = None
            if train and x.shape[0] * x.shape[2] * x.shape[3] > 1:  # PyTorch refuses 1 value per channel
                trained = copy.deepcopy(module).train()
                outputs["train"] = on_device(trained, x)
        run = reply.run(case, x, **outputs)
        if trained is not None:
            for k, v in trained.state_dict().items():
                if ".bn." in f".{k}" or k.startswith("bn."):
                    reply.state(run, k, v)


def blocks(suite, reply):
    for spec in suite["cases"]:
        name = spec["name"]
        m = build(spec).eval()
        files = {"weights": f"{name}.safetensors"}
        export(m, reply.path(files["weights"]), half=spec.get("half", False))
        m = m.cpu()
        if spec.get("half", False):
            m = m.half().float()  # what a f16 checkpoint holds, in f32
        fused = None
        if spec.get("fuse", False):
            fused = fuse_block(copy.deepcopy(m)).eval()
            files["fused"] = f"{name}.fused.safetensors"
            export(fused, reply.path(files["fused"]))
        case = reply.case(name, **{"class": spec["class"]}, files=files)
        run_inputs(case, m, make_inputs(spec["inputs"], spec["seed"] + 7), reply, fused, spec.get("train", False))


def models(suite, reply):
    from ultralytics.nn.modules import Conv, SPP, SPPF, SPPELAN
    from ultralytics.nn.tasks import DetectionModel
    for seed, yaml in enumerate(suite["yamls"]):
        model = DetectionModel(yaml, verbose=False)
        randomise(model, 100 + seed)
        model.eval().to(common.DEVICE)
        picks = [i for i, m in enumerate(model.model) if isinstance(m, (SPP, SPPF, SPPELAN))] + [0, 1]
        cases, inputs_for = {}, {}
        for i in picks:
            block = model.model[i]
            c1 = block.conv.in_channels if isinstance(block, Conv) else block.cv1.conv.in_channels
            name = f"{yaml[:-5]}.{i}"
            files = {"weights": f"{name}.safetensors", "fused": f"{name}.fused.safetensors"}
            export(block, reply.path(files["weights"]))
            inputs_for[i] = make_inputs([{"shape": [1, c1, 20, 20]}, {"shape": [2, c1, 13, 7]}], seed * 31 + i)
            cases[i] = reply.case(name, **{"class": type(block).__name__}, params={"yaml": yaml, "layer": i},
                                  files=files)
        with torch.no_grad():
            unfused = {i: [on_device(model.model[i], x) for x in inputs_for[i]] for i in picks}
        model.fuse(verbose=False)  # ultralytics' own fusion, whole model
        for i in picks:
            export(model.model[i], reply.path(cases[i]["files"]["fused"]))
            with torch.no_grad():
                for x, y in zip(inputs_for[i], unfused[i]):
                    reply.run(cases[i], x, eval=y, fused=on_device(model.model[i], x))
