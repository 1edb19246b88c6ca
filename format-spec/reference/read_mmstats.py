#!/usr/bin/env python3
"""A reader of mmstats files written from format-spec/FORMAT.md alone, with Python's standard
library only: the proof that the specification is complete.

    read_mmstats.py FILE...     print each file's reading as JSON, in the form of FORMAT.md §10

It reads a copy of the file (FORMAT.md §4.2 asks a live reader for atomic word loads and a
retry loop; a copy of a file nobody is writing, such as a test vector, needs neither), checks
what §2.4 and §3.4 ask, and exits 1 naming the file and the problem when a file is invalid.
"""

import json
import re
import struct
import sys

KINDS = {1: "counter", 2: "gauge", 3: "constant", 4: "text", 5: "timestamp", 6: "average",
         7: "moving_average", 8: "histogram", 9: "timer", 10: "windowed"}
TYPES = {1: "u8", 2: "u16", 3: "u32", 4: "u64", 5: "i8", 6: "i16", 7: "i32", 8: "i64",
         9: "f32", 10: "f64", 11: "bool", 12: "text"}
COMBINES = {0: "none", 1: "sum", 2: "max", 3: "min", 4: "avg", 5: "last"}
BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "i8": 8, "i16": 16, "i32": 32, "i64": 64}
DEFAULT_COMBINE = {"counter": "sum", "histogram": "sum", "timer": "sum", "windowed": "sum",
                   "gauge": "sum", "average": "avg", "moving_average": "avg",
                   "timestamp": "max", "constant": "last", "text": "last"}


class Invalid(Exception):
    """The file breaks the specification."""


def align8(n):
    return (n + 7) // 8 * 8


def scalar(vtype, w):
    """A single-word value (§4.1)."""
    if vtype in ("u8", "u16", "u32", "u64"):
        return w & ((1 << BITS[vtype]) - 1)
    if vtype in ("i8", "i16", "i32", "i64"):
        bits = BITS[vtype]
        w &= (1 << bits) - 1
        return w - (1 << bits) if w >> (bits - 1) else w
    if vtype == "f32":
        return struct.unpack("<f", struct.pack("<I", w & 0xFFFFFFFF))[0]
    if vtype == "f64":
        return struct.unpack("<d", struct.pack("<Q", w))[0]
    if vtype == "bool":
        return w & 1 != 0
    raise Invalid(f"no scalar of type {vtype}")


def num(vtype, w):
    """A widened "num" word (§5): u64, i64 or f64 by the field's type."""
    if vtype in ("f32", "f64"):
        return struct.unpack("<d", struct.pack("<Q", w))[0]
    if vtype in ("i8", "i16", "i32", "i64"):
        return w - (1 << 64) if w >> 63 else w
    return w


def slot_length(kind, vtype, param, capacity):
    """The value slot length of §3.2 and §5, or Invalid."""
    numeric = vtype != "text"
    if kind in ("counter", "gauge", "timestamp") or (kind == "constant" and numeric):
        if not numeric or (kind == "counter" and vtype == "bool"):
            raise Invalid(f"a {kind} cannot be {vtype}")
        return 8
    if kind in ("text", "constant"):
        if vtype != "text" or not 1 <= capacity <= 65536:
            raise Invalid(f"bad text field ({vtype}, capacity {capacity})")
        return 16 + align8(capacity)
    if not numeric:
        raise Invalid(f"{kind} needs a numeric type")
    if kind == "average":
        return 24
    if kind == "moving_average":
        return 40
    if kind in ("histogram", "timer"):
        if vtype != "u64" or not 1 <= param <= 10:
            raise Invalid(f"bad {kind} ({vtype}, k {param})")
        if not 2 ** (param + 1) <= capacity <= (65 - param) * 2 ** param:
            raise Invalid(f"bad bucket count {capacity}")
        return 64 + 8 * capacity
    if kind == "windowed":
        if not 1 <= param <= 3600 or not 2 <= capacity <= 3600:
            raise Invalid(f"bad window (width {param}, slots {capacity})")
        return 24 + 24 * capacity
    raise Invalid(f"unknown kind {kind}")


