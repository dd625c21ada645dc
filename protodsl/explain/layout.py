"""Where each field of a decoded frame lies: its offset and length, as a tree.

Why derive the spans here and not have the generated codec report them: the
straight path is the production decoder, benchmarked and kept free of
bookkeeping, and the construct reference is a second reading, not the one
that runs. Both are printed from the codec plan, so walking the plan's reads
(`protodsl.plan`) with the values the codec decoded steps through the same
offsets the codec did: a header value's offset is the plan's, a sized
element's length is the plan's size evaluated over the decoded values, a
varint's width is its shortest form (the codec refuses any other), a field is
there when the plan's condition holds. The codec decides everything else (the
variant, the values, `consumed`, every error), and each walk is checked
against it: the spans must end where the codec said the frame ends, a bytes
field's span must be as long as the bytes it decoded, and a map's entries
must be the pairs it returned. Nothing about a layout is
decided here that the plan does not say."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from protodsl.codecs import state_env, state_of
from protodsl.ir import BitsField, BytesField, IntField, KvMapField, ListField, Protocol
from protodsl.ir import expr as ir
from protodsl.ir.model import BitMember, Element, IntType, Record, RecordMember, VarintField
from protodsl.plan import Fixed, FramePlan, RestOfFrame, plan_of

Node = Element | RecordMember | BitMember


class LayoutMismatch(Exception):
    """The walk disagrees with the codec: a bug in protodsl, never in the input."""


@dataclass(frozen=True)
class Span:
    """`length` bytes at `offset` from the frame's start. `name` is the spec's
    name, an item's `[i]`, or a map entry's key (bytes); `node` the IR node
    (None for an item or an entry); `value` as decoded (an entry's value is
    None when the codec drops the pair as null)."""

    name: str | bytes
    offset: int
    length: int
    node: Node | None
    value: Any
    children: tuple[Span, ...] = ()

    @property
    def end(self) -> int:
        return self.offset + self.length


def varint_width(value: int) -> int:
    """Bytes of the shortest LEB128 form, the only one the codec accepts."""
    return max(1, (int(value).bit_length() + 6) // 7)


def _as_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _wire_len(value: Any) -> int:
    return len(value.encode("utf-8") if isinstance(value, str) else value)


class Layout:
    """The spans of frames of one protocol, decoded by its generated Python codec."""

    def __init__(self, protocol: Protocol, codec: ModuleType) -> None:
        self.protocol = protocol
        self.codec = codec
        self.plan = plan_of(protocol)

    def frame_plan(self, frame: Any) -> FramePlan:
        index: int = self.codec.FRAMES.index(type(frame))
        return self.plan.frames[index]

    def spans(self, frame: Any, consumed: int, data: bytes, state: Any = None
              ) -> tuple[Span, ...]:
        """The frame's fields on the wire, in order: `data` starts with the frame,
        `consumed` is what the codec said it took, `state` the connection's before."""
        plan = self.frame_plan(frame)
        state = state_of(self.codec, state)
        values = self.codec.field_values(frame, state=state)
        env = state_env(self.codec, state)
        env.update({k: v for k, v in ((k, _as_int(v)) for k, v in values.items())
                    if v is not None})
        out: list[Span] = []
        off = 0
        for r in plan.decode.reads:
            off = r.offset if r.offset is not None else off
            env[ir.More.key] = int(off < consumed)
            if r.present is not None and not ir.evaluate(r.present, env):
                continue
            e = r.element
            if isinstance(e, IntField | BitsField):
                width = e.type.width
            elif isinstance(e, VarintField):
                width = varint_width(values[e.name])
            elif isinstance(r.size, Fixed):
                width = r.size.bytes
            elif isinstance(r.size, RestOfFrame):
                width = consumed - off
            else:
                assert r.size is not None
                width = ir.evaluate(r.size.expr, env)
            if isinstance(e, BytesField) and e.pad is None and _wire_len(
                    values[e.name]) != width:
                raise LayoutMismatch(f"{plan.name}.{e.name}: {width} bytes at {off}, the "
                                     f"codec read {_wire_len(values[e.name])}")
            out.append(self._span(e, off, width, values, data))
            if isinstance(e, BytesField | KvMapField | ListField):
                env[e.name] = width  # what len() of it reads
            off += width
        if off != consumed:
            raise LayoutMismatch(f"{plan.name}: the fields end at {off}, the codec "
                                 f"consumed {consumed}")
        return tuple(out)

    def _span(self, e: Element, off: int, width: int, values: dict[str, Any], data: bytes
              ) -> Span:
        if isinstance(e, BitsField):
            members = tuple(Span(m.name, off, width, m, values[m.name]) for m in e.members)
            container = sum(int(values[m.name]) << m.shift for m in e.members)
            return Span(e.name, off, width, e, container, members)
        value = values[e.name]
        if isinstance(e, KvMapField):
            return Span(e.name, off, width, e, value,
                        _entries(e, data[off:off + width], off, value))
        if isinstance(e, ListField):
            record = self.protocol.record(e.record)
            assert record is not None
            return Span(e.name, off, width, e, value, self._items(record, value, off, width))
        return Span(e.name, off, width, e, value)

    def _items(self, record: Record, items: list[Any], start: int, width: int
               ) -> tuple[Span, ...]:
        """Each record, member by member: a member's width is its type's, its
        shortest varint, or its decoded bytes' (a record's sized member is read
        to exactly its size); a member is there when its condition holds."""
        attrs = self.codec.ATTRS[record.name]
        out: list[Span] = []
        off = start
        for i, item in enumerate(items):
            stored = {name: getattr(item, attr) for name, attr in attrs.items()
                      if hasattr(item, attr)}
            env = {k: v for k, v in ((k, _as_int(v)) for k, v in stored.items())
                   if v is not None}
            env.update({k: _wire_len(v) for k, v in stored.items() if isinstance(v, bytes | str)})
            members: list[Span] = []
            at = off
            for m in record.elements:
                if m.present is not None and not ir.evaluate(m.present, env):
                    continue
                if isinstance(m, IntField | BitsField):
                    n = m.type.width
                elif isinstance(m, VarintField):
                    n = varint_width(stored[m.name])
                elif m.pad is not None:
                    n = ir.evaluate(m.size)
                else:
                    n = _wire_len(stored[m.name])
                if isinstance(m, BitsField):
                    bits = tuple(Span(b.name, at, n, b, stored[b.name]) for b in m.members)
                    container = sum(int(stored[b.name]) << b.shift for b in m.members)
                    members.append(Span(m.name, at, n, m, container, bits))
                else:
                    if m.name not in stored:  # computed (a length): what it computes
                        assert isinstance(m, IntField) and m.value is not None
                        env[m.name] = ir.evaluate(m.value, env)
                    members.append(Span(m.name, at, n, m, stored.get(m.name, env.get(m.name))))
                at += n
            out.append(Span(f"[{i}]", off, at - off, None, item, tuple(members)))
            off = at
        if off != start + width:
            raise LayoutMismatch(f"{record.name}: the records end at {off}, the section "
                                 f"at {start + width}")
        return tuple(out)

    def offsets(self, spans: tuple[Span, ...], names: list[str]) -> dict[str, Any]:
        """`decode --offsets`: `[offset, length]` per name of `fields` (a bit member
        has its container's), null for a field not on the wire; a list adds its
        records' offsets objects, a map each pair's `[offset, length]`."""
        by_name: dict[str, Any] = {}
        for s in spans:
            if isinstance(s.node, BitsField):
                by_name.update({str(m.name): [m.offset, m.length] for m in s.children})
            else:
                by_name[str(s.name)] = _offsets_of(s)
        return {name: by_name.get(name) for name in names}


