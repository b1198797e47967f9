"""The venv's whole dependency set, pinned (`python/constraints.txt`): every package that
`python/requirements.txt` pulls in, transitively, at the version installed when the reference
was last checked. `scripts/venv.sh` installs with it as constraints, so a fresh set-up next
month resolves to the same packages (opencv-python once moved 5.0.0 -> 5.1.0 between two
set-ups; Pillow 13 changed its resampling pass order, which the classifier parity depends on).

    python -m sppnet_ref.pins --write   # regenerate constraints.txt from this venv
    python -m sppnet_ref.pins --check   # exit 1, naming them, if the venv's set and the file differ
"""
import importlib.metadata as md
import os
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIREMENTS = os.path.join(HERE, "requirements.txt")
CONSTRAINTS = os.path.join(HERE, "constraints.txt")
HEADER = """# Every package python/requirements.txt installs, transitively, pinned (written by
# `python -m sppnet_ref.pins --write`; `--check` in the tests keeps it complete). scripts/venv.sh
# installs with this file as constraints. Regenerate it, deliberately, to move the reference.
"""


def requirement_lines(path):
    for line in open(path):
        line = line.split("#")[0].strip()
        if line:
            yield line


def closure():
    """{name: version} of the installed packages the requirements reach (markers evaluated)."""
    pins, seen, stack = {}, set(), [Requirement(r) for r in requirement_lines(REQUIREMENTS)]
    while stack:
        req = stack.pop()
        name = canonicalize_name(req.name)
        key = (name, tuple(sorted(req.extras)))  # `cuda-toolkit[cufft,…]` pulls more than `cuda-toolkit`
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            continue
        pins[name] = dist.version
        extras = [""] + sorted(req.extras)
        for r in map(Requirement, dist.requires or []):
            if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in extras):
                stack.append(r)
    return pins


def written():
    pins = {}
    for line in requirement_lines(CONSTRAINTS):
        name, version = line.split("==")
        pins[canonicalize_name(name)] = version
    return pins


def main():
    if sys.argv[1:] == ["--write"]:
        with open(CONSTRAINTS, "w") as f:
            f.write(HEADER + "".join(f"{n}=={v}\n" for n, v in sorted(closure().items())))
    elif sys.argv[1:] == ["--check"]:
        have, want = closure(), written()
        wrong = [f"{n}: installed {have.get(n)}, pinned {want.get(n)}" for n in sorted(set(have) | set(want))
                 if have.get(n) != want.get(n)]
        if wrong:
            raise SystemExit("python/constraints.txt and the venv differ:\n" + "\n".join(wrong))
        print(f"{len(have)} packages, all pinned")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
