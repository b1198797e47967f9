"""Pillow's `Image.resize` and torchvision's PIL `center_crop` (suite `pil_resize`): what an
ultralytics classifier's torchvision transforms run on a PIL image. Each run's input is the
seeded RGB image (uint8 HWC), its output the resized (and cropped) image."""
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
