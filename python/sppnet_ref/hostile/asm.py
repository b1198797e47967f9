"""A pickle assembler: opcodes as bytes, and helpers that emit them (nothing is ever unpickled here)."""

import struct


PROTO2, PROTO4 = b"\x80\x02", b"\x80\x04"
MARK, STOP, POP, NONE, TRUE, FALSE = b"(", b".", b"0", b"N", b"\x88", b"\x89"
TUPLE, EMPTY_TUPLE, T1, T2, T3 = b"t", b")", b"\x85", b"\x86", b"\x87"
REDUCE, BUILD, NEWOBJ, INST_OP, OBJ = b"R", b"b", b"\x81", b"i", b"o"
EMPTY_DICT, SETITEM, SETITEMS, DICT = b"}", b"s", b"u", b"d"
EMPTY_LIST, APPEND, APPENDS, LIST = b"]", b"a", b"e", b"l"
FROZENSET, STACK_GLOBAL, BINPERSID = b"\x91", b"\x93", b"Q"


def g(module, name):
    """GLOBAL (text lines; any bytes but newline)."""
    enc = lambda s: s if isinstance(s, bytes) else s.encode("utf-8", "surrogatepass")
    return b"c" + enc(module) + b"\n" + enc(name) + b"\n"


def s(text):
    """BINUNICODE."""
    b = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(b)) + b


def by(data):
    """BINBYTES."""
    return b"B" + struct.pack("<I", len(data)) + data


def i(v):
    if -(2**31) <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def put(k):
    return b"q" + bytes([k]) if k < 256 else b"r" + struct.pack("<I", k)


def get(k):
    return b"h" + bytes([k]) if k < 256 else b"j" + struct.pack("<I", k)


def tup(*items):
    return MARK + b"".join(items) + TUPLE


def call(fn, *args):
    return fn + tup(*args) + REDUCE


def ints(vals):
    return tup(*[i(v) for v in vals])


def odict(pairs, build=None):
    """collections.OrderedDict() with SETITEMS (and an optional BUILD state, as torch.save
    writes a state_dict's `_metadata`)."""
    out = call(g("collections", "OrderedDict"))
    if pairs:
        out += MARK + b"".join(k + v for k, v in pairs) + SETITEMS
    if build is not None:
        out += build + BUILD
    return out


def tensor(key, numel, shape, stride=None, offset=0, storage="FloatStorage", hooks=None, location=None):
    """torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, hooks)."""
    if stride is None:
        stride, acc = [], 1
        for d in reversed(shape):
            stride.insert(0, acc)
            acc *= d
    pid = tup(s("storage"), g("torch", storage), s(key), location if location is not None else s("cpu"),
              i(numel)) + BINPERSID
    hooks = hooks if hooks is not None else call(g("collections", "OrderedDict"))
    return call(g("torch._utils", "_rebuild_tensor_v2"), pid, i(offset), ints(shape), ints(stride), FALSE, hooks)


# The same with the repeated globals and strings memoised (memo 1000–1004): ~60 bytes a tensor.
TENSOR_MEMO = (g("torch._utils", "_rebuild_tensor_v2") + put(1000) + POP + s("storage") + put(1001) + POP
               + g("torch", "FloatStorage") + put(1002) + POP + s("cpu") + put(1003) + POP
               + g("collections", "OrderedDict") + put(1004) + POP)


def tensor_c(key, numel, shape, offset=0):
    stride, acc = [], 1
    for d in reversed(shape):
        stride.insert(0, acc)
        acc *= d
    pid = MARK + get(1001) + get(1002) + s(key) + get(1003) + i(numel) + TUPLE + BINPERSID
    return get(1000) + MARK + pid + i(offset) + ints(shape) + ints(stride) + FALSE + get(1004) + EMPTY_TUPLE \
        + REDUCE + TUPLE + REDUCE
