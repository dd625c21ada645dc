"""Lengths: sizes read only earlier, computed fields; every length field sizes
something; the frame's total size follows from its fixed header."""

from __future__ import annotations

from protodsl.diagnostics import Span
from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    BytesField,
    Element,
    IntField,
    KvMapField,
    ListField,
    VarintField,
    fixed_width,
    header_count,
    names_of,
    prefix_count,
    values_of,
)
from protodsl.ir.sizes import sum_of
from protodsl.passes.problems import Problems

Sized = BytesField | KvMapField | ListField


def check_rest(elements: tuple[Element, ...], problems: Problems) -> None:
    """The frame's size declared once: a varint's `len(rest)` after a fixed header,
    or an integer of the header (`len(rest)`, `size(a..last)` from a field of
    the header); varints and `[rest]` sizes after it, `[rest]` on the last field
    only, no varint in what an integer declares."""
    declared = [i for i, e in enumerate(elements)
                if isinstance(e, IntField | VarintField) and isinstance(e.value, ir.Rest)]
    for i in declared[1:]:
        problems.error(elements[i].span, f"only one field declares the frame's size; "
                       f"'{elements[declared[0]].name}' already does")
    header = header_count(elements)
    by_int = bool(declared) and isinstance(elements[declared[0]], IntField)
    if by_int:
        e = elements[declared[0]]
        assert isinstance(e, IntField) and isinstance(e.value, ir.Rest)
        if declared[0] >= header:
            problems.error(e.value.span, f"'{e.name}' declares the frame's size, so it must "
                           f"be at a fixed offset: among the fixed-width fields that start "
                           f"the frame")
        first = e.value.start
        if first is not None and not any(first in names_of(x) for x in elements[:header]):
            problems.error(e.value.span, f"the size '{e.name}' declares starts at '{first}', "
                           f"which must be at a fixed offset: among the fixed-width fields "
                           f"that start the frame")
        for x in elements:
            if isinstance(x, VarintField):
                problems.error(x.span, f"varint '{x.name}' is in a frame whose size "
                               f"'{e.name}' declares: its width would change that size; "
                               f"declare the size with a varint's len(rest)")
    start = (header if by_int else declared[0]) if declared else len(elements)
    for e in elements[:start]:
        if by_int:
            break  # the header: fixed and always there
        if isinstance(e, VarintField):
            problems.error(e.span, f"varint '{e.name}' needs a frame whose size a "
                           f"`varint(N) = len(rest)` field declares, at or before it")
        elif declared and (fixed_width(e) is None or e.present is not None):
            problems.error(e.span, f"'{e.name}' comes before the len(rest) field, so it "
                           f"must be of fixed width and always present")
    for i, e in enumerate(elements):
        if isinstance(e, BytesField | KvMapField | ListField) and isinstance(e.size, ir.Rest):
            if not declared or i < start:
                problems.error(e.size.span, f"'{e.name}' fills the rest of the frame, but no "
                               f"field before it declares the frame's size with len(rest)")
            elif i != len(elements) - 1:
                problems.error(e.size.span, f"'{e.name}' fills the rest of the frame, so it "
                               f"must be the frame's last field")


