"""`python -m sppnet_ref.legacy DIR`: checkpoints in the patterns older or other ultralytics
checkpoints pickle, made with ultralytics 8.4.190 itself, for sppnet's port tests:

- `namespace.pt`: `train_args` as 8.0's `IterableSimpleNamespace` (imgsz 320);
- `getattr.pt`: a `Detect.forward` reference, which protocol 2 pickles as
  `builtins.getattr(Detect, "forward")` (as the official 8.0-8.2 checkpoints hold one);
- `transforms.pt`: a classifier with `model.transforms = classify_transforms(224)` (torchvision's
  Compose, Resize with an InterpolationMode, CenterCrop, ToTensor, Normalize).
"""
import os
import sys

import torch


def main(out):
    from ultralytics.data.augment import classify_transforms
    from ultralytics.nn.modules.head import Detect
    from ultralytics.nn.tasks import ClassificationModel, DetectionModel
    from ultralytics.utils import IterableSimpleNamespace

    from .common import randomise

    det = DetectionModel("yolov8n.yaml", verbose=False)
    randomise(det, 1)
    det.eval()
    args = IterableSimpleNamespace(imgsz=320, task="detect", epochs=1)
    torch.save({"model": det, "train_args": args, "epoch": -1}, os.path.join(out, "namespace.pt"))
    torch.save({"model": det, "forward": Detect.forward}, os.path.join(out, "getattr.pt"))
    cls = ClassificationModel("yolov8n-cls.yaml", verbose=False)
    randomise(cls, 2)
    cls.eval()
    cls.transforms = classify_transforms(224)
    torch.save({"model": cls, "train_args": {"imgsz": 224}}, os.path.join(out, "transforms.pt"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
