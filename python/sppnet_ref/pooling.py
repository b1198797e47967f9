"""Reference for the seed's pooling table (issue #12), forward and backward.

    pooling   for each case (an op and its parameters) and each input: the output, a seeded
              upstream gradient (`grad_output`) and the input's gradient from autograd
              (`grad_input`). Where the op refuses the input, the refusal is recorded.

Cases whose op is an upstream module also save it pickled whole (`files.pt`), to be ported.
The ops are the real upstream code: `torch.nn.MaxPool2d` / `torch.nn.AvgPool2d` (PyTorch's own
classes), timm's `SelectAdaptivePool2d` (the installed `timm` package), and `stochastic_pool2d`
below, our mirror of Zeiler & Fergus's stochastic pooling with Caffe's sampling rule (no
registry package carries one; the formula is in src/ops/stochastic.rs and the issue).
"""
import torch
import torch.nn as nn


def stochastic_pool2d(x, kernel, stride, seed=None):
    """Stochastic pooling, kernel `kernel`, stride `stride`, no padding; test-time rule when
    `seed` is None, else Caffe's training rule after `torch.manual_seed(seed)`."""
    if (x < 0).any():
        raise ValueError("stochastic pooling needs non-negative input")
    n, c, h, w = x.shape
    if kernel > h or kernel > w:
        raise ValueError("window larger than the map")
    ho, wo = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    cols = torch.nn.functional.unfold(x, kernel, stride=stride).view(n, c, kernel * kernel, ho * wo)
    s = cols.sum(2)
    empty = s == 0
    if seed is None:
        safe = torch.where(empty.logical_not(), s, 1.0)
        y = (cols * cols).sum(2) / safe
    else:
        torch.manual_seed(seed)
        u = torch.rand(n, c, ho, wo, dtype=x.dtype, device=x.device)
        cum = cols.cumsum(2)
        total = cum.narrow(2, kernel * kernel - 1, 1)
        threshold = u.view(n, c, 1, ho * wo) * total
        index = (cum >= threshold).to(torch.uint8).argmax(2, keepdim=True)
        y = cols.gather(2, index).squeeze(2)
    y = torch.where(empty.logical_not(), y, 0.0)
    return y.view(n, c, ho, wo)


class StochasticPool2d(nn.Module):
    """OURS: `stochastic_pool2d` as a module (what sppnet registers and ports)."""

    def __init__(self, kernel_size, stride=None, seed=None):
        super().__init__()
        self.kernel_size, self.stride, self.seed = kernel_size, stride or kernel_size, seed

    def forward(self, x):
        return stochastic_pool2d(x, self.kernel_size, self.stride, self.seed)


class RoiSpp(nn.Module):
    """OURS: SPP-net over windows as a module of two inputs, features and `[K, 5]` rois, each
    level torchvision's `roi_pool` (what sppnet registers and ports)."""

    def __init__(self, levels, spatial_scale):
        super().__init__()
        self.levels, self.spatial_scale = list(levels), float(spatial_scale)

    def forward(self, x, rois):
        return roi_spp(x, rois, self.levels, self.spatial_scale)


def make_rois(idx, shape, scale):
    """Seeded windows in image coordinates (the map is the image scaled by `scale`): inside,
    straddling an edge, wholly outside (empty bins), tiny (one pixel, bins sharing it), and the
    whole image; batch indices over the batch."""
    g = torch.Generator().manual_seed(7000 + idx)
    n, _, h, w = shape
    H, W = h / scale, w / scale
    rows = []
    for i in range(8):
        x1 = float(torch.rand(1, generator=g)) * W * 1.2 - 0.1 * W
        y1 = float(torch.rand(1, generator=g)) * H * 1.2 - 0.1 * H
        bw = float(torch.rand(1, generator=g)) * W
        bh = float(torch.rand(1, generator=g)) * H
        rows.append([i % n, x1, y1, x1 + bw, y1 + bh])
    rows.append([0, 0.0, 0.0, W - 1, H - 1])
    rows.append([n - 1, 2.0 * W, 2.0 * H, 3.0 * W, 3.0 * H])
    rows.append([0, 0.3, 0.3, 0.4, 0.4])
    rows.append([n - 1, W / 2, H / 2, W / 2, H / 2])
    return torch.tensor(rows, dtype=torch.float32)


def roi_spp(x, rois, levels, scale):
    """SPP-net over windows with torchvision's real roi_pool: each level pooled, flattened,
    concatenated."""
    from torchvision.ops import roi_pool
    parts = [roi_pool(x, rois, (n, n), scale).flatten(1) for n in levels]
    return torch.cat(parts, 1)


