"""The detector bench (`make bench-detect`): `sppnet detect` against ultralytics' own
`YOLO(w).predict` and against ONNX Runtime (the same model exported by ultralytics, run through
its ONNX backend), on the CPU, same intra-op thread count, rounds alternating which side goes
first.

    python -m sppnet_ref.detect_bench --sppnet target/release/sppnet --save bench/detect [--rounds 3] [--threads 2]

(`make bench-detect` runs 5 rounds.)

Per model (yolov8n, yolo11n, yolo26n from their yamls, randomised and saved as a trainer's
best.pt; the real fall-detection YOLOv8s; the official COCO YOLO11n-seg and YOLO11n-pose from
PyPI wheels; `--models seg,pose` picks some):
- latency: one 810×1080 image (ultralytics' bus.jpg) at imgsz 640, run 8 times after a warm-up
  with the model loaded: wall time per image, decoding to boxes (`sppnet detect`: the loop time
  it reports for the file given 9 times less that for the file given once, over 8; `predict(file)`
  called 8 times in a loaded process, timed around);
- folder: the 15 mixed-size images of the parity suite (predict.make_images, less the 16-bit PNG),
  images/s of a warm pass over them, model loaded and each image's shape met once before
  (`sppnet detect`: its loop time for the folder given twice less that for it given once; `predict(folder, stream=True)` timed around its second pass in the process). A fresh
  process's first pass also builds oneDNN's kernels for each new shape: ~10 % of sppnet's rate.
- whole process, one image: wall time and peak RSS of `sppnet detect W bus.jpg` and of
  `python -c "YOLO(W).predict(bus.jpg)"` (median of the rounds).
- post-processing on its own: the median per image over a folder pass of sppnet's
  `ms.postprocess` (NMS, boxes back, masks and their polygons, keypoints) and of ultralytics'
  `speed["postprocess"]` plus the lazy `masks.xy` it computes on demand.
Writes PREFIX.json and PREFIX.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from .predict import assets, checkpoint, make_images
from .protocol import Reply

MODELS = [("yolov8n", {"yaml": "yolov8n.yaml"}), ("yolo11n", {"yaml": "yolo11n.yaml"}),
          ("yolo26n", {"yaml": "yolo26n.yaml"}), ("fall-yolov8s (real)", {"fixture": "fall-yolov8s"}),
          ("yolo11n-seg (COCO, real)", {"fixture": "coco-yolo11n-seg"}),
          ("yolo11n-pose (COCO, real)", {"fixture": "coco-yolo11n-pose"})]
LATENCY_RUNS = 8


def rust_post_ms(sppnet, threads, weights, folder):
    """sppnet's own post-processing per image (NMS, boxes back, masks and their polygons,
    keypoints): the median of `ms.postprocess` over a folder pass."""
    rows, _, _, _ = rust_detect(sppnet, threads, weights, [folder])
    return statistics.median(r["ms"]["postprocess"] for r in rows)


def python_post_ms(model, folder):
    """ultralytics' `speed["postprocess"]` per image over a folder pass, with the polygons
    (`masks.xy`, computed lazily by upstream) asked for, as `sppnet predict` always makes them."""
    times = []
    for r in model.predict(folder, stream=True, verbose=False):
        t = time.perf_counter()
        if r.masks is not None:
            _ = r.masks.xy
        times.append(r.speed["postprocess"] + (time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def rust_detect(sppnet, threads, weights, images, json_out=True):
    cmd = [sppnet, "--threads", str(threads), "detect", weights, *images] + (["--json"] if json_out else [])
    env = {**os.environ, "SPPNET_REPORT_PEAK_RSS": "1"}
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"sppnet detect failed: {p.stderr.strip()}")
    loop = rss = None
    for line in p.stderr.splitlines():
        if "images/s" in line:  # "N images in S s (R images/s), …": the loop over the images
            loop = float(line.split(" images in ")[1].split(" s ")[0])
        if line.startswith("sppnet-peak-rss-kib:"):
            rss = int(line.split(":")[1]) * 1024
    rows = [json.loads(l) for l in p.stdout.splitlines()] if json_out else []
    return rows, loop, wall, rss


def python_process(threads, weights, image):
    code = ("import ultralytics.utils.torch_utils as tu, sys, resource; tu.NUM_THREADS = int(sys.argv[1]); "
            "from ultralytics import YOLO; YOLO(sys.argv[2]).predict(sys.argv[3], verbose=False); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")  # peak RSS, KiB
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, str(threads), weights, image], check=True, capture_output=True,
                       text=True)
    wall = time.perf_counter() - t
    return wall, int(p.stdout.split()[-1]) * 1024


def python_side(model, image, folder, n_folder):
    model.predict(image, verbose=False)  # warm-up
    t = time.perf_counter()
    for _ in range(LATENCY_RUNS):
        model.predict(image, verbose=False)
    lat = (time.perf_counter() - t) * 1e3 / LATENCY_RUNS
    for _ in model.predict(folder, stream=True, verbose=False):  # each shape met once, as sppnet's
        pass
    t = time.perf_counter()
    n = sum(1 for _ in model.predict(folder, stream=True, verbose=False))
    assert n == n_folder, (n, n_folder)
    return lat, n / (time.perf_counter() - t)


def bench(args):
    import ultralytics.utils.torch_utils as torch_utils
    from ultralytics import YOLO
    torch.set_num_threads(args.threads)
    torch_utils.NUM_THREADS = args.threads
    tmp = tempfile.mkdtemp(prefix="sppnet-detect-bench-")
    reply = Reply(tmp)
    folder_files = [f for f in make_images(tmp, jpeg=True) if not f.endswith("16bit.png")]
    folder = os.path.join(tmp, "folder")
    os.makedirs(folder)
    for f in folder_files:
        os.link(os.path.join(tmp, f), os.path.join(folder, os.path.basename(f)))
    image = os.path.join(assets(), "bus.jpg")
    results = []
    for name, spec in [m for m in MODELS if not args.models or any(k in m[0] for k in args.models.split(","))]:
        weights = reply.path(checkpoint({"seed": 1, **spec}, reply))
        reply.cases.append({})
        py = YOLO(weights)
        onnx = YOLO(weights).export(format="onnx", simplify=False, dynamic=True, imgsz=640, verbose=False)
        ort = YOLO(onnx, task=py.task)
        row = {"model": name, "rust": [], "python": [], "onnxruntime": [], "process": [], "post": []}
        for k in range(args.rounds):
            sides = ["rust", "python", "onnxruntime"]
            for side in sides if k % 2 == 0 else sides[::-1]:
                if side == "rust":
                    # Two processes, 1 and 1 + 8 copies of the image: the difference of their loop
                    # times (sppnet's own, from the first image to the last) is 8 images' worth,
                    # the first image's warm-up cancelling out; the folder once and twice likewise.
                    _, one, _, _ = rust_detect(args.sppnet, args.threads, weights, [image], json_out=False)
                    _, many, _, _ = rust_detect(args.sppnet, args.threads, weights, [image] * (LATENCY_RUNS + 1),
                                                json_out=False)
                    lat = (many - one) * 1e3 / LATENCY_RUNS
                    _, once, _, _ = rust_detect(args.sppnet, args.threads, weights, [folder], json_out=False)
                    _, twice, _, _ = rust_detect(args.sppnet, args.threads, weights, [folder, folder],
                                                 json_out=False)
                    rate = len(folder_files) / (twice - once)
                    row["rust"].append((lat, rate))
                else:
                    row[side].append(python_side(py if side == "python" else ort, image, folder, len(folder_files)))
            _, _, wall, rss = rust_detect(args.sppnet, args.threads, weights, [image], json_out=False)
            pwall, prss = python_process(args.threads, weights, image)
            row["process"].append((wall, rss, pwall, prss))
            row["post"].append((rust_post_ms(args.sppnet, args.threads, weights, folder), python_post_ms(py, folder)))
        results.append(row)
        print(markdown([summarise(row)], args.threads).splitlines()[-1], file=sys.stderr)
    return results


def med(xs, i):
    return statistics.median(x[i] for x in xs)


def summarise(row):
    r, p, o = row["rust"], row["python"], row["onnxruntime"]
    pr = row["process"]
    return {
        "model": row["model"],
        "latency_ms": {"sppnet": med(r, 0), "ultralytics": med(p, 0), "onnxruntime": med(o, 0)},
        "folder_images_per_s": {"sppnet": med(r, 1), "ultralytics": med(p, 1), "onnxruntime": med(o, 1)},
        # Ratios within each round (the two sides ran back to back), then their median: this VM
        # drifts by a third between rounds, which a ratio of two overall medians would take in.
        "latency_ratio": statistics.median(b[0] / a[0] for a, b in zip(r, p)),
        "folder_ratio": statistics.median(a[1] / b[1] for a, b in zip(r, p)),
        "process": {"sppnet_s": med(pr, 0), "sppnet_rss": med(pr, 1), "python_s": med(pr, 2), "python_rss": med(pr, 3)},
        "postprocess_ms": {"sppnet": med(row["post"], 0), "ultralytics": med(row["post"], 1)},
        "rounds": row,
    }


def markdown(summaries, threads):
    from .make_weights import cpu_model as cpu_name
    out = [f"Machine: {cpu_name()}, {os.cpu_count()} cores; CPU, {threads} intra-op thread(s) on every side; "
           "imgsz 640; medians of the rounds (ratios: the median of the ratios within each round).", "",
           "| model | latency: sppnet | ultralytics | ONNX Runtime | ultralytics / sppnet | folder images/s: sppnet "
           "| ultralytics | ONNX Runtime | sppnet / ultralytics | one image, whole process: sppnet | python | "
           "peak RSS: sppnet | python | sppnet / python | post-processing per image: sppnet | ultralytics |",
           "|" + "---|" * 16]
    for s in summaries:
        l, f, p = s["latency_ms"], s["folder_images_per_s"], s["process"]
        out.append(
            f"| {s['model']} | {l['sppnet']:.1f} ms | {l['ultralytics']:.1f} ms | {l['onnxruntime']:.1f} ms | "
            f"{s['latency_ratio']:.2f}× | {f['sppnet']:.2f} | {f['ultralytics']:.2f} | {f['onnxruntime']:.2f} | "
            f"{s['folder_ratio']:.2f}× | {p['sppnet_s']:.2f} s | {p['python_s']:.2f} s | "
            f"{p['sppnet_rss'] / 2**20:.0f} MiB | {p['python_rss'] / 2**20:.0f} MiB | {p['sppnet_rss'] / p['python_rss']:.2f}× | "
            f"{s['postprocess_ms']['sppnet']:.2f} ms | {s['postprocess_ms']['ultralytics']:.2f} ms |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sppnet", required=True)
    ap.add_argument("--save", required=True, help="PREFIX: writes PREFIX.json and PREFIX.md")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="", help="comma-separated parts of model names to run (default: all)")
    args = ap.parse_args()
    summaries = [summarise(r) for r in bench(args)]
    with open(args.save + ".json", "w") as f:
        json.dump({"schema": "sppnet-detect-bench/1", "threads": args.threads, "results": summaries}, f, indent=1)
    md = markdown(summaries, args.threads)
    with open(args.save + ".md", "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
