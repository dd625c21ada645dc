"""Decoding recorded connections with a generated codec: `decode(buf, state)`
returns `Decoded(frame, consumed, state)`, `encode(frame, state)`,
`next_state(frame, state)`. State is per connection and shared by both
directions: chunks are replayed in recorded order, each direction with its own
buffer, one state threaded through every frame of both (MQTT's CONNECT, from
the client, sets the level the server's CONNACK is laid out by). A spec that
keeps state per side (HTTP/2's SETTINGS_MAX_FRAME_SIZE) is told whose bytes
each frame is: the client's going to the server, the server's coming back.

Also here: tiny independent framers (MQTT fixed header, HTTP/2 frame header),
used to say which packet types the sessions produced whatever the codec can
decode, and to wait for a reply while a session runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from tests.recorder import DIRECTIONS, Connection, Direction

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SIDES: dict[Direction, str] = {"c2s": "client", "s2c": "server"}
ENGINES = ("decode", "reference_decode")


@dataclass
class Frame:
    """One decoded frame and the exact bytes it came from."""

    direction: Direction
    offset: int  # in its direction's byte stream
    wire: bytes
    frame: Any
    state_before: Any
    state_after: Any


@dataclass
class Stream:
    """One direction of a decoded connection: its frames, and why decoding
    stopped short of the last byte if it did (`error`, `leftover`)."""

    direction: Direction
    size: int = 0
    frames: list[Frame] = field(default_factory=list)
    error: str | None = None

    @property
    def decoded(self) -> int:
        return sum(len(f.wire) for f in self.frames)

    def problem(self) -> str | None:
        """None if the direction decoded to its very last byte."""
        if self.error is not None:
            return self.error
        if self.decoded != self.size:
            return (f"{self.direction}: need-more at the end: {self.size - self.decoded} "
                    f"bytes left after {len(self.frames)} frames")
        return None


def decode_connection(module: ModuleType, chunks: list[tuple[Direction, bytes]],
                      engine: str = "decode") -> dict[Direction, Stream]:
    """Replays a connection's chunks in order and decodes every whole frame as
    soon as its last byte arrives. An error stops both directions: the state
    cannot go on."""
    state = module.State()
    sides = hasattr(state, "side")
    decode = getattr(module, engine)
    bufs: dict[Direction, bytearray] = {d: bytearray() for d in DIRECTIONS}
    pos: dict[Direction, int] = {d: 0 for d in DIRECTIONS}
    streams = {d: Stream(d) for d in DIRECTIONS}
    stopped = False
    for direction, chunk in chunks:
        bufs[direction] += chunk
        streams[direction].size += len(chunk)
        stream = streams[direction]
        while not stopped and stream.error is None:
            start = pos[direction]
            rest = bytes(bufs[direction][start:])
            if not rest:
                break
            if sides:
                state = replace(state, side=SIDES[direction])
            try:
                result = decode(rest, state)
            except module.ProtocolError as exc:
                stream.error = (f"{direction}: {type(exc).__name__} at byte {start} "
                                f"(frame {len(stream.frames)}): {exc}; next bytes "
                                f"{rest[:24].hex()}")
                stopped = True
                other = streams["s2c" if direction == "c2s" else "c2s"]
                other.error = other.error or f"{other.direction}: stopped: {direction} failed"
                break
            if isinstance(result, module.NeedMore):
                break
            stream.frames.append(Frame(direction, start, rest[:result.consumed], result.frame,
                                       state, result.state))
            pos[direction] = start + result.consumed
            state = result.state
    return streams


def decode_both(module: ModuleType, conn: Connection) -> dict[Direction, Stream]:
    """Decodes with both engines; raises AssertionError if they disagree on any
    frame (or state) they both reached, returns the straight engine's reading."""
    chunks = conn.snapshot()
    straight = decode_connection(module, chunks, "decode")
    reference = decode_connection(module, chunks, "reference_decode")
    for d in DIRECTIONS:
        a, b = straight[d].frames, reference[d].frames
        for i, (fa, fb) in enumerate(zip(a, b, strict=False)):
            assert (fa.wire, fa.frame, fa.state_after) == (fb.wire, fb.frame, fb.state_after), (
                f"{d} frame {i} at byte {fa.offset}: decode and reference_decode differ:\n"
                f"  {fa.frame!r}\n  {fb.frame!r}")
        assert len(a) == len(b) and straight[d].problem() == reference[d].problem(), (
            f"{d}: decode read {len(a)} frames ({straight[d].problem()}), "
            f"reference_decode {len(b)} ({reference[d].problem()})")
    return straight


def reencode(module: ModuleType, f: Frame, engine: str = "encode") -> bytes:
    """The frame encoded again, in the state it was decoded in."""
    fn: Callable[..., bytes] = getattr(module, engine)
    return fn(f.frame, f.state_before)


def check_next_state(module: ModuleType, f: Frame) -> None:
    """`next_state` agrees with the state decode returned."""
    assert module.next_state(f.frame, f.state_before) == f.state_after, (
        f"{f.direction} at byte {f.offset}: next_state disagrees with decode")


# --- independent framers: what crossed the wire, whatever the codec says ----

def mqtt_packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(packet type, whole packet) from an MQTT byte stream, by the fixed
    header alone; stops at an incomplete packet."""
    i = 0
    while i + 2 <= len(data):
        size, shift, j = 0, 0, i + 1
        while j < len(data) and j - i <= 4:
            size |= (data[j] & 0x7F) << shift
            shift += 7
            j += 1
            if not data[j - 1] & 0x80:
                break
        else:
            return
        if j + size > len(data):
            return
        yield data[i] >> 4, data[i:j + size]
        i = j + size


def h2_frames(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(type, flags, stream id, whole frame) from an HTTP/2 byte stream, past
    the client preface if it starts with one; stops at an incomplete frame."""
    i = len(H2_PREFACE) if data.startswith(H2_PREFACE) else 0
    while i + 9 <= len(data):
        length = int.from_bytes(data[i:i + 3], "big")
        if i + 9 + length > len(data):
            return
        sid = int.from_bytes(data[i + 5:i + 9], "big") & 0x7FFFFFFF
        yield data[i + 3], data[i + 4], sid, data[i:i + 9 + length]
        i += 9 + length