def read_v2(b):
    if len(b) < 256:
        raise Invalid(f"truncated: {len(b)} bytes, a header needs 256")
    if b[1:8] != b"MMSTATS":
        raise Invalid("not an mmstats file")
    order = {1: "<", 2: ">"}.get(b[8])
    if order is None:
        raise Invalid(f"byte_order {b[8]}")

    def u(fmt, off):
        return struct.unpack_from(order + fmt, b, off)[0]

    if u("H", 10) != 256 or u("I", 12) != 0:
        raise Invalid("header_length or required_features")
    file_length = u("Q", 16)
    if file_length != len(b) or file_length % 4096:
        raise Invalid(f"file_length {file_length}, file has {len(b)} bytes")
    table_cap, s_off, s_cap, v_off, v_cap = (u("I", 76), u("I", 80), u("I", 84), u("I", 88),
                                              u("I", 92))
    if file_length > 64 << 20 or table_cap > 65536:
        raise Invalid(f"file_length {file_length} or table_capacity {table_cap} too large "
                      "(§2.4 check 8)")
    if (u("I", 72) != 256 or s_off != 256 + 64 * table_cap or s_cap % 8
            or v_off < s_off + s_cap or v_off % 4096 or v_off + v_cap != file_length):
        raise Invalid("areas do not fit together (§2.4 check 5)")
    count, generation, s_used, v_used, state = (u("Q", 128), u("Q", 136), u("Q", 144),
                                                u("Q", 152), u("Q", 160))
    if count > table_cap or s_used > s_cap or v_used > v_cap:
        raise Invalid("live words exceed the capacities")
    del generation

    def word(off):
        return u("Q", off)

    def string(what, off, length, limit):
        if length == 0:
            return ""
        if length > limit or off < s_off or off + length > s_off + s_used:
            raise Invalid(f"{what} at {off} length {length} out of bounds")
        return b[off:off + length].decode("utf-8")

    def label_set(label, off, length):
        """The pairs of a label set (FORMAT.md 3.5), checked; [] when length is 0."""
        if length == 0:
            return []
        if length > 1024 or off < s_off or off + length > s_off + s_used:
            raise Invalid(f"field {label!r}: label set at {off} length {length} out of bounds")
        raw = b[off:off + length]
        if not raw.endswith(b"\0"):
            raise Invalid(f"field {label!r}: label set does not end with a NUL byte")
        parts = raw[:-1].split(b"\0")
        if len(parts) % 2:
            raise Invalid(f"field {label!r}: label set has a key without a value")
        try:
            parts = [p.decode("utf-8") for p in parts]
        except UnicodeDecodeError:
            raise Invalid(f"field {label!r}: label set is not UTF-8") from None
        pairs = [[parts[j], parts[j + 1]] for j in range(0, len(parts), 2)]
        for j, (key, _) in enumerate(pairs):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or key.startswith("__"):
                raise Invalid(f"field {label!r}: bad label key {key!r}")
            if j and pairs[j - 1][0].encode() >= key.encode():
                raise Invalid(f"field {label!r}: label keys duplicate or out of order")
        name = label.split("{", 1)[0]
        def esc(v):
            return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        key = name + "{" + ",".join(f'{k}="{esc(v)}"' for k, v in pairs) + "}"
        if not name or key != label:
            raise Invalid(f"field {label!r}: label is not the series key {key!r}")
        return pairs

    fields, labels, string_spans, slot_spans = [], set(), [], []
    for i in range(count):
        r = 256 + 64 * i
        label = string("label", u("I", r), u("H", r + 4), 1024)
        if not label:
            raise Invalid(f"field {i}: empty label")
        help_text = string("help", u("I", r + 8), u("H", r + 6), 4096)
        unit = string("unit", u("I", r + 12), u("H", r + 16), 64)
        pairs = label_set(label, u("I", r + 36), u("H", r + 40))
        try:
            kind, vtype, combine = KINDS[b[r + 18]], TYPES[b[r + 19]], COMBINES[b[r + 20]]
        except KeyError:
            raise Invalid(f"field {label!r}: unknown kind, type or combine code") from None
        param, v_at, v_len, capacity = u("H", r + 22), u("I", r + 24), u("I", r + 28), u("I", r + 32)
        if v_len != slot_length(kind, vtype, param, capacity):
            raise Invalid(f"field {label!r}: value_length {v_len}")
        if v_at % 8 or v_at < v_off or v_at + v_len > v_off + v_used:
            raise Invalid(f"field {label!r}: value slot out of bounds")
        if label in labels:
            raise Invalid(f"duplicate label {label!r}")
        labels.add(label)
        string_spans.append((u("I", r), u("I", r) + u("H", r + 4), i))
        for off, length in ((u("I", r + 8), u("H", r + 6)), (u("I", r + 12), u("H", r + 16)),
                            (u("I", r + 36), u("H", r + 40))):
            if length:
                string_spans.append((off, off + length, i))
        slot_spans.append((v_at, v_at + v_len, i))

        words = [word(v_at + 8 * j) for j in range(v_len // 8)]
        multi = kind in ("text", "average", "moving_average", "histogram", "timer",
                         "windowed") or vtype == "text"
        if multi and words[0] % 2:
            raise Invalid(f"field {label!r} is being written (odd sequence word)")
        if vtype == "text":
            length = words[1]
            if length > capacity:
                raise Invalid(f"field {label!r}: text length {length} > capacity {capacity}")
            value = b[v_at + 16:v_at + 16 + length].decode("utf-8")
        elif kind == "average":
            value = {"average": {"count": words[1], "sum": num(vtype, words[2])}}
        elif kind == "moving_average":
            value = {"moving_average": {"count": words[1], "window_count": words[2],
                                        "window_sum": num(vtype, words[3]),
                                        "last": num(vtype, words[4])}}
        elif kind in ("histogram", "timer"):
            buckets = words[8:8 + capacity]
            while buckets and buckets[-1] == 0:
                buckets.pop()
            value = {"histogram": {"k": param, "count": words[1], "sum": words[2],
                                   "min": words[3], "max": words[4], "last": words[5],
                                   "window_count": words[6], "window_sum": words[7],
                                   "buckets": buckets}}
        elif kind == "windowed":
            slots = [{"period": words[3 + 3 * j], "count": words[4 + 3 * j],
                      "sum": num(vtype, words[5 + 3 * j])} for j in range(capacity)]
            value = {"windowed": {"width": param, "count": words[1],
                                  "sum": num(vtype, words[2]), "slots": slots}}
        else:
            value = scalar(vtype, words[0])
        field = {"label": label, "help": help_text, "unit": unit, "kind": kind,
                 "type": vtype, "combine": combine, "param": param,
                 "capacity": capacity, "value": value}
        if pairs:
            field["labels"] = pairs
        fields.append(field)
    for spans in (string_spans, slot_spans):
        reach = None
        for start, end, i in sorted(spans):
            if reach is not None and start < reach[0]:
                raise Invalid(f"field {max(i, reach[1])} overlaps field {min(i, reach[1])} "
                              "(§3.4)")
            if reach is None or end > reach[0]:
                reach = (end, i)
    return {
        "format_version": 2, "byte_order": "little" if order == "<" else "big",
        "pid": u("I", 24), "tid": u("I", 28), "start_time": u("Q", 32),
        "created_ns": u("q", 56), "uid": u("I", 64), "gid": u("I", 68),
        "writer": b[96:128].split(b"\0", 1)[0].decode("utf-8", "replace"),
        "closed": state & 1 != 0, "process": state & 2 != 0, "fields": fields,
    }


V1_TYPES = {"b": ("i8", 1), "B": ("u8", 1), "?": ("bool", 1), "h": ("i16", 2), "H": ("u16", 2),
            "i": ("i32", 4), "I": ("u32", 4), "l": ("i64", 8), "q": ("i64", 8),
            "L": ("u64", 8), "Q": ("u64", 8), "f": ("f32", 4), "d": ("f64", 8)}


def read_v1(b):
    """The original format (§11), in this machine's byte order."""
    pos, fields = 1, []

    def take(n, what):
        nonlocal pos
        if pos + n > len(b):
            raise Invalid(f"version 1: {what} at byte {pos} runs past the end")
        pos += n
        return b[pos - n:pos]

    while pos + 2 <= len(b):
        (label_size,) = struct.unpack("=H", b[pos:pos + 2])
        if label_size == 0:
            break
        pos += 2
        label = take(label_size, "label").decode("utf-8")
        (type_size,) = struct.unpack("=H", take(2, "type size"))
        code = take(type_size, "type").decode("ascii")
        if code.endswith("s") and code[:-1].isdigit():
            vtype, size = "text", int(code[:-1])
        elif code in V1_TYPES:
            vtype, size = V1_TYPES[code]
        else:
            raise Invalid(f"version 1: field {label!r} has unknown type {code!r}")
        buffer = take(1, "write buffer")[0]
        raw = take(size, "value") if buffer == 0xFF else take(2 * size, "values")[
            ((buffer ^ 1) & 1) * size:((buffer ^ 1) & 1) * size + size]
        if vtype == "text":
            value = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        else:
            value = scalar(vtype, int.from_bytes(raw, sys.byteorder))
        # system fields (sys.pid, or behind a label prefix) describe the writer: constants
        name = label.rsplit("sys.", 1)[1] if "sys." in label else ""
        system = name != "" and "." not in name
        kind = "text" if vtype == "text" else ("constant" if system else "gauge")
        fields.append({"label": label, "help": "", "unit": "", "kind": kind, "type": vtype,
                       "combine": DEFAULT_COMBINE[kind], "param": 0,
                       "capacity": size if vtype == "text" else 0, "value": value})
    def system(name):
        # An exact label wins, then the first that ends with it (`pre.sys.pid`, §11).
        for f in fields:
            if f["label"] == name:
                return f["value"]
        for f in fields:
            if f["label"].endswith(name):
                return f["value"]
        return None

    return {"format_version": 1, "pid": system("sys.pid"), "tid": system("sys.tid"),
            "uid": system("sys.uid"), "gid": system("sys.gid"), "fields": fields}


def read(path):
    with open(path, "rb") as f:
        b = f.read()
    if not b:
        raise Invalid("empty file")
    if b[0] == 1:
        return read_v1(b)
    if b[0] == 2:
        return read_v2(b)
    if b[1:8] == b"MMSTATS":
        raise Invalid(f"format version {b[0]} is newer than this reader")
    raise Invalid("not an mmstats file")


def main():
    failed = False
    for path in sys.argv[1:]:
        try:
            print(json.dumps(read(path), ensure_ascii=False, sort_keys=True))
        except (Invalid, UnicodeDecodeError, struct.error, OSError) as e:
            print(f"read_mmstats.py: {path}: {e}", file=sys.stderr)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
