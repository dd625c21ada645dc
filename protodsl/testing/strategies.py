"""Hypothesis strategies derived from the IR: frames that respect the spec, and
byte strings built from their encodings.

Each strategy is one drawn byte string read by a maker (see `entropy`): makers
compose (a prefix is a frame, then a cut), and an example costs one draw."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from protodsl.codecs import state_env
from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BytesField,
    Frame,
    IntField,
    KvMapField,
    ListField,
    Protocol,
    VarintField,
    names_of,
)
from protodsl.testing.entropy import Entropy, from_entropy

# Variable-size fields stay small so examples run fast; each still reaches the
# empty case and sizes past 255 (a one-byte length would overflow there).
DEFAULT_MAX_BYTES = 300
MAX_PAIRS = 6


def _pins(frame: Frame) -> dict[str, tuple[int, ...]]:
    """Values that `when` allows for a field, where it says so plainly."""
    pins: dict[str, tuple[int, ...]] = {}
    for node in ir.walk(frame.when):
        match node:
            case ir.Binary(op="==", left=ir.FieldValue(field=name), right=right) if (
                ir.is_constant(right)
            ):
                pins[name] = (ir.evaluate(right),)
            case ir.InSet(operand=ir.FieldValue(field=name), values=values):
                pins[name] = values
            case _:
                pass
    return pins


Make = Callable[[Entropy], Any]


def _int_maker(protocol: Protocol, v: IntField | BitMember | VarintField,
               pins: dict[str, tuple[int, ...]]) -> Callable[[Entropy], int]:
    if v.name in pins:
        pinned = pins[v.name]
        return lambda e: e.choice(pinned)
    if isinstance(v, BitMember):
        lo, hi = 0, v.mask
    elif isinstance(v, VarintField):
        lo, hi = 0, v.max
    else:
        lo, hi = v.type.min, v.type.max
    enum = protocol.enum(v.enum) if v.enum else None
    if enum is None:
        return _range_maker(lo, hi)
    members = tuple(m.value for m in enum.members)
    if not enum.open:
        return lambda e: e.choice(members)
    # An open enum: mostly its members, a quarter of the time any value.
    return lambda e: e.integer(lo, hi) if e.chance(64) else e.choice(members)


def _range_maker(lo: int, hi: int) -> Callable[[Entropy], int]:
    return lambda e: e.integer(lo, hi)


def _size_limit(frame: Frame, element: BytesField | KvMapField | ListField) -> int:
    """The most bytes a sized field can hold: the range of its length field."""
    limit = DEFAULT_MAX_BYTES
    if isinstance(element.size, ir.FieldValue):
        length = frame.value(element.size.field)
        if isinstance(length, IntField):
            limit = min(limit, length.type.max)
        elif isinstance(length, BitMember):
            limit = min(limit, length.mask)
    return limit


def _records_maker(protocol: Protocol, codec: ModuleType, frame: Frame, e: ListField) -> Make:
    record = protocol.record(e.record)
    assert record is not None
    cls = codec.RECORDS[e.record]
    attrs = codec.ATTRS[e.record]
    members: list[tuple[str, Make]] = []
    for f in record.elements:
        if isinstance(f, IntField | VarintField) and f.value is None:
            members.append((attrs[f.name], _int_maker(protocol, f, {})))
        elif isinstance(f, BytesField):  # sized by its own length field: short and long
            members.append((attrs[f.name], _text_maker(40) if f.text else _bytes_maker(40)))
    # Variable entries are 3 bytes and more: a few, not a section's worth.
    most = 8 if record.variable else max(0, _size_limit(frame, e) // record.size)
    optional = [(f.present, attrs[f.name]) for f in record.elements if f.present is not None
                and not (isinstance(f, IntField) and f.value is not None)]
    carried = [(f.name, attrs[f.name]) for f in record.elements
               if not (isinstance(f, IntField | VarintField) and f.value is not None)]

    def entry(en: Entropy) -> Any:
        r = cls(**{a: m(en) for a, m in members})
        for present, a in optional:  # a member an entry leaves off decodes as zero or empty
            # a condition may read a computed member: a length of what is left so far
            if not ir.evaluate(present, record.entry_env(
                    {name: getattr(r, attr) for name, attr in carried})):
                current = getattr(r, a)
                setattr(r, a, 0 if isinstance(current, int) else type(current)())
        return r

    def make(en: Entropy) -> list[Any]:
        return [entry(en) for _ in range(en.size(most))]
    return make


def _bytes_maker(limit: int) -> Make:
    return lambda e: e.blob(e.size(limit))


def _text_maker(limit: int) -> Make:
    return lambda e: e.text(limit)


def sized_maker(frame: Frame, e: BytesField | KvMapField) -> Make:
    """Contents for a sized field: short and long, empty included, within its length field."""
    if isinstance(e, KvMapField):
        limit = _size_limit(frame, e)
        overhead = e.overhead
        # Empty, short, long and non-ASCII (UTF-8 and not) keys and values.
        blob = _bytes_maker(200)

        def pairs(en: Entropy) -> list[tuple[bytes, bytes]]:
            out: list[tuple[bytes, bytes]] = []
            used = 0
            for _ in range(en.size(MAX_PAIRS)):
                k, v = blob(en), blob(en)
                used += overhead + len(k) + len(v)
                if used > limit:
                    break
                out.append((k, v))
            return out
        return pairs
    fixed = ir.evaluate(e.size) if ir.is_constant(e.size) else None
    limit = fixed if fixed is not None else _size_limit(frame, e)
    if e.text:
        text = _text_maker(limit)
        if e.pad is None:
            return text
        pad_char = chr(e.pad)
        return lambda en: text(en).rstrip(pad_char)
    if fixed is not None and e.pad is None:
        return lambda en: en.blob(fixed)
    raw = _bytes_maker(limit)
    if e.pad is None:
        return raw
    pad = bytes([e.pad])
    return lambda en: raw(en).rstrip(pad)


def frame_maker(protocol: Protocol, codec: ModuleType, variant: str | None = None
                ) -> Callable[[Entropy], Any | None]:
    """Makes frames of every variant (or one) from entropy, valid as the spec
    defines validity: constants, enums, bit widths, sizes and the frame's own
    `when`; None when the values drawn fall to another variant."""
    return _part(_made_maker(protocol, codec, variant), 0)


def wire_maker(protocol: Protocol, codec: ModuleType) -> Callable[[Entropy], bytes | None]:
    """Makes valid wire frames: the encodings of `frame_maker`'s frames."""
    return _part(_made_maker(protocol, codec, None), 1)


