"""Lowering a frame's decode: the header in one piece, then either the sizes
from the first fields or a declared `len(rest)`, then the rest in order."""

from __future__ import annotations

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    BytesField,
    Element,
    Enum,
    Frame,
    IntField,
    KvMapField,
    ListField,
    ValueNode,
    VarintField,
    fixed_width,
)
from protodsl.plan.model import (
    Check,
    DecodePlan,
    Fixed,
    Measured,
    MustBeMember,
    MustEqual,
    MustMatchChecksum,
    Read,
    Recount,
    RestFraming,
    RestOfFrame,
    Size,
    SizedFraming,
    SizeStep,
    Value,
)


def lower_decode(frame: Frame, enums: dict[str, Enum]) -> DecodePlan:
    count = frame.header_count()
    header = tuple(_read(frame, e, enums, at_fixed_offset=True)
                   for e in frame.elements[:count])
    rest = frame.rest_field()
    after = frame.elements[count:]
    framing: SizedFraming | RestFraming
    if isinstance(rest, VarintField):
        assert after and after[0] is rest, "check_rest puts len(rest) right after the header"
        framing = RestFraming(_read(frame, rest, enums), rest, None, tuple(
            _read(frame, e, enums) for e in after[1:]))
    elif rest is not None:
        framing = RestFraming(None, rest, frame.size_start(), tuple(
            _read(frame, e, enums) for e in after))
    else:
        prefix_end = frame.prefix_count() - count
        framing = SizedFraming(
            prefix=tuple(_read(frame, e, enums) for e in after[:prefix_end]),
            sizes=tuple(
                SizeStep(e, size.expr, size.may_be_negative, e.present)
                for e in after
                if isinstance(e, BytesField | KvMapField | ListField)
                and isinstance(size := _size(frame, e), Measured)
            ),
            total=frame.size,
            tail=tuple(_read(frame, e, enums) for e in after[prefix_end:]),
        )
    return DecodePlan(frame.header_size, header, framing)


def _read(frame: Frame, e: Element, enums: dict[str, Enum],
          at_fixed_offset: bool = False) -> Read:
    values: tuple[Value, ...] = ()
    size: Size | None = None
    if isinstance(e, IntField | VarintField):
        values = (Value(e, 0, None, checks(e, enums, frame)),)
    elif isinstance(e, BitsField):
        values = tuple(Value(m, m.shift, m.mask, checks(m, enums, frame)) for m in e.members)
    else:
        size = _size(frame, e)
    return Read(e, e.offset if at_fixed_offset else None, e.present, values, size,
                fixed_width(e), recounts(frame, e))


def _size(frame: Frame, e: BytesField | KvMapField | ListField) -> Size:
    if isinstance(e.size, ir.Rest):
        return RestOfFrame()
    if ir.is_constant(e.size):
        return Fixed(ir.evaluate(e.size))
    return Measured(e.size, not never_negative(frame, e.size))


def recounts(frame: Frame, e: Element) -> tuple[Recount, ...]:
    """The computed values that count records whose last counted list is `e`."""
    if not isinstance(e, ListField):
        return ()
    order = [x.name for x in frame.elements]
    out = []
    for v in frame.values():
        counted = [n.field for n in ir.walk(v.value) if isinstance(n, ir.CountOf)] if (
            v.value is not None) else []
        if counted and max(counted, key=order.index) == e.name:
            assert v.value is not None
            holder = frame.holder(v.name)
            assert holder is not None
            out.append(Recount(v, v.value, holder.offset))
    return tuple(out)


def checks(v: ValueNode, enums: dict[str, Enum], frame: Frame | None = None
           ) -> tuple[Check, ...]:
    """What decode verifies of a value, in order: its constant, its closed enum,
    its checksum (a frame's)."""
    out: list[Check] = []
    if v.constant and isinstance(v.value, ir.Const):
        out.append(MustEqual(v.value.value, v.value.spelling))
    elif v.constant and v.value is not None:
        out.append(MustEqual(ir.evaluate(v.value), None))
    enum = enums.get(v.enum) if v.enum else None
    if enum is not None and not enum.open:
        out.append(MustBeMember(enum))
    if isinstance(v.value, ir.Checksum):
        assert frame is not None, "the passes allow a checksum only in a frame"
        out.append(checksum(frame, v.value))
    return tuple(out)


def checksum(frame: Frame, c: ir.Checksum) -> MustMatchChecksum:
    """The checksum and the frame offset of its range's first byte (fixed: the
    passes require it)."""
    first = frame.holder(c.first)
    assert first is not None and first.offset is not None, (
        f"checksum range of '{frame.name}' has no fixed start")
    return MustMatchChecksum(c.kind, first.offset)


def never_negative(frame: Frame, size: ir.Expr) -> bool:
    """A size that is one unsigned field (or a constant) cannot be negative."""
    if ir.is_constant(size):
        return ir.evaluate(size) >= 0
    if isinstance(size, ir.FieldValue):
        v = frame.value(size.field)
        return v is not None and (not isinstance(v, IntField) or not v.type.signed)
    return False
