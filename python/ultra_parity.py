"""Live reference side of the ultralytics parity tests: ultralytics' own classes, never re-implemented.

    ultra_parity.py [--threads N] blocks SPEC.json OUT_DIR
        Each case builds an ultralytics Conv/SPP/SPPF/SPPELAN from `args`, sets BatchNorm eps and
        momentum, randomises weights and BatchNorm state (seeded), exports it with export.py to
        OUT_DIR/<name>.safetensors, and writes eval outputs for its inputs. Options per case:
        `half` (f16 weights; reference = module.half().float()), `fuse` (ultralytics'
        fuse_conv_and_bn: fused file <name>.fused.safetensors and fused outputs), `train`
        (training-mode outputs and updated BatchNorm state), `bn_shift` (added to every BatchNorm
        bias: negative values make whole pooling windows negative).
    ultra_parity.py [--threads N] models OUT_DIR
        DetectionModel from yolov8n/yolo11n/yolo26n/yolov9t yamls (offline), BatchNorm state
        randomised; exports its SPP-family block and first two Convs, unfused and after
        model.fuse(), with outputs. Writes OUT_DIR/models.json listing them.
All outputs go to OUT_DIR/results.safetensors as `<case>/<i>/{input,eval,fused,train,train_state/<key>}`.
"""
import argparse
import copy
import json
import os
import sys

import torch
import torch.nn as nn
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import export, fuse_block  # noqa: E402


def make_act(name):
    """An activation module from its sppnet name (`SiLU`, `LeakyReLU(0.1)`, …)."""
    if name == "SiLU":
        return True  # Conv's own default_act
    if name == "Identity":
        return False
    if name.startswith("LeakyReLU("):
        return nn.LeakyReLU(float(name[len("LeakyReLU("):-1]))
    return getattr(nn, name)()


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
            bn.eps, bn.momentum = case.get("bn_eps", 1e-5), case.get("bn_momentum", 0.1)
    randomise(m, case["seed"], case.get("bn_shift", 0.0))
    return m


def randomise(module, seed, bn_shift=0.0):
    """Seeded weights and non-trivial BatchNorm state (so eval mode really uses it)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.weight[0].numel() ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2 + bn_shift)
                m.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                m.num_batches_tracked.fill_(3)


def run_inputs(name, module, inputs, results, fused=None, train=False):
    from parity import DEVICE, on_device
    module.eval().to(DEVICE)
    if fused is not None:
        fused.to(DEVICE)
    for i, x in enumerate(inputs):
        key = f"{name}/{i}"
        results[f"{key}/input"] = x
        with torch.no_grad():
            results[f"{key}/eval"] = on_device(module, x)
            if fused is not None:
                results[f"{key}/fused"] = on_device(fused, x)
            if train and x.shape[0] * x.shape[2] * x.shape[3] > 1:  # PyTorch refuses 1 value per channel
                t = copy.deepcopy(module).train()
                results[f"{key}/train"] = on_device(t, x)
                for k, v in t.state_dict().items():
                    if ".bn." in f".{k}" or k.startswith("bn."):
                        results[f"{key}/train_state/{k}"] = v.cpu().contiguous()


def make_inputs(specs, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s["shape"], generator=g) * s.get("scale", 1.0) for s in specs]


def blocks(spec_path, out_dir):
    with open(spec_path) as f:
        spec = json.load(f)
    results = {}
    for case in spec["cases"]:
        name = case["name"]
        m = build(case).eval()
        export(m, os.path.join(out_dir, f"{name}.safetensors"), half=case.get("half", False))
        m = m.cpu()
        if case.get("half", False):
            m = m.half().float()  # what a f16 checkpoint holds, in f32
        fused = None
        if case.get("fuse", False):
            fused = fuse_block(copy.deepcopy(m)).eval()
            export(fused, os.path.join(out_dir, f"{name}.fused.safetensors"))
        run_inputs(name, m, make_inputs(case["inputs"], case["seed"] + 7), results, fused, case.get("train", False))
    save_file(results, os.path.join(out_dir, "results.safetensors"), metadata={"torch": torch.__version__})


def models(out_dir):
    from ultralytics.nn.modules import Conv, SPP, SPPF, SPPELAN
    from ultralytics.nn.tasks import DetectionModel
    results, listing = {}, []
    for seed, yaml in enumerate(["yolov8n.yaml", "yolo11n.yaml", "yolo26n.yaml", "yolov9t.yaml"]):
        model = DetectionModel(yaml, verbose=False)
        randomise(model, 100 + seed)
        model.eval()
        picks = [i for i, m in enumerate(model.model) if isinstance(m, (SPP, SPPF, SPPELAN))] + [0, 1]
        inputs_for = {}
        for i in picks:
            block = model.model[i]
            c1 = block.conv.in_channels if isinstance(block, Conv) else block.cv1.conv.in_channels
            name = f"{yaml[:-5]}.{i}"
            export(block, os.path.join(out_dir, f"{name}.safetensors"))
            inputs_for[i] = make_inputs([{"shape": [1, c1, 20, 20]}, {"shape": [2, c1, 13, 7]}], seed * 31 + i)
            run_inputs(name, block, inputs_for[i], results)
            listing.append({"name": name, "yaml": yaml, "layer": i, "class": type(block).__name__})
        model.fuse(verbose=False)  # ultralytics' own fusion, whole model
        for i in picks:
            name = f"{yaml[:-5]}.{i}"
            export(model.model[i], os.path.join(out_dir, f"{name}.fused.safetensors"))
            from parity import on_device
            with torch.no_grad():
                for j, x in enumerate(inputs_for[i]):
                    results[f"{name}/{j}/fused"] = on_device(model.model[i], x)
    save_file(results, os.path.join(out_dir, "results.safetensors"), metadata={"torch": torch.__version__})
    with open(os.path.join(out_dir, "models.json"), "w") as f:
        json.dump(listing, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (must equal Rust's)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda:N (deterministic settings on CUDA)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("blocks")
    p.add_argument("spec")
    p.add_argument("out_dir")
    p = sub.add_parser("models")
    p.add_argument("out_dir")
    args = ap.parse_args()
    import ultralytics  # noqa: F401  (sets OMP_NUM_THREADS=1 for children; we set threads explicitly below)
    torch.set_num_threads(args.threads)
    import parity
    parity.set_device(args.device)
    if args.cmd == "blocks":
        blocks(args.spec, args.out_dir)
    else:
        models(args.out_dir)


if __name__ == "__main__":
    main()