def _part(made: Callable[[Entropy], _Made | None], index: int) -> Callable[[Entropy], Any]:
    """The frame (0) or the wire (1) of what `made` makes; None stays None."""
    def make(e: Entropy) -> Any:
        m = made(e)
        return None if m is None else m[index]
    return make


def frames(protocol: Protocol, codec: ModuleType, variant: str | None = None
           ) -> st.SearchStrategy[Any]:
    """Frames of every variant (or one); see `frame_maker`."""
    return from_entropy(frame_maker(protocol, codec, variant))


_Made = tuple[Any, bytes]  # a frame and its encoding


def _made_maker(protocol: Protocol, codec: ModuleType, variant: str | None
                ) -> Callable[[Entropy], _Made | None]:
    makers = [_one_frame_maker(protocol, codec, f) for f in protocol.frames
              if variant in (None, f.name)]
    if len(makers) == 1:
        return makers[0]
    return lambda e: e.choice(makers)(e)


def _one_frame_maker(protocol: Protocol, codec: ModuleType, frame: Frame
                     ) -> Callable[[Entropy], _Made | None]:
    index = protocol.frames.index(frame)
    cls = codec.FRAMES[index]
    attr = codec.ATTRS[frame.name]
    pins = _pins(frame)
    fields: list[tuple[str, Make]] = []
    for name in frame.free_names():
        value = frame.value(name)
        if value is not None:
            fields.append((attr[name], _int_maker(protocol, value, pins)))
            continue
        element = frame.element(name)
        if isinstance(element, ListField):
            fields.append((attr[name], _records_maker(protocol, codec, frame, element)))
            continue
        assert isinstance(element, BytesField | KvMapField)
        fields.append((attr[name], sized_maker(frame, element)))
    earlier = protocol.frames[:index]
    plain = [(v.name, attr[v.name]) for v in frame.values()  # not read off the encoding
             if not isinstance(v.value, ir.Checksum | ir.Rest)]
    free = set(frame.free_names())
    # `more()`: the fields are written when given (not zero or empty), as drawn.
    optional = [(ir.substitute(e.present, _more_holds), [attr[n] for n in names_of(e)
                                                          if n in free])
                for e in frame.elements if e.present is not None]

    state = state_env(codec)  # a stateful spec's codec is bound to a connection state
    # A frame that reads a member this state leaves unset cannot be made in it.
    makeable = all(f"state.{m}" in state for m in frame.state_reads())

    def make(e: Entropy) -> _Made | None:
        if not makeable:
            return None
        f = cls(**{a: m(e) for a, m in fields})
        values = {name: int(getattr(f, a)) for name, a in plain} | state
        if not _when_holds(frame, values) or any(_when_holds(o, values) for o in earlier):
            return None
        for present, names in optional:  # a field left off the wire decodes as zero or empty
            if not ir.evaluate(present, values):
                for a in names:
                    current = getattr(f, a)
                    setattr(f, a, 0 if isinstance(current, int) else type(current)())
        try:
            return f, codec.encode(f)
        except (codec.EncodeError, codec.StateUnset):
            return None

    return make


