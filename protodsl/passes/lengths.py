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
    values_of,
)
from protodsl.passes.problems import Problems

Sized = BytesField | KvMapField


def check_lengths(elements: tuple[Element, ...], problems: Problems) -> None:
    position: dict[str, int] = {}
    for i, e in enumerate(elements):
        position[e.name] = i
        if isinstance(e, BitsField):
            for m in e.members:
                position[m.name] = i
    values = {v.name: v for v in values_of(elements)}
    sized = {e.name: e for e in elements if isinstance(e, BytesField | KvMapField)}
    for e in sized.values():
        for name in sorted(ir.fields_read(e.size)):
            if position.get(name, -1) >= position[e.name]:
                problems.error(_span_of(e.size, name), f"the size of '{e.name}' refers to "
                               f"'{name}', which comes after it; a size can only use "
                               f"fields decoded before it")
            elif name in values and values[name].value is None:
                problems.error(_span_of(e.size, name), f"'{name}' sizes '{e.name}' but is "
                               f"never computed on encode", note=f"declare it as "
                               f"`{name}: ... = len({e.name})`")
    for v in values.values():
        if v.value is None:
            continue
        measured = [n.field for n in ir.walk(v.value)
                    if isinstance(n, ir.LenOf) and n.field in sized]
        if measured and not any(v.name in ir.fields_read(sized[f].size) for f in measured):
            problems.error(v.span, f"length field '{v.name}' sizes nothing: "
                           f"no field it measures ({', '.join(measured)}) is sized by it",
                           note=f"write `{measured[-1]}: ...[{v.name}]`")


def header_size(elements: tuple[Element, ...]) -> int:
    """Bytes of the leading run of fixed-width elements."""
    size = 0
    for e in elements:
        width = _fixed_width(e)
        if width is None:
            break
        size += width
    return size


def frame_size(
    elements: tuple[Element, ...], header: int, span: Span, problems: Problems
) -> ir.Expr:
    """Total length as an expression of header fields, so a decoder knows the frame
    size (and can refuse it) before reading any variable part."""
    in_header = {v.name for v in values_of(elements) if _offset(v, elements) is not None}
    terms: list[ir.Expr] = [ir.Const(header, span)]
    past_header = 0
    for e in elements:
        width = _fixed_width(e)
        if width is not None and past_header == 0 and e.offset is not None:
            continue
        past_header += 1
        if width is not None:
            terms.append(ir.Const(width, span))
            continue
        assert isinstance(e, BytesField | KvMapField)
        outside = ir.fields_read(e.size) - in_header
        if outside:
            problems.error(e.span, f"the size of '{e.name}' depends on "
                           f"'{sorted(outside)[0]}', which is not in the fixed header")
        terms.append(e.size)
    return _sum(terms, span)


def _sum(terms: list[ir.Expr], span: Span) -> ir.Expr:
    """`((a + b) + c) + d`; a balanced tree when there are many terms, so that a
    frame of thousands of fields does not make an expression thousands deep."""
    if len(terms) > 16:
        half = len(terms) // 2
        return ir.Binary("+", _sum(terms[:half], span), _sum(terms[half:], span), span)
    total = terms[0]
    for term in terms[1:]:
        total = ir.Binary("+", total, term, span)
    return total


def _fixed_width(e: Element) -> int | None:
    if isinstance(e, IntField | BitsField):
        return e.type.width
    if isinstance(e, BytesField) and ir.is_constant(e.size):
        return ir.evaluate(e.size)
    return None


def _offset(v: IntField | BitMember, elements: tuple[Element, ...]) -> int | None:
    if isinstance(v, IntField):
        return v.offset
    container = next(e for e in elements if isinstance(e, BitsField) and v in e.members)
    return container.offset


def _span_of(e: ir.Expr, name: str) -> Span:
    for node in ir.walk(e):
        if isinstance(node, ir.FieldValue | ir.LenOf) and node.field == name:
            return node.span
    return e.span

