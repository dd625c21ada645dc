"""Constants and byte layouts of MOSN's x-protocol Wasm ABI (``proxy_abi_mosn_version_0_2_0``).

This module is pure Python (no wasmtime) so codecs, tests and tools can build or
check the buffers that cross the host/plugin boundary without loading a plugin.
See ``docs/mosn-abi.md`` for the contract these helpers implement byte for byte.
All integers inside protocol buffers are big-endian; only the proxy-wasm
configuration map is little-endian.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from protodsl.host.errors import BufferFormatError, MosnFailure

__all__ = [
    "ABI_MARKER",
    "FLAG_COPY_RAW_BYTES",
    "FLAG_HEARTBEAT",
    "FLAG_KIND",
    "FLAG_LOW_BITS",
    "FLAG_ONEWAY",
    "FLAG_REQUEST",
    "FLAG_RESPONSE",
    "BufferType",
    "CommandKind",
    "ConfigLike",
    "DecodedCommand",
    "EncodedFrame",
    "HeaderItem",
    "HeaderList",
    "HeadersLike",
    "LogLevel",
    "Status",
    "command_kind",
    "decode_config_map",
    "decode_header_map",
    "encode_config_map",
    "encode_header_map",
    "mosn_decode_header",
    "mosn_flag",
    "pack_decode_data",
    "pack_encode_data",
    "pack_encode_request",
    "pack_hijack_request",
    "parse_decode_data",
    "parse_encode_data",
]

ABI_MARKER = "proxy_abi_mosn_version_0_2_0"
"""Export whose presence makes MOSN pick this ABI; MOSN's protocol layer needs exactly it."""


class Status(IntEnum):
    """Status codes a plugin returns from protocol calls and the host from host calls."""

    OK = 0
    NOT_FOUND = 1
    BAD_ARGUMENT = 2
    EMPTY = 7
    INTERNAL_FAILURE = 10
    NEED_MORE_DATA = 99


class BufferType(IntEnum):
    """Buffer ids understood by ``proxy_get_buffer_bytes`` / ``proxy_set_buffer_bytes``."""

    HTTP_REQUEST_BODY = 0
    HTTP_RESPONSE_BODY = 1
    DOWNSTREAM_DATA = 2
    UPSTREAM_DATA = 3
    HTTP_CALL_RESPONSE_BODY = 4
    GRPC_RECEIVE_BUFFER = 5
    VM_CONFIGURATION = 6
    PLUGIN_CONFIGURATION = 7
    DECODE_DATA = 13
    ENCODE_DATA = 14


class LogLevel(IntEnum):
    """proxy-wasm log levels as passed to ``proxy_log``."""

    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4
    CRITICAL = 5


FLAG_COPY_RAW_BYTES = 0x01
"""MOSN's SDK sets it in every flag: MOSN's header reader runs past the header map
into the flag byte, and with this bit set it stops there (docs/mosn-abi.md)."""
FLAG_LOW_BITS = 0x1F
"""The bits MOSN ignores (CopyRawBytes, readonly, unused); a protodsl plugin sets all
of them, so that the reader stops at the flag for any buffer under 0x1F000000 bytes."""
FLAG_HEARTBEAT = 0x20
FLAG_REQUEST = 0x40
FLAG_ONEWAY = 0x80
"""A oneway request as a plugin reports it on decode: MOSN refuses kind 3 (0xC0)."""
FLAG_RESPONSE = 0x00
FLAG_KIND = 0xC0
"""The command kind is ``flag >> 6``: 0 response, 1 request, 2 oneway, 3 refused."""

CommandKind = Literal["request", "oneway", "response", "refused"]

HeaderItem = tuple[bytes, bytes]
HeaderList = list[HeaderItem]
HeadersLike = (
    Mapping[str, bytes | str]
    | Mapping[bytes, bytes | str]
    | Iterable[tuple[bytes | str, bytes | str]]
)
"""Headers as accepted by the encoders: a mapping or (key, value) pairs; str is UTF-8."""

