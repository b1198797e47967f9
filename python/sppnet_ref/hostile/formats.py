"""File builders: stored zip / torch.save archives, a Conv state_dict, PNG and JPEG bytes."""

import io
import struct
import zlib

import numpy as np
from PIL import Image

from .asm import PROTO2, STOP, odict, s, tensor


# ---------------------------------------------------------------------------------------------
# Zip / torch.save archives.


def build_zip(entries, prepend=b"", append=b"", count=None, zip64_eocd=None, cd_offset_delta=0):
    """A stored zip. Each entry: name, data, and optionally local_name (name in the local header),
    crc, method/comp (compressed bytes), alias (index of an earlier entry whose local header
    this central record points at), offset (explicit local header offset), cextra (central
    extra field), csize/usize (central sizes)."""
    out = bytearray(prepend)
    central = bytearray()
    offsets = []
    for e in entries:
        name = e["name"] if isinstance(e["name"], bytes) else e["name"].encode("utf-8", "surrogateescape")
        lname = e.get("local_name", name)
        lname = lname if isinstance(lname, bytes) else lname.encode()
        data = e.get("data", b"")
        comp = e.get("comp", data)
        method = e.get("method", 0)
        crc = e.get("crc", zlib.crc32(data))
        if "alias" in e:
            off = offsets[e["alias"]]
        else:
            off = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(comp), len(data),
                               len(lname), 0)
            out += lname + comp
        off = e.get("offset", off)
        offsets.append(off)
        cextra = e.get("cextra", b"")
        csize, usize = e.get("csize", len(comp)), e.get("usize", len(data))
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, csize, usize,
            len(name), len(cextra), 0, 0, 0, 0, min(off, 0xFFFFFFFF) if "coff" not in e else e["coff"],
        ) + name + cextra
    cd_off = len(out) + cd_offset_delta
    out += central
    n = len(entries) if count is None else count
    if zip64_eocd is not None:
        z = dict(count=n, cd_size=len(central), cd_offset=cd_off)
        z.update(zip64_eocd)
        eocd64_at = z.get("record_at", len(out))
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, z["count"], z["count"],
                           z["cd_size"], z["cd_offset"])
        out += struct.pack("<IIQI", 0x07064B50, 0, z.get("locator_points_to", eocd64_at), 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF), len(central), cd_off, 0)
    out += append
    return bytes(out)


def torch_entries(pkl, storages=None, prefix="archive"):
    ents = [{"name": f"{prefix}/data.pkl", "data": pkl}, {"name": f"{prefix}/.format_version", "data": b"1"},
            {"name": f"{prefix}/.storage_alignment", "data": b"64"}, {"name": f"{prefix}/byteorder", "data": b"little"}]
    for k, v in (storages or {}).items():
        ents.append({"name": f"{prefix}/data/{k}", "data": v})
    ents.append({"name": f"{prefix}/version", "data": b"3\n"})
    return ents


def archive(pkl, storages=None, prefix="archive"):
    return build_zip(torch_entries(pkl, storages, prefix))


def f32(vals):
    return np.asarray(vals, dtype="<f4").tobytes()


# A Conv(3, 8, k=1) state_dict (keys ultralytics/sppnet use): port can build the block from it.
CONV_STORAGES = {
    "0": f32(np.linspace(-1, 1, 24)), "1": f32(np.ones(8)), "2": f32(np.zeros(8)),
    "3": f32(np.zeros(8)), "4": f32(np.ones(8)), "5": np.asarray([3], dtype="<i8").tobytes(),
}


def conv_pairs(hooks=None, location=None):
    return [
        (s("conv.weight"), tensor("0", 24, [8, 3, 1, 1], hooks=hooks, location=location)),
        (s("bn.weight"), tensor("1", 8, [8])),
        (s("bn.bias"), tensor("2", 8, [8])),
        (s("bn.running_mean"), tensor("3", 8, [8])),
        (s("bn.running_var"), tensor("4", 8, [8])),
        (s("bn.num_batches_tracked"), tensor("5", 1, [], storage="LongStorage")),
    ]


def conv_sd_pickle(extra=(), build=None, proto=PROTO2, hooks=None, location=None):
    return proto + odict(conv_pairs(hooks, location) + list(extra), build) + STOP


# ---------------------------------------------------------------------------------------------
# PNG / JPEG.


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_zeros(w, h, color=2, depth=8, idat=True, truncate_idat=None):
    """A valid PNG whose pixels are all zero, compressed on the fly (a few hundred KB at most)."""
    chans = {0: 1, 2: 3, 6: 4}[color]
    row = 1 + (w * chans * depth + 7) // 8
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0))
    if idat:
        c = zlib.compressobj(9)
        rows_per = max(1, (8 << 20) // row)
        blk = b"\0" * (row * rows_per)
        parts, left = [], h
        while left > 0:
            n = min(left, rows_per)
            parts.append(c.compress(blk[: n * row]))
            left -= n
            if truncate_idat and left < h - truncate_idat:
                break
        if not truncate_idat:
            parts.append(c.flush())
        out += png_chunk(b"IDAT", b"".join(parts))
    if not truncate_idat:
        out += png_chunk(b"IEND", b"")
    return out


def jpeg_bytes(w, h, seed=0, quality=90):
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(w, h, seed=0):
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_claiming(w, h):
    """A real 16×16 baseline JPEG whose SOF0 is patched to claim w×h (data for 16×16 only)."""
    b = bytearray(jpeg_bytes(16, 16))
    at = b.find(b"\xff\xc0")
    struct.pack_into(">HH", b, at + 5, h, w)
    return bytes(b)
