"""Whole detectors end to end, live (suite `predict`): ultralytics' own `YOLO(weights).predict`
on image files, one file per call (as for a single path or a folder: each image letterboxed with
minimal padding to the stride; a *list* of mixed-shape paths is one batch padded to the square
`imgsz`, which `sppnet detect` does not mimic).

`predict` resets torch's intra-op threads to `ultralytics.utils.NUM_THREADS` (min(8, cores - 1))
on the CPU; the suite sets that to the job's thread count, so both sides run with the same one.

The image set (written into the reply folder, `images/`): ultralytics' own `bus.jpg` and
`zidane.jpg` (shipped in its wheel) as PNG, crops and rescalings of them at odd sizes (1×1, thin,
huge, exact stride multiples, two of one size so that the Rust side batches them), grey, RGBA and
16-bit PNGs, and with `jpeg` the two JPEG originals. Each run's input is the image as OpenCV
decodes it (`cv2.imread`, BGR flipped to RGB, uint8 HWC); its `eval` output the detections as
`[n, 6]` rows `x1, y1, x2, y2, conf, class` (float32).
"""
import os

import numpy as np
import torch

from .common import randomise
from .detectors import reset_dfl, save_checkpoint


def assets():
    import ultralytics
    return os.path.join(os.path.dirname(ultralytics.__file__), "assets")