_U32 = struct.Struct(">I")
_U32LE = struct.Struct("<I")
_U32LE_PAIR = struct.Struct("<II")
_DECODE_TAIL = struct.Struct(">BQIII")  # flag, id, timeout/status, drain_len, payload_len
_ENCODE_REQ_TAIL = struct.Struct(">BQQII")  # flag, replaced_id, command_id, t/s, payload_len
_FRAME_HEAD = struct.Struct(">IBQII")  # header_bytes, flag, id, timeout/status, frame_len
_HIJACK_HEAD = struct.Struct(">IBQQII")  # 0, flag, id, id, timeout, frame_len
_U64_MASK = (1 << 64) - 1
_U32_MASK = (1 << 32) - 1


def command_kind(flag: int) -> CommandKind:
    """Classify a command by ``flag >> 6`` as MOSN's decode does (3: it refuses it)."""
    return ("response", "request", "oneway", "refused")[(flag >> 6) & 0x3]


def mosn_flag(flag: int) -> int:
    """The flag MOSN passes back for a command a plugin reported with `flag`, on
    encode and hijack: 0x40 for any request (MOSN's decode makes a two-way
    request of a oneway one, and refuses 0xC0), 0 for a response, plus the
    heartbeat bit (exports.go)."""
    kind = FLAG_RESPONSE if flag >> 6 == 0 else FLAG_REQUEST
    return kind | (flag & FLAG_HEARTBEAT)


@dataclass(frozen=True, slots=True)
class DecodedCommand:
    """One command as a plugin reports it in the DecodeData buffer (buffer type 13)."""

    headers: HeaderList
    flag: int
    id: int
    timeout_or_status: int
    drain_len: int
    payload: bytes

    @property
    def kind(self) -> CommandKind:
        """``'request'``, ``'oneway'`` or ``'response'``, from ``flag >> 6``."""
        return command_kind(self.flag)

    @property
    def is_request(self) -> bool:
        """True for requests and oneway requests (MOSN routes them upstream)."""
        return self.kind != "response"

    @property
    def mosn_flag(self) -> int:
        """The flag MOSN passes back for this command (see :func:`mosn_flag`)."""
        return mosn_flag(self.flag)

    @property
    def is_oneway(self) -> bool:
        """True when no response is expected."""
        return self.kind == "oneway"

    @property
    def heartbeat(self) -> bool:
        """True when the heartbeat bit (0x20) is set."""
        return bool(self.flag & FLAG_HEARTBEAT)

    def header(self, key: bytes | str) -> bytes | None:
        """Return the first value for ``key`` (MOSN routes on such lookups), else None."""
        wanted = _as_bytes(key)
        for k, v in self.headers:
            if k == wanted:
                return v
        return None


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """The wire frame a plugin reports in the EncodeData buffer (buffer type 14)."""

    flag: int
    id: int
    timeout_or_status: int
    frame: bytes
    headers: HeaderList = field(default_factory=list)

    @property
    def kind(self) -> CommandKind:
        """``'request'``, ``'oneway'`` or ``'response'``, from ``flag >> 6`` (MOSN ignores it)."""
        return command_kind(self.flag)

    @property
    def heartbeat(self) -> bool:
        """True when the heartbeat bit (0x20) is set."""
        return bool(self.flag & FLAG_HEARTBEAT)


