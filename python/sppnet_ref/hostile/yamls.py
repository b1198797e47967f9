"""Model yamls for `port --yaml` / `detect --yaml` (`yaml`); trainer checkpoints of the tiny
detector whose pickled model was altered before saving (`detect-metadata`; forged class names:
`detect-output`; layers that allocate: `detect-memory`); payloads as `detect` weights
(`detect-payload`). Needs DetectCases.detect_fixtures (detect.py)."""

import copy
import io
import math
import os

import torch

from .base import GenBase
from .detect import FORGED, S, trainer_save
from .payloads import MARKER, Payload


def laughs(levels=10):
    """A YAML alias bomb: 10 aliases per list, `levels` deep (10^levels strings once expanded)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 10)}]" for k in range(1, levels)]
    return "\n".join(lines) + "\n"


class DetectYamlCases(GenBase):
    """Hostile model yamls and altered checkpoint metadata, on the tiny detector."""

    # -- model yamls --------------------------------------------------------------------------------
    def detect_yaml(self):
        import yaml

        t = self.dt
        base = t["yaml_dict"]

        def dump(d):
            return yaml.safe_dump(d, sort_keys=False).encode()

        def scaled(depth=0.33, width=0.0625, maxc=64):
            d = copy.deepcopy(base)
            d["scales"] = {"n": [depth, width, maxc]}
            return d

        def top(**kw):
            d = copy.deepcopy(base)
            d.update(kw)
            return d

        def row(part, i, pos, value, d=None):
            d = copy.deepcopy(d or base)
            d[part][i][pos] = value
            return d

        nested = [8]
        for _ in range(63):
            nested = [nested]
        body = dump(base)
        big = body + b"# " + b"x" * (2_000_000 - len(body) - 3) + b"\n"
        fits = body + b"# " + b"x" * (1_000_000 - len(body) - 3) + b"\n"
        tag = "!!python/object/apply:os.system [\"touch " + MARKER + "{}\"]\n"
        evil = "__import__('os').system('touch " + MARKER + "{}')"
        n = math.nan
        bad = [
            ("depth-1e9", dump(scaled(depth=1e9)), "depth 10^9: C2f repeats of 10^9"),
            ("depth-1e300", dump(scaled(depth=1e300)), "depth 10^300 (repeats overflow every integer type)"),
            ("depth-1e5", dump(scaled(depth=1e5)), "depth 10^5: 300000 bottlenecks in one C2f"),
            ("depth-neg", dump(scaled(depth=-1)), "depth -1 (ultralytics clamps to 1: the weights no longer fit)"),
            ("depth-0", dump(scaled(depth=0)), "depth 0 (clamped to 1: the weights no longer fit)"),
            ("depth-nan", dump(scaled(depth=n)), "depth .nan"),
            ("depth-inf", dump(scaled(depth=math.inf)), "depth .inf"),
            ("depth-str", dump(scaled(depth="x")), "depth a string"),
            ("width-1e9", dump(scaled(width=1e9)), "width 10^9: 6.4·10^10 channels"),
            ("width-0", dump(scaled(width=0)), "width 0: layers of 0 channels"),
            ("width-neg", dump(scaled(width=-1)), "width -1: negative channels"),
            ("maxc-1e300", dump(scaled(maxc=1e300)), "max_channels 1e300 (a float: no cap, weights no longer fit)"),
            ("maxc-neg", dump(scaled(maxc=-5)), "max_channels -5"),
            ("nc-0", dump(top(nc=0)), "nc 0"),
            ("nc-neg", dump(top(nc=-1)), "nc -1"),
            ("nc-1e9", dump(top(nc=10**9)), "nc 10^9: a head of 10^9 outputs"),
            ("nc-str", dump(top(nc="x")), "nc a string"),
            ("channels-0", dump(top(channels=0)), "input channels 0"),
            ("channels-1e6", dump(top(channels=10**6)), "input channels 10^6"),
            ("scales-not-mapping", dump(top(scales=5)), "scales: 5"),
            ("no-backbone", dump({k: v for k, v in base.items() if k != "backbone"}), "no backbone"),
            ("conv-number-1024-depth-300", dump(row("backbone", 0, 1, 1024, scaled(depth=300))),
             "a plain Conv row with number 1024 under depth 300: 307200 Conv layers in a Sequential"),
            ("number-1e9", dump(row("backbone", 2, 1, 10**9)), "a C2f row with number 10^9"),
            ("number-2^63", dump(row("backbone", 2, 1, 2**63)), "a row number 2^63 (above i64)"),
            ("number-str", dump(row("backbone", 2, 1, "x")), "a row number `x`"),
            ("number-neg", dump(row("backbone", 2, 1, -3)), "a row number -3"),
            ("module-unknown", dump(row("backbone", 1, 2, "EvilModule")), "an unknown module name"),
            ("module-list", dump(row("backbone", 1, 2, ["Conv"])), "a module that is a list"),
            ("module-eval", dump(row("backbone", 1, 2, evil.format("yaml-module"))),
             "a module name that is Python code (never evaluated)", "yaml-module"),
            ("args-string", dump(row("backbone", 1, 3, "x")), "args a string"),
            ("args-mapping", dump(row("backbone", 1, 3, {"c2": 8})), "args a mapping"),
            ("args-eval", dump(row("backbone", 1, 3, [evil.format("yaml-args"), 3, 2])),
             "an argument that is Python code (ultralytics literal_evals strings; never evaluated)", "yaml-args"),
            ("args-nested-64", dump(row("backbone", 0, 3, nested)), "args nested 64 lists deep"),
            ("from-forward", dump(row("backbone", 1, 0, 5)), "a row taking its input from a later row"),
            ("from-self", dump(row("backbone", 1, 0, 1)), "a row taking its input from itself"),
            ("from-neg-1000", dump(row("backbone", 1, 0, -1000)), "from -1000"),
            ("concat-from-forward", dump(row("head", 1, 0, [-1, 40])), "a Concat of row 40 (there are 23)"),
            ("detect-nc-literal-1e9", dump(row("head", -1, 3, [10**9])), "Detect's nc argument 10^9 in the row"),
            ("rows-4097", dump(top(backbone=[[-1, 1, "Conv", [8, 3, 1]]] * 4097)), "4097 backbone rows"),
            ("billion-laughs", laughs().encode() + body, "an alias bomb (10^10 strings expanded)"),
            ("billion-laughs-used", laughs().encode() + body.replace(b"nc: 80", b"nc: *l9"),
             "an alias bomb used as nc"),
            ("nested-100000", b"nc: " + b"[" * 100_000 + b"]" * 100_000 + b"\n" + body.replace(b"nc: 80\n", b""),
             "a flow list nested 100000 deep (the parser must not overflow its stack)"),
            ("size-2MB", big, "2 MB of yaml (the cap is 1 MiB)"),
            ("top-level-list", b"- 1\n- 2\n", "a list at the top level"),
            ("top-level-scalar", b"80\n", "a number at the top level"),
            ("python-tag-top", tag.format("yaml-tag-top").encode(), "a !!python/object/apply tag as the document",
             "yaml-tag-top"),
            ("python-tag-nc", (b"nc: " + tag.format("yaml-tag-nc").encode() + body.replace(b"nc: 80\n", b"")),
             "a !!python/object/apply tag as nc", "yaml-tag-nc"),
            ("complex-key", b"? [a, b]\n: 1\n" + body, "a mapping key that is a list"),
            ("non-utf8", body + b"# \xff\xfe\x80\n", "bytes that are not UTF-8"),
            ("empty", b"", "an empty file"),
            ("nul-bytes", b"\0" * 64, "NUL bytes"),
        ]
        for name, data, note, *marker in bad:
            y = self.write(f"detect/yaml/{name}.yaml", data)
            extra = {"marker": MARKER + marker[0]} if marker else {}
            self.dcase("yaml", f"{name}/port", ["port", "--yaml", y, t["sd"], "-o", "{OUT}"], "error", note,
                       cls="yaml", **extra)
            self.dcase("yaml", f"{name}/detect", self.D(t["png"], "--yaml", y, weights=t["sd"]), "error", note,
                       cls="yaml", **extra)
        good = [("tiny", t["yaml"], "the tiny model's own yaml with its state_dict (baseline)"),
                ("width-1e-9", self.write("detect/yaml/width-1e-9.yaml", dump(scaled(width=1e-9))),
                 "width 1e-9: every layer rounds up to 8 channels, as under 0.0625 (the weights fit)"),
                ("size-1MB-comments", self.write("detect/yaml/size-1MB-comments.yaml", fits),
                 "10^6 bytes (under the 1 MiB cap), mostly a comment")]
        for name, y, note in good:
            self.dcase("yaml", f"{name}/port", ["port", "--yaml", y, t["sd"], "-o", "{OUT}"], "success", note,
                       cls="yaml", may_write=["out.safetensors"])
            self.dcase("yaml", f"{name}/detect", self.D(t["png"], "--yaml", y, weights=t["sd"]), "success", note,
                       cls="yaml")
        for name, flags, note in [("scale-z", ["--scale", "z"], "--scale z (not in the yaml's scales)"),
                                  ("nc-0-flag", ["--nc", "0"], "--nc 0"),
                                  ("nc-5-flag", ["--nc", "5"], "--nc 5 (the weights have 80 classes)")]:
            self.dcase("yaml", f"{name}/port", ["port", "--yaml", t["yaml"], *flags, t["sd"], "-o", "{OUT}"],
                       "error", note, cls="yaml")

    # -- checkpoint metadata ----------------------------------------------------------------------------
    def detect_metadata(self):
        from torch import nn

        t = self.dt
        img = t["png"]

        def attr(get, **kw):
            def f(m):
                o = get(m)
                for k, v in kw.items():
                    setattr(o, k, v)
            return f

        def model(**kw):
            return attr(lambda m: m, **kw)

        def head(**kw):
            return attr(lambda m: m.model[-1], **kw)

        def up(**kw):
            return attr(lambda m: m.model[10], **kw)

        def layer(i, **kw):
            return attr(lambda m: m.model[i], **kw)

        def names(make):
            return model(names=make())

        def drop(m):
            del m.model

        def yaml_nc(m):
            m.yaml["nc"] = 5

        T = torch.tensor
        strides = [("1e30", T([1e30] * 3)), ("nan", T([math.nan] * 3)), ("zero", T([0.0] * 3)),
                   ("neg", T([-8.0, -16.0, -32.0])), ("2^40", T([8.0, 16.0, 2.0**40])), ("empty", T([])),
                   ("2d", torch.full((3, 3), 8.0))]
        J = ["--json"]
        C3 = ["--conf", "0", "--max-det", "3"]
        cases = [(f"stride-{k}", model(stride=v), "error", J, f"model.stride = {v.tolist()}") for k, v in strides
                 if k != "2d"]
        cases.append(("stride-2d", model(stride=strides[-1][1]), "success", J,
                      "model.stride a [3, 3] of 8s (ultralytics only takes max(stride, 32))"))
        cases += [(f"head-stride-{k}", head(stride=v), "error", J, f"the Detect head's stride = {v.tolist()}")
                  for k, v in strides[:5]]
        cases += [
            ("names-70000", names(lambda: dict.fromkeys(range(70_000), "x")), "error", J, "70000 class names"),
            ("names-str-keys", names(lambda: {str(i): f"n{i}" for i in range(80)}), "success", J,
             "names keyed by strings '0'..'79' (ultralytics turns them into ints)"),
            ("names-list", names(lambda: [f"n{i}" for i in range(80)]), "success", J, "names as a list"),
            ("upsample-scale-0", up(scale_factor=0.0), "error", J, "the Upsample's scale_factor 0"),
            ("upsample-scale-nan", up(scale_factor=math.nan), "error", J, "the Upsample's scale_factor NaN"),
            ("upsample-scale-neg", up(scale_factor=-2.0), "error", J, "the Upsample's scale_factor -2"),
            ("upsample-mode-evil", up(mode="evil"), "error", J, "the Upsample's mode `evil`"),
            ("f-forward", layer(12, f=15), "error", J, "layer 12 takes its input from layer 15"),
            ("f-self", layer(12, f=12), "error", J, "layer 12 takes its input from itself"),
            ("f-neg-100", layer(12, f=-100), "error", J, "layer 12's f = -100"),
            ("concat-f-forward", layer(11, f=[-1, 20]), "error", J, "the Concat at 11 reads layer 20"),
            ("head-f-two", head(f=[15, 18]), "error", J, "the Detect head reads two levels (it has three)"),
            ("head-nc-1e9", head(nc=10**9), "error", J, "the Detect head's nc = 10^9"),
            ("head-nc-5", head(nc=5), "error", J, "the head's nc = 5, its convolutions make 80 classes"),
            ("yaml-nc-5", yaml_nc, "success", J,
             "model.yaml nc = 5, the head 80 (the stored yaml is not what builds a pickled model, as in ultralytics)"),
            ("head-reg-max-1e6", head(reg_max=10**6), "error", J, "the head's reg_max = 10^6"),
            ("conv-out-channels", attr(lambda m: m.model[0].conv, out_channels=16), "success", J,
             "layer 0's conv.out_channels says 16, its weight has 8: the weight decides, as upstream"),
            ("no-layers", drop, "error", J, "model.model deleted"),
            ("empty-layers", model(model=nn.Sequential()), "error", J, "model.model an empty Sequential"),
        ]
        mem = [("upsample-scale-1000", up(scale_factor=1000.0), "error", J, "the Upsample's scale_factor 1000"),
               ("upsample-size-1e9", up(size=(10**9, 10**9), scale_factor=None), "error", J,
                "the Upsample's size (10^9, 10^9), no scale_factor")]
        forged = [
            ("names-newline-forged", lambda i: f"c{i}\n{FORGED}", C3, ["FORGED"]),
            ("names-newline-forged-json", lambda i: f"c{i}\n{FORGED}", C3 + J, ["FORGED"]),
            ("names-newline-forged-save-dir", lambda i: f"c{i}\n{FORGED}", C3 + [S, "{TMP}/out"], ["FORGED"]),
            ("names-cr-warning", lambda i: f"c{i}\rWARNING: x", C3, ["WARNING: x"]),
            ("names-newline-error", lambda i: f"c{i}\nerror: forged", C3, ["error: forged"]),
            ("names-ansi", lambda i: f"c{i}\x1b[2J\x1b]8;;http://x\x07", C3, []),
            ("names-bidi", lambda i: f"c{i}\u202e", C3, []),
        ]
        long = "W" * 100_000  # one string object: pickled once, the file stays small
        panic = [("names-100k-chars-save-dir", lambda i: long, C3 + [S, "{TMP}/out"]),
                 ("names-empty-save-dir", lambda i: "", C3 + [S, "{TMP}/out"])]

        def save(name, mutate):
            m = copy.deepcopy(t["model"]).half()
            mutate(m)
            p = self.path(f"detect/meta/{name}.pt")
            trainer_save(m, p)
            return p

        os.makedirs(self.path("detect/meta"), exist_ok=True)
        for group, rows in (("metadata", cases), ("memory", mem)):
            for name, mutate, expect, flags, note in rows:
                self.dcase(group, name, self.D(img, *flags, weights=save(name, mutate)), expect, note)
        for name, make, flags, forbid in forged + [(n, mk, fl, []) for n, mk, fl in panic]:
            w = save(name, names(lambda make=make: {i: make(i) for i in range(80)}))
            extra = {"may_write": ["out"], "expect_files": ["out/rgb-64x48.png"]} if S in flags else {}
            if forbid:
                extra["forbid_lines"] = forbid
            group = "panic" if name in {p[0] for p in panic} else "output"
            self.dcase(group, name, self.D(img, *flags, weights=w), "success",
                       f"class names {make(0)[:40]!r}…, {' '.join(flags)}", **extra)
        # 3,000,000 names (one shared string: ~30 MB).
        p = save("names-3M", model(names=dict.fromkeys(range(3_000_000), "x")))
        self.dcase("metadata", "names-3M", self.D(img, *J, weights=p), "error", "3,000,000 class names (a 30 MB .pt)")

    # -- payloads as detect weights --------------------------------------------------------------------
    def detect_payload(self):
        t, D = self.dt, self.D
        by_name = {c["name"]: c for c in self.cases}
        for src in ("globals/root/os-system/port", "globals/root/shutil-rmtree/port",
                    "globals/ultra-ckpt/timeit-timeit/port", "globals/module-attr/io-open/port"):
            c = by_name[src]
            extra = {k: c[k] for k in ("input", "marker", "canary_dir", "torch_live") if k in c}
            self.dcase("payload", src.split("/", 1)[1].rsplit("/", 1)[0].replace("/", "-"),
                       D(t["png"], weights=c["input"]), "error", f"as `detect` weights: {c['note']}", **extra)
        for tag, where in (("detect-model-attr-io-open", "model"), ("detect-train-args-io-open", "train_args")):
            m = copy.deepcopy(t["model"]).half()
            evil = Payload(io.open, (MARKER + tag, "w"))
            over = {"train_args": {"task": "detect", "callbacks": [evil]}} if where == "train_args" else {}
            if where == "model":
                m.callbacks_note = [evil]
            p = self.path(f"detect/payload-{where}.pt")
            trainer_save(m, p, **over)
            extra = {"input": p, "marker": MARKER + tag, "torch_live": True}
            self.dcase("payload", f"tiny-{where}-io-open", D(t["png"], weights=p), "error",
                       f"the tiny detector with io.open under `{where}`", **extra)
            self.dcase("payload", f"tiny-{where}-io-open-accepted",
                       D(t["png"], "--accept-global", "io.open", weights=p), "success",
                       "same, --accept-global io.open: the object stays opaque, never called", **extra)
