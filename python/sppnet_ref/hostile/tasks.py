"""`sppnet predict` on task checkpoints whose head disagrees with its weights or whose metadata
is odd: a pose head's kpt_shape, a segment head's mask channels and classes, a classifier's
names and pickled torchvision transforms (one upstream's predictor does not apply, a filter
sppnet does not reproduce, a zero std, not a Compose), and `--retina-masks` on a pose model
(a note, as upstream ignores it)."""

import copy
import os

import torch

from .base import GenBase
from .detect import trainer_save


class TaskCases(GenBase):
    """Task heads and classifier transforms."""

    def task_metadata(self):
        import torchvision.transforms as T
        from ultralytics.nn.tasks import ClassificationModel, PoseModel, SegmentationModel
        from ..common import randomise
        from ..detectors import reset_dfl

        os.makedirs(self.path("predict/meta"), exist_ok=True)
        img = self.dt["png"]
        built = {}
        for task, cls, yaml in (("pose", PoseModel, "yolov8n-pose.yaml"), ("seg", SegmentationModel, "yolov8n-seg.yaml"),
                                ("cls", ClassificationModel, "yolov8n-cls.yaml")):
            torch.manual_seed(3)
            m = cls(yaml, verbose=False)
            randomise(m, 3)
            reset_dfl(m)
            built[task] = m.eval()

        def head(**kw):
            return lambda m: [setattr(m.model[-1], k, v) for k, v in kw.items()]

        def transforms(make):
            return lambda m: setattr(m, "transforms", make())

        def names(make):
            return lambda m: setattr(m, "names", make())

        norm = T.Normalize((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
        J, R = ["--json"], ["--retina-masks"]
        rows = [
            ("pose", "kpt-shape-5", head(kpt_shape=(5, 3), nk=15), "error", J,
             "the Pose head says 5 keypoints, its cv4 makes 51 values (17 × 3)"),
            ("pose", "kpt-shape-17x2", head(kpt_shape=(17, 2), nk=34), "error", J,
             "the Pose head says 17 × 2, its cv4 makes 51 values"),
            ("pose", "kpt-shape-17x4", head(kpt_shape=(17, 4), nk=68), "error", J,
             "a kpt_shape of 4 values per keypoint (ultralytics has 2 or 3)"),
            ("pose", "retina-masks", lambda m: None, "success", J + R,
             "--retina-masks on a pose model: a note, as ultralytics ignores it"),
            ("seg", "nm-16", head(nm=16), "error", J, "the Segment head says 16 mask channels, its weights 32"),
            ("seg", "nc-5", head(nc=5, no=5 + 64), "error", J, "the Segment head says 5 classes, its weights 80"),
            ("cls", "names-short", names(lambda: {0: "only"}), "success", J,
             "one class name for 1000 classes: the others are reported by index"),
            ("cls", "transforms-flip", transforms(lambda: T.Compose([T.RandomHorizontalFlip(), T.ToTensor()])),
             "error", J, "pickled transforms with a random flip, which sppnet's predictor does not apply"),
            ("cls", "transforms-nearest",
             transforms(lambda: T.Compose([T.Resize(224, interpolation=T.InterpolationMode.NEAREST),
                                           T.CenterCrop(224), T.ToTensor(), norm])),
             "error", J, "a nearest-neighbour Resize (Pillow's affine path, not reproduced)"),
            ("cls", "transforms-std-0",
             transforms(lambda: T.Compose([T.Resize(224), T.CenterCrop(224), T.ToTensor(),
                                           T.Normalize((0.5, 0.5, 0.5), (0.0, 1.0, 1.0))])),
             "error", J, "Normalize with a zero std (torchvision raises)"),
            ("cls", "transforms-not-compose", transforms(lambda: T.ToTensor()), "error", J,
             "model.transforms a bare ToTensor, not a Compose"),
            ("cls", "transforms-no-to-tensor", transforms(lambda: T.Compose([T.Resize(224), T.CenterCrop(224)])),
             "error", J, "a Compose that never makes a tensor"),
        ]
        for task, name, mutate, expect, flags, note in rows:
            m = copy.deepcopy(built[task]).half()
            mutate(m)
            p = self.path(f"predict/meta/{task}-{name}.pt")
            trainer_save(m, p, train_args={"task": {"seg": "segment", "cls": "classify"}.get(task, task),
                                           "imgsz": 224 if task == "cls" else 640})
            self.case(f"predict/{task}/{name}", f"predict-{task}", ["predict", p, img, "--device", "cpu", *flags],
                      expect, note)
