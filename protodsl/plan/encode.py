"""Lowering a frame's encode: the order computed values are evaluated in, what
is checked before a byte is written, and the writes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BytesField,
    Enum,
    Frame,
    IntField,
    KvMapField,
    ListField,
    ValueNode,
    VarintField,
    names_of,
)
from protodsl.ir.sizes import run_size
from protodsl.passes.problems import Problems
from protodsl.plan.decode import checksum
from protodsl.plan.model import Computed, EncodePlan, FitCheck, LengthCheck, Write


def lower_encode(frame: Frame, enums: dict[str, Enum], max_frame: int,
                 problems: Problems) -> EncodePlan:
    holder = {name: e for e in frame.elements for name in names_of(e)}
    rest = frame.rest_field()
    # A varint's len(rest) is known once the body is written; an integer's is computed.
    varint = rest if isinstance(rest, VarintField) else None
    computed = evaluation_order(
        [_declared(frame, v) if isinstance(v.value, ir.Rest) else v for v in frame.values()
         if v.value is not None and not v.constant and not isinstance(v.value, ir.Checksum)
         and v is not varint], problems,
        lambda name: frame.written_when(holder[name]) if name in holder else None)
    fits = tuple(
        fit(v, enums, frame.written_when(holder[v.name])) for v in frame.values()
        if not (v.constant or isinstance(v.value, ir.Checksum) or v is varint))
    lengths = tuple(
        _length(e, frame.written_when(e)) for e in frame.elements
        if isinstance(e, BytesField | KvMapField | ListField)
        and not isinstance(e.size, ir.Rest) and not sized_by_own_length(frame, e))
    writes = tuple(
        Write(e, frame.written_when(e),
              checksum(frame, e.value)
              if isinstance(e, IntField) and isinstance(e.value, ir.Checksum) else None,
              isinstance(e, KvMapField) and e.null_drop and min(e.null_lengths()) <= max_frame)
        for e in frame.elements)
    total: ir.Expr | None = frame.size  # from the fixed header
    if varint is not None:
        total = None
    elif rest is not None:  # the integer's value, from where it starts counting
        start = frame.size_start()
        assert start is not None
        total = ir.Binary("+", ir.Const(start, frame.span),
                          ir.FieldValue(rest.name, frame.span), frame.span)
    return EncodePlan(computed, fits, lengths, frame.when, total, varint, writes)


def _declared(frame: Frame, v: ValueNode) -> ValueNode:
    """An integer declaring the frame's size, its value the bytes from where
    the size starts to the frame's end."""
    start = frame.size_start()
    assert isinstance(v, IntField) and start is not None
    run = tuple(e for e in frame.elements if e.offset is None or e.offset >= start)
    size = run_size(run, v.span, frame.written_when)
    assert size is not None, "check_rest: no varint in a frame an integer declares"
    return dataclasses.replace(v, value=size)


def evaluation_order(
    values: list[ValueNode], problems: Problems,
    condition: Callable[[str], ir.Expr | None] = lambda name: None,
) -> tuple[Computed, ...]:
    """Each computed value after the computed values it reads, otherwise in wire
    order; values that read each other have no order, which is an error.
    `condition(name)`: when field `name` is on the wire. A value that measures a
    conditional field reads what its condition reads too, since an absent field
    measures 0: `n = len(v)` with `v if n > 0` reads itself."""
    names = {v.name for v in values}
    reads = {v.name: _reads(v, condition) for v in values}
    done: set[str] = set()
    out: list[Computed] = []
    remaining = list(values)
    while remaining:
        ready = next((v for v in remaining if not (reads[v.name] & names) - done - {v.name}),
                     None)
        if ready is None:
            stuck = ", ".join(f"'{v.name}'" for v in remaining)
            problems.error(remaining[0].span, f"the computed values {stuck} read each other: "
                           f"no order computes them", note="compute one of them from fields "
                           "that are set, not computed")
            return tuple(out)
        assert ready.value is not None
        if ready.name in reads[ready.name]:
            _reads_itself(ready, ready.value, condition, problems)
        remaining.remove(ready)
        done.add(ready.name)
        out.append(Computed(ready, ready.value))
    return tuple(out)


def _reads(v: ValueNode, condition: Callable[[str], ir.Expr | None]) -> set[str]:
    """The fields `v`'s value reads, and those the conditions of the fields it reads read."""
    assert v.value is not None
    read = ir.fields_read(v.value)
    return read.union(*(ir.fields_read(c) for n in read if (c := condition(n)) is not None))


def _reads_itself(v: ValueNode, value: ir.Expr, condition: Callable[[str], ir.Expr | None],
                  problems: Problems) -> None:
    """Report a value that reads itself: directly, or through the condition of a
    field it measures (a length that decides whether its own field is there)."""
    for name in sorted(ir.fields_read(value)):
        c = condition(name)
        if c is None or v.name not in ir.fields_read(c):
            continue
        at = next(n.span for n in ir.walk(c)
                  if isinstance(n, ir.FieldValue) and n.field == v.name)
        problems.error(at, f"whether '{name}' is on the wire depends on '{v.name}', which "
                       f"is computed from '{name}' ({v.name} = {ir.spelled(value)}): "
                       f"encode would need each before the other",
                       note=f"make the condition of '{name}' read a field the input sets "
                       f"(a flag, a type), not a value computed from '{name}'")
        return
    problems.error(v.span, f"computed value '{v.name}' reads itself")


def fit(v: ValueNode, enums: dict[str, Enum], present: ir.Expr | None) -> FitCheck:
    """What encode refuses of a value; a closed enum only where `enums` has it."""
    enum = enums.get(v.enum) if v.enum else None
    closed = enum if enum is not None and not enum.open else None
    if isinstance(v, BitMember):
        return FitCheck(v, 0, v.mask, f"{v.width} bits", closed, present)
    if isinstance(v, VarintField):
        return FitCheck(v, 0, v.max, f"varint({v.max_bytes})", closed, present)
    return FitCheck(v, v.type.min, v.type.max, v.type.name, closed, present)


def _length(e: BytesField | KvMapField | ListField, written: ir.Expr | None) -> LengthCheck:
    if isinstance(e, BytesField) and e.pad is not None:
        return LengthCheck(e, None, ir.evaluate(e.size), None)  # padded: fits or not, always
    return LengthCheck(e, e.size, None, written)


def sized_by_own_length(frame: Frame, e: BytesField | KvMapField | ListField) -> bool:
    """`n: u16 = len(x)` and `x: bytes[n]`: consistent by construction."""
    if not isinstance(e.size, ir.FieldValue):
        return False
    length = frame.value(e.size.field)
    return length is not None and isinstance(length.value, ir.LenOf) and (
        length.value.field == e.name)
