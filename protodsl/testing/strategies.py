"""Hypothesis strategies derived from the IR: frames that respect the spec, and
byte strings built from their encodings."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    BytesField,
    Element,
    Frame,
    IntField,
    KvMapField,
    ListField,
    Protocol,
    VarintField,
)

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


def _int_strategy(protocol: Protocol, v: IntField | BitMember | VarintField,
                  pins: dict[str, tuple[int, ...]]) -> st.SearchStrategy[int]:
    if v.name in pins:
        return st.sampled_from(pins[v.name])
    if isinstance(v, BitMember):
        lo, hi = 0, v.mask
    elif isinstance(v, VarintField):
        lo, hi = 0, v.max
    else:
        lo, hi = v.type.min, v.type.max
    enum = protocol.enum(v.enum) if v.enum else None
    if enum is not None:
        members = st.sampled_from([m.value for m in enum.members])
        if not enum.open:
            return members
        return st.one_of(members, st.integers(lo, hi))
    return st.integers(lo, hi)  # Hypothesis already favours the bounds and zero


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


def _records_strategy(protocol: Protocol, codec: ModuleType, frame: Frame, e: ListField
                      ) -> st.SearchStrategy[Any]:
    record = protocol.record(e.record)
    assert record is not None
    cls = codec.RECORDS[e.record]
    attrs = codec.ATTRS[e.record]
    members: dict[str, st.SearchStrategy[Any]] = {}
    for f in record.elements:
        if isinstance(f, IntField) and f.value is None:
            members[attrs[f.name]] = st.integers(f.type.min, f.type.max)
        elif isinstance(f, BytesField):  # sized by its own length field: short and long
            members[attrs[f.name]] = (st.text(max_size=40) if f.text
                                      else st.binary(max_size=40))
    item = st.builds(cls, **members)
    if record.variable:  # entries of 3 bytes and more: a few, not a section's worth
        return st.lists(item, max_size=8)
    return st.lists(item, max_size=max(0, _size_limit(frame, e) // record.size))


def _sized_strategy(frame: Frame, e: BytesField | KvMapField) -> st.SearchStrategy[Any]:
    if isinstance(e, KvMapField):
        limit = _size_limit(frame, e)
        # Empty, short, long and non-ASCII (UTF-8 and not) keys and values.
        blob = st.binary(max_size=200)
        pairs = st.lists(st.tuples(blob, blob), max_size=MAX_PAIRS)
        width = e.length_type.width
        return pairs.filter(lambda ps: sum(2 * width + len(k) + len(v) for k, v in ps) <= limit)
    if ir.is_constant(e.size):
        width = ir.evaluate(e.size)
        if e.pad is None:
            raw: st.SearchStrategy[bytes] = st.binary(min_size=width, max_size=width)
        else:
            pad = bytes([e.pad])
            raw = st.binary(max_size=width).map(lambda b: b.rstrip(pad))
    else:
        raw = st.binary(max_size=_size_limit(frame, e))
    if e.text:
        limit = ir.evaluate(e.size) if ir.is_constant(e.size) else _size_limit(frame, e)
        text = st.text(max_size=limit // 4 if limit >= 4 else 0)
        if e.pad is not None:
            text = text.map(lambda s: s.rstrip(chr(e.pad or 0)))
        return text
    return raw


def frames(protocol: Protocol, codec: ModuleType, variant: str | None = None
           ) -> st.SearchStrategy[Any]:
    """Frames of every variant (or one), valid as the spec defines validity:
    constants, enums, bit widths, sizes and the frame's own `when`."""
    chosen = [f for f in protocol.frames if variant in (None, f.name)]
    return st.one_of(*[_frame_strategy(protocol, codec, f) for f in chosen])


