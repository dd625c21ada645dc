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

from protodsl.host.errors import BufferFormatError

__all__ = [
    "ABI_MARKER",
    "ABI_MARKER_OLD",
    "FLAG_COPY_RAW_BYTES",
    "FLAG_HEARTBEAT",
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
    "pack_decode_data",
    "pack_encode_data",
    "pack_encode_request",
    "pack_hijack_request",
    "parse_decode_data",
    "parse_encode_data",
]

ABI_MARKER = "proxy_abi_mosn_version_0_2_0"
"""Export whose presence makes MOSN pick this ABI."""
ABI_MARKER_OLD = "proxy_abi_revision_0_2_0"
"""Marker exported by older plugins for the same ABI."""


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
FLAG_HEARTBEAT = 0x20
FLAG_REQUEST = 0x40
FLAG_ONEWAY = 0xC0
FLAG_RESPONSE = 0x00

CommandKind = Literal["request", "oneway", "response"]

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
    """Classify a command by ``flag >> 6`` exactly as MOSN does."""
    kind = (flag >> 6) & 0x3
    if kind == 0:
        return "response"
    if kind == 1:
        return "request"
    return "oneway"


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
        """``'request'``, ``'oneway'`` or ``'response'``, from ``flag >> 6``."""
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
    value followed by a NUL byte. An empty or missing map encodes to ``b""`` (the
    host then reports a configuration length of 0).
    """
    if not config:
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


def parse_decode_data(data: bytes | bytearray | memoryview) -> DecodedCommand:
    """Parse a DecodeData buffer; every length must fit exactly, with no trailing bytes."""
    buf = bytes(data)
    if len(buf) < 4:
        raise BufferFormatError(
            f"DecodeData buffer is {len(buf)} bytes, shorter than u32 header_bytes"
        )
    (header_bytes,) = _U32.unpack_from(buf, 0)
    fixed = _DECODE_TAIL.size
    if header_bytes > len(buf) - 4 - fixed:
        raise BufferFormatError(
            f"DecodeData header_bytes {header_bytes} leaves no room for the "
            f"{fixed}-byte fixed part in a {len(buf)}-byte buffer"
        )
    headers = decode_header_map(buf[4 : 4 + header_bytes])
    pos = 4 + header_bytes
    flag, cid, tos, drain_len, payload_len = _DECODE_TAIL.unpack_from(buf, pos)
    pos += fixed
    if payload_len != len(buf) - pos:
        raise BufferFormatError(
            f"DecodeData payload_len {payload_len} but {len(buf) - pos} bytes follow it"
        )
    return DecodedCommand(headers, flag, cid, tos, drain_len, buf[pos:])


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


def parse_encode_data(data: bytes | bytearray | memoryview) -> EncodedFrame:
    """Parse an EncodeData buffer (``header_bytes`` is normally 0 but a map is tolerated)."""
    buf = bytes(data)
    if len(buf) < 4:
        raise BufferFormatError(
            f"EncodeData buffer is {len(buf)} bytes, shorter than u32 header_bytes"
        )
    (header_bytes,) = _U32.unpack_from(buf, 0)
    fixed = _FRAME_HEAD.size - 4
    if header_bytes > len(buf) - 4 - fixed:
        raise BufferFormatError(
            f"EncodeData header_bytes {header_bytes} leaves no room for the "
            f"{fixed}-byte fixed part in a {len(buf)}-byte buffer"
        )
    headers = decode_header_map(buf[4 : 4 + header_bytes])
    pos = 4 + header_bytes
    flag, fid, tos, frame_len = struct.unpack_from(">BQII", buf, pos)
    pos += fixed
    if frame_len != len(buf) - pos:
        raise BufferFormatError(
            f"EncodeData frame_len {frame_len} but {len(buf) - pos} bytes follow it"
        )
    return EncodedFrame(flag, fid, tos, buf[pos:], headers)


def pack_hijack_request(flag: int, command_id: int, timeout: int, frame: bytes) -> bytes:
    """Build the buffer the host passes to ``proxy_hijack_buffer_bytes``.

    Layout: ``u32 0 | u8 flag | u64 id | u64 id | u32 timeout | u32 frame_len | frame``;
    MOSN writes the request id twice.
    """
    cid = command_id & _U64_MASK
    return _HIJACK_HEAD.pack(0, flag & 0xFF, cid, cid, timeout & _U32_MASK, len(frame)) + frame
