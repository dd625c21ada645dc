"""Hand-written bolt v1 codecs to measure the generated one against.

`decode`/`encode`: what a careful engineer writes with `struct` by hand. It does
the work the generated codec does, so the comparison is fair: checks the
protocol byte, the command type and code, the frame limit and the need-more
case; reads the header map in a loop with bounds checks and bolt's null (-1)
lengths; builds a slotted dataclass. It keeps `type` and `cmd_code` as plain
ints (no IntEnum members): the generated codec pays for those lookups.

`CONSTRUCT_FRAME`: the same layout as one declarative construct Struct, and
`CONSTRUCT_COMPILED`, its `.compile()`d form.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import construct as cs

MAX_FRAME = 16 * 1024 * 1024
_REQUEST_HEAD = struct.Struct(">BBHBIBiHHI")  # 22 bytes
_RESPONSE_HEAD = struct.Struct(">BBHBIBHHHI")  # 20 bytes
_U32 = struct.Struct(">I")
_NULL = 0xFFFFFFFF


class BoltError(ValueError):
    """A malformed bolt frame."""


@dataclass(slots=True)
class BoltRequest:
    """A bolt v1 request (type 1) or oneway request (type 2)."""

    type: int = 1
    cmd_code: int = 1
    version: int = 1
    request_id: int = 0
    codec: int = 1
    timeout: int = 0
    class_name: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content: bytes = b""


@dataclass(slots=True)
class BoltResponse:
    """A bolt v1 response (type 0)."""

    type: int = 0
    cmd_code: int = 2
    version: int = 1
    request_id: int = 0
    codec: int = 1
    status: int = 0
    class_name: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content: bytes = b""


BoltFrame = BoltRequest | BoltResponse


def _read_headers(buf: bytes, off: int, end: int) -> list[tuple[bytes, bytes]]:
    """u32 key_len, key, u32 value_len, value, repeated to fill [off, end);
    a pair with a null (-1) key or value is dropped, as SOFA's serializer does."""
    headers = []
    unpack = _U32.unpack_from
    while off < end:
        if end - off < 4:
            raise BoltError(f"header key length at {off} runs past the header map")
        (n,) = unpack(buf, off)
        off += 4
        key = None
        if n != _NULL:
            if n > end - off:
                raise BoltError(f"header key at {off} runs past the header map")
            key = buf[off:off + n]
            off += n
        if end - off < 4:
            raise BoltError(f"header value length at {off} runs past the header map")
        (n,) = unpack(buf, off)
        off += 4
        value = None
        if n != _NULL:
            if n > end - off:
                raise BoltError(f"header value at {off} runs past the header map")
            value = buf[off:off + n]
            off += n
        if key is not None and value is not None:
            headers.append((key, value))
    return headers


def decode(buf: bytes) -> tuple[BoltFrame, int] | None:
    """(frame, bytes consumed), or None when `buf` holds only part of a frame."""
    have = len(buf)
    if have < 2:
        return None
    if buf[0] != 1:
        raise BoltError(f"protocol code {buf[0]}, not bolt v1")
    kind = buf[1]
    if kind == 1 or kind == 2:
        if have < 22:
            return None
        (_, _, cmd_code, version, request_id, codec, timeout, class_len, header_len,
         content_len) = _REQUEST_HEAD.unpack_from(buf)
        off = 22
    elif kind == 0:
        if have < 20:
            return None
        (_, _, cmd_code, version, request_id, codec, status, class_len, header_len,
         content_len) = _RESPONSE_HEAD.unpack_from(buf)
        if status > 18:
            raise BoltError(f"unknown response status {status}")
        off = 20
    else:
        raise BoltError(f"unknown command type {kind}")
    if cmd_code > 2:
        raise BoltError(f"unknown command code {cmd_code}")
    size = off + class_len + header_len + content_len
    if size > MAX_FRAME:
        raise BoltError(f"frame of {size} bytes exceeds {MAX_FRAME}")
    if have < size:
        return None
    class_name = buf[off:off + class_len]
    off += class_len
    headers = _read_headers(buf, off, off + header_len)
    off += header_len
    content = buf[off:size]
    if kind:
        return BoltRequest(kind, cmd_code, version, request_id, codec, timeout, class_name,
                           headers, content), size
    return BoltResponse(kind, cmd_code, version, request_id, codec, status, class_name,
                        headers, content), size