def make_images(out_dir, jpeg):
    """Write the image set; returns file names relative to out_dir."""
    import cv2
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    bus = cv2.imread(os.path.join(assets(), "bus.jpg"))
    zidane = cv2.imread(os.path.join(assets(), "zidane.jpg"))
    rng = np.random.default_rng(20261201)
    images = {
        "bus.png": bus,
        "zidane.png": zidane,
        "bus_crop_a.png": bus[100:433, 50:567],
        "bus_crop_b.png": bus[400:733, 200:717],  # same size as crop_a: batched together in Rust
        "zidane_small.png": cv2.resize(zidane, (97, 55), interpolation=cv2.INTER_AREA),
        "zidane_wide.png": cv2.resize(zidane, (2000, 300), interpolation=cv2.INTER_LINEAR),
        "bus_tall.png": cv2.resize(bus, (90, 1200), interpolation=cv2.INTER_LINEAR),
        "bus_640.png": cv2.resize(bus, (640, 640), interpolation=cv2.INTER_LINEAR),
        "one_pixel.png": bus[500:501, 400:401],
        "thin.png": zidane[300:317, 600:605],
        "noise.png": rng.integers(0, 256, (211, 173, 3), dtype=np.uint8),
    }
    files = []
    for name, im in images.items():
        cv2.imwrite(os.path.join(out_dir, "images", name), im)
        files.append(f"images/{name}")
    grey = cv2.cvtColor(bus, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(os.path.join(out_dir, "images", "bus_grey.png"), grey)
    rgba = np.dstack([zidane, rng.integers(0, 256, zidane.shape[:2], dtype=np.uint8)])
    cv2.imwrite(os.path.join(out_dir, "images", "zidane_rgba.png"), rgba)
    deep = bus.astype(np.uint16) * 257 + rng.integers(0, 256, bus.shape, dtype=np.uint16)
    cv2.imwrite(os.path.join(out_dir, "images", "bus_16bit.png"), deep[300:700, 100:600])
    files += ["images/bus_grey.png", "images/zidane_rgba.png", "images/bus_16bit.png"]
    if jpeg:
        import shutil
        for name in ("bus.jpg", "zidane.jpg"):
            shutil.copyfile(os.path.join(assets(), name), os.path.join(out_dir, "images", name))
            files.append(f"images/{name}")
    return files


def _transforms(kind, s):
    """Pickled classify transforms a trainer could have attached (`model.transforms`), at size s:
    other filters than the default bilinear, normalisations as tensors and as tuples, a chain of
    two resizes with a padding crop; `list_ignored` (a one-element size list) is one the
    predictor does not use (its size is `(s,)`, not `(s, s)`): it falls back on
    classify_transforms(imgsz)."""
    import torchvision.transforms as T
    M = T.InterpolationMode
    imagenet = T.Normalize(torch.tensor((0.485, 0.456, 0.406)), torch.tensor((0.229, 0.224, 0.225)))
    steps = {
        "bicubic_imagenet": [T.Resize(s, interpolation=M.BICUBIC), T.CenterCrop(s), T.ToTensor(), imagenet],
        "lanczos_crop": [T.Resize(s, interpolation=M.LANCZOS), T.CenterCrop(s - 24), T.ToTensor(),
                         T.Normalize((0.5, 0.5, 0.5), (0.25, 0.3, 0.2))],
        "box_hamming_pad": [T.Resize(s, interpolation=M.BOX), T.Resize((s, s - 40), interpolation=M.HAMMING),
                            T.CenterCrop((s, s)), T.ToTensor(), imagenet],
        "list_ignored": [T.Resize([s]), T.CenterCrop(s), T.ToTensor(), imagenet],
    }[kind]
    return T.Compose(steps)


def checkpoint(spec, reply):
    """The case's weights file: a real fixture, or a yaml model randomised and saved as a
    trainer would (see detectors.py). `end2end` is a predict setting here (`nms=False`)."""
    import shutil
    from .detectors import task_model
    from .fixtures import fetch
    name = f"checkpoint-{len(reply.cases):02d}.pt"
    path = reply.path(name)
    if spec.get("fixture"):
        shutil.copyfile(fetch(spec["fixture"]), path)
        return name
    torch.manual_seed(spec["seed"])  # the parts randomise leaves (biases, transposed convs): reproducible
    model = task_model(spec["yaml"])(spec["yaml"], verbose=False)
    randomise(model, spec["seed"])
    reset_dfl(model)
    model.eval()
    imgsz = spec.get("train_imgsz") or spec["imgsz"] or 640
    if spec.get("transforms"):
        model.transforms = _transforms(spec["transforms"], imgsz)
    save_checkpoint(model, path, "best", imgsz=imgsz)
    return name


def predict(suite, reply):
    import cv2
    import ultralytics.utils.torch_utils as torch_utils
    from ultralytics import YOLO
    torch_utils.NUM_THREADS = torch.get_num_threads()  # what predict resets the threads to on the CPU
    images = make_images(reply.out_dir, suite.get("jpeg", False))
    for spec in suite["cases"]:
        weights = checkpoint(spec, reply)
        model = YOLO(reply.path(weights))
        # A model saved with train_args.imgsz is predicted without imgsz: upstream then takes the
        # trained size (YOLO._reset_ckpt_args keeps it), as sppnet detect does by default.
        keys = ("conf", "iou", "max_det", "classes", "retina_masks") + (() if spec.get("train_imgsz") or not spec["imgsz"] else ("imgsz",))
        settings = {k: spec[k] for k in keys}
        case = reply.case(spec["name"], files={"checkpoint": weights},
                          params={**settings, "agnostic_nms": spec["agnostic"], "end2end": bool(spec.get("end2end")),
                                  "names": {str(k): v for k, v in model.names.items()}})
        for image in images:
            path = reply.path(image)
            # nms=False: the one-to-one head without NMS (end-to-end cases); None: predict's default.
            r = model.predict(path, verbose=False, device="cpu", agnostic_nms=spec["agnostic"],
                              nms=False if spec.get("end2end") else None, **settings)[0]
            decoded = torch.from_numpy(np.ascontiguousarray(cv2.imread(path)[..., ::-1]))
            extra = {}
            if r.masks is not None:
                extra["masks"] = r.masks.data.to(torch.uint8).contiguous()
                rows = [torch.cat([torch.full((len(p), 1), float(i)), torch.from_numpy(p).float()], 1)
                        for i, p in enumerate(r.masks.xy)]
                extra["segments"] = torch.cat(rows) if rows else torch.zeros(0, 3)
            if r.probs is not None:
                extra["probs"] = r.probs.data.float().contiguous()[None]
            if getattr(r, "semantic_mask", None) is not None:
                extra["map"] = r.semantic_mask.data.to(torch.int32).contiguous()
            if getattr(r, "depth", None) is not None:
                extra["map"] = r.depth.data.float().contiguous()
            reply.run(case, decoded, name=image, eval=rows_of(r), **extra)


def rows_of(r):
    """A result's detections as `[n, 6 + e]` float32 rows: `x1, y1, x2, y2, conf, class`, then
    pose's `keypoints.data[i]` flattened, or for OBB (whose box is `obb.xyxy`, the hull) its
    `obb.xywhr[i]`; a classifier's top 5 as `[k, 2]` rows `class, confidence`; `[0, 6]` for
    the per-pixel tasks."""
    if r.probs is not None:
        p = r.probs
        return torch.stack([torch.tensor(p.top5, dtype=torch.float32), p.top5conf.float()], 1)
    if r.boxes is None and r.obb is None:
        return torch.zeros(0, 6)
    if r.obb is not None:
        o = r.obb
        return torch.cat([o.xyxy, o.conf[:, None], o.cls[:, None], o.xywhr], 1).float()
    b = r.boxes
    rows = torch.cat([b.xyxy, b.conf[:, None], b.cls[:, None]], 1).float()
    if r.keypoints is not None:
        rows = torch.cat([rows, r.keypoints.data.flatten(1).float()], 1)
    return rows


def cli_fixtures(out_dir):
    """`python -m sppnet_ref.predict fixtures DIR`: small randomised checkpoints for the CLI
    tests — a yolov8n (`detector.pt`), a YOLO12n (`yolo12n.pt`), and YOLO26n semantic and depth
    models trained at 320 (`semantic.pt`, `depth.pt`)."""
    from ultralytics.nn.tasks import DetectionModel
    from .detectors import task_model
    for yaml, name in (("yolov8n.yaml", "detector.pt"), ("yolo12n.yaml", "yolo12n.pt")):
        model = DetectionModel(yaml, verbose=False)
        randomise(model, 5)
        reset_dfl(model)
        save_checkpoint(model.eval(), os.path.join(out_dir, name), "best")
    for yaml, name in (("yolo26n-sem.yaml", "semantic.pt"), ("yolo26n-depth.yaml", "depth.pt")):
        torch.manual_seed(5)
        model = task_model(yaml)(yaml, verbose=False)
        randomise(model, 5)
        save_checkpoint(model.eval(), os.path.join(out_dir, name), "best", imgsz=320)


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] != ["fixtures"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m sppnet_ref.predict fixtures DIR")
    cli_fixtures(sys.argv[2])
