"""Crafted hostile inputs for sppnet's robustness suite.

    python -m sppnet_ref.hostile OUT_DIR        (from python/, with the project's venv)

Writes crafted files into OUT_DIR and OUT_DIR/manifest.json: a list of cases

    {"name", "class", "args" | "argv_b64", "expect": "error" | "success", "note", ...}

`args` is the argv for sppnet after the binary name; "{OUT}" stands for an output path inside a
fresh temporary directory the runner makes per case (its file name is `out.safetensors` unless
`setup.out_name` says otherwise), "{TMP}" for that directory, and "{VICTIM}" for a copy, in it,
of the case's `victim_template` file (a file that must not be overwritten). Where an argument
is not UTF-8 the case has `argv_b64` instead: each argument base64-encoded (the placeholder is
then the bytes `{OUT}`). Optional fields:

- `marker`: a file a live payload creates when torch.load(weights_only=False) runs it; sppnet
  must never create it (runners should watch every /tmp/sppnet-hostile-MARKER-* file).
- `canary_dir`: a directory a live payload deletes (shutil.rmtree); the runner creates it before
  the run and checks it survives.
- `torch_live`: true when `torch.load(path, weights_only=False)` on the case's input file
  (`input`) is meant to run the payload — a runner may check that the payload is real.
- `warn`: `inspect` should print a WARNING naming a dangerous global.
- `no_ctrl`: stdout and stderr must not carry raw terminal control characters.
- `env`: extra environment variables.
- `setup`: what the runner prepares at {OUT} before the run: {"kind": "symlink", "to": PATH},
  {"kind": "dangling_symlink", "to": PATH}, {"kind": "fifo"}, {"kind": "dir"},
  {"kind": "file", "content": TEXT}, {"kind": "plant_tmp_symlinks", "to": PATH, "count": N}
  (symlinks `.NAME.tmp-PID` for the next N process ids, the temporary names sppnet's atomic
  writer uses), and optionally "out_name"; `check_unchanged`: a file whose content must not
  change, `check_absent`: a path that must not appear.
- `files`: what the runner lays out in {TMP} before the run, in order, each `{"path": REL, ...}`
  with REL relative to {TMP} (parent folders made as needed) and one of `"from": ABS_PATH` (a
  copy), `"text": STR`, `"dir": true`, `"symlink": TARGET` (TARGET may hold {TMP}).
- `may_write`: REL prefixes under {TMP} where new files may appear. The runner snapshots {TMP}
  (files, symlinks, folders) and every input file an argument names outside it; any entry that
  changed or vanished, a new file outside `may_write` (none at all when absent) or a new
  `.sppnet-tmp-*` file fails the case.
- `expect_files`: REL paths that must exist after the run; `expect_files_b64`: the same for
  names that are not UTF-8, each base64-encoded.
- `rlimit_fsize`: bytes; the run gets RLIMIT_FSIZE (a full disk: writes fail with EFBIG).
- `expect_root`: the outcome when the runner is root, where it differs from `expect`.
- `forbid_lines`: strings no line of stdout or stderr may start with, after leading spaces
  (forged output lines).

Nothing here ever runs a payload. Every payload is harmless if run by accident: it creates a
marker file under /tmp, deletes a canary directory made for it, or opens a nonexistent file URL.
Every file is < 2 MB or sparse but detect/meta/names-3M.pt (3,000,000 class names, ~30 MB);
generation takes about 15 seconds.
"""

# The docstring above is also the usage text. Modules: asm (a pickle assembler), payloads (the
# dangerous calls, as pickle opcodes), formats (zip / torch.save archives, PNG, JPEG), base
# (GenBase: output files and manifest entries), the case groups security (zip ambiguity, globals),
# terminal, depth (depth, expansion), configs (configs, images) and special (special files, CLI
# values, output safety), detect (a tiny randomised YOLOv8; `sppnet detect` on the user's files,
# forged output, images, flags, memory, odd shapes) and yamls (model yamls for --yaml, altered
# checkpoint metadata, payloads as detect weights), and gen (Gen runs every group in order; main).
from .gen import Gen, main

__all__ = ["Gen", "main"]
