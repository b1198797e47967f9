"""The whole generator: every case group, run in a fixed order, then manifest.json."""

import json
import os
import sys

from .configs import ConfigCases
from .depth import DepthCases
from .detect import DetectCases
from .security import SecurityCases
from .special import SpecialCases
from .tasks import TaskCases
from .terminal import TerminalCases
from .yamls import DetectYamlCases


class Gen(SecurityCases, TerminalCases, DepthCases, ConfigCases, SpecialCases, DetectCases, DetectYamlCases,
          TaskCases):
    """All case groups; `run` writes them and the manifest."""

    def run(self):
        os.makedirs(self.out, exist_ok=True)
        self.zip_ambiguity()
        self.globals_()
        self.terminal()
        self.depth()
        self.expansion()
        self.images()
        self.configs()
        self.special()
        self.cli()
        self.output()
        self.detect_fixtures()
        self.detect_files()
        self.detect_output()
        self.detect_images()
        self.detect_flags()
        self.detect_payload()
        self.detect_yaml()
        self.detect_metadata()
        self.task_metadata()
        with open(self.path("manifest.json"), "w") as f:
            json.dump(self.cases, f, indent=1)
        return self.cases


def main():
    from . import __doc__ as USAGE

    if len(sys.argv) != 2:
        sys.exit(USAGE)
    cases = Gen(sys.argv[1]).run()
    by_class = {}
    for c in cases:
        by_class[c["class"]] = by_class.get(c["class"], 0) + 1
    print(f"{len(cases)} cases in {os.path.abspath(sys.argv[1])}/manifest.json: "
          + ", ".join(f"{k} {v}" for k, v in by_class.items()))
