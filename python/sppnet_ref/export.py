"""Export a module you hold in Python as a self-describing sppnet checkpoint.

    from sppnet_ref.export import export
    export(model.model[9], "sppf.safetensors")   # an ultralytics SPPF/SPP/SPPELAN/Conv
    export(spp_net, "spp_net.safetensors")       # our SPP_NET mirror (sppnet_ref/yueruchen.py)

Command line (PYTHONPATH=python; no download: yamls ship with ultralytics; checkpoints are read
from disk):
    python -m sppnet_ref.export --yaml yolov8n.yaml --layer 9 OUT.safetensors   # a yaml's block
    python -m sppnet_ref.export --checkpoint best.pt --layer 9 OUT.safetensors  # a checkpoint's
    python -m sppnet_ref.export ... [--half] [--fuse]

The weights are the module's state_dict (keys relative to the module); the metadata holds
`sppnet.arch`, `sppnet.class` and `sppnet.config` (JSON), the schema in docs/PORTING.md.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file

ACTS = {"SiLU", "Identity", "ReLU", "ReLU6", "LeakyReLU", "Hardswish", "GELU", "Mish", "Sigmoid", "Tanh"}


def act_name(m):
    name = type(m).__name__
    if name not in ACTS:
        raise ValueError(f"activation {name} is not supported by sppnet ({sorted(ACTS)})")
    if name == "LeakyReLU":
        return f"LeakyReLU({m.negative_slope})"
    if name == "GELU" and getattr(m, "approximate", "none") != "none":
        raise ValueError("GELU(approximate='tanh') is not supported by sppnet")
    return name


def conv_opts(conv):
    """ConvOpts of an ultralytics Conv: activation, BatchNorm eps/momentum, fused layout."""
    bn = getattr(conv, "bn", None)
    return {
        "act": act_name(conv.act),
        "bn_eps": float(bn.eps) if bn is not None else 1e-5,
        "bn_momentum": float(bn.momentum) if bn is not None and bn.momentum is not None else 0.1,
        "fused": bn is None,
    }


def pool_k(m):
    k = m.kernel_size
    return k if isinstance(k, int) else k[0]


def block_config(module):
    """(arch, config dict) describing `module`, read from its attributes."""
    cls = type(module).__name__
    if cls == "Conv":
        c = module.conv
        return "conv", {"c1": c.in_channels, "c2": c.out_channels, "k": c.kernel_size[0], "s": c.stride[0],
                        "p": c.padding[0], "g": c.groups, "d": c.dilation[0], **conv_opts(module)}
    if cls == "SPP":
        return "spp", {"c1": module.cv1.conv.in_channels, "c2": module.cv2.conv.out_channels,
                       "k": [pool_k(m) for m in module.m], "cv1": conv_opts(module.cv1), "cv2": conv_opts(module.cv2)}
    if cls == "SPPF":
        # Old pickles lack `n` and `add`; upstream's forward then uses 3 and False.
        return "sppf", {"c1": module.cv1.conv.in_channels, "c2": module.cv2.conv.out_channels, "k": pool_k(module.m),
                        "n": int(getattr(module, "n", 3)), "shortcut": bool(getattr(module, "add", False)),
                        "cv1": conv_opts(module.cv1), "cv2": conv_opts(module.cv2)}
    if cls == "SPPELAN":
        return "sppelan", {"c1": module.cv1.conv.in_channels, "c2": module.cv5.conv.out_channels, "c3": module.c,
                           "k": pool_k(module.cv2), "cv1": conv_opts(module.cv1), "cv5": conv_opts(module.cv5)}
    if cls == "SPP_NET":
        return "sppnet", {"input_nc": module.conv1.in_channels, "ndf": module.conv1.out_channels,
                          "levels": list(module.output_num), "hidden": module.fc1.out_features,
                          "classes": module.fc2.out_features, "rule": getattr(module, "rule", "yueruchen")}
    raise ValueError(f"sppnet has no port of {cls}")


def export(module, path, half=False):
    """Write `module`'s state_dict and config to `path` (safetensors). `half` stores f16 weights."""
    arch, config = block_config(module)
    sd = {k: (v.half() if half and v.is_floating_point() else v).detach().contiguous().cpu()
          for k, v in module.state_dict().items()}
    meta = {"format": "pt", "sppnet.arch": arch, "sppnet.class": type(module).__name__,
            "sppnet.config": json.dumps(config)}
    save_file(sd, path, metadata=meta)
    return arch, config


def fuse_block(module):
    """Fold BatchNorm into every ultralytics Conv inside `module`, as DetectionModel.fuse() does."""
    from ultralytics.nn.modules import Conv
    from ultralytics.utils.torch_utils import fuse_conv_and_bn
    for m in module.modules():
        if isinstance(m, Conv) and hasattr(m, "bn"):
            m.conv = fuse_conv_and_bn(m.conv, m.bn)
            delattr(m, "bn")
            m.forward = m.forward_fuse
    return module


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--yaml", help="ultralytics model yaml, e.g. yolov8n.yaml (random weights)")
    src.add_argument("--checkpoint", help="ultralytics .pt checkpoint (torch.load, weights_only=False)")
    ap.add_argument("--layer", type=int, required=True, help="index in model.model, e.g. 9 for SPPF")
    ap.add_argument("--half", action="store_true", help="store f16 weights")
    ap.add_argument("--fuse", action="store_true", help="fold BatchNorm into the convs first")
    ap.add_argument("out")
    args = ap.parse_args()
    if os.path.exists(args.out):
        raise SystemExit(f"error: {args.out} already exists")
    if args.yaml:
        from ultralytics.nn.tasks import DetectionModel
        model = DetectionModel(args.yaml, verbose=False)
    else:
        ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
        model = (ckpt.get("ema") or ckpt["model"]) if isinstance(ckpt, dict) else ckpt
    block = model.model[args.layer].float().eval()
    if args.fuse:
        fuse_block(block)
    arch, config = export(block, args.out, half=args.half)
    print(f"wrote {args.out}: {arch} {json.dumps(config)}")


if __name__ == "__main__":
    main()
