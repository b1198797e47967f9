"""The generator's core: where files go and how a case is recorded in the manifest."""

import base64
import os


# python/sppnet_ref/hostile/base.py -> the repository root.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TINY = os.path.join(ROOT, "weights", "sppnet_tiny.safetensors")


class GenBase:
    """Writes files under `out` and records cases; the case groups are mixins on top of it."""

    def __init__(self, out):
        self.out = os.path.abspath(out)
        self.cases = []

    def path(self, name):
        return os.path.join(self.out, name)

    def write(self, name, data):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def case(self, name, cls, args, expect, note, **extra):
        c = {"name": name, "class": cls}
        if any(isinstance(a, bytes) for a in args):
            c["argv_b64"] = [base64.b64encode(a if isinstance(a, bytes) else a.encode()).decode() for a in args]
        else:
            c["args"] = list(args)
        c.update(expect=expect, note=note)
        c.update(extra)
        assert name not in {x["name"] for x in self.cases}, name
        self.cases.append(c)