def build(op, p):
    """The upstream module (or function) for one case."""
    if op == "max":
        return nn.MaxPool2d(p["kernel"], p["stride"], p["padding"], p["dilation"], ceil_mode=p["ceil_mode"])
    if op == "avg":
        return nn.AvgPool2d(p["kernel"], p["stride"], p["padding"], ceil_mode=p["ceil_mode"],
                            count_include_pad=p["count_include_pad"], divisor_override=p["divisor_override"])
    if op == "global":
        from timm.layers import SelectAdaptivePool2d
        size = p["output_size"]
        return SelectAdaptivePool2d(output_size=size[0] if size[0] == size[1] else tuple(size),
                                    pool_type=p["pool_type"], flatten=p["flatten"])
    if op == "spp":
        from . import yueruchen
        return lambda x: yueruchen.pyramid_pool(x, p["levels"], p["rule"])
    if op == "roi_spp":
        return RoiSpp(p["levels"], p["spatial_scale"])
    if op == "stochastic":
        return StochasticPool2d(p["kernel"], p["stride"], p.get("seed"))
    raise ValueError(f"unknown op {op}")


SHAPES = [(1, 3, 1, 1), (2, 3, 7, 7), (1, 4, 8, 6), (2, 2, 5, 9), (1, 1, 13, 13), (2, 2, 8, 8)]


def make_input(idx, shape, kind):
    """Seeded inputs: normal numbers; with ±inf, NaN and ±0 sprinkled (`special`); with values
    near the largest float and subnormals (`extreme`: where `(a + b) / 2` and `a/2 + b/2`
    differ); or non-negative with zero windows (`relu`, for stochastic pooling)."""
    g = torch.Generator().manual_seed(4000 + idx)
    x = torch.randn(*shape, generator=g) * 2
    flat = x.view(-1)
    picks = torch.randint(0, flat.numel(), (max(1, flat.numel() // 9),), generator=g)
    if kind == "special":
        specials = torch.tensor([float("inf"), float("-inf"), float("nan"), 0.0, -0.0])
        flat[picks] = specials[torch.arange(picks.numel()) % 5]
    elif kind == "extreme":  # near the largest finite float (sums overflow) and subnormals
        extremes = torch.tensor([3.0e38, -3.0e38, 2.5e38, 1e-45, -1e-45, 1.5e-39, -2.2e-38])
        flat[picks] = extremes[torch.arange(picks.numel()) % 7]
        flat[0] = 3.0e38
    elif kind == "relu":
        x = torch.relu(x).round()  # many exact zeros, whole zero windows, repeated values
    return x


def pooling(suite, reply):
    idx = 0
    for case_spec in suite["cases"]:
        p = case_spec["params"]
        op = p["op"]
        module = build(op, p)
        files = {}
        if isinstance(module, nn.Module):
            # The module pickled whole, for the porting path (`sppnet port` → forward).
            files["pt"] = f"pool{len(reply.cases)}.pt"
            torch.save(module, reply.path(files["pt"]))
        case = reply.case(case_spec["name"], params=p, files=files)
        kinds = ["relu"] if op == "stochastic" else ["normal", "special", "extreme"]
        for shape in SHAPES:
            for kind in kinds:
                x = make_input(idx, shape, kind)
                idx += 1
                xg = x.clone().requires_grad_(True)
                extra = {}
                if op == "roi_spp":
                    rois = make_rois(idx, shape, p["spatial_scale"])
                    extra["rois"] = rois
                try:
                    y = module(xg, extra["rois"]) if op == "roi_spp" else module(xg)
                except (RuntimeError, ValueError, AssertionError) as e:
                    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                    reply.run(case, x, name=f"{kind}/{shape}", refused={"kind": "error", "message": msg}, **extra)
                    continue
                if op == "spp" and tuple(y.shape) != (shape[0], shape[1] * sum(n * n for n in p["levels"])):
                    # PyTorch ran, but not with n x n bins per level: sppnet refuses these.
                    reply.run(case, x, name=f"{kind}/{shape}", refused={"kind": "wrong_bins",
                                                                        "message": f"shape {tuple(y.shape)}"})
                    continue
                g = torch.randn(y.shape, generator=torch.Generator().manual_seed(9000 + idx))
                y.backward(g)
                # Copies: the empty pool type returns its input, which would share memory.
                reply.run(case, x, name=f"{kind}/{shape}", eval=y.detach().clone(), grad_output=g,
                          grad_input=xg.grad.clone(), **extra)
