"""`python -m sppnet_ref.hostile OUT_DIR`: write the hostile cases and OUT_DIR/manifest.json."""

from .gen import main

if __name__ == "__main__":
    main()
