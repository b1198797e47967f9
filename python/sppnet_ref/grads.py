"""Reference gradients of whole modules (issue #12, backward parity).

    grads   for each case: the module built and randomised (seeded), pickled whole (files.pt);
            for each seeded input, in eval mode under autograd: the output, a seeded upstream
            gradient (`grad_output`), the input's gradient (`grad_input`) and every parameter's
            gradient (run.grads, by state_dict key).

Classes: ultralytics' own Conv, AConv, ADown, SCDown (the convolutional poolings), SPP, SPPF,
SPPELAN; timm's NonLocalAttn; SPP_NET (our yueruchen mirror, sppnet_ref/yueruchen.py) and
NONLocalBlock2D (our AlexHex7 mirror, sppnet_ref/non_local.py).
"""
import torch

from . import common, non_local, yueruchen
from .common import make_inputs, randomise


def build(case):
    from ultralytics.nn.modules import ADown, AConv, Conv, SCDown, SPP, SPPELAN, SPPF
    a, cls = case["args"], case["class"]
    if cls == "SPP_NET":
        m = yueruchen.build(a)
        randomise(m, case["seed"])
        return m
    if cls == "NonLocalAttn":
        from timm.layers import NonLocalAttn
        m = NonLocalAttn(a["c1"], use_scale=a.get("use_scale", True))
        randomise(m, case["seed"])
        return m
    if cls == "NONLocalBlock2D":
        m = non_local.NONLocalBlock2D(a["c1"], a.get("inter"), a["sub_sample"], a["bn_layer"], a["mode"])
        randomise(m, case["seed"])
        return m
    make = {
        "Conv": lambda: Conv(a["c1"], a["c2"], a.get("k", 1), a.get("s", 1)),
        "AConv": lambda: AConv(a["c1"], a["c2"]),
        "ADown": lambda: ADown(a["c1"], a["c2"]),
        "SCDown": lambda: SCDown(a["c1"], a["c2"], a["k"], a["s"]),
        "SPP": lambda: SPP(a["c1"], a["c2"], tuple(a.get("k", (5, 9, 13)))),
        "SPPF": lambda: SPPF(a["c1"], a["c2"], a.get("k", 5)),
        "SPPELAN": lambda: SPPELAN(a["c1"], a["c2"], a["c3"]),
    }
    m = make[cls]()
    randomise(m, case["seed"])
    return m


def grads(suite, reply):
    for spec in suite["cases"]:
        m = build(spec).eval().to(common.DEVICE)
        files = {"pt": f"{spec['name']}.pt"}
        torch.save(m, reply.path(files["pt"]))
        case = reply.case(spec["name"], **{"class": spec["class"]}, files=files)
        for i, x in enumerate(make_inputs(spec["inputs"], spec["seed"] + 7)):
            m.zero_grad(set_to_none=True)
            xg = x.clone().requires_grad_(True)
            y = m(xg)
            g = torch.randn(y.shape, generator=torch.Generator().manual_seed(spec["seed"] * 100 + i))
            y.backward(g)
            run = reply.run(case, x, eval=y.detach().clone(), grad_output=g, grad_input=xg.grad.clone())
            run["grads"] = {k: reply.tensor(p.grad.clone()) for k, p in m.named_parameters() if p.grad is not None}
