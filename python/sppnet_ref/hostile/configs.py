"""Config and image cases: configs that allocate, misspelt fields, huge or malformed images."""

import json
import os

import torch
from safetensors.torch import save_file

from .base import GenBase, TINY
from .formats import jpeg_bytes, jpeg_claiming, png_bytes, png_zeros


class ConfigCases(GenBase):
    """Configs that allocate or misspell fields (`config`), hostile images (`images`)."""

    # -- configs that allocate -------------------------------------------------------------------
    def configs(self):
        cls = "config"
        x = self.path("config/input-1x3x32x32.safetensors")
        os.makedirs(os.path.dirname(x), exist_ok=True)
        save_file({"x": torch.rand(1, 3, 32, 32)}, x)
        x8 = self.path("config/input-1x8x16x16.safetensors")
        save_file({"x": torch.rand(1, 8, 16, 16)}, x8)
        G = 10**9
        cfgs = [
            ("sppnet", {"ndf": G}), ("sppnet", {"hidden": G}), ("sppnet", {"classes": G}), ("sppnet", {"input_nc": G}),
            ("sppnet", {"levels": [G]}), ("sppnet", {"levels": [100_000]}), ("sppnet", {"levels": [3037000500]}),
            ("sppnet", {"ndf": 2**62}), ("sppnet", {"levels": [1] * 200_000}),
            ("sppnet", {"rule": "adaptive", "levels": [0]}), ("sppnet", {"ndf": -8}),
            ("conv", {"c1": G, "c2": 8}), ("conv", {"c1": 3, "c2": G}), ("conv", {"c1": 3, "c2": 8, "k": G}),
            ("conv", {"c1": 3, "c2": 8, "k": -1}), ("conv", {"c1": 3, "c2": 8, "s": 0}),
            ("conv", {"c1": 3, "c2": 8, "g": 0}), ("conv", {"c1": 3, "c2": 8, "g": 2}),
            ("conv", {"c1": 3, "c2": 8, "d": G}), ("conv", {"c1": 3, "c2": 8, "p": -5}),
            ("conv", {"c1": 3, "c2": 8, "p": G}), ("conv", {"c1": 2**62, "c2": 2**62}),
            ("conv", {"c1": 3, "c2": 8, "act": "LeakyReLU(nan)"}), ("conv", {"c1": 3, "c2": 8, "bn_eps": -1.0}),
            ("spp", {"c1": 8, "c2": 8, "k": [G]}), ("spp", {"c1": 8, "c2": 8, "k": [5] * 300_000}),
            ("spp", {"c1": G, "c2": 8}), ("spp", {"c1": 8, "c2": 8, "k": [0]}),
            ("spp", {"c1": 8, "c2": 8, "k": [4, -3]}),
            ("sppf", {"c1": 8, "c2": 8, "n": G}), ("sppf", {"c1": 8, "c2": 8, "k": G}), ("sppf", {"c1": G, "c2": G}),
            ("sppf", {"c1": 8, "c2": 8, "n": -1}), ("sppf", {"c1": 8, "c2": 8, "n": 0}),
            ("sppelan", {"c1": 8, "c2": 8, "c3": G}), ("sppelan", {"c1": 1, "c2": 1, "c3": 2**62}),
        ]
        for n, (arch, cfg) in enumerate(cfgs):
            key = "-".join(f"{k}={v if not isinstance(v, list) or len(v) < 4 else f'[{v[0]}]x{len(v)}'}"
                           for k, v in cfg.items())
            key = key.replace(" ", "").replace("/", "_")
            name = f"config/{arch}-{key}"
            p = self.path(f"config/{n:02d}-{arch}.safetensors")
            save_file({"x": torch.zeros(1)}, p, metadata={"sppnet.arch": arch, "sppnet.config": json.dumps(cfg)})
            inp = x if arch in ("sppnet",) or cfg.get("c1") == 3 else x8
            note = f"sppnet.arch={arch}, sppnet.config={json.dumps(cfg)[:80]}"
            self.case(f"{name}/forward", cls, ["forward", "--weights", p, inp, "-o", "{OUT}"], "error", note)
            self.case(f"{name}/port", cls, ["port", p, "-o", "{OUT}"], "error", note)
            if arch == "sppnet" and n < 5:
                self.case(f"{name}/inspect", cls, ["inspect", p], "success", note + " (inspect only lists)")
        # Misspelt / unknown fields with otherwise-correct weights: must be refused, not ignored.
        from ultralytics.nn.modules import Conv
        from ultralytics.nn.modules.block import SPPF

        torch.manual_seed(0)
        conv_sd = {k: v.contiguous() for k, v in Conv(3, 8).state_dict().items()}
        sppf_sd = {k: v.contiguous() for k, v in SPPF(8, 8).state_dict().items()}
        good = [
            ("conv-ok", "conv", conv_sd, {"c1": 3, "c2": 8}, "success", x, "control: a correct Conv config"),
            ("conv-bn_esp", "conv", conv_sd, {"c1": 3, "c2": 8, "bn_esp": 0.001}, "error", x,
             "misspelt `bn_esp` at the Conv top level (flattened options)"),
            ("conv-actt", "conv", conv_sd, {"c1": 3, "c2": 8, "actt": "ReLU"}, "error", x, "misspelt `actt`"),
            ("conv-fused-str", "conv", conv_sd, {"c1": 3, "c2": 8, "fused": "no"}, "error", x, "`fused` as a string"),
            ("conv-dup-key", "conv", conv_sd, None, "error", x, "`c2` given twice in the JSON"),
            ("sppf-ok", "sppf", sppf_sd, {"c1": 8, "c2": 8}, "success", x8, "control: a correct SPPF config"),
            ("sppf-cv1-bn_esp", "sppf", sppf_sd, {"c1": 8, "c2": 8, "cv1": {"bn_esp": 0.001}}, "error", x8,
             "misspelt `bn_esp` inside cv1"),
            ("sppf-shortcutt", "sppf", sppf_sd, {"c1": 8, "c2": 8, "shortcutt": True}, "error", x8,
             "misspelt `shortcutt`"),
            ("sppf-nan-eps", "sppf", sppf_sd, {"c1": 8, "c2": 8, "cv2": {"bn_eps": 1e400}}, "error", x8,
             "bn_eps 1e400 (JSON overflow → inf?)"),
        ]
        for name, arch, sd, cfg, expect, inp, note in good:
            p = self.path(f"config/{name}.safetensors")
            text = json.dumps(cfg) if cfg is not None else '{"c1": 3, "c2": 8, "c2": 16}'
            if cfg and any(v == 1e400 for v in (cfg.get("cv2") or {}).values()):
                text = text.replace("Infinity", "1e400")
            save_file(sd, p, metadata={"sppnet.arch": arch, "sppnet.config": text})
            self.case(f"config/{name}/forward", cls, ["forward", "--weights", p, inp, "-o", "{OUT}"], expect, note)
            self.case(f"config/{name}/port", cls, ["port", p, "-o", "{OUT}"], expect, note)
        # --levels on the command line with the tiny SppNet.
        for lv in ("1000", "100000", "3037000500", "0", "-1", "4294967297", "1," * 5000 + "1"):
            short = lv if len(lv) < 20 else f"1x{lv.count(',') + 1}"
            self.case(f"config/forward-levels-{short}", cls,
                      ["forward", "--weights", TINY, x, "-o", "{OUT}", "--levels", lv],
                      "error" if lv != "1," * 5000 + "1" else "error",
                      f"forward --levels {short} on the tiny SppNet (fc1 no longer matches; does it allocate first?)")
        self.case("config/infer-levels-1000", cls,
                  ["infer", "--weights", TINY, "--device", "cpu", "--levels", "1000", self.path("images/ok-64.png")],
                  "error", "infer --levels 1000")
        self.case("config/pool-levels-100000", cls, ["pool", x, "-o", "{OUT}", "--levels", "100000"], "error",
                  "pool --levels 100000 on a 32×32 map (adaptive would make 10^10 bins)")
        self.case("config/pool-levels-100000-adaptive", cls,
                  ["pool", x, "-o", "{OUT}", "--levels", "100000", "--rule", "adaptive"], "error",
                  "pool --levels 100000 --rule adaptive (output 3·10^10 floats)")
        self.case("config/pool-levels-3000-adaptive", cls,
                  ["pool", x, "-o", "{OUT}", "--levels", "3000", "--rule", "adaptive"], "error",
                  "pool --levels 3000 --rule adaptive (levels are 1..=1024)")

    # -- images ---------------------------------------------------------------------------------
    def images(self):
        cls = "images"
        d = self.path("images")
        os.makedirs(d, exist_ok=True)
        ok = self.write("images/ok-64.png", png_bytes(64, 64))
        okj = self.write("images/ok-64.jpg", jpeg_bytes(64, 64))

        from ..fixtures import fetch
        detector = fetch("fall-yolov8s")

        def infer(name, paths, expect, note, extra=(), detect_expect=None):
            self.case(f"images/{name}", cls, ["infer", "--weights", TINY, "--device", "cpu", *extra, *paths],
                      expect, note)
            # The same files through `sppnet detect` (a real YOLOv8s at imgsz 64, to stay quick).
            if "--rule" not in extra:
                self.case(f"images/detect-{name}", cls,
                          ["detect", detector, "--device", "cpu", "--imgsz", "64", *extra, *paths],
                          detect_expect or expect, f"sppnet detect: {note}")

        infer("control-png-jpg", [ok, okj], "success", "control: two normal 64×64 images")
        big = self.write("images/big-12000-rgb.png", png_zeros(12000, 12000))
        infer("png-12000x12000-rgb", [big], "error",
              f"valid 12000×12000 RGB PNG of zeros ({os.path.getsize(big) // 1024} KB): 432 MB decoded, "
              "1.7 GB as f32, GBs in conv1")
        p = self.write("images/big-16000-1bit.png", png_zeros(16000, 16000, color=0, depth=1))
        infer("png-16000x16000-1bit", [p], "error",
              f"valid 16000×16000 1-bit grey PNG ({os.path.getsize(p) // 1024} KB): under the decoder's 512 MB limit "
              "as L8, 768 MB as RGB, 3 GB as f32")
        p = self.write("images/big-60000-1bit.png", png_zeros(60000, 60000, color=0, depth=1))
        infer("png-60000x60000-1bit", [p], "error",
              f"valid 60000×60000 1-bit grey PNG ({os.path.getsize(p) // 1024} KB): 3.6 GB as L8")
        p = self.write("images/hdr-60000-rgb.png", png_zeros(60000, 60000, idat=False))
        infer("png-60000x60000-header-only", [p], "error", "PNG header claiming 60000×60000 RGB, no IDAT")
        p = self.write("images/hdr-12000-rgba-trunc.png", png_zeros(12000, 12000, color=6, truncate_idat=200))
        infer("png-12000x12000-truncated-idat", [p], "error",
              "12000×12000 RGBA PNG whose IDAT stops after 200 rows (no IEND)")
        p = self.write("images/hdr-2^31.png", png_zeros(2**31 - 1, 2**31 - 1, idat=False))
        infer("png-2^31-header", [p], "error", "PNG IHDR claiming (2^31-1)² (the format's maximum)")
        p = self.write("images/jpeg-claims-12000.jpg", jpeg_claiming(12000, 12000))
        infer("jpeg-claims-12000x12000", [p], "error",
              "a 16×16 JPEG whose SOF0 claims 12000×12000 (data for 16×16 only)")
        p = self.write("images/jpeg-claims-65535.jpg", jpeg_claiming(65535, 65535))
        infer("jpeg-claims-65535x65535", [p], "error", "a JPEG whose SOF0 claims 65535×65535")
        p = self.write("images/jpeg-claims-0.jpg", jpeg_claiming(16, 0))
        infer("jpeg-claims-0-height", [p], "error", "SOF0 height 0 (DNL-style)")
        p = self.write("images/zero.png", b"")
        infer("zero-byte-png", [p], "error", "a zero-byte .png")
        p = self.write("images/one.png", png_bytes(1, 1))
        infer("png-1x1", [p], "error", "a 1×1 image (too small for the yueruchen pyramid: per-image error)",
              detect_expect="success")
        infer("png-1x1-adaptive", [p], "error",
              "a 1×1 image under --rule adaptive (SppNet's conv stack shrinks it below 1×1)", ["--rule", "adaptive"])
        j = jpeg_bytes(256, 256)
        p = self.write("images/trunc.jpg", j[: len(j) * 6 // 10])
        infer("jpeg-truncated", [p], "success",
              "a JPEG cut at 60% of its scan (decoders may fill the rest: success or one error are both fine)")
        p = self.write("images/trunc-header.jpg", j[:40])
        infer("jpeg-truncated-header", [p], "error", "a JPEG cut inside its headers")
        b = bytearray(png_bytes(64, 64))
        b[29] ^= 0xFF
        p = self.write("images/bad-crc.png", bytes(b))
        infer("png-bad-ihdr-crc", [p], "error", "a PNG whose IHDR CRC is wrong")
        p = self.write("images/jpeg-named.png", jpeg_bytes(64, 64))
        infer("jpeg-named-png", [p], "success",
              "a JPEG named .png (success if the format is sniffed from the bytes; a per-image error is defensible)")
        p = self.write("images/gif.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
        infer("gif-named-png", [p], "error", "a GIF named .png (format not enabled)")
        p = self.write("images/png-then-zip.png",
                       png_bytes(64, 64) + open(self.path("zip/control-benign.pt"), "rb").read())
        infer("png-zip-polyglot", [p], "success", "a PNG with a torch.save zip appended (a polyglot)")
        # A folder holding one huge image among normal ones; and a FIFO named .png.
        mix = self.path("images/mixed")
        os.makedirs(mix, exist_ok=True)
        for k in range(3):
            self.write(f"images/mixed/{k}-ok.png", png_bytes(64 + k, 64, seed=k))
        self.write("images/mixed/5-huge.png", png_zeros(12000, 12000))
        self.write("images/mixed/6-empty.png", b"")
        fifo = os.path.join(mix, "7-fifo.png")
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
        infer("folder-with-huge-and-fifo", [mix], "error",
              "a folder: three 64×64 PNGs, one 12000×12000, a zero-byte .png, a FIFO named .png "
              "(the others must still be reported)")
        infer("folder-with-huge-json", [mix], "error", "same, --json", ["--json"])
        many = self.path("images/many-5000")
        os.makedirs(many, exist_ok=True)
        hdr = png_zeros(5000, 5000)
        for k in range(8):
            self.write(f"images/many-5000/{k}.png", hdr)
        # 25 Mpx each is under the default limit (40 Mpx): run through SppNet that is legitimate work
        # of several GB and tens of seconds, so here the limit is lowered below their size.
        infer("folder-8x5000x5000-one-batch", [many], "error",
              "eight 5000×5000 PNGs over a 20 Mpx --max-pixels: each refused from its header",
              ["--max-pixels", "20000000"])
        infer("folder-8x5000x5000-batch-1", [many], "error", "same with --batch-size 1",
              ["--batch-size", "1", "--max-pixels", "20000000"])
