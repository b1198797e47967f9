"""`sppnet detect` cases: a tiny randomised YOLOv8 (the fixtures), the user's files around
`--save-dir`, forged output lines, hostile images, flag values, memory, odd shapes. The model-yaml,
checkpoint-metadata and payload cases are in yamls.py."""

import base64
import copy
import io
import os
import struct
import zlib

import numpy as np
import torch
from PIL import Image

from .base import GenBase
from .formats import jpeg_bytes, png_bytes, png_chunk, png_zeros

FORGED = "FORGED 0.999 [1.0, 2.0, 3.0, 4.0]"
S = "--save-dir"


def tiny_yaml():
    """yolov8n.yaml with one scale, `n`, whose layers all have 8 channels (weights of ~0.8 MB)."""
    from ultralytics.nn.tasks import yaml_model_load
    d = yaml_model_load("yolov8n.yaml")
    d = {k: v for k, v in d.items() if k not in ("scale", "yaml_file")}
    d["scales"] = {"n": [0.33, 0.0625, 64]}
    return d


def trainer_save(half, path, **over):
    """detectors.save_checkpoint's "best" layout around a model already in half precision and then
    altered (ultralytics' own `half()` cannot walk a model without layers)."""
    import ultralytics
    args = {"task": "detect", "imgsz": 640, "epochs": 3, "batch": 16, "model": "yolov8n.yaml"}
    ck = {"date": "2026-01-01T00:00:00", "version": ultralytics.__version__,
          "license": "AGPL-3.0 License (https://ultralytics.com/license)", "docs": "https://docs.ultralytics.com",
          "train_args": args, "train_metrics": {"metrics/mAP50(B)": 0.5}, "train_results": None, "epoch": -1,
          "best_fitness": None, "model": half, "ema": None, "updates": None, "optimizer": None}
    torch.save({**ck, **over}, path)


def temp_check(pid_random):
    """The check sppnet's temporaries carry in their name (FNV-1a 64 of `sppnet-tmp:PID-RANDOM`)."""
    h = 0xCBF29CE484222325
    for b in b"sppnet-tmp:" + pid_random.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def png_raw(w, h, depth, color, seed=0, claim=None):
    """A PNG of random pixels in any bit depth / colour type (PIL cannot write 16-bit RGB);
    `claim`: the (width, height) its IHDR states instead."""
    chans = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    rows = np.random.default_rng(seed).integers(0, 256, (h, (w * chans * depth + 7) // 8), dtype=np.uint8)
    raw = b"".join(b"\0" + r.tobytes() for r in rows)
    ihdr = struct.pack(">IIBBBBB", *(claim or (w, h)), depth, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw))
            + png_chunk(b"IEND", b""))


def pil_png(mode, w, h, seed=0):
    rng = np.random.default_rng(seed)
    chans = {"LA": 2, "P": 1}[mode]
    a = rng.integers(0, 256, (h, w, chans) if chans > 1 else (h, w), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a, mode if mode != "P" else "L").convert(mode).save(buf, "PNG")
    return buf.getvalue()


def exif_jpeg(entries, ifd_at=8, next_ifd=0, count=None, order="II"):
    """A 64×48 JPEG with an APP1 Exif segment: IFD0 written at offset 8, the header saying it is
    at `ifd_at`; each entry (tag, type, count, 4 value bytes)."""
    e = "<" if order == "II" else ">"
    ifd = struct.pack(e + "H", len(entries) if count is None else count)
    for tag, typ, n, val in entries:
        ifd += struct.pack(e + "HHI", tag, typ, n) + val
    seg = b"Exif\0\0" + order.encode() + struct.pack(e + "HI", 42, ifd_at) + ifd + struct.pack(e + "I", next_ifd)
    j = jpeg_bytes(64, 48, seed=3)
    return j[:2] + b"\xff\xe1" + struct.pack(">H", len(seg) + 2) + seg + j[2:]


def orient(v, typ=3, order="II"):
    e = "<" if order == "II" else ">"
    return (0x0112, typ, 1, struct.pack(e + "HH", v, 0) if typ == 3 else struct.pack(e + "I", v))


