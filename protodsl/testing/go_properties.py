"""The properties `protodsl test --target mosn-go` runs: the Go codec against the
Python one. Decoding reuses the Wasm properties' checks (Sides decodes with
whichever engine it has); Go's answers are whole frames, so they are compared
field by field, and every error by kind and text. Encoding is Go's own: frames,
and frames with one value Python refuses, go through both Encodes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from protodsl.ir import expr as ir
from protodsl.ir.model import BitMember, BytesField, Frame, IntField, KvMapField, Protocol
from protodsl.testing import strategies as strat
from protodsl.testing.entropy import Entropy, from_entropy
from protodsl.testing.go_engine import (
    GoFrame,
    frame_name,
    oracle_encode,
    spec_fields,
    state_fields,
)
from protodsl.testing.properties import (
    Mismatch,
    Property,
    Sides,
    _check_decode,
    _check_hostile,
    _check_prefix,
    _check_stream,
    _nothing,
)

LONGEST = 1 << 16
"""A sized field is made one byte too long for its computed length only when that
takes at most this many bytes, so an example stays cheap."""

Change = Callable[[Any, Entropy], None]


def _go_range(protocol: Protocol, node: IntField | BitMember) -> tuple[int, int]:
    """The values the Go struct's member can hold (naming.value_type)."""
    if isinstance(node, BitMember):
        bits = next(n for n in (8, 16, 32, 64) if node.width <= n)
        return 0, (1 << bits) - 1
    enum = protocol.enum(node.enum) if node.enum else None
    t = enum.base if enum is not None else node.type
    return t.min, t.max


def _changes(protocol: Protocol, codec: ModuleType, frame: Frame) -> list[Change]:
    """Ways to make a valid frame one Encode may refuse: a free value that may be
    wrong (Go holds more than its bits or the field, it has a closed enum, the
    frame's own condition reads it) set to anything Go can hold, or a sized field
    one byte longer than its computed length field holds."""
    attrs = codec.ATTRS[frame.name]
    claimed = ir.fields_read(frame.when)
    out: list[Change] = []
    for v in frame.values():
        if v.value is not None or not isinstance(v, IntField | BitMember):
            continue
        lo, hi = _go_range(protocol, v)
        own = (0, v.mask) if isinstance(v, BitMember) else (v.type.min, v.type.max)
        enum = protocol.enum(v.enum) if v.enum else None
        if (lo, hi) != own or (enum is not None and not enum.open) or v.name in claimed:
            out.append(_set_to(attrs[v.name], partial(Entropy.integer, lo=lo, hi=hi)))
    for el in frame.elements:
        if not isinstance(el, BytesField | KvMapField) or not isinstance(el.size, ir.FieldValue):
            continue
        length = frame.value(el.size.field)
        if not isinstance(length, IntField) or length.value is None or length.constant:
            continue
        n = length.type.max + 1
        if isinstance(el, KvMapField):
            n -= el.overhead
        if 0 < n <= LONGEST:
            big: Any = ([(b"", b"v" * n)] if isinstance(el, KvMapField)
                        else "t" * n if el.text else b"b" * n)
            out.append(_set_to(attrs[el.name], _always(big)))
    return out


def _set_to(attr: str, value: Callable[[Entropy], Any]) -> Change:
    def change(frame: Any, e: Entropy) -> None:
        setattr(frame, attr, value(e))
    return change


def _always(value: Any) -> Callable[[Entropy], Any]:
    return lambda e: value


def _off_frames(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[Any]:
    """Frames with a change Encode may refuse, and a quarter of them valid."""
    frames = strat.frame_maker(protocol, codec)
    changes = {codec.FRAMES[i]: _changes(protocol, codec, f)
               for i, f in enumerate(protocol.frames)}

    def make(e: Entropy) -> Any:
        # The change is drawn first: a large frame may use up the entropy, past
        # which every draw is a zero.
        pick, change = e.byte(), Entropy(e.raw(16))
        f = frames(e)
        if f is None or not pick & 3 or not changes[type(f)]:
            return f
        f = copy.deepcopy(f)
        options = changes[type(f)]
        options[(pick >> 2) % len(options)](f, change)
        return f
    return from_entropy(make)


def _check_encode(sides: Sides, frame: Any) -> None:
    """The same bytes, or the same refusal (kind and text)."""
    codec = sides.codec
    python = oracle_encode(codec, frame)
    go = sides.driver.encode(frame_name(sides.protocol, codec, frame),
                             spec_fields(sides.protocol, codec, frame), sides.go_state)
    if python != go:
        raise Mismatch("encode outcomes differ", None, python, go, "go")
    sides.cover_frame(frame)


def _check_roundtrip(sides: Sides, frame: Any) -> None:
    """Go encodes a frame to the Python codec's bytes and decodes them back to it."""
    codec, protocol = sides.codec, sides.protocol
    wire = codec.encode(frame)
    name, fields = frame_name(protocol, codec, frame), spec_fields(protocol, codec, frame)
    encoded = sides.driver.encode(name, fields, sides.go_state)
    if encoded != ("bytes", wire.hex()):
        raise Mismatch("encoded frames differ", wire, ("bytes", wire.hex()), encoded, "go")
    decoded = sides.driver.decode(wire, sides.go_state)
    after = state_fields(protocol, codec, codec.decode(wire).state)
    if decoded != ("frame", GoFrame(name, fields, len(wire), after)):
        raise Mismatch("decode(encode(f)) != f", wire, fields, decoded, "go")
    sides.cover_frame(frame)


GO_PROPERTIES: tuple[Property, ...] = (
    Property("go vs python: decode", "go", strat.encodings, _check_decode),
    Property("go vs python: prefixes need more", "go", strat.prefixes, _check_prefix),
    Property("go vs python: chunked streams", "go", strat.streams, _check_stream),
    Property("go vs python: hostile bytes", "go", strat.hostile_bytes, _check_hostile,
             requires=_nothing),
    Property("go vs python: encode, values refused", "go", _off_frames, _check_encode,
             "valid frames, and frames with a value out of its field's range"),
    Property("go: decode(encode(f)) == f", "go", lambda p, c: strat.frames(p, c),
             _check_roundtrip, "Go's bytes are Python's, and decode back to the frame"),
)