def _as_bytes(value: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _items(headers: HeadersLike | None) -> Iterable[tuple[bytes | str, bytes | str]]:
    if headers is None:
        return ()
    if isinstance(headers, Mapping):
        return headers.items()
    return headers


def encode_header_map(headers: HeadersLike | None) -> bytes:
    """Encode headers as repeated ``u32 key_len | key | u32 value_len | value`` (big-endian)."""
    parts: list[bytes] = []
    for key, value in _items(headers):
        k = _as_bytes(key)
        v = _as_bytes(value)
        parts += (_U32.pack(len(k)), k, _U32.pack(len(v)), v)
    return b"".join(parts)


def decode_header_map(data: bytes | bytearray | memoryview) -> HeaderList:
    """Decode a header map, keeping wire order and duplicates; reject any truncation."""
    buf = bytes(data)
    out: HeaderList = []
    pos = 0
    end = len(buf)
    while pos < end:
        pair: list[bytes] = []
        for what in ("key", "value"):
            if end - pos < 4:
                raise BufferFormatError(
                    f"header map truncated: {what} length at offset {pos} needs 4 bytes, "
                    f"{end - pos} left"
                )
            (n,) = _U32.unpack_from(buf, pos)
            pos += 4
            if n > end - pos:
                raise BufferFormatError(
                    f"header map {what} length {n} at offset {pos - 4} exceeds the "
                    f"{end - pos} bytes left"
                )
            pair.append(buf[pos : pos + n])
            pos += n
        out.append((pair[0], pair[1]))
    return out


ConfigLike = Mapping[str, bytes | str] | Mapping[bytes, bytes | str]
"""A configuration map as accepted by :func:`encode_config_map`; str is UTF-8."""


def encode_config_map(config: ConfigLike | None) -> bytes:
    """Encode a configuration map in proxy-wasm's little-endian pair encoding.

    ``u32 pairs``, then ``u32 key_len, u32 val_len`` per pair, then each key and
    value followed by a NUL byte, as MOSN's ``EncodeMap``; a missing map (MOSN's
    VM configuration of a codec, an EOF buffer) is ``b""``, an empty one its count.
    """
    if config is None:
        return b""
    pairs = [(_as_bytes(k), _as_bytes(v)) for k, v in config.items()]
    sizes = b"".join(_U32LE_PAIR.pack(len(k), len(v)) for k, v in pairs)
    body = b"".join(k + b"\0" + v + b"\0" for k, v in pairs)
    return _U32LE.pack(len(pairs)) + sizes + body


def decode_config_map(data: bytes | bytearray | memoryview) -> HeaderList:
    """Decode a proxy-wasm configuration map into (key, value) pairs; ``b""`` is empty."""
    buf = bytes(data)
    if not buf:
        return []
    if len(buf) < 4:
        raise BufferFormatError(f"config map needs a 4-byte pair count, got {len(buf)} bytes")
    (count,) = _U32LE.unpack_from(buf, 0)
    if count > (len(buf) - 4) // 8:
        raise BufferFormatError(f"config map declares {count} pairs in {len(buf)} bytes")
    sizes = [_U32LE_PAIR.unpack_from(buf, 4 + 8 * i) for i in range(count)]
    pos = 4 + 8 * count
    out: HeaderList = []
    for klen, vlen in sizes:
        items: list[bytes] = []
        for n in (klen, vlen):
            if n + 1 > len(buf) - pos:
                raise BufferFormatError(f"config map entry of {n} bytes overruns the buffer")
            if buf[pos + n] != 0:
                raise BufferFormatError(f"config map entry at offset {pos} is not NUL-terminated")
            items.append(buf[pos : pos + n])
            pos += n + 1
        out.append((items[0], items[1]))
    if pos != len(buf):
        raise BufferFormatError(f"config map has {len(buf) - pos} trailing bytes")
    return out


def pack_decode_data(command: DecodedCommand) -> bytes:
    """Build the DecodeData buffer a plugin reports for ``command``."""
    headers = encode_header_map(command.headers)
    return b"".join(
        (
            _U32.pack(len(headers)),
            headers,
            _DECODE_TAIL.pack(
                command.flag & 0xFF,
                command.id & _U64_MASK,
                command.timeout_or_status & _U32_MASK,
                command.drain_len & _U32_MASK,
                len(command.payload),
            ),
            command.payload,
        )
    )


_U32_WRAP = 0xFFFFFFFF


def _go_u32(buf: bytes, index: int, what: str, call: str) -> int:
    """``binary.BigEndian.Uint32(content[index:])``: Go panics past the end."""
    if index + 4 > len(buf):
        raise MosnFailure(
            f"the {call} buffer ends before {what} ({len(buf)} bytes, {what} at offset {index})",
            "the goroutine panics with an index out of range and the connection is lost",
        )
    return int(_U32.unpack_from(buf, index)[0])


def mosn_decode_header(data: bytes, call: str = "DecodeData") -> HeaderList:
    """The header entries MOSN reads from ``data``: ``xprotocol.DecodeHeader``
    (mosn.io/pkg header/bytes.go), which MOSN runs over the whole rest of the
    buffer after ``header_bytes``, not over ``header_bytes`` only. It goes on
    reading the bytes after the map (the flag, the id ...) as entries: a length
    of all ones skips four bytes, a length past the end stops it, and fewer than
    four bytes left for a length makes it panic."""
    total, index = len(data), 0
    out: HeaderList = []
    while index < total:
        pair: list[bytes] = []
        for what in ("key", "value"):
            if total - index < 4:
                raise MosnFailure(
                    f"MOSN reads the {call} header map to the end of the buffer, and "
                    f"{total - index} bytes are left for a {what} length at offset "
                    f"{index + 4} (after {len(out)} entries)",
                    "DecodeHeader panics with an index out of range and the connection is "
                    "lost; set bit 0 of the flag (CopyRawBytes) so that its reader stops there",
                )
            (n,) = _U32.unpack_from(data, index)
            if n == 0xFFFFFFFF:
                index += 4
                break
            end = index + 4 + n
            if end > total:
                return out
            pair.append(data[index + 4 : end])
            index = end
        if len(pair) == 2:
            out.append((pair[0], pair[1]))
    return out


def _header_view(buf: bytes, header_bytes: int, call: str) -> HeaderList:
    """The headers MOSN reads, which must be the map the plugin reported: MOSN
    reads the entries over the rest of the buffer, then the flag after
    ``header_bytes``."""
    if header_bytes == 0:
        return []
    seen = mosn_decode_header(buf[4:], call)
    if (4 + header_bytes) & _U32_WRAP >= len(buf):
        raise MosnFailure(
            f"{call} header_bytes {header_bytes} runs past the {len(buf)}-byte buffer",
            "reading what follows the map panics with an index out of range",
        )
    try:
        declared = decode_header_map(buf[4 : 4 + header_bytes])
    except BufferFormatError as exc:
        declared = None
        why = str(exc)
    if seen != declared:
        what = (f"the map in header_bytes does not parse ({why})" if declared is None else
                f"it sees {len(seen)} headers where the plugin reported {len(declared)} "
                f"(extra: {seen[len(declared):]!r})")
        raise MosnFailure(
            f"MOSN reads the {call} header map to the end of the buffer, not over its "
            f"header_bytes ({header_bytes}): {what}",
            "routing and the headers passed back on encode are made of the flag and id "
            "bytes; set bit 0 of the flag (CopyRawBytes) so that its reader stops at the flag",
        )
    return seen


def parse_decode_data(data: bytes | bytearray | memoryview) -> DecodedCommand:
    """Read a DecodeData buffer as MOSN's ``decode()`` (pkg/protocol/xprotocol/wasm/
    decode.go) does, and raise :class:`MosnFailure` where MOSN fails: it panics on
    a short buffer, reads the header map to the end of the buffer, refuses a flag
    kind of 3, and takes ``payload_len`` bytes after its field, ignoring what follows.
    Offsets are uint32 in MOSN and wrap as they do there."""
    buf = bytes(data)
    header_bytes = _go_u32(buf, 0, "header_bytes", "DecodeData")
    headers = _header_view(buf, header_bytes, "DecodeData")
    at = (4 + header_bytes) & _U32_WRAP
    if at >= len(buf):
        raise MosnFailure(
            f"DecodeData header_bytes {header_bytes} leaves no flag in a {len(buf)}-byte buffer",
            "the goroutine panics with an index out of range and the connection is lost",
        )
    flag = buf[at]
    if at + 9 > len(buf):
        raise MosnFailure(
            f"the DecodeData buffer ends inside the id ({len(buf)} bytes)",
            "the goroutine panics with an index out of range and the connection is lost",
        )
    (cid,) = struct.unpack_from(">Q", buf, at + 1)
    if flag >> 6 == 3:
        raise MosnFailure(
            f"the plugin reported flag 0x{flag:02x}, kind 3 (0xC0, the ABI's oneway)",
            "decode fails with 'unknown protocol flag type' and the connection is closed; "
            "report a oneway request with 0x80",
        )
    at = (13 + header_bytes) & _U32_WRAP
    tos = _go_u32(buf, at, "timeout/status", "DecodeData")
    drain_len = _go_u32(buf, (at + 4) & _U32_WRAP, "drain_len", "DecodeData")
    payload_len = _go_u32(buf, (at + 8) & _U32_WRAP, "payload_len", "DecodeData")
    start = (at + 12) & _U32_WRAP
    if start + payload_len > len(buf):
        raise MosnFailure(
            f"DecodeData payload_len {payload_len} runs past the {len(buf)}-byte buffer",
            "the payload slice panics (or copies bytes past the buffer) ",
        )
    return DecodedCommand(headers, flag, cid, tos, drain_len, buf[start : start + payload_len])


def parse_encode_data(data: bytes | bytearray | memoryview) -> EncodedFrame:
    """Read an EncodeData buffer as MOSN's ``encode()`` (encode.go) does: it runs
    the header reader over the rest of the buffer when ``header_bytes`` is not 0,
    then takes ``frame_len`` bytes after its field; flag, id and timeout or
    status are read here for tests only (MOSN ignores them)."""
    buf = bytes(data)
    header_bytes = _go_u32(buf, 0, "header_bytes", "EncodeData")
    headers = _header_view(buf, header_bytes, "EncodeData")
    at = (4 + header_bytes) & _U32_WRAP
    if at + 13 > len(buf):
        raise MosnFailure(
            f"the EncodeData buffer ends inside the flag, id or timeout ({len(buf)} bytes)",
            "the goroutine panics with an index out of range",
        )
    flag, fid, tos = struct.unpack_from(">BQI", buf, at)
    frame_len = _go_u32(buf, (17 + header_bytes) & _U32_WRAP, "frame_len", "EncodeData")
    start = (21 + header_bytes) & _U32_WRAP
    if start + frame_len > len(buf):
        raise MosnFailure(
            f"EncodeData frame_len {frame_len} runs past the {len(buf)}-byte buffer",
            "the frame slice panics (or copies bytes past the buffer)",
        )
    return EncodedFrame(flag, fid, tos, buf[start : start + frame_len], headers)


def pack_encode_request(
    headers: HeadersLike | None,
    flag: int,
    replaced_id: int,
    command_id: int,
    timeout_or_status: int,
    payload: bytes,
) -> bytes:
    """Build the buffer the host passes to ``proxy_encode_buffer_bytes``."""
    header_map = encode_header_map(headers)
    return b"".join(
        (
            _U32.pack(len(header_map)),
            header_map,
            _ENCODE_REQ_TAIL.pack(
                flag & 0xFF,
                replaced_id & _U64_MASK,
                command_id & _U64_MASK,
                timeout_or_status & _U32_MASK,
                len(payload),
            ),
            payload,
        )
    )


def pack_encode_data(frame: EncodedFrame) -> bytes:
    """Build the EncodeData buffer a plugin reports for ``frame``."""
    header_map = encode_header_map(frame.headers)
    head = _FRAME_HEAD.pack(
        len(header_map),
        frame.flag & 0xFF,
        frame.id & _U64_MASK,
        frame.timeout_or_status & _U32_MASK,
        len(frame.frame),
    )
    return head[:4] + header_map + head[4:] + frame.frame


def pack_hijack_request(flag: int, command_id: int, timeout: int, frame: bytes) -> bytes:
    """Build the buffer the host passes to ``proxy_hijack_buffer_bytes``.

    Layout: ``u32 0 | u8 flag | u64 id | u64 id | u32 timeout | u32 frame_len | frame``;
    MOSN writes the request id twice.
    """
    cid = command_id & _U64_MASK
    return _HIJACK_HEAD.pack(0, flag & 0xFF, cid, cid, timeout & _U32_MASK, len(frame)) + frame
