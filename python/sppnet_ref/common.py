"""Helpers shared by the reference suites: threads and device, seeded weights, inputs."""
import os

import torch
import torch.nn as nn

DEVICE = "cpu"  # where the reference runs; inputs and outputs are stored on the CPU


def setup(threads, device):
    """Intra-op threads (must equal Rust's for bitwise parity) and the device. On CUDA: cuDNN
    benchmark off, deterministic algorithms on, a fixed cuBLAS workspace."""
    global DEVICE
    torch.set_num_threads(threads)
    DEVICE = device
    if device != "cpu":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True)


def on_device(fn, x):
    """`fn(x)` on the reference device, returned on the CPU."""
    return fn(x.to(DEVICE)).cpu()


def perturb(model, seed):
    """Non-trivial BatchNorm state of an SPP_NET, so eval mode really uses the running statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (model.BN1, model.BN2, model.BN3):
            c = bn.num_features
            bn.weight.copy_(torch.rand(c, generator=g) + 0.5)
            bn.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
            bn.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
            bn.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
            bn.num_batches_tracked.fill_(7)


def randomise(module, seed, bn_shift=0.0):
    """Seeded conv weights and non-trivial BatchNorm state of any module (so eval mode really
    uses it); `bn_shift` is added to every BatchNorm bias (negative: whole pooling windows < 0)."""
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


def make_inputs(specs, seed):
    """Seeded normal inputs: `specs` is a list of {"shape": [...], "scale": s}."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s["shape"], generator=g) * s.get("scale", 1.0) for s in specs]


def make_act(name):
    """An ultralytics Conv `act` argument from its sppnet name (`SiLU`, `LeakyReLU(0.1)`, ...)."""
    if name == "SiLU":
        return True  # Conv's own default_act
    if name == "Identity":
        return False
    if name.startswith("LeakyReLU("):
        return nn.LeakyReLU(float(name[len("LeakyReLU("):-1]))
    return getattr(nn, name)()