def _frame_strategy(protocol: Protocol, codec: ModuleType, frame: Frame) -> st.SearchStrategy[Any]:
    index = protocol.frames.index(frame)
    cls = codec.FRAMES[index]
    attr = codec.ATTRS[frame.name]
    pins = _pins(frame)
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for name in frame.free_names():
        value = frame.value(name)
        if value is not None:
            kwargs[attr[name]] = _int_strategy(protocol, value, pins)
            continue
        element = frame.element(name)
        if isinstance(element, ListField):
            kwargs[attr[name]] = _records_strategy(protocol, codec, frame, element)
            continue
        assert isinstance(element, BytesField | KvMapField)
        kwargs[attr[name]] = _sized_strategy(frame, element)
    earlier = protocol.frames[:index]
    plain = [v.name for v in frame.values() if not isinstance(v.value, ir.Checksum)]
    optional = [e for e in frame.elements if e.present is not None]
    free = set(frame.free_names())

    def values_of(f: Any) -> dict[str, int]:
        return {name: int(getattr(f, attr[name])) for name in plain}

    def chooses_this(f: Any) -> bool:
        values = values_of(f)
        if not ir.evaluate(frame.when, values):
            return False
        return not any(_when_holds(other, values) for other in earlier)

    def drop_absent(f: Any) -> Any:
        """A field its condition leaves off the wire decodes as zero or empty."""
        values = values_of(f)
        for e in optional:
            assert e.present is not None
            if not ir.evaluate(e.present, values):
                for name in set(_names_of(e)) & free:
                    current = getattr(f, attr[name])
                    setattr(f, attr[name], type(current)())
        return f

    def encodable(f: Any) -> bool:
        try:
            codec.encode(f)
        except codec.EncodeError:
            return False
        return True

    return st.builds(cls, **kwargs).filter(chooses_this).map(drop_absent).filter(encodable)


def _names_of(e: Element) -> list[str]:
    return [m.name for m in e.members] if isinstance(e, BitsField) else [e.name]


def _when_holds(frame: Frame, values: dict[str, int]) -> bool:
    try:
        return bool(ir.evaluate(frame.when, values))
    except KeyError:
        return False


def encodings(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[bytes]:
    """Valid wire frames."""
    return frames(protocol, codec).map(codec.encode)


def prefixes(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[tuple[bytes, int]]:
    """(a valid frame, a strict prefix length)."""
    return encodings(protocol, codec).flatmap(
        lambda wire: st.tuples(st.just(wire), st.integers(0, len(wire) - 1)))


Stream = tuple[list[bytes], list[int]]


def streams(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[Stream]:
    """(several valid frames, cut points splitting their concatenation into chunks)."""
    def cuts(wires: list[bytes]) -> st.SearchStrategy[Stream]:
        total = sum(len(w) for w in wires)
        return st.tuples(st.just(wires),
                         st.lists(st.integers(0, total), max_size=6).map(sorted))
    return st.lists(encodings(protocol, codec), min_size=1, max_size=4).flatmap(cuts)


def mutations(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[bytes]:
    """Valid frames with one change: a byte flipped or set, a length field set to
    an extreme, bytes cut or appended."""
    length_fields = sorted({
        (v.offset, v.type.width)
        for f in protocol.frames for v in f.values()
        if isinstance(v, IntField) and v.offset is not None and v.value is not None
        and not v.constant
    })

    def mutate(wire: bytes) -> st.SearchStrategy[bytes]:
        options: list[st.SearchStrategy[bytes]] = []
        if wire:
            options.append(st.tuples(st.integers(0, len(wire) - 1), st.integers(0, 255)).map(
                lambda p: wire[:p[0]] + bytes([p[1]]) + wire[p[0] + 1:]))
            options.append(st.tuples(st.integers(0, len(wire) - 1), st.integers(0, 7)).map(
                lambda p: wire[:p[0]] + bytes([wire[p[0]] ^ (1 << p[1])]) + wire[p[0] + 1:]))
        usable = [(o, w) for o, w in length_fields if o + w <= len(wire)]
        if usable:
            def set_length(p: tuple[tuple[int, int], int]) -> bytes:
                (offset, width), value = p
                raw = (value % (1 << 8 * width)).to_bytes(width, protocol.byte_order)
                return wire[:offset] + raw + wire[offset + width:]
            extremes = st.sampled_from([0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF,
                                        0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF])
            options.append(st.tuples(st.sampled_from(usable), st.one_of(
                extremes, st.integers(0, 1 << 64))).map(set_length))
        options.append(st.binary(min_size=1, max_size=8).map(lambda extra: wire + extra))
        return st.one_of(*options)

    return encodings(protocol, codec).flatmap(mutate)


def arbitrary_bytes() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=200)


def hostile_bytes(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[bytes]:
    """Mutations and arbitrary bytes: what a decoder must survive."""
    return st.one_of(mutations(protocol, codec), arbitrary_bytes())
