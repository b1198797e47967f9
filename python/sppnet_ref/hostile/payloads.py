"""Payloads: opcodes leaving one value on the stack; `tag` names the marker file a live payload makes."""

from .asm import (
    BUILD, EMPTY_DICT, EMPTY_TUPLE, INST_OP, MARK, NEWOBJ, NONE, OBJ, POP, PROTO2, PROTO4, REDUCE,
    SETITEM, STACK_GLOBAL, STOP, by, call, g, get, i, put, s, tup,
)


MARKER = "/tmp/sppnet-hostile-MARKER-"
CANARY = "/tmp/sppnet-hostile-canary-"


def stmt(tag):
    return f"open({MARKER + tag!r}, 'w').close()"


def payload(kind, tag):
    m = MARKER + tag
    inner_open = PROTO2 + call(g("io", "open"), s(m), s("w")) + STOP
    return {
        "os.system": lambda: call(g("os", "system"), s(f"touch {m}")),
        "posix.system": lambda: call(g("posix", "system"), s(f"touch {m}")),
        "timeit.timeit": lambda: call(g("timeit", "timeit"), s(stmt(tag)), s("pass"), g("time", "perf_counter"), i(1)),
        "cProfile.run": lambda: call(g("cProfile", "run"), s(stmt(tag))),
        "profile.run": lambda: call(g("profile", "run"), s(stmt(tag))),
        "uuid._get_command_stdout": lambda: call(g("uuid", "_get_command_stdout"), s("touch"), s(m)),
        "_pickle.loads": lambda: call(g("_pickle", "loads"), by(inner_open)),
        "pickle.loads": lambda: call(g("pickle", "loads"), by(inner_open)),
        "cPickle.loads": lambda: call(g("cPickle", "loads"), by(inner_open)),
        "io.open": lambda: call(g("io", "open"), s(m), s("w")),
        "_io.open": lambda: call(g("_io", "open"), s(m), s("w")),
        "builtins.exec": lambda: call(g("builtins", "exec"), s(stmt(tag))),
        "__builtin__.eval": lambda: call(g("__builtin__", "eval"), s(stmt(tag))),
        "getattr(__import__)": lambda: call(
            call(g("builtins", "getattr"), call(g("builtins", "__import__"), s("os")), s("system")), s(f"touch {m}")),
        "numpy runstring": lambda: call(g("numpy.testing._private.utils", "runstring"), s(stmt(tag)), EMPTY_DICT),
        "os.popen": lambda: call(g("os", "popen"), s(f"touch {m}")),
        "shutil.rmtree": lambda: call(g("shutil", "rmtree"), s(CANARY + tag)),
        "webbrowser.open": lambda: call(g("webbrowser", "open"), s("file:///nonexistent/sppnet-hostile")),
        "pydoc.pipepager": lambda: call(g("pydoc", "pipepager"), s("x"), s(f"touch {m}")),
        "code.InteractiveInterpreter": lambda: call(
            call(g("builtins", "getattr"), call(g("code", "InteractiveInterpreter")), s("runsource")), s(stmt(tag))),
        # protocol >= 4: find_class walks a dotted name through attributes (torch imports os).
        "torch+os.system (dotted name)": lambda: call(g("torch", "os.system"), s(f"touch {m}")),
        "torch.serialization+os.system (dotted)": lambda: call(g("torch.serialization", "os.system"), s(f"touch {m}")),
        "numpy+testing._private.utils.runstring (dotted)": lambda: call(
            g("numpy", "testing._private.utils.runstring"), s(stmt(tag)), EMPTY_DICT),
        # Python decodes these string opcodes; a reader taking them literally sees other names.
        "V raw-unicode-escape os.system": lambda: b"V\\u006fs\nVsyst\\u0065m\n" + STACK_GLOBAL + tup(s(f"touch {m}"))
        + REDUCE,
        "S escape_decode os.system": lambda: b"S'o\\x73'\nS'sys\\x74em'\n" + STACK_GLOBAL + tup(s(f"touch {m}"))
        + REDUCE,
        "STACK_GLOBAL via memo": lambda: s("os") + put(200) + POP + s("system") + put(201) + POP
        + get(200) + get(201) + STACK_GLOBAL + tup(s(f"touch {m}")) + REDUCE,
        "INST os.system": lambda: MARK + s(f"touch {m}") + INST_OP + b"os\nsystem\n",
        "INST io.open": lambda: MARK + s(m) + s("w") + INST_OP + b"io\nopen\n",
        "OBJ timeit.timeit": lambda: MARK + g("timeit", "timeit") + s(stmt(tag)) + s("pass") + g("time", "perf_counter")
        + i(1) + OBJ,
        # BUILD with (None, {'__setstate__': f}) sets an instance attribute; a second BUILD calls it.
        "BUILD __setstate__ cProfile.run": lambda: call(g("argparse", "Namespace"))
        + tup(NONE, EMPTY_DICT + s("__setstate__") + g("cProfile", "run") + SETITEM) + BUILD + s(stmt(tag)) + BUILD,
        "NEWOBJ carrying io.open in BUILD": lambda: g("argparse", "Namespace") + EMPTY_TUPLE + NEWOBJ
        + EMPTY_DICT + s("x") + call(g("io", "open"), s(m), s("w")) + SETITEM + BUILD,
        "_rebuild_from_type_v2(timeit)": lambda: call(
            g("torch._tensor", "_rebuild_from_type_v2"), g("timeit", "timeit"), g("torch._tensor", "Tensor"),
            tup(s(stmt(tag)), s("pass"), g("time", "perf_counter"), i(1)), EMPTY_DICT),
    }[kind]()


PROTO_OF = {"torch+os.system (dotted name)": PROTO4, "torch.serialization+os.system (dotted)": PROTO4,
            "numpy+testing._private.utils.runstring (dotted)": PROTO4}
NOT_LIVE = {"webbrowser.open"}  # runs a browser lookup: not run by the live check
CANARY_KINDS = {"shutil.rmtree"}


class Payload:
    """For torch.save: unpickling this calls fn(*args) (pickled by reference)."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args
