"""`python -m sppnet_ref JOB.json`: run one job of the typed protocol (see protocol.py)."""
import sys

from . import protocol


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m sppnet_ref JOB.json")
    protocol.run_job(sys.argv[1])


if __name__ == "__main__":
    main()