def encode(frame: BoltFrame) -> bytes:
    """The wire bytes of `frame`, lengths computed; struct.error if a value does not fit."""
    pack = _U32.pack
    parts: list[bytes] = []
    for key, value in frame.headers:
        parts += (pack(len(key)), key, pack(len(value)), value)
    headers = b"".join(parts)
    class_name = frame.class_name
    content = frame.content
    if type(frame) is BoltRequest:
        size = 22 + len(class_name) + len(headers) + len(content)
        head = _REQUEST_HEAD.pack(1, frame.type, frame.cmd_code, frame.version,
                                  frame.request_id, frame.codec, frame.timeout,
                                  len(class_name), len(headers), len(content))
    else:
        size = 20 + len(class_name) + len(headers) + len(content)
        head = _RESPONSE_HEAD.pack(1, frame.type, frame.cmd_code, frame.version,
                                   frame.request_id, frame.codec, frame.status,
                                   len(class_name), len(headers), len(content))
    if size > MAX_FRAME:
        raise BoltError(f"frame of {size} bytes exceeds {MAX_FRAME}")
    return b"".join((head, class_name, headers, content))


# ---- construct ------------------------------------------------------------------------

_PAIR = cs.Struct(
    "key" / cs.Prefixed(cs.Int32ub, cs.GreedyBytes),
    "value" / cs.Prefixed(cs.Int32ub, cs.GreedyBytes),
)


class _HeadersSize(cs.expr.ExprMixin):  # type: ignore[misc]
    """header_len on build: a context expression that construct's compiler can
    inline (it emits an expression's repr; a plain lambda does not compile)."""

    def __call__(self, ctx: cs.Container, *args: object) -> int:
        return sum(8 + len(p["key"]) + len(p["value"]) for p in ctx["headers"])

    def __repr__(self) -> str:
        return "sum(8 + len(p['key']) + len(p['value']) for p in this['headers'])"


CONSTRUCT_FRAME = cs.Struct(
    "proto" / cs.Const(1, cs.Int8ub),
    "type" / cs.Int8ub,
    "cmd_code" / cs.Int16ub,
    "version" / cs.Int8ub,
    "request_id" / cs.Int32ub,
    "codec" / cs.Int8ub,
    "timeout_or_status" / cs.Switch(cs.this.type, {0: cs.Int16ub}, default=cs.Int32sb),
    "class_len" / cs.Rebuild(cs.Int16ub, cs.len_(cs.this["class"])),
    "header_len" / cs.Rebuild(cs.Int16ub, _HeadersSize()),
    "content_len" / cs.Rebuild(cs.Int32ub, cs.len_(cs.this.content)),
    "class" / cs.Bytes(cs.this.class_len),
    "headers" / cs.FixedSized(cs.this.header_len, cs.GreedyRange(_PAIR)),
    "content" / cs.Bytes(cs.this.content_len),
)
"""A bolt frame (request or response by `type`), as construct users write it."""

CONSTRUCT_COMPILED = CONSTRUCT_FRAME.compile()
"""construct's own compiler over the same Struct (falls back to the interpreter
for the parts it cannot compile, such as GreedyRange)."""


def construct_container(frame: BoltRequest) -> dict[str, object]:
    """The dict CONSTRUCT_FRAME.build takes for `frame`."""
    return {
        "type": frame.type, "cmd_code": frame.cmd_code, "version": frame.version,
        "request_id": frame.request_id, "codec": frame.codec,
        "timeout_or_status": frame.timeout, "class": frame.class_name,
        "headers": [{"key": k, "value": v} for k, v in frame.headers],
        "content": frame.content,
    }