class DetectCases(GenBase):
    """`sppnet detect` on a tiny detector: files, output, images, flags, memory, panics."""

    def dcase(self, group, name, args, expect, note, cls=None, **extra):
        self.case(f"detect/{group}/{name}", cls or f"detect-{group}", args, expect, note, **extra)

    def D(self, *extra, weights=None):
        return ["detect", weights or self.dt["w"], "--device", "cpu", *extra]

    # -- fixtures ----------------------------------------------------------------------------------
    def detect_fixtures(self):
        """The tiny detector as a trainer's best.pt, its yaml, its state_dict, and small images."""
        import yaml
        from ultralytics.nn.tasks import DetectionModel
        from ..common import randomise
        from ..detectors import reset_dfl, save_checkpoint

        d = tiny_yaml()
        model = DetectionModel(copy.deepcopy({**d, "scale": "n"}), verbose=False)
        randomise(model, 11)
        reset_dfl(model)
        model.eval()
        os.makedirs(self.path("detect/img"), exist_ok=True)
        t = {"model": model, "yaml_dict": d, "w": self.path("detect/tiny.pt"), "sd": self.path("detect/tiny-sd.pt")}
        save_checkpoint(model, t["w"], "best")
        torch.save(model.state_dict(), t["sd"])
        t["yaml"] = self.write("detect/tiny.yaml", yaml.safe_dump(d, sort_keys=False).encode())
        imgs = {"png": ("rgb-64x48.png", png_bytes(64, 48)), "jpg": ("rgb-64x48.jpg", jpeg_bytes(64, 48)),
                "png2": ("other-64x48.png", png_bytes(64, 48, seed=1)), "one": ("one-1x1.png", png_bytes(1, 1)),
                "one_jpg": ("one-1x1.jpg", jpeg_bytes(1, 1)), "tall": ("tall-1x4000.png", png_bytes(1, 4000)),
                "wide": ("wide-4000x1.png", png_bytes(4000, 1))}
        for k, (name, data) in imgs.items():
            t[k] = self.write(f"detect/img/{name}", data)
        self.dt = t

    # -- the user's files ----------------------------------------------------------------------------
    def detect_files(self):
        t, D = self.dt, self.D
        photos = [{"path": "photos/a.png", "from": t["png"]}, {"path": "photos/b.jpg", "from": t["jpg"]}]
        victim = {"path": "victim.txt", "text": "victim content\n"}
        out_dir = {"path": "out", "dir": True}
        pr = "1-0123456789abcdef"  # pid 1 is alive: a temporary of a live process is never removed
        dead_link = "4000002-fedcba9876543210"
        look = [victim, out_dir,
                {"path": "out/.sppnet-tmp-999999-mine", "text": "the user's own file\n"},
                {"path": "out/.sppnet-tmp-4000000-0123456789abcdef", "text": "the user's own file\n"},
                {"path": "out/.sppnet-tmp-4000001-0123456789abcdef-0000000000000000", "text": "wrong check\n"},
                {"path": f"out/.sppnet-tmp-{pr}-{temp_check(pr)}", "text": "a live process's temporary\n"},
                {"path": "out/.sppnet-tmp-999998-link", "symlink": "{TMP}/victim.txt"},
                {"path": f"out/.sppnet-tmp-{dead_link}-{temp_check(dead_link)}", "symlink": "{TMP}/victim.txt"}]
        F = "--force"
        rows = [
            ("save-dir-is-input-force", D("{TMP}/photos", S, "{TMP}/photos", F), "error",
             "--save-dir is the input folder, --force: every picture would replace its input", photos),
            ("save-dir-is-input-relative-force", D("photos", S, "photos", F), "error",
             "same with relative paths", photos),
            ("save-dir-is-input", D("photos", S, "photos"), "error", "same without --force", photos),
            ("save-dir-symlink-to-input-force", D("{TMP}/photos", S, "{TMP}/link", F), "error",
             "--save-dir is a symlink to the input folder, --force",
             photos + [{"path": "link", "symlink": "{TMP}/photos"}]),
            ("input-via-relative-symlink-force", D("{TMP}/link", S, "{TMP}/photos", F), "error",
             "the inputs through a relative symlink `link -> photos`, --save-dir the real folder, --force",
             photos + [{"path": "link", "symlink": "photos"}]),
            ("save-dir-dot-force", D("{TMP}/photos", S, "{TMP}/photos/.", F), "error", "--save-dir photos/., --force",
             photos),
            ("save-dir-dotdot-force", D("{TMP}/photos", S, "{TMP}/photos/../photos", F), "error",
             "--save-dir photos/../photos, --force", photos),
            ("single-file-force", D("photos/a.png", S, "photos", F), "error",
             "one input file, --save-dir its folder, --force", photos),
            ("single-file", D("photos/a.png", S, "photos"), "error", "one input file, --save-dir its folder", photos),
            ("stem-collision-force", D("{TMP}/photos", S, "{TMP}/photos", F), "error",
             "photos/c.jpeg and photos/c.jpg, --save-dir photos --force: c.jpeg's picture is c.jpg, an input",
             [{"path": "photos/c.jpeg", "from": t["jpg"]}, {"path": "photos/c.jpg", "from": t["jpg"]}]),
            ("picture-is-symlink-to-input-force", D("{TMP}/real/a.png", S, "{TMP}/out", F), "error",
             "out/a.png is a symlink to the input real/a.png, --force (a symlink is never replaced)",
             [{"path": "real/a.png", "from": t["png"]}, {"path": "out/a.png", "symlink": "{TMP}/real/a.png"}]),
            ("picture-is-symlink-to-victim-force", D(t["png"], S, "{TMP}/out", F), "error",
             "out/rgb-64x48.png is a symlink to victim.txt, --force: the victim must survive",
             [victim, {"path": "out/rgb-64x48.png", "symlink": "{TMP}/victim.txt"}]),
            ("picture-is-dangling-symlink-force", D(t["png"], S, "{TMP}/out", F), "error",
             "out/rgb-64x48.png is a dangling symlink, --force: nothing may be created through it",
             [{"path": "out/rgb-64x48.png", "symlink": "{TMP}/created-through-link.png"}]),
            ("picture-is-dir-force", D(t["png"], S, "{TMP}/out", F), "error", "out/rgb-64x48.png is a folder, --force",
             [{"path": "out/rgb-64x48.png", "dir": True}]),
            ("picture-exists", D(t["png"], S, "{TMP}/out"), "error",
             "out/rgb-64x48.png exists (not an input), no --force: refused before any work",
             [{"path": "out/rgb-64x48.png", "text": "an older picture\n"}]),
            ("save-dir-is-file", D(t["png"], S, "{TMP}/out"), "error", "--save-dir is a regular file",
             [{"path": "out", "text": "a file\n"}]),
            ("save-dir-under-file", D(t["png"], S, "{TMP}/out/sub"), "error", "--save-dir under a regular file",
             [{"path": "out", "text": "a file\n"}]),
            ("full-disk-png", D(t["png"], S, "{TMP}/out"), "error",
             "RLIMIT_FSIZE 1000 (writes fail with EFBIG): the picture fails, nothing half-written is left",
             [out_dir], {"rlimit_fsize": 1000}),
            ("full-disk-jpeg", D(t["jpg"], S, "{TMP}/out"), "error", "same with a JPEG picture", [out_dir],
             {"rlimit_fsize": 1000}),
            ("full-disk-port", ["port", t["w"], "-o", "{TMP}/out.safetensors"], "error",
             "sppnet port under RLIMIT_FSIZE 1000: refused, no partial output", [], {"rlimit_fsize": 1000}),
        ]
        for name, args, expect, note, files, *extra in rows:
            self.dcase("files", name, args, expect, note, files=files, **(extra[0] if extra else {}))
        ok = [
            ("lookalike-temporaries", D(t["png"], S, "{TMP}/out"), "the user's look-alikes of sppnet's temporaries "
             "in --save-dir (no check, a wrong check, a live pid's, symlinks) survive a successful run",
             look, ["out"], ["out/rgb-64x48.png"]),
            ("jpeg-picture-beside-input", D("{TMP}/photos/c.jpeg", S, "{TMP}/photos"),
             "photos/c.jpeg saved as photos/c.jpg, a new file beside it (the input untouched)",
             [{"path": "photos/c.jpeg", "from": t["jpg"]}], ["photos"], ["photos/c.jpg"]),
            ("same-name-two-folders", D("{TMP}/a/x.png", "{TMP}/b/x.png", S, "{TMP}/out"),
             "two inputs named x.png: two pictures (x.png, x_1.png), neither overwrites the other",
             [{"path": "a/x.png", "from": t["png"]}, {"path": "b/x.png", "from": t["png2"]}], ["out"],
             ["out/x.png", "out/x_1.png"]),
            ("save-dir-created", D(t["png"], S, "{TMP}/new/deep"), "a missing --save-dir is created", [], ["new"],
             ["new/deep/rgb-64x48.png"]),
        ]
        for name, args, note, files, may, exp in ok:
            self.dcase("files", name, args, "success", note, files=files, may_write=may, expect_files=exp)
        self.dcase("files", "partial-failure-still-saves", D("{TMP}/photos", S, "{TMP}/out"), "error",
                   "photos/bad.png is not an image (a per-image error); good.png's picture is still written",
                   files=[{"path": "photos/good.png", "from": t["png"]}, {"path": "photos/bad.png", "text": "no\n"}],
                   may_write=["out"], expect_files=["out/good.png"])

    # -- forged output ------------------------------------------------------------------------------------
    def detect_output(self):
        t, D = self.dt, self.D

        def one(rel, src=None):
            return [{"path": rel, "from": src or t["png"]}]
        nl = f"photos/x\n{FORGED}.png"
        rows = [
            ("newline-name-folder", D("{TMP}/photos"), "success", "a picture named `x\\nFORGED 0.999 [...].png` "
             "in a folder: its path must not print as a detection line", one(nl), ["FORGED"]),
            ("newline-name-file", D("{TMP}/" + nl), "success", "same, the file named on the command line",
             one(nl), ["FORGED"]),
            ("newline-name-json", D("{TMP}/" + nl, "--json"), "success", "same with --json", one(nl), ["FORGED"]),
            ("newline-error-name", D("{TMP}/photos"), "success", "a picture named `x\\nerror: forged.png`",
             one("photos/x\nerror: forged.png"), ["error: forged"]),
            ("newline-name-broken-image", D("{TMP}/photos"), "error",
             "a zero-byte picture named `bad\\nFORGED ...png`: its per-image error line must stay one line",
             [{"path": f"photos/bad\n{FORGED}.png", "text": ""}], ["FORGED"]),
            ("cr-name", D("{TMP}/photos"), "success", "a picture named `x\\rWARNING: x.png`",
             one("photos/x\rWARNING: x.png"), ["WARNING: x"]),
            ("ansi-name", D("{TMP}/photos"), "success", "a picture name with ESC[2J and an OSC title sequence",
             one("photos/\x1b[2J\x1b]0;pwned\x07.png"), []),
            ("bidi-name", D("{TMP}/photos"), "success", "a picture name with U+202E (right-to-left override)",
             one("photos/\u202eexe.png"), []),
            ("newline-weights-name", D(t["png"], weights="{TMP}/w\nerror: forged.pt"), "success",
             "weights named `w\\nerror: forged.pt` (notes may name the file)",
             one("w\nerror: forged.pt", t["w"]), ["error: forged"]),
            ("newline-bad-weights-name", D(t["png"], weights=f"{{TMP}}/w\n{FORGED}.pt"), "error",
             "broken weights named `w\\nFORGED ...pt`: the error line names the file and must stay one line",
             [{"path": f"w\n{FORGED}.pt", "text": "not a checkpoint"}], ["FORGED"]),
        ]
        for name, args, expect, note, files, forbid in rows:
            self.dcase("output", name, args, expect, note, files=files, **({"forbid_lines": forbid} if forbid else {}))
        nd = f"out\n{FORGED}"
        self.dcase("output", "newline-save-dir", D(t["png"], S, "{TMP}/" + nd), "success",
                   "--save-dir named `out\\nFORGED ...` (the summary names it)", forbid_lines=["FORGED"],
                   may_write=[nd], expect_files=[nd + "/rgb-64x48.png"])
        raw = os.fsencode(self.path("detect/img")) + b"/bad\xff\xfe.png"
        with open(raw, "wb") as f:
            f.write(png_bytes(64, 48, seed=2))
        Db = [b"detect", t["w"].encode(), b"--device", b"cpu", raw]
        self.dcase("output", "non-utf8-name-json", Db + [b"--json"], "success", "a non-UTF-8 picture name, --json")
        self.dcase("output", "non-utf8-name", Db, "success", "a non-UTF-8 picture name")
        self.dcase("output", "non-utf8-name-save-dir", Db + [b"--save-dir", b"{TMP}/out"], "success",
                   "a non-UTF-8 picture name, --save-dir: the picture keeps the raw name", may_write=["out"],
                   expect_files_b64=[base64.b64encode(b"out/bad\xff\xfe.png").decode()])
        self.dcase("output", "end2end-yolov8", D(t["png"], "--end2end"), "success",
                   "--end2end on a YOLOv8 (no one-to-one head): a note, then the usual NMS")

    # -- images ---------------------------------------------------------------------------------------------
    def detect_images(self):
        t, D = self.dt, self.D
        j = jpeg_bytes(128, 96, seed=4)
        p = png_bytes(64, 48)
        imgs = [
            ("png-header-100000x100000", png_zeros(100000, 100000, idat=False), "error",
             "IHDR claims 100000×100000 (no IDAT): refused from the header"),
            ("png-zeros-1000x1000", png_zeros(1000, 1000), "success", "a 1000×1000 all-zero PNG (3 MB from ~3 KB)"),
            ("png-truncated", p[: len(p) // 2], "error", "a PNG cut in half"),
            ("png-width-0", png_raw(1, 1, 8, 2, claim=(0, 1)), "error", "IHDR width 0"),
            ("jpeg-truncated-header", j[:40], "error", "a JPEG cut inside its headers"),
            ("jpeg-truncated-scan", j[: len(j) // 2], "success",
             "a JPEG cut in the middle of its scan (OpenCV warns, fills the rest and returns the image)"),
            ("zero-byte", b"", "error", "a zero-byte .png"),
            ("gif-named-png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "error", "a GIF named .png"),
            ("png-16bit-rgb", png_raw(64, 48, 16, 2), "success", "16-bit RGB PNG"),
            ("png-16bit-grey", png_raw(64, 48, 16, 0), "success", "16-bit grey PNG"),
            ("png-grey-alpha", pil_png("LA", 64, 48), "success", "grey + alpha PNG"),
            ("png-palette", pil_png("P", 64, 48), "success", "palette PNG"),
            ("png-1bit", png_raw(64, 48, 1, 0), "success", "1-bit grey PNG"),
        ]
        for k, v in [("0", 0), ("9", 9), ("65535", 65535)]:
            imgs.append((f"exif-orientation-{k}", exif_jpeg([orient(v)]), "success", f"EXIF orientation {k} (invalid)"))
        imgs += [
            ("exif-orientation-6", exif_jpeg([orient(6)]), "success", "EXIF orientation 6 (rotate)"),
            ("exif-orientation-6-big-endian", exif_jpeg([orient(6, order="MM")], order="MM"), "success",
             "EXIF orientation 6, Motorola byte order"),
            ("exif-orientation-long", exif_jpeg([orient(6, typ=4)]), "success", "orientation stored as a LONG"),
            ("exif-orientation-count-huge", exif_jpeg([(0x0112, 3, 0xFFFFFFFF, b"\0\1\0\0")]), "success",
             "orientation SHORT with count 2^32-1 (its value an offset past the end)"),
            ("exif-orientation-twice", exif_jpeg([orient(6), orient(8)]), "success", "two orientation entries"),
            ("exif-ifd-past-end", exif_jpeg([orient(6)], ifd_at=0xFFFFFF00), "success", "IFD0 offset past the end"),
            ("exif-ifd-at-header", exif_jpeg([orient(6)], ifd_at=0), "success",
             "IFD0 offset 0: the TIFF header read as an IFD (18761 entries)"),
            ("exif-next-ifd-self", exif_jpeg([orient(6)], next_ifd=8), "success", "IFD0's next-IFD offset is itself"),
            ("exif-count-65535", exif_jpeg([orient(6)], count=0xFFFF), "success", "IFD0 claims 65535 entries, has 1"),
        ]
        for name, data, expect, note in imgs:
            ext = "jpg" if data[:2] == b"\xff\xd8" else "png"
            path = self.write(f"detect/img/{name}.{ext}", data)
            self.dcase("images", name, D(path), expect, note)
        for k, note in (("one", "a 1×1 PNG"), ("tall", "a 1×4000 PNG"), ("wide", "a 4000×1 PNG"),
                        ("one_jpg", "a 1×1 JPEG")):
            self.dcase("images", os.path.basename(t[k]), D(t[k]), "success", note)
        self.dcase("images", "max-pixels-100", D(t["png"], "--max-pixels", "100"), "error",
                   "--max-pixels 100 on a 64×48 image")
        self.dcase("images", "max-pixels-1-on-1x1", D(t["one"], "--max-pixels", "1"), "success",
                   "--max-pixels 1 on a 1×1 image (at the limit)")

    # -- flags, memory, odd shapes ---------------------------------------------------------------------------
    def detect_flags(self):
        t, D = self.dt, self.D
        img = t["png"]
        bad = [("imgsz-0", ["--imgsz", "0"]), ("imgsz-8193", ["--imgsz", "8193"]), ("conf-nan", ["--conf", "nan"]),
               ("conf-2", ["--conf", "2"]), ("conf-inf", ["--conf", "inf"]), ("iou-neg", ["--iou", "-1"]),
               ("iou-nan", ["--iou", "nan"]), ("max-det-0", ["--max-det", "0"]),
               ("max-det-2^64", ["--max-det", "18446744073709551616"]), ("batch-size-0", ["--batch-size", "0"]),
               ("classes-neg", ["--classes", "-1"]), ("classes-huge", ["--classes", "99999999999"]),
               ("classes-2^20+1", ["--classes", "1048577"]), ("classes-empty-item", ["--classes", "1,,2"]),
               ("max-pixels-0", ["--max-pixels", "0"]), ("device-cuda-99", ["--device", "cuda:99"]),
               ("device-tpu", ["--device", "tpu"]), ("max-memory-0", ["--max-memory", "0"]),
               ("max-memory-abc", ["--max-memory", "abc"]), ("max-memory-neg", ["--max-memory", "-1G"]),
               ("max-memory-overflow", ["--max-memory", "99999999999999999999T"])]
        for name, flags in bad:
            self.dcase("flags", name, D(img, *flags), "error", " ".join(flags))
        good = [("half-cpu", ["--half"], "--half on the CPU (ignored, as ultralytics does)"),
                ("batch-size-1e6", ["--batch-size", "1000000"], "--batch-size 10^6 (just 'all')"),
                ("max-memory-1T", ["--max-memory", "1T"], "--max-memory 1T (a raised limit)"),
                ("max-memory-2G", ["--max-memory", "2G"], "--max-memory 2G"),
                ("classes-80", ["--classes", "80"], "--classes 80 on an 80-class model (no such class: nothing)"),
                ("conf-1", ["--conf", "1"], "--conf 1 (nothing passes)")]
        for name, flags, note in good:
            self.dcase("flags", name, D(img, *flags), "success", note)
        mem = [("imgsz-8192-1x1", D(t["one"], "--imgsz", "8192"),
                "a 1×1 image at --imgsz 8192: activations above the default memory limit"),
               ("imgsz-8192-max-memory-1M", D(img, "--imgsz", "8192", "--max-memory", "1M"),
                "--imgsz 8192 --max-memory 1M on a 64×48 image"),
               ("max-memory-1M", D(img, "--max-memory", "1M"), "--max-memory 1M at the default --imgsz 640"),
               ("imgsz-8192-wide-batch", D(t["one"], t["tall"], "--imgsz", "8192", "--batch-size", "8"),
                "1×1 and 1×4000 at --imgsz 8192")]
        for name, args, note in mem:
            self.dcase("memory", name, args, "error", note)
        C0 = ["--conf", "0"]
        odd = [
            ("1x1-imgsz-1", D(t["one"], "--imgsz", "1", *C0), "a 1×1 image at --imgsz 1 (rounded up to the stride)"),
            ("1x4000-imgsz-32", D(t["tall"], "--imgsz", "32", *C0), "1×4000 at --imgsz 32 (width rounds to 0)"),
            ("4000x1-imgsz-8192", D(t["wide"], "--imgsz", "8192", *C0), "4000×1 at --imgsz 8192"),
            ("iou-0-agnostic", D(img, *C0, "--iou", "0", "--agnostic-nms"), "--conf 0 --iou 0 --agnostic-nms"),
            ("iou-1", D(img, *C0, "--iou", "1", "--max-det", "1"), "--conf 0 --iou 1 --max-det 1"),
            ("classes-0-79", D(img, *C0, "--classes", "0,79,79"), "--classes 0,79,79"),
            ("max-det-u64max", D(img, *C0, "--max-det", "18446744073709551615"), "--max-det 2^64-1 with --conf 0"),
            ("same-input-twice", D(img, img, "--batch-size", "2"), "one file given twice, one batch"),
            ("mixed-sizes-batch", D(img, t["png2"], t["one"], t["tall"], "--batch-size", "3"),
             "four images of three sizes, --batch-size 3"),
        ]
        for name, args, note in odd:
            self.dcase("panic", name, args, "success", note)
        draw = [("draw-1x1", t["one"], "one-1x1.png"), ("draw-1x4000", t["tall"], "tall-1x4000.png"),
                ("draw-4000x1", t["wide"], "wide-4000x1.png"), ("draw-1x1-jpeg", t["one_jpg"], "one-1x1.jpg")]
        for name, src, pic in draw:
            self.dcase("panic", name, D(src, *C0, S, "{TMP}/out"), "success",
                       f"boxes and labels drawn on {pic} (--conf 0: 300 boxes, labels outside the picture)",
                       may_write=["out"], expect_files=[f"out/{pic}"])
        folders = [
            ("folder-symlink-loop", [{"path": "photos/a.png", "from": img}, {"path": "photos/loop", "symlink": "."}],
             "success", "a folder holding a symlink to itself"),
            ("folder-dangling-symlink", [{"path": "photos/a.png", "from": img},
                                         {"path": "photos/dead.png", "symlink": "{TMP}/nowhere.png"}],
             "success", "a folder holding a dangling symlink named .png (not a file: skipped)"),
            ("folder-subfolder-and-text", [{"path": "photos/a.png", "from": img}, {"path": "photos/n.txt", "text": "x"},
                                           {"path": "photos/sub.png", "dir": True}],
             "success", "a folder with a text file and a subfolder named sub.png"),
            ("folder-empty", [{"path": "photos", "dir": True}], "error", "an empty folder: no images"),
            ("folder-only-text", [{"path": "photos/a.txt", "text": "x"}], "error", "a folder with no images"),
        ]
        for name, files, expect, note in folders:
            self.dcase("panic", name, D("{TMP}/photos"), expect, note, files=files)
        self.dcase("panic", "missing-input", D("{TMP}/nope.png"), "error", "an input that does not exist")
