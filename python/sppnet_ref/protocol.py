"""The one Rust<->Python protocol of sppnet (mirrored by src/reference/ in Rust).

A job is a JSON file:
    {"schema": "sppnet-ref/1", "threads": N, "device": "cpu" | "cuda:N", "out_dir": DIR,
     "suite": {"kind": K, ...suite fields}}
The reply is DIR/reply.json plus DIR/tensors.safetensors:
    {"schema": "sppnet-ref/1", "torch": VERSION, "threads": N, "device": D,
     "cases": [{"name": ..., "class": ..., "params": {...}, "files": {ROLE: FILE},
                "runs": [{"name": ..., "input": KEY, "outputs": {"eval"|"fused"|"train"|"features"|"grad_output"|"grad_input"|"rois": KEY},
                          "state": {STATE_DICT_KEY: KEY}, "grads": {PARAMETER: KEY},
                          "refused": null | {"kind": ..., "message": ...}}]}]}
KEYs name tensors of tensors.safetensors; FILEs are relative to DIR. Nothing else is exchanged:
the Rust side never builds a tensor key from strings.
"""
import importlib
import json
import os

import torch
from safetensors.torch import save_file

SCHEMA = "sppnet-ref/1"

# suite kind -> (module, function); the function gets (suite dict, Reply).
SUITES = {
    "pool_sweep": ("suites", "pool_sweep"),
    "sppnet": ("suites", "sppnet_suite"),
    "run_weights": ("suites", "run_weights"),
    "blocks": ("ultra", "blocks"),
    "models": ("ultra", "models"),
    "torch_files": ("torch_files", "torch_files"),
    "detectors": ("detectors", "detectors"),
    "resize": ("detectors", "resize"),
    "pil_resize": ("pil", "pil_resize"),
    "contours": ("pil", "contours"),
    "nms": ("detectors", "nms"),
    "letterbox": ("detectors", "letterbox"),
    "scale_boxes": ("detectors", "scale_boxes"),
    "predict": ("predict", "predict"),
    "pooling": ("pooling", "pooling"),
    "grads": ("grads", "grads"),
}


class Reply:
    """Collects cases, runs and tensors; `write` stores them in the job's out_dir."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.tensors = {}
        self.cases = []
        self._seen = {}  # id(tensor) -> (tensor, key): the same tensor object is stored once

    def tensor(self, t):
        """Store a tensor (on the CPU, contiguous) and return its key."""
        if id(t) in self._seen:
            return self._seen[id(t)][1]
        key = f"t{len(self.tensors)}"
        self.tensors[key] = t.detach().cpu().contiguous()
        self._seen[id(t)] = (t, key)
        return key

    def path(self, name):
        """A file in the out_dir (the name is what goes into a case's `files`)."""
        return os.path.join(self.out_dir, name)

    def case(self, name, **fields):
        case = {"name": name, "runs": [], **fields}
        self.cases.append(case)
        return case

    def run(self, case, x, name="", refused=None, **outputs):
        run = {"name": name, "input": self.tensor(x),
               "outputs": {k: self.tensor(v) for k, v in outputs.items()}, "state": {}, "refused": refused}
        case["runs"].append(run)
        return run

    def state(self, run, key, t):
        run["state"][key] = self.tensor(t)

    def write(self, device):
        save_file(self.tensors, self.path("tensors.safetensors"))
        reply = {"schema": SCHEMA, "torch": torch.__version__, "threads": torch.get_num_threads(),
                 "device": device, "cases": self.cases}
        with open(self.path("reply.json"), "w") as f:
            json.dump(reply, f)


def run_job(path):
    with open(path) as f:
        job = json.load(f)
    if job.get("schema") != SCHEMA:
        raise SystemExit(f"job schema {job.get('schema')!r}, expected {SCHEMA!r}")
    suite = job["suite"]
    module, function = SUITES[suite["kind"]]
    fn = getattr(importlib.import_module(f"sppnet_ref.{module}"), function)
    from . import common
    common.setup(job["threads"], job["device"])  # after the import: ultralytics sets OMP_NUM_THREADS
    reply = Reply(job["out_dir"])
    fn(suite, reply)
    reply.write(job["device"])
