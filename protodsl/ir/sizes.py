"""The bytes a run of elements takes, as an expression: what `size(a..b)` and an
integer's `len(rest)` mean, for the passes (which expand `size`) and the plan
(which computes a declared frame size on encode)."""

from __future__ import annotations

from collections.abc import Callable

from protodsl.diagnostics import Span
from protodsl.ir import expr as ir
from protodsl.ir.model import BytesField, Element, KvMapField, ListField, fixed_width


def run_size(run: tuple[Element, ...], span: Span,
             present: Callable[[Element], ir.Expr | None] = lambda e: e.present
             ) -> ir.Expr | None:
    """The run's fixed widths folded into one constant plus the lengths of its
    sized elements, each only where it is on the wire (`present`: on encode, a
    field's condition with `more()` read as whether the user gave it); None when
    a varint, whose width depends on its value, is in the run."""
    fixed = 0
    terms: list[ir.Expr] = []
    for e in run:
        width = fixed_width(e)
        condition = present(e)
        term: ir.Expr
        if width is not None:
            if condition is None:
                fixed += width
                continue
            term = ir.Const(width, span)
        elif isinstance(e, BytesField | KvMapField | ListField):
            term = ir.LenOf(e.name, span)
        else:
            return None
        terms.append(term if condition is None else ir.Binary("*", term, condition, span))
    return sum_of(([ir.Const(fixed, span)] if fixed or not terms else []) + terms, span)


def sum_of(terms: list[ir.Expr], span: Span) -> ir.Expr:
    """`((a + b) + c) + d`; a balanced tree when there are many terms, so that a
    frame of thousands of fields does not make an expression thousands deep."""
    if len(terms) > 16:
        half = len(terms) // 2
        return ir.Binary("+", sum_of(terms[:half], span), sum_of(terms[half:], span), span)
    total = terms[0]
    for term in terms[1:]:
        total = ir.Binary("+", total, term, span)
    return total
