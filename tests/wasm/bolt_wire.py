"""An independent bolt v1 reader and writer for the Wasm tests: plain `struct`,
written from the protocol description, so the plugin is not checked against
code generated from the same IR."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

REQUEST = struct.Struct(">BBHBIBiHHI")  # 22 bytes
RESPONSE = struct.Struct(">BBHBIBHHHI")  # 20 bytes
NULL = 0xFFFFFFFF


@dataclass
class Bolt:
    type: int  # 0 response, 1 request, 2 oneway
    cmd_code: int
    request_id: int
    version: int = 1
    codec: int = 1
    timeout_or_status: int = 0  # timeout (i32) for requests, status for responses
    klass: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content: bytes = b""

    def encode(self) -> bytes:
        header = b"".join(
            struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v for k, v in self.headers
        )
        layout = RESPONSE if self.type == 0 else REQUEST
        head = layout.pack(1, self.type, self.cmd_code, self.version, self.request_id,
                           self.codec, self.timeout_or_status, len(self.klass), len(header),
                           len(self.content))
        return head + self.klass + header + self.content


def parse(frame: bytes) -> Bolt:
    """Parse one whole bolt v1 frame (pairs with a null key or value are dropped)."""
    layout = RESPONSE if frame[1] == 0 else REQUEST
    proto, typ, cmd, ver, rid, codec, tos, class_len, header_len, content_len = (
        layout.unpack_from(frame))
    assert proto == 1
    pos = layout.size
    klass = frame[pos:pos + class_len]
    pos += class_len
    section = frame[pos:pos + header_len]
    pos += header_len
    content = frame[pos:pos + content_len]
    assert pos + content_len == len(frame), "frame length disagrees with its header"
    return Bolt(typ, cmd, rid, ver, codec, tos, klass, header_pairs(section), content)


def header_pairs(section: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    i = 0
    while i < len(section):
        parts: list[bytes | None] = []
        for _ in range(2):
            (n,) = struct.unpack_from(">I", section, i)
            i += 4
            if n == NULL:
                parts.append(None)
            else:
                parts.append(section[i:i + n])
                i += n
        key, value = parts
        if key is not None and value is not None:
            out.append((key, value))
    return out


def with_id(frame: bytes, request_id: int) -> bytes:
    """The same frame carrying another request id (bytes 5..8 in both layouts)."""
    return frame[:5] + struct.pack(">I", request_id) + frame[9:]