def check_lengths(elements: tuple[Element, ...], problems: Problems) -> None:
    position: dict[str, int] = {}
    for i, e in enumerate(elements):
        position[e.name] = i
        if isinstance(e, BitsField):
            for m in e.members:
                position[m.name] = i
    values = {v.name: v for v in values_of(elements)}
    sized = {e.name: e for e in elements if isinstance(e, BytesField | KvMapField | ListField)}
    for e in sized.values():
        read = sorted(ir.fields_read(e.size))
        # Free fields (flags) may take part in a size, as long as a computed length does.
        computed = any(n in values and values[n].value is not None for n in read)
        for name in read:
            if position.get(name, -1) >= position[e.name]:
                problems.error(_span_of(e.size, name), f"the size of '{e.name}' refers to "
                               f"'{name}', which comes after it; a size can only use "
                               f"fields decoded before it")
            elif name in values and values[name].value is None and not computed:
                problems.error(_span_of(e.size, name), f"'{name}' sizes '{e.name}' but is "
                               f"never computed on encode", note=f"declare it as "
                               f"`{name}: ... = len({e.name})`")
    for e in elements:
        if e.present is None:
            continue
        for name in sorted(ir.fields_read(e.present)):
            if position.get(name, -1) >= position[e.name]:
                problems.error(_span_of(e.present, name), f"whether '{e.name}' is present "
                               f"depends on '{name}', which comes after it")
    for i, e in enumerate(elements):
        for v in (e.members if isinstance(e, BitsField) else (e,)):
            if isinstance(v, BitMember | IntField) and isinstance(v.value, ir.Checksum):
                _check_checksum(v.value, i, elements, position, problems)
    for v in values.values():
        if v.value is None or isinstance(v.value, ir.Checksum):
            continue
        measured = [n.field for n in ir.walk(v.value)
                    if isinstance(n, ir.LenOf) and n.field in sized]
        if measured and not any(v.name in ir.fields_read(sized[f].size) for f in measured):
            problems.error(v.span, f"length field '{v.name}' sizes nothing: "
                           f"no field it measures ({', '.join(measured)}) is sized by it",
                           note=f"write `{measured[-1]}: ...[{v.name}]`")


def _check_checksum(
    checksum: ir.Checksum, index: int, elements: tuple[Element, ...],
    position: dict[str, int], problems: Problems,
) -> None:
    first, last = position.get(checksum.first), position.get(checksum.last)
    if first is None or last is None:
        return
    if elements[first].offset is None:
        problems.error(checksum.span, f"a checksum range must start at a fixed offset; "
                       f"'{checksum.first}' has none")
    elif index != len(elements) - 1:
        problems.error(checksum.span, "a checksum must be the frame's last field")
    elif first > last or last != index - 1:
        problems.error(checksum.span, f"{checksum.kind}({checksum.first}, {checksum.last}) "
                       f"must cover the fields right before the checksum, in order")


def header_size(elements: tuple[Element, ...]) -> int:
    """Bytes of the leading run of fixed-width elements."""
    return sum(fixed_width(e) or 0 for e in elements[:header_count(elements)])


def frame_size(
    elements: tuple[Element, ...], header: int, span: Span, problems: Problems
) -> ir.Expr:
    """Total length as an expression of header fields, so a decoder knows the frame
    size (and can refuse it) before reading any variable part; `Rest` when a
    `len(rest)` field declares it (later sizes may then read any earlier field)."""
    if any(isinstance(e, IntField | VarintField) and isinstance(e.value, ir.Rest)
           for e in elements):
        return ir.Rest(span)
    count = header_count(elements)
    in_prefix = {v.name for v in values_of(elements[:prefix_count(elements)])}
    terms: list[ir.Expr] = [ir.Const(header, span)]
    reported = False
    for e in elements[count:]:
        width = fixed_width(e)
        term: ir.Expr
        if width is not None:
            term = ir.Const(width, span)
        else:
            assert isinstance(e, BytesField | KvMapField | ListField)
            term = e.size
        reads = ir.fields_read(term)
        if e.present is not None:
            reads |= ir.fields_read(e.present)
            term = ir.Binary("*", term, e.present, span)
        outside = reads - in_prefix
        if outside and not reported:  # once: the frame size is then unknown anyway
            reported = True
            problems.error(e.span, f"the size of '{e.name}' depends on "
                           f"'{sorted(outside)[0]}', which is not among the fixed-width "
                           f"fields at the start of the frame")
        terms.append(term)
    return sum_of(terms, span)


def _span_of(e: ir.Expr, name: str) -> Span:
    for node in ir.walk(e):
        if isinstance(node, ir.FieldValue | ir.LenOf) and node.field == name:
            return node.span
    return e.span

