"""Pickle depth and expansion cases: deep nesting, billion laughs, shared-object amplification."""

from .asm import (
    APPEND, BUILD, DICT, EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, FROZENSET, LIST, MARK, NEWOBJ, NONE, POP,
    PROTO2, REDUCE, SETITEM, SETITEMS, STACK_GLOBAL, STOP, T1, T2, TENSOR_MEMO, TUPLE, g, get, odict,
    put, s, tensor, tensor_c,
)
from .base import GenBase
from .formats import archive, f32


class DepthCases(GenBase):
    """Deeply nested pickles (`depth`) and ones that blow up if copied (`expansion`)."""

    # -- pickle depth ---------------------------------------------------------------------------
    def depth(self):
        cls = "depth"

        def emit(name, pkl, note, inspect_expect="success"):
            p = self.write(f"depth/{name}.pt", archive(pkl))
            self.case(f"depth/{name}/inspect", cls, ["inspect", p], inspect_expect, note)
            self.case(f"depth/{name}/inspect-json", cls, ["inspect", "--json", p], inspect_expect, note)
            self.case(f"depth/{name}/port", cls, ["port", p, "-o", "{OUT}"], "error", note)

        n = 45_000
        G = g("torch._tensor", "_rebuild_from_type_v2") + put(0)
        pkl = PROTO2 + G + (MARK + get(0) + NONE) * n + EMPTY_TUPLE + (NONE + TUPLE) * n + REDUCE + STOP
        emit("rebuild_from_type_v2-45000", pkl,
             f"{n} nested _rebuild_from_type_v2 argument tuples under one REDUCE (a reader that interprets it "
             f"recursively recurses {n} deep)")
        pkl = PROTO2 + G + POP + g("torch._tensor", "_rebuild_from_type_v2") + (MARK + get(0) + NONE) * 20000 \
            + EMPTY_TUPLE + (NONE + TUPLE) * 20000 + REDUCE + STOP
        emit("rebuild_from_type_v2-20000", pkl, "20000 levels (smaller stack need)")
        emit("tuples-MARK-135000", PROTO2 + MARK * 135_000 + EMPTY_TUPLE + TUPLE * 135_000 + STOP,
             "135000 nested tuples via MARK/TUPLE")
        emit("tuples-TUPLE1-270000", PROTO2 + NONE + T1 * 270_000 + STOP, "270000 nested 1-tuples via TUPLE1")
        emit("lists-APPEND-135000", PROTO2 + EMPTY_LIST * 135_000 + APPEND * 134_999 + STOP,
             "135000 nested lists via EMPTY_LIST/APPEND")
        emit("dicts-SETITEM-45000", PROTO2 + s("k") + put(1) + POP + (EMPTY_DICT + get(1)) * 45_000 + NONE
             + SETITEM * 45_000 + STOP, "45000 nested dicts via EMPTY_DICT/SETITEM")
        emit("dicts-MARK-DICT-67000", PROTO2 + s("k") + put(1) + POP + (MARK + get(1)) * 67_000 + NONE
             + DICT * 67_000 + STOP, "67000 nested dicts via MARK/DICT")
        emit("frozensets-135000", PROTO2 + MARK * 135_000 + FROZENSET * 135_000 + STOP, "135000 nested frozensets")
        emit("setitem-root-model-nested", PROTO2 + s("model") + put(1) + POP + (EMPTY_DICT + get(1)) * 45_000 + NONE
             + SETITEM * 45_000 + STOP,
             "45000 nested dicts all keyed `model` (a checkpoint walker that follows `model` recursively)")
        lvl = 21_000
        pre = PROTO2 + g("torch.nn.modules.container", "Sequential") + put(0) + POP + s("_modules") + put(1) + POP \
            + s("m") + put(2) + POP
        pkl = pre + (get(0) + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + get(1) + EMPTY_DICT + get(2)) * lvl + NONE \
            + (SETITEM + SETITEM + BUILD) * lvl + STOP
        emit("modules-21000", pkl, f"{lvl} nested pickled modules (_modules chain)")
        pkl = PROTO2 + g("argparse", "Namespace") + put(0) + POP + (get(0) + EMPTY_TUPLE + NEWOBJ) * 30_000 + NONE \
            + BUILD * 30_000 + STOP
        emit("objects-BUILD-30000", pkl, "30000 objects each BUILT with the next as its state")

    # -- expansion ------------------------------------------------------------------------------
    def expansion(self):
        cls = "expansion"

        def emit(name, pkl, note, storages=None, port_expect="error", more=(), inspect_expect="success"):
            p = self.write(f"expansion/{name}.pt", archive(pkl, storages))
            self.case(f"expansion/{name}/inspect", cls, ["inspect", p], inspect_expect, note)
            self.case(f"expansion/{name}/port", cls, ["port", p, "-o", "{OUT}"] + list(more), port_expect, note)
            return p

        # Copies of memoised values count against the reader's work budget (8 per input byte):
        # the expansions below are refused by `inspect` too (inspect_expect="error").
        # Billion laughs: each level a 1000-element list of the previous (memo refs).
        pkl = PROTO2 + MARK + NONE * 1000 + LIST + put(0)
        for lv in range(1, 7):
            pkl += MARK + get(lv - 1) * 1000 + LIST + put(lv)
        emit("laughs-lists-1000^7", pkl + STOP,
             "billion laughs: 7 levels of 1000-element lists (10^21 elements if copied)")
        pkl = PROTO2 + EMPTY_DICT + MARK + b"".join(s(f"k{n}") + NONE for n in range(1000)) + SETITEMS + put(0)
        for lv in range(1, 7):
            pkl += EMPTY_DICT + MARK + b"".join(s(f"k{n}") + get(lv - 1) for n in range(1000)) + SETITEMS + put(lv)
        emit("laughs-dicts-1000^7", pkl + STOP, "billion laughs with dicts")
        pkl = PROTO2 + MARK + NONE * 1000 + TUPLE + put(0)
        for lv in range(1, 7):
            pkl += MARK + get(lv - 1) * 1000 + TUPLE + put(lv)
        emit("laughs-tuples-1000^7", pkl + STOP, "billion laughs with tuples")
        # Copies made per REDUCE / NEWOBJ over one shared big list (arena nodes are kept).
        big = PROTO2 + MARK + NONE * 100_000 + LIST + put(0) + POP
        pkl = big + g("builtins", "id") + put(1) + POP + EMPTY_LIST \
            + (get(1) + get(0) + REDUCE + APPEND) * 150_000 + STOP
        emit("reduce-shared-list-150000x100000", pkl,
             "150000 REDUCEs each taking the same memoised 100000-item list as args (1.5e10 items if each call copies "
             "its args)",
             inspect_expect="error")
        pkl = big + g("argparse", "Namespace") + put(1) + POP + EMPTY_LIST \
            + (get(1) + get(0) + NEWOBJ + APPEND) * 150_000 + STOP
        emit("newobj-shared-list-150000x100000", pkl, "150000 NEWOBJs over one shared 100000-item list",
             inspect_expect="error")
        pkl = big + g("torch", "Size") + put(1) + POP + get(0) + T1 + put(2) + POP + EMPTY_LIST \
            + (get(1) + get(2) + REDUCE + APPEND) * 150_000 + STOP
        emit("torch-size-shared-list", pkl, "150000 torch.Size(shared list) REDUCEs (each builds a tuple copy)",
             inspect_expect="error")
        pairs = PROTO2 + s("k") + NONE + T2 + put(3) + POP + MARK + get(3) * 100_000 + LIST + T1 + put(0) + POP
        pkl = pairs + g("collections", "OrderedDict") + put(1) + POP + EMPTY_LIST \
            + (get(1) + get(0) + REDUCE + APPEND) * 150_000 + STOP
        emit("ordereddict-shared-pairs", pkl, "150000 OrderedDict(shared list of 100000 pairs) REDUCEs",
             inspect_expect="error")
        # Long memoised strings re-used by STACK_GLOBAL / _codecs.encode.
        mb = 1_000_000
        pkl = PROTO2 + s("m" * mb) + put(0) + POP + s("n") + put(1) + POP + EMPTY_LIST \
            + (get(0) + get(1) + STACK_GLOBAL + APPEND) * 150_000 + STOP
        emit("stack-global-1MB-names", pkl,
             "150000 STACK_GLOBALs naming the same memoised 1 MB module string (150 GB if each copies the name)",
             inspect_expect="error")
        pkl = PROTO2 + s("m" * mb) + put(0) + POP + g("_codecs", "encode") + put(1) + POP + get(0) + s("latin1") + T2 \
            + put(2) + POP + EMPTY_LIST + (get(1) + get(2) + REDUCE + APPEND) * 150_000 + STOP
        emit("codecs-encode-1MB", pkl,
             "150000 _codecs.encode(shared 1 MB str) REDUCEs kept in a list (150 GB of bytes if each is materialised)",
             inspect_expect="error")
        pkl = PROTO2 + s("m" * mb) + put(0) + POP + EMPTY_DICT + MARK \
            + b"".join(s(f"k{n}") + get(0) for n in range(60_000)) + SETITEMS + STOP
        emit("dict-60000-x-1MB-values", pkl,
             "a root dict of 60000 entries, each the same 1 MB string (inspect describes every value)")
        # Module DAGs: 30 levels, each module's two children are the same module (2^30 paths).
        def dag(levels, with_param, cls_name="Sequential"):
            pkl = PROTO2 + g("torch.nn.modules.container", cls_name) + put(0) + POP
            pkl += s("_modules") + put(1) + POP + s("_parameters") + put(2) + POP + s("a") + put(3) + POP + s("b") \
                + put(4) + POP
            pkl += s("w") + put(5) + POP
            param = (EMPTY_DICT + get(5) + tensor("0", 1, [1]) + SETITEM) if with_param else EMPTY_DICT
            # leaf
            pkl += get(0) + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + get(1) + EMPTY_DICT + SETITEM + get(2) + param \
                + SETITEM + BUILD + put(10) + POP
            for lv in range(1, levels + 1):
                pkl += get(0) + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + get(1) + EMPTY_DICT + get(3) + get(9 + lv) \
                    + SETITEM + get(4) + get(9 + lv) + SETITEM + SETITEM + get(2) + param + SETITEM + BUILD \
                    + put(10 + lv) + POP
            return pkl + get(10 + levels) + STOP

        one = {"0": f32([1.0])}
        p = emit("module-dag-30", dag(30, False),
                 "a module DAG 30 levels deep, two shared children per level (2^30 paths; 31 objects)")
        self.case("expansion/module-dag-30/inspect-json", cls, ["inspect", "--json", p], "success", "same, --json")
        self.case("expansion/module-dag-30/port-module", cls, ["port", p, "-o", "{OUT}", "--module", "a.a.a"],
                  "error", "same, --module a.a.a")
        p = emit("module-dag-30-params", dag(30, True),
                 "module DAG 30 deep, each module with a 1-element parameter (state_dict of 2^31 entries)", one)
        p = emit("module-dag-30-sppf-root",
                 dag(30, False, "SPPF").replace(b"torch.nn.modules.container", b"ultralytics.nn.modules.block"),
                 "module DAG with an SPPF class at the root (config inference walks children)")
        p = emit("module-dag-62", dag(62, False), "module DAG 62 levels deep (below the depth-64 cut-off: 2^62 paths)")
        # Storage amplification: 8000 one-element views of one 1.5 MB storage.
        n, st = 7000, 300_000
        pkl = PROTO2 + TENSOR_MEMO + odict([(s(f"t{k}"), tensor_c("0", st, [1], offset=k)) for k in range(n)]) + STOP
        emit("views-7000-of-1.2MB", pkl,
             f"{n} one-element tensors viewing one 1.2 MB storage (if each read copies the storage and keeps it: "
             "8.4 GB)", {"0": bytes(st * 4)}, more=["--arch", "conv"])
        n = 10_000
        pkl = PROTO2 + TENSOR_MEMO + odict([(s(f"t{k}"), tensor_c(str(k), 1, [1])) for k in range(n)]) + STOP
        emit("entries-10000", pkl, f"{n} zip entries and {n} tensors (entry lookup by linear scan: quadratic)",
             {str(k): b"\0\0\0\0" for k in range(n)}, more=["--arch", "conv"])
        # Root dict of 20000 keys all pointing at the same 64-deep module chain.
        pkl = PROTO2 + g("torch.nn.modules.container", "Sequential") + put(0) + POP + s("_modules") + put(1) + POP \
            + s("m") + put(2) + POP
        pkl += NONE
        for lv in range(64):
            pkl += put(3) + POP + get(0) + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + get(1) + EMPTY_DICT + get(2) + get(3) \
                + SETITEM + SETITEM + BUILD
        pkl += put(4) + POP + EMPTY_DICT + MARK + b"".join(s(f"m{k}") + get(4) for k in range(20_000)) + SETITEMS + STOP
        emit("dict-20000-x-module-chain-64", pkl,
             "a root dict of 20000 keys sharing one 64-deep module chain (inspect renders each: 1.3M module nodes)")