def _more_holds(node: ir.Expr) -> ir.Expr | None:
    return ir.Const(1, node.span) if isinstance(node, ir.More) else None


def _when_holds(frame: Frame, values: dict[str, int]) -> bool:
    try:
        return bool(ir.evaluate(frame.when, values))
    except KeyError:
        return False


def encodings(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[bytes]:
    """Valid wire frames."""
    return from_entropy(wire_maker(protocol, codec))


def prefixes(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[tuple[bytes, int]]:
    """(a valid frame, a strict prefix length)."""
    wire = wire_maker(protocol, codec)

    def make(e: Entropy) -> tuple[bytes, int] | None:
        w = wire(e)
        return None if w is None else (w, e.integer(0, len(w) - 1))
    return from_entropy(make)


Stream = tuple[list[bytes], list[int]]
MAX_STREAM_FRAMES, MAX_CUTS = 4, 6


def streams(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[Stream]:
    """(several valid frames, cut points splitting their concatenation into chunks)."""
    wire = wire_maker(protocol, codec)

    def make(e: Entropy) -> Stream | None:
        wires: list[bytes] = []
        for _ in range(1 + e.byte() % MAX_STREAM_FRAMES):
            w = wire(e)
            if w is None:
                return None
            wires.append(w)
        total = sum(len(w) for w in wires)
        return wires, sorted(e.integer(0, total) for _ in range(e.byte() % (MAX_CUTS + 1)))
    return from_entropy(make, size=96)


def _length_fields(protocol: Protocol) -> list[tuple[int, int]]:
    """(offset, width) of every computed length in a fixed header."""
    return sorted({
        (v.offset, v.type.width)
        for f in protocol.frames for v in f.values()
        if isinstance(v, IntField) and v.offset is not None and v.value is not None
        and not v.constant
    })


_LENGTH_EXTREMES = (0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)


def mutation_maker(protocol: Protocol, codec: ModuleType) -> Callable[[Entropy], bytes | None]:
    """Valid frames with one change: a byte set or a bit flipped, a length field set
    to an extreme or any value, or bytes appended."""
    wire_of = wire_maker(protocol, codec)
    length_fields = _length_fields(protocol)

    def make(e: Entropy) -> bytes | None:
        wire = wire_of(e)
        if wire is None:
            return None
        how = e.byte() % 4
        if how == 0 and wire:
            p = e.integer(0, len(wire) - 1)
            return wire[:p] + bytes([e.byte()]) + wire[p + 1:]
        if how == 1 and wire:
            p = e.integer(0, len(wire) - 1)
            return wire[:p] + bytes([wire[p] ^ (1 << e.byte() % 8)]) + wire[p + 1:]
        usable = [(o, w) for o, w in length_fields if o + w <= len(wire)]
        if how == 2 and usable:
            offset, width = e.choice(usable)
            value = e.choice(_LENGTH_EXTREMES) if e.chance(128) else e.unsigned(width)
            raw = (value % (1 << 8 * width)).to_bytes(width, protocol.byte_order)
            return wire[:offset] + raw + wire[offset + width:]
        return wire + e.raw(1 + e.byte() % 8)
    return make


def mutations(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[bytes]:
    """See `mutation_maker`."""
    return from_entropy(mutation_maker(protocol, codec))


def arbitrary_bytes() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=200)


def hostile_bytes(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[bytes]:
    """Mutations and arbitrary bytes: what a decoder must survive."""
    mutate = mutation_maker(protocol, codec)
    return from_entropy(lambda e: mutate(e) if e.byte() & 1 else e.rest()[:200])