def _offsets_of(s: Span) -> list[Any]:
    if isinstance(s.node, ListField):
        return [s.offset, s.length, [_members(item.children) for item in s.children]]
    if isinstance(s.node, KvMapField):
        return [s.offset, s.length, [[c.offset, c.length] for c in s.children
                                     if c.value is not None]]
    return [s.offset, s.length]


def _members(spans: tuple[Span, ...]) -> dict[str, list[int]]:
    """A record's members on the wire: a bit member has its container's span."""
    out: dict[str, list[int]] = {}
    for m in spans:
        for named in m.children or (m,):
            out[str(named.name)] = [m.offset, m.length]
    return out


def _entries(e: KvMapField, section: bytes, start: int, pairs: list[tuple[bytes, bytes]]
             ) -> tuple[Span, ...]:
    """Each pair of the map section the codec bounded, null ones included (the
    codec drops them, so its pairs carry no positions); checked against its pairs."""
    out: list[Span] = []
    key_null, value_null = e.null_lengths() if e.null_drop else (-1, -1)
    pos = 0
    while pos < len(section):
        first = pos
        key, pos = _part(section, pos, e.key_length, key_null)
        pos += len(e.between)
        value, pos = _part(section, pos, e.value_length, value_null)
        out.append(Span(key if key is not None else b"", start + first, pos - first, None,
                        value if key is not None else None))
    kept = [(s.name, s.value) for s in out if s.value is not None]
    if kept != [tuple(p) for p in pairs] or pos != len(section):
        raise LayoutMismatch(f"{e.name}: the section's pairs are not the ones decoded")
    return tuple(out)


def _part(section: bytes, pos: int, length: IntType, null: int) -> tuple[bytes | None, int]:
    """A length-prefixed key or value at `pos`: (its bytes or None for null, the end)."""
    n = int.from_bytes(section[pos:pos + length.width], length.byte_order)
    pos += length.width
    if n == null:
        return None, pos
    return section[pos:pos + n], pos + n


def header_spans(plan: FramePlan, data: bytes) -> tuple[Span, ...]:
    """The fixed header values whose bytes are there, read as the codec's
    `_short_header` reads them before it asks for more or refuses a value: for
    a frame the codec did not decode (need-more, malformed)."""
    out: list[Span] = []
    for r in plan.decode.header:
        e = r.element
        if r.offset is None or not isinstance(e, IntField | BitsField):
            break
        raw = data[r.offset:r.offset + e.type.width]
        if len(raw) < e.type.width:
            break
        signed = e.type.signed and isinstance(e, IntField)
        number = int.from_bytes(raw, e.type.byte_order, signed=signed)
        if isinstance(e, BitsField):
            members = tuple(Span(m.name, r.offset, e.type.width, m,
                                 (number >> m.shift) & m.mask) for m in e.members)
            out.append(Span(e.name, r.offset, e.type.width, e, number, members))
        else:
            out.append(Span(e.name, r.offset, e.type.width, e, number))
    return tuple(out)
