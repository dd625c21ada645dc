"""Capture files written by hand: Ethernet, IPv4 and TCP headers around each
segment's bytes, one TCP stream per list of segments, with a handshake and
sequence numbers, so that tshark reassembles the streams as it would a capture."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CLIENT, SERVER = "client", "server"
_SYN, _ACK, _PSH = 0x02, 0x10, 0x08


@dataclass(frozen=True)
class Stream:
    """Segments of one TCP connection, in order: (the side that sends, bytes)."""

    server_port: int
    segments: Sequence[tuple[str, bytes]]


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def _packet(src: tuple[bytes, int], dst: tuple[bytes, int], seq: int, ack: int, flags: int,
            payload: bytes) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = src[0] + dst[0] + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64,
                     6, 0, src[0], dst[0])
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ether = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return ether + ip + tcp + payload


def _stream_packets(index: int, stream: Stream) -> Iterable[bytes]:
    client = (bytes([10, 1, index >> 8 & 0xFF, index & 0xFF]), 40000 + index % 20000)
    server = (bytes([10, 2, index >> 8 & 0xFF, index & 0xFF]), stream.server_port)
    seq = {CLIENT: 1000, SERVER: 5000}
    yield _packet(client, server, seq[CLIENT], 0, _SYN, b"")
    yield _packet(server, client, seq[SERVER], seq[CLIENT] + 1, _SYN | _ACK, b"")
    seq = {CLIENT: seq[CLIENT] + 1, SERVER: seq[SERVER] + 1}
    yield _packet(client, server, seq[CLIENT], seq[SERVER], _ACK, b"")
    for side, payload in stream.segments:
        other = SERVER if side == CLIENT else CLIENT
        src, dst = (client, server) if side == CLIENT else (server, client)
        yield _packet(src, dst, seq[side], seq[other], _ACK | _PSH, payload)
        seq[side] += len(payload)


def write_pcap(path: Path, streams: Sequence[Stream]) -> int:
    """Write the streams one after another; returns the number of packets."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    count = 0
    for i, stream in enumerate(streams):
        for packet in _stream_packets(i + 1, stream):
            count += 1
            out.append(struct.pack("<IIII", count, 0, len(packet), len(packet)) + packet)
    path.write_bytes(b"".join(out))
    return count
