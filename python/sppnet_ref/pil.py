"""The image libraries' routines the predictors call beyond the letterbox: Pillow's
`Image.resize` and torchvision's PIL `center_crop` (suite `pil_resize`: what a classifier's
torchvision transforms run; each run's input the seeded RGB image, its output the resized and
cropped image), and OpenCV's `findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)` (suite
`contours`: what `masks2segments` traces; input the mask, output `[n, 3]` int32 rows
`contour, x, y`)."""
import numpy as np
import torch


def pil_resize(suite, reply):
    from PIL import Image
    import torchvision.transforms.functional as F
    filters = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "box": Image.BOX,
               "hamming": Image.HAMMING, "lanczos": Image.LANCZOS}
    case = reply.case("pil_resize", **{"class": "PIL.Image.resize"})
    for spec in suite["cases"]:
        rng = np.random.default_rng(spec["seed"])
        h, w = spec["h"], spec["w"]
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        if spec["seed"] % 3 == 0:
            img[: h // 2] = 255  # saturated and flat regions (the filters' negative lobes clip)
            img[:, : w // 3] = 0
        out = Image.fromarray(img).resize((spec["dw"], spec["dh"]), filters[spec["filter"]])
        if spec["crop"]:
            out = F.center_crop(out, list(spec["crop"]))
        name = f"{h}x{w}->{spec['dh']}x{spec['dw']} {spec['filter']} crop {spec['crop']}"
        reply.run(case, torch.from_numpy(img), name=name, eval=torch.from_numpy(np.array(out)))


def _mask(spec):
    import cv2
    rng = np.random.default_rng(spec["seed"])
    h, w, kind = spec["h"], spec["w"], spec["kind"]
    if kind == "blobs":
        small = rng.random((max(h // 6, 1), max(w // 6, 1))).astype(np.float32)
        smooth = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        return (smooth > np.quantile(smooth, rng.uniform(0.3, 0.8))).astype(np.uint8)
    if kind == "pixels":
        return (rng.random((h, w)) < rng.uniform(0.02, 0.3)).astype(np.uint8)
    if kind == "full":
        return np.ones((h, w), np.uint8)
    m = np.zeros((h, w), np.uint8)  # rings: nested squares, islands inside holes
    for i in range(0, min(h, w) // 2, 2):
        m[i:h - i, i:w - i] = 1 - (i // 2) % 2
    return m


def contours(suite, reply):
    import cv2
    case = reply.case("contours", **{"class": "cv2.findContours"})
    for spec in suite["cases"]:
        m = _mask(spec)
        found = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
        rows = [np.column_stack([np.full(len(c), i), c.reshape(-1, 2)]) for i, c in enumerate(found)]
        out = np.concatenate(rows).astype(np.int32) if rows else np.zeros((0, 3), np.int32)
        reply.run(case, torch.from_numpy(m), name=f"{spec['kind']} {spec['h']}x{spec['w']} seed {spec['seed']}",
                  eval=torch.from_numpy(out))
