"""Special files, CLI values and output-path safety."""

import base64
import os
import struct

from .base import GenBase, TINY
from .formats import CONV_STORAGES, archive, conv_sd_pickle, png_bytes, png_zeros


class SpecialCases(GenBase):
    """Special files (`special`), hostile CLI values (`cli`), output-path safety (`output`)."""

    # -- special files ---------------------------------------------------------------------------
    def special(self):
        cls = "special"
        d = self.path("special")
        os.makedirs(d, exist_ok=True)
        fifo = os.path.join(d, "fifo.pt")
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
        fifo_st = os.path.join(d, "fifo.safetensors")
        if not os.path.exists(fifo_st):
            os.mkfifo(fifo_st)
        fifo_png = os.path.join(d, "fifo.png")
        if not os.path.exists(fifo_png):
            os.mkfifo(fifo_png)
        sparse = {}
        for ext in ("pt", "safetensors", "png"):
            p = os.path.join(d, f"sparse-6GB.{ext}")
            with open(p, "wb") as f:
                if ext == "pt":
                    f.write(b"PK\x03\x04")
                elif ext == "safetensors":
                    f.write(struct.pack("<Q", 2) + b"{}")
                else:
                    f.write(png_zeros(64, 64)[:33])
            os.truncate(p, 6 << 30)
            sparse[ext] = p
        p3 = os.path.join(d, "sparse-3GB.pt")
        with open(p3, "wb") as f:
            f.write(b"PK\x03\x04")
        os.truncate(p3, 3 << 30)
        loop = os.path.join(d, "loop.pt")
        if not os.path.lexists(loop):
            os.symlink(loop, loop)
        x = self.path("config/input-1x3x32x32.safetensors")
        for label, path, st in [("fifo", fifo, fifo_st), ("dev-zero", "/dev/zero", "/dev/zero"), ("directory", d, d),
                                ("sparse-6GB", sparse["pt"], sparse["safetensors"]), ("symlink-loop", loop, loop),
                                ("dev-stdin", "/dev/stdin", "/dev/stdin"),
                                ("proc-self-mem", "/proc/self/mem", "/proc/self/mem")]:
            self.case(f"special/{label}/inspect", cls, ["inspect", path], "error", f"inspect on {label}")
            self.case(f"special/{label}/port", cls, ["port", path, "-o", "{OUT}"], "error", f"port from {label}")
            self.case(f"special/{label}/forward-weights", cls, ["forward", "--weights", st, x, "-o", "{OUT}"], "error",
                      f"forward --weights {label}")
            self.case(f"special/{label}/pool-input", cls, ["pool", st, "-o", "{OUT}"], "error", f"pool input {label}")
        self.case("special/sparse-6GB.safetensors/inspect", cls, ["inspect", sparse["safetensors"]], "error",
                  "a sparse 6 GB .safetensors (header says 2 bytes)")
        self.case("special/sparse-3GB/inspect", cls, ["inspect", p3], "error",
                  "a sparse 3 GB .pt (fits under the 4 GB cap only just)")
        self.case("special/fifo/infer-image", cls, ["infer", "--weights", TINY, "--device", "cpu", fifo_png], "error",
                  "infer on a FIFO named .png")
        self.case("special/sparse-6GB/infer-image", cls,
                  ["infer", "--weights", TINY, "--device", "cpu", sparse["png"]], "error",
                  "infer on a sparse 6 GB .png whose first bytes are a PNG header")
        self.case("special/fifo/infer-weights", cls,
                  ["infer", "--weights", fifo_st, "--device", "cpu", self.path("images/ok-64.png")], "error",
                  "infer --weights FIFO")
        self.case("special/dev-zero/infer-image", cls, ["infer", "--weights", TINY, "--device", "cpu", "/dev/zero"],
                  "error", "infer on /dev/zero")

    # -- CLI values -----------------------------------------------------------------------------
    def cli(self):
        cls = "cli"
        img = self.path("images/ok-64.png")
        x = self.path("config/input-1x3x32x32.safetensors")
        conv_pt = self.write("cli/conv-sd.pt", archive(conv_sd_pickle(), CONV_STORAGES))
        I = ["infer", "--weights", TINY, "--device", "cpu"]
        rows = [
            ("sizes-max-1e9", ["sizes", "--max", "1000000000"], "error",
             "sizes --max 10^9 (3·10^9 side checks, vectors of 10^9 sides)"),
            ("sizes-max-i64max", ["sizes", "--max", "9223372036854775807"], "error",
             "sizes --max i64::MAX (2·max + 7 overflows)"),
            ("sizes-max-1e6", ["sizes", "--max", "1000000"], "error", "sizes --max 10^6 (above the 4096 allowed)"),
            ("sizes-levels-huge", ["sizes", "--levels", "4611686018427387904", "--max", "4"], "error",
             "sizes --levels 2^62 (levels are 1..=1024)"),
            ("sizes-levels-i64max", ["sizes", "--levels", "9223372036854775807", "--max", "4"], "error",
             "sizes --levels i64::MAX"),
            ("sizes-levels-many", ["sizes", "--levels", ",".join(["1"] * 20000), "--max", "32"], "success",
             "sizes with 20000 levels"),
            ("infer-mean-nan", I + ["--mean", "nan,nan,nan", img], "error",
             "--mean nan (NaN inputs; forward/pool refuse non-finite inputs)"),
            ("infer-mean-inf", I + ["--mean", "inf,0,0", img], "error", "--mean inf"),
            ("infer-std-0", I + ["--std", "0,0,0", img], "error", "--std 0 (division by zero)"),
            ("infer-std-neg", I + ["--std", "-1,-1,-1", img], "error", "--std negative"),
            ("infer-std-nan", I + ["--std", "nan,1,1", img], "error", "--std nan"),
            ("infer-mean-2", I + ["--mean", "0,0", img], "error", "--mean with two values"),
            ("infer-batch-0", I + ["--batch-size", "0", img], "error", "--batch-size 0"),
            ("infer-batch-u64max", I + ["--batch-size", "18446744073709551615", img], "success",
             "--batch-size u64::MAX (just means 'all')"),
            ("infer-topk-0", I + ["--top-k", "0", img], "error", "--top-k 0"),
            ("infer-topk-u64max", I + ["--top-k", "18446744073709551615", img], "success",
             "--top-k u64::MAX (clamped to the class count)"),
            ("infer-device-cuda", I[:-2] + ["--device", "cuda", img], "error", "--device cuda on a CPU-only machine"),
            ("infer-device-cuda-huge", I[:-2] + ["--device", "cuda:99999999999999999999999", img], "error",
             "--device cuda:<huge>"),
            ("infer-half-cpu", I + ["--half", img], "success",
             "--half on CPU (README: refused only where this libtorch lacks fp16 convolution on the device)"),
            ("port-bn-eps-inf", ["port", conv_pt, "-o", "{OUT}", "--bn-eps", "inf"], "error", "--bn-eps inf"),
            ("port-bn-eps-nan", ["port", conv_pt, "-o", "{OUT}", "--bn-eps", "nan"], "error", "--bn-eps nan"),
            ("port-bn-eps-neg", ["port", conv_pt, "-o", "{OUT}", "--bn-eps", "-1"], "error", "--bn-eps -1"),
            ("port-bn-eps-0", ["port", conv_pt, "-o", "{OUT}", "--bn-eps", "0"], "error",
             "--bn-eps 0 (must be finite and above 0)"),
            ("port-bn-eps-1e400", ["port", conv_pt, "-o", "{OUT}", "--bn-eps", "1e400"], "error",
             "--bn-eps 1e400 (parses as inf)"),
            ("port-act-leaky-nan", ["port", conv_pt, "-o", "{OUT}", "--act", "LeakyReLU(nan)"], "error",
             "--act LeakyReLU(nan)"),
            ("port-act-leaky-inf", ["port", conv_pt, "-o", "{OUT}", "--act", "LeakyReLU(inf)"], "error",
             "--act LeakyReLU(inf)"),
            ("port-act-unknown", ["port", conv_pt, "-o", "{OUT}", "--act", "Evil"], "error", "--act Evil"),
            ("port-control", ["port", conv_pt, "-o", "{OUT}"], "success", "control: port a Conv state_dict"),
            ("port-module-100KB", ["port", conv_pt, "-o", "{OUT}", "--module", "m." * 50_000], "error",
             "--module of 100 KB"),
            ("port-act-100KB", ["port", conv_pt, "-o", "{OUT}", "--act", "A" * 100_000], "error",
             "--act of 100 KB (echoed?)"),
            ("forward-key-100KB", ["forward", "--weights", TINY, x, "-o", "{OUT}", "--key", "k" * 100_000], "error",
             "--key of 100 KB"),
            ("threads-neg", ["--threads", "-1", "forward", "--weights", TINY, x, "-o", "{OUT}"], "error",
             "--threads -1"),
            ("threads-0", ["--threads", "0", "forward", "--weights", TINY, x, "-o", "{OUT}"], "error", "--threads 0"),
            ("threads-1025", ["--threads", "1025", "forward", "--weights", TINY, x, "-o", "{OUT}"], "error",
             "--threads 1025"),
            ("threads-1024-forward", ["--threads", "1024", "forward", "--weights", TINY, x, "-o", "{OUT}"], "error",
             "--threads 1024 (at most 256)"),
            ("threads-u64max", ["--threads", "18446744073709551616", "forward", "--weights", TINY, x, "-o", "{OUT}"],
             "error", "--threads 2^64"),
            ("threads-i32-wrap", ["--threads", "4294967297", "forward", "--weights", TINY, x, "-o", "{OUT}"], "error",
             "--threads 2^32+1"),
        ]
        for name, args, expect, note in rows:
            self.case(f"cli/{name}", cls, args, expect, note)
        for v in ("abc", "0", "100000", " 2 ", "-3"):
            self.case(f"cli/env-OMP_NUM_THREADS={v.strip() or 'blank'}", cls,
                      ["forward", "--weights", TINY, x, "-o", "{OUT}"],
                      "success" if v == " 2 " else "error", f"OMP_NUM_THREADS={v!r}", env={"OMP_NUM_THREADS": v})
        # Non-UTF-8 paths (bytes).
        raw = os.fsencode(self.out) + b"/cli/\xff\xfe-weights.pt"
        with open(raw, "wb") as f:
            f.write(open(conv_pt, "rb").read())
        rawimg = os.fsencode(self.out) + b"/cli/\xff\xfe-img.png"
        with open(rawimg, "wb") as f:
            f.write(png_bytes(64, 64))
        self.case("cli/non-utf8-inspect", cls, [b"inspect", raw], "success", "a non-UTF-8 file name for inspect")
        self.case("cli/non-utf8-port", cls, [b"port", raw, b"-o", b"{OUT}"], "success",
                  "a non-UTF-8 input name for port")
        self.case("cli/non-utf8-output", cls, [b"port", conv_pt.encode(), b"-o", b"{OUT}.\xff\xfe"], "success",
                  "a non-UTF-8 output name",
                  expect_files_b64=[base64.b64encode(b"out.safetensors.\xff\xfe").decode()])
        self.case("cli/non-utf8-infer", cls,
                  [b"infer", b"--weights", TINY.encode(), b"--device", b"cpu", rawimg, b"--json"], "success",
                  "infer on a non-UTF-8 image path, --json (path is lossily shown)")
        self.case("cli/non-utf8-infer-o", cls,
                  [b"infer", b"--weights", TINY.encode(), b"--device", b"cpu", rawimg, b"-o", b"{OUT}"], "success",
                  "infer -o with a non-UTF-8 image path (recorded in sppnet.inputs metadata)")
        self.case("cli/non-utf8-module", cls, [b"port", conv_pt.encode(), b"-o", b"{OUT}", b"--module", b"\xff"],
                  "error", "--module \\xff")
        self.case("cli/non-utf8-levels", cls, [b"sizes", b"--levels", b"\xff"], "error", "--levels \\xff")

    # -- output safety --------------------------------------------------------------------------
    def output(self):
        cls = "output"
        src = TINY
        victim = self.write("output/victim.txt", b"victim content\n")
        P = ["port", src, "-o", "{OUT}"]
        F = P + ["--force"]
        rows = [
            ("control", P, "success", "control: port the tiny SppNet to a fresh path", {}),
            ("symlink-to-file", P, "error", "OUT is a symlink to another file (no --force: refused)",
             {"setup": {"kind": "symlink", "to": "{VICTIM}"}, "check_unchanged": "{VICTIM}"}),
            ("symlink-to-file-force", F, "error",
             "OUT is a symlink to another file, --force: the link is replaced, its target untouched",
             {"setup": {"kind": "symlink", "to": "{VICTIM}"}, "check_unchanged": "{VICTIM}"}),
            ("dangling-symlink", P, "error",
             "OUT is a dangling symlink (no --force): refused; its target must not be created",
             {"setup": {"kind": "dangling_symlink", "to": "{TMP}/created-through-link"},
              "check_absent": "{TMP}/created-through-link"}),
            ("dangling-symlink-force", F, "error", "OUT is a dangling symlink, --force: target must not be created",
             {"setup": {"kind": "dangling_symlink", "to": "{TMP}/created-through-link"},
              "check_absent": "{TMP}/created-through-link"}),
            ("fifo", P, "error", "OUT is a FIFO (no --force)", {"setup": {"kind": "fifo"}}),
            ("fifo-force", F, "error", "OUT is a FIFO, --force (must not block opening it)",
             {"setup": {"kind": "fifo"}}),
            ("symlink-to-dev-null-force", F, "error",
             "OUT is a symlink to /dev/null, --force (/dev/null must stay a device)",
             {"setup": {"kind": "symlink", "to": "/dev/null"}}),
            ("dev-null", ["port", src, "-o", "/dev/null"], "error",
             "OUT is /dev/null (no --force; `--force` is NOT run here: as root it would replace /dev/null "
             "with a regular file)", {}),
            ("directory", P, "error", "OUT is a directory", {"setup": {"kind": "dir"}}),
            ("directory-force", F, "error", "OUT is a directory, --force", {"setup": {"kind": "dir"}}),
            ("existing-file", P, "error", "OUT exists (no --force)", {"setup": {"kind": "file", "content": "keep me"}}),
            ("name-250", P, "success", "a 250-character file name (legal; its temporary name `.NAME.tmp-PID` is not)",
             {"setup": {"out_name": "n" * 238 + ".safetensors"}}),
            ("name-255", P, "success", "a 255-character file name (the limit)",
             {"setup": {"out_name": "n" * 243 + ".safetensors"}}),
            ("name-256", P, "error", "a 256-character file name (over the limit)",
             {"setup": {"out_name": "n" * 244 + ".safetensors"}}),
            ("missing-dir", ["port", src, "-o", "{TMP}/no/such/dir/out.safetensors"], "error",
             "OUT in a missing directory", {}),
            ("trailing-slash", ["port", src, "-o", "{TMP}/out.safetensors/"], "error", "OUT ending in /", {}),
            ("dot", ["port", src, "-o", "{TMP}/."], "error", "OUT is `.`", {}),
            ("empty", ["port", src, "-o", ""], "error", "OUT is the empty string", {}),
            ("same-as-input-force", ["port", "{TMP}/in.safetensors", "-o", "{TMP}/in.safetensors", "--force"],
             "error", "OUT is the input file, --force: an output never replaces an input",
             {"setup": {"kind": "copy_to_tmp", "from": src, "name": "in.safetensors"}}),
            ("tmp-symlink-race", P, "success",
             "symlinks `.out.safetensors.tmp-PID` → a victim file pre-planted for the next 64 PIDs: "
             "the atomic writer must not write through them",
             {"setup": {"kind": "plant_tmp_symlinks", "to": "{VICTIM}", "count": 64}, "check_unchanged": "{VICTIM}"}),
            ("tmp-symlink-race-force", F, "success", "same, --force",
             {"setup": {"kind": "plant_tmp_symlinks", "to": "{VICTIM}", "count": 64}, "check_unchanged": "{VICTIM}"}),
            ("infer-o-symlink",
             ["infer", "--weights", TINY, "--device", "cpu", self.path("images/ok-64.png"), "-o", "{OUT}", "--force"],
             "error", "infer -o a symlink to another file, --force",
             {"setup": {"kind": "symlink", "to": "{VICTIM}"}, "check_unchanged": "{VICTIM}"}),
        ]
        for name, args, expect, note, extra in rows:
            self.case(f"output/{name}", cls, args, expect, note, victim_template=victim, **extra)
