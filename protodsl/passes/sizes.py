"""`size(first..last)` expanded into the sum of the run's widths and lengths,
so that every later pass, the plan and every backend see only expressions they
know. An integer whose value is `size(first..last)` up to the frame's last field
declares the frame's size, as `len(rest)` does."""

from __future__ import annotations

import dataclasses

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    BytesField,
    Element,
    IntField,
    KvMapField,
    ListField,
    VarintField,
    names_of,
)
from protodsl.ir.sizes import run_size
from protodsl.passes.problems import Problems


def expand_sizes(elements: tuple[Element, ...], problems: Problems) -> tuple[Element, ...]:
    position = {name: i for i, e in enumerate(elements) for name in names_of(e)}

    def expand(e: ir.Expr, in_size: bool) -> ir.Expr:
        def one(node: ir.Expr) -> ir.Expr | None:
            if not isinstance(node, ir.SizeOf):
                return None
            if node.first not in position or node.last not in position:
                return ir.Const(0, node.span)  # a field that did not lay out: reported
            first, last = position[node.first], position[node.last]
            if first > last:
                problems.error(node.span, f"size({node.first}..{node.last}): "
                               f"'{node.first}' comes after '{node.last}'")
                return ir.Const(0, node.span)
            total = run_size(elements[first:last + 1], node.span)
            if total is None:
                problems.error(node.span, f"size({node.first}..{node.last}) covers a varint, "
                               f"whose width depends on its value")
                return ir.Const(0, node.span)
            if in_size and not ir.is_constant(total):
                problems.error(node.span, f"size({node.first}..{node.last}) in a size must "
                               f"cover fixed-width fields only: a size is known before "
                               f"what it sizes is read")
                return ir.Const(0, node.span)
            return total
        return ir.substitute(e, one)

    def value(e: ir.Expr | None) -> ir.Expr | None:
        if isinstance(e, ir.SizeOf) and position.get(e.last) == len(elements) - 1:
            return ir.Rest(e.span, e.first)  # declares the frame's size
        return None if e is None else expand(e, False)

    out: list[Element] = []
    for e in elements:
        present = None if e.present is None else expand(e.present, False)
        if isinstance(e, IntField | VarintField):
            v = value(e.value)
            if isinstance(e, VarintField) and isinstance(v, ir.Rest) and v.start is not None:
                problems.error(v.span, "a varint declares the frame's size only as len(rest)")
            out.append(dataclasses.replace(e, value=v, present=present))
        elif isinstance(e, BitsField):
            members = tuple(dataclasses.replace(m, value=None if m.value is None else expand(
                m.value, False)) for m in e.members)
            out.append(dataclasses.replace(e, members=members, present=present))
        elif isinstance(e, BytesField | KvMapField | ListField):
            out.append(dataclasses.replace(e, size=expand(e.size, True), present=present))
    return tuple(out)
