"""Security cases: zip-archive ambiguity and dangerous pickle globals."""

import io
import os
import struct
import zlib

import numpy as np
import torch

from .asm import EMPTY_DICT, MARK, PROTO2, SETITEM, SETITEMS, STOP, i, odict, s
from .base import GenBase
from .formats import CONV_STORAGES, archive, build_zip, conv_pairs, conv_sd_pickle, f32, torch_entries
from .payloads import CANARY, CANARY_KINDS, MARKER, NOT_LIVE, PROTO_OF, Payload, payload, stmt


class SecurityCases(GenBase):
    """Zip ambiguity (`security/zip`) and dangerous globals in pickles (`security/globals`)."""

    # -- security: zip ambiguity ---------------------------------------------------------------
    def zip_ambiguity(self):
        cls = "security/zip"
        benign = conv_sd_pickle()

        def evil(tag):
            return PROTO2 + payload("os.system", tag) + STOP

        def both(name, data, note, expect_inspect="error", expect_port="error", tag=None, live=True, warn=False):
            p = self.write(f"zip/{name}.pt", data)
            extra = {"input": p}
            if tag:
                extra.update(marker=MARKER + tag, torch_live=live)
            self.case(f"zip/{name}/inspect", cls, ["inspect", p], expect_inspect, note, **extra,
                      **({"warn": True} if warn else {}))
            self.case(f"zip/{name}/port", cls, ["port", p, "-o", "{OUT}"], expect_port, note, **extra)

        base = torch_entries(benign, CONV_STORAGES)
        both("control-benign", build_zip(base), "control: a well-formed Conv state_dict archive", "success", "success")
        t = "zip-dup-last"
        ents = base + [{"name": "archive/data.pkl", "data": evil(t)}]
        both("dup-datapkl-evil-last", build_zip(ents),
             "two archive/data.pkl entries: benign first, os.system last; a strict reader refuses duplicate names "
             "(which one torch.load takes: see the live check)", tag=t)
        t = "zip-dup-first"
        ents = [{"name": "archive/data.pkl", "data": evil(t)}] + base
        both("dup-datapkl-evil-first", build_zip(ents),
             "two archive/data.pkl entries: os.system first, benign second", tag=t)
        t = "zip-dup-storage"
        ents = base + [{"name": "archive/data/0", "data": f32(np.full(24, 1e30))}]
        both("dup-storage", build_zip(ents),
             "archive/data/0 twice with different contents (which weights are real is ambiguous)")
        t = "zip-prefix"
        ents = [{"name": "evil/version", "data": b"3\n"}] + base + [{"name": "evil/data.pkl", "data": evil(t)}]
        both("second-root-prefix", build_zip(ents),
             "a second archive root: the first entry is evil/… (torch takes the archive name from the first entry) "
             "while sppnet takes the first */data.pkl it meets (archive/, benign)", tag=t)
        t = "zip-xdata"
        ents = [{"name": "archive/xdata.pkl", "data": benign}] \
            + [e for e in base if not e["name"].endswith("/data.pkl")] \
            + [{"name": "archive/data.pkl", "data": evil(t)}]
        both("suffix-xdata-pkl", build_zip(ents),
             "archive/xdata.pkl (benign) before archive/data.pkl (evil): a reader matching names by suffix `data.pkl` "
             "takes the wrong one; sppnet reads data.pkl, as torch.load does, and warns", "success", tag=t, warn=True)
        t = "zip-rootpkl"
        ents = [{"name": "evil/byteorder", "data": b"little"}, {"name": "data.pkl", "data": benign}] \
            + [{"name": f"data/{k}", "data": v} for k, v in CONV_STORAGES.items()] \
            + [{"name": "evil/data.pkl", "data": evil(t)}]
        both("datapkl-at-root-and-prefix", build_zip(ents),
             "data.pkl without a prefix (benign) and evil/data.pkl; the first entry names evil/", tag=t)
        t = "zip-localname"
        ents = [dict(e) for e in base]
        ents[0]["local_name"] = "archive/notes.txt"
        both("local-name-differs", build_zip(ents),
             "the local header of archive/data.pkl says archive/notes.txt (Python's zipfile refuses the mismatch; "
             "streaming unzippers list another name)")
        t = "zip-localname-evil"
        ents = [dict(e) for e in base] + [{"name": "archive/data.pkl", "local_name": "archive/README", "data": evil(t)}]
        both("dup-with-local-name-differs", build_zip(ents),
             "a second archive/data.pkl (evil) whose local header calls itself archive/README", tag=t)
        # Overlapping entries: central records pointing at the same local header / into data.
        ents = [dict(e) for e in base] + [{"name": "archive/data/9", "data": CONV_STORAGES["0"], "alias": 6}]
        both("overlap-alias", build_zip(ents),
             "two central records share one local header (archive/data/0 and archive/data/9)")
        z = bytearray(build_zip(base))
        both("overlap-central-into-local", build_zip(base + [{"name": "archive/extra", "data": b"", "offset": 0}]),
             "an entry whose local-header offset is 0 (the data.pkl header): its bytes overlap another entry")
        both("prepended-garbage", b"MZ" + b"\0" * 62 + bytes(z),
             "64 bytes before the first local header (a self-extractor layout)")
        both("prepended-PK-garbage", b"PKJUNK" + bytes(z), "starts with `PK` but not a local header; offsets off by 6")
        both("trailing-data", bytes(z) + b"\0" * 4096, "4 KB after the end-of-central-directory record",
             "success", "success")
        t = "zip-trailing-eocd"
        fake = build_zip([{"name": "archive/data.pkl", "data": evil(t)}])
        both("trailing-second-zip", bytes(z) + fake,
             "a whole second archive appended (evil data.pkl): its EOCD is the last one, but its offsets are relative "
             "to its own start", tag=t)
        both("trailing-eocd-comment-lie", bytes(z[:-2]) + struct.pack("<H", 200) + b"x" * 10,
             "EOCD comment length 200 with 10 bytes of comment")
        both("deflated-datapkl", build_zip([dict(base[0], method=8, comp=zlib.compress(benign)[2:-4])] + base[1:]),
             "data.pkl deflate-compressed (torch.load reads it; sppnet refuses compressed entries)")
        ents = [dict(e) for e in base]
        ents[0]["crc"] = 0
        both("bad-crc-datapkl", build_zip(ents), "data.pkl with a wrong CRC-32")
        both("count-0", build_zip(base, count=0), "EOCD entry count 0")
        both("count-lie-0xffff-no-zip64", build_zip(base, count=0xFFFF), "EOCD count 0xffff without a zip64 locator")
        both("zip64-count-2^40", build_zip(base, zip64_eocd={"count": 1 << 40}),
             "zip64 EOCD: 2^40 entries in a 1 KB directory")
        both("zip64-locator-far", build_zip(base, zip64_eocd={"locator_points_to": 1 << 62}),
             "zip64 locator pointing at 2^62")
        both("zip64-cd-offset-huge", build_zip(base, zip64_eocd={"cd_offset": (1 << 64) - 16}),
             "zip64 central directory offset near 2^64 (offset + size overflows)")
        both("zip64-valid", build_zip(base, zip64_eocd={}), "a well-formed zip64 EOCD on a small archive",
             "success", "success")
        ents = [dict(e) for e in base]
        ents[6].update(csize=0xFFFFFFFF, usize=0xFFFFFFFF,
                       cextra=struct.pack("<HHQQ", 1, 16, (1 << 63) + 5, (1 << 63) + 5))
        both("zip64-extra-size-2^63", build_zip(ents), "a storage's zip64 extra field says 2^63+5 bytes")
        ents = [dict(e) for e in base]
        ents[6].update(coff=0xFFFFFFFF, cextra=struct.pack("<HHQ", 1, 8, (1 << 64) - 1))
        both("zip64-extra-offset-max", build_zip(ents), "a storage's zip64 local-header offset is 2^64-1")
        ents = [dict(e) for e in base]
        ents[6].update(cextra=struct.pack("<HH", 1, 0xFFFF))
        both("extra-len-lie", build_zip(ents), "a central extra field claiming 65535 bytes")
        ents = [dict(e) for e in base] + [{"name": "archive/code/__torch__.py", "data": b"x"}]
        both("torchscript-name-late", build_zip(ents), "an archive/code/ entry (TorchScript marker) after the data")
        t = "zip-deep"
        ents = [{"name": "archive/data.pkl", "data": benign}, {"name": "archive/a/data.pkl", "data": evil(t)}] \
            + base[1:]
        both("nested-datapkl-name", build_zip(ents), "archive/a/data.pkl (evil) beside archive/data.pkl",
             "success", "success")

    # -- security: globals ---------------------------------------------------------------------
    def globals_(self):
        cls = "security/globals"
        kinds = ["os.system", "posix.system", "timeit.timeit", "cProfile.run", "profile.run",
                 "uuid._get_command_stdout", "_pickle.loads", "pickle.loads", "cPickle.loads", "io.open", "_io.open",
                 "builtins.exec", "__builtin__.eval", "getattr(__import__)", "numpy runstring", "os.popen",
                 "shutil.rmtree", "webbrowser.open", "pydoc.pipepager", "code.InteractiveInterpreter",
                 "torch+os.system (dotted name)", "torch.serialization+os.system (dotted)",
                 "numpy+testing._private.utils.runstring (dotted)", "V raw-unicode-escape os.system",
                 "S escape_decode os.system", "STACK_GLOBAL via memo", "INST os.system", "INST io.open",
                 "OBJ timeit.timeit", "BUILD __setstate__ cProfile.run", "NEWOBJ carrying io.open in BUILD",
                 "_rebuild_from_type_v2(timeit)"]

        def slug(k):
            return "".join(c if c.isalnum() or c == "_" else "-" for c in k).strip("-").lower()

        # `port` refuses every file whose pickle names a global outside the allow-list, wherever
        # it sits (the user can accept each by name): every port below expects an error.
        def emit(name, data, tag, kind, note, port_expect):
            p = self.write(f"globals/{name}.pt", data)
            extra = {"input": p, "marker": MARKER + tag, "torch_live": kind not in NOT_LIVE}
            if kind in CANARY_KINDS:
                extra["canary_dir"] = CANARY + tag
            self.case(f"globals/{name}/inspect", cls, ["inspect", p], "success",
                      f"{note}; inspect should list it under WARNING", warn=True, **extra)
            self.case(f"globals/{name}/port", cls, ["port", p, "-o", "{OUT}"], port_expect, note, **extra)

        for k in kinds:
            tag = "root-" + slug(k)
            proto = PROTO_OF.get(k, PROTO2)
            emit(f"root/{slug(k)}", archive(proto + payload(k, tag) + STOP), tag, k,
                 f"{k} at the pickle root", "error")
        # The same payloads in other spots, with a real Conv state_dict beside them.
        spots = {
            "sd-value": (lambda p, tag: conv_sd_pickle(extra=[(s("evil"), p)]), "error", "a value of the state_dict"),
            "sd-metadata-build": (lambda p, tag: conv_sd_pickle(build=EMPTY_DICT + s("_metadata") + p + SETITEM),
                                  "error", "the state_dict's BUILD state (`_metadata`, which torch.save writes "
                                  "and readers drop)"),
            "tensor-hooks": (lambda p, tag: conv_sd_pickle(hooks=p), "error",
                             "the backward_hooks argument of _rebuild_tensor_v2"),
            "storage-location": (lambda p, tag: conv_sd_pickle(location=p), "error",
                                 "the location field of a storage's persistent id"),
            "dict-key": (lambda p, tag: PROTO2 + EMPTY_DICT + p + s("x") + SETITEM + STOP, "error",
                         "a dict key at the root"),
            "ckpt-optimizer": (lambda p, tag: PROTO2 + EMPTY_DICT + MARK + s("model") + odict(conv_pairs())
                               + s("optimizer") + p + s("epoch") + i(-1) + SETITEMS + STOP, "error",
                               "a training checkpoint's `optimizer` (weights under `model`)"),
        }
        spot_kinds = ["timeit.timeit", "io.open", "numpy runstring", "pydoc.pipepager", "uuid._get_command_stdout",
                      "_pickle.loads", "cProfile.run", "torch+os.system (dotted name)",
                      "V raw-unicode-escape os.system", "INST io.open", "os.system"]
        for spot, (make, port_expect, where) in spots.items():
            for k in spot_kinds:
                tag = f"{spot}-{slug(k)}"
                proto = PROTO_OF.get(k, PROTO2)
                pkl = make(payload(k, tag), tag)
                pkl = proto + pkl[2:]
                emit(f"{spot}/{slug(k)}", archive(pkl, CONV_STORAGES), tag, k, f"{k} in {where}", port_expect)
        # Real torch.save files: an ultralytics SPPF module with a payload attribute, and an
        # ultralytics-style training checkpoint with payloads under keys sppnet does not extract.
        import cProfile
        import timeit
        import time
        import pydoc
        import uuid
        import numpy.testing._private.utils as nptu
        from ultralytics.nn.modules.block import SPPF

        torch.manual_seed(0)
        live = {
            "timeit.timeit": lambda t: Payload(timeit.timeit, (stmt(t), "pass", time.perf_counter, 1)),
            "cProfile.run": lambda t: Payload(cProfile.run, (stmt(t),)),
            "io.open": lambda t: Payload(io.open, (MARKER + t, "w")),
            "numpy runstring": lambda t: Payload(nptu.runstring, (stmt(t), {})),
            "pydoc.pipepager": lambda t: Payload(pydoc.pipepager, ("x", f"touch {MARKER + t}")),
            "uuid._get_command_stdout": lambda t: Payload(uuid._get_command_stdout, ("touch", MARKER + t)),
            "os.popen": lambda t: Payload(os.popen, (f"touch {MARKER + t}",)),
        }
        for k, mk in live.items():
            tag = "sppf-attr-" + slug(k)
            m = SPPF(8, 8).eval()
            m.note = mk(tag)
            m.cv1.extra = [1, 2, {"deep": mk(tag + "-deep")}]
            buf = io.BytesIO()
            torch.save(m, buf)
            emit(f"module-attr/{slug(k)}", buf.getvalue(), tag, k,
                 f"{k} as attributes of a pickled ultralytics SPPF module (and deep in cv1)", "error")
            tag = "ultra-ckpt-" + slug(k)
            ck = {"date": "2026-01-01", "version": "8.4.190", "model": SPPF(8, 8).half(), "ema": None, "updates": 0,
                  "optimizer": mk(tag), "train_args": {"data": "coco.yaml", "callbacks": [mk(tag + "-ta")]},
                  "train_metrics": {"m": mk(tag + "-tm")}, "best_fitness": 0.5}
            buf = io.BytesIO()
            torch.save(ck, buf)
            emit(f"ultra-ckpt/{slug(k)}", buf.getvalue(), tag, k,
                 f"{k} under `optimizer`, `train_args` and `train_metrics` of an ultralytics-style checkpoint whose "
                 "`model` is a real SPPF", "error")
