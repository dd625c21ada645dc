"""What a new frame holds in a field nobody set.

A plain integer starts at 0. A field that decides what the frame means has no
silent default: an enum (its first member is no better than any other), a
one-bit flag, and a value a `when` condition reads. Such a field takes the
value its frame's own condition pins (`frame response when type == response`
makes `type` default to `response`), or the spec's `default EXPR`; else a new
frame must be given it (the Python constructor, the JSON encoder and every
builder require it). A `default` must fit the field, be a member of a closed
enum, and leave the frame choosing itself."""

from __future__ import annotations

import dataclasses

from protodsl.frontend import ast
from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    Element,
    Enum,
    Frame,
    IntField,
    ValueNode,
    VarintField,
)
from protodsl.passes.claims import Claims
from protodsl.passes.exprs import INT, ExprResolver, Scope
from protodsl.passes.problems import Problems

Declared = ast.Field | ast.BitMember


def apply_defaults(decls: dict[str, ast.Frame], frames: tuple[Frame, ...],
                   scopes: dict[str, Scope], claims: Claims, problems: Problems
                   ) -> tuple[Frame, ...]:
    """`frames` with every free value's default set, None where it must be given."""
    return tuple(_frame(decls[f.name], f, scopes[f.name], claims, problems) for f in frames)


def _declared(decl: ast.Frame) -> dict[str, Declared]:
    out: dict[str, Declared] = {}
    for item in decl.items:
        for node in item.members if isinstance(item, ast.Bits) else (item,):
            out.setdefault(node.name, node)
    return out


def _frame(decl: ast.Frame, frame: Frame, scope: Scope, claims: Claims,
           problems: Problems) -> Frame:
    declared = _declared(decl)
    resolver = ExprResolver(scope, problems)
    read = ir.fields_read(frame.when)
    won = claims.won.get(frame.name, {})
    defaults: dict[str, int | None] = {}
    for v in frame.values():
        node = declared[v.name]
        if v.value is not None:
            if node.default is not None:
                what = "constant" if v.constant else "computed on encode"
                problems.error(node.default.span, f"'{v.name}' is {what}: a default serves "
                               f"only a field a frame is given")
            continue
        if node.default is not None:
            defaults[v.name] = _given(v, node.default, scope.enums, resolver, problems)
        elif len(won.get(v.name, ())) == 1:
            (defaults[v.name],) = won[v.name]
        elif v.enum is not None or (isinstance(v, BitMember) and v.width == 1) or v.name in read:
            defaults[v.name] = None
        else:
            defaults[v.name] = 0
    _check_choice(decl, frame, read, defaults, claims, problems)

    def with_default(e: Element) -> Element:
        if isinstance(e, BitsField):
            return dataclasses.replace(e, members=tuple(
                dataclasses.replace(m, default=defaults[m.name]) if m.name in defaults else m
                for m in e.members))
        if isinstance(e, IntField | VarintField) and e.name in defaults:
            return dataclasses.replace(e, default=defaults[e.name])
        return e

    return dataclasses.replace(frame, elements=tuple(with_default(e) for e in frame.elements))


def _given(v: ValueNode, e: ast.Expr, enums: dict[str, Enum], resolver: ExprResolver,
           problems: Problems) -> int | None:
    """The value of `default EXPR`, checked against the field."""
    value = resolver.resolve(e, v.enum or INT, hint=v.enum)
    if value is None:
        return None
    if not ir.is_constant(value):
        problems.error(e.span, f"the default of '{v.name}' must be a constant")
        return None
    number = ir.evaluate(value)
    lo, hi = _range(v)
    if not lo <= number <= hi:
        problems.error(e.span, f"default {number} does not fit '{v.name}' ({lo}..{hi})")
        return None
    enum = enums.get(v.enum) if v.enum else None
    if enum is not None and not enum.open and all(m.value != number for m in enum.members):
        problems.error(e.span, f"default {number} is no member of the closed enum "
                       f"'{enum.name}'")
        return None
    return number


def _range(v: ValueNode) -> tuple[int, int]:
    if isinstance(v, BitMember):
        return 0, v.mask
    if isinstance(v, IntField):
        return v.type.min, v.type.max
    return 0, v.max


def _check_choice(decl: ast.Frame, frame: Frame, read: set[str],
                  defaults: dict[str, int | None], claims: Claims, problems: Problems) -> None:
    """Defaults of the values that choose the frame must choose this frame."""
    given = [n for n in sorted(read) if _default_of(decl, n) is not None]
    values: dict[str, int] = {}
    for name in claims.won.get(frame.name, {}):
        v = frame.value(name)
        value = (ir.evaluate(v.value) if v is not None and v.constant and v.value is not None
                 else defaults.get(name))
        if value is None:
            return  # a new frame is given it: the encoder checks the condition then
        values[name] = value
    if not given:
        return
    winner = claims.chooses(values)
    if winner != frame.name:
        shown = ", ".join(f"{n} = {v}" for n, v in values.items())
        became = f"frame '{winner}'" if winner else "no frame"
        default = _default_of(decl, given[0])
        assert default is not None
        problems.error(default.span, f"with its defaults ({shown}) a new '{frame.name}' frame "
                       f"would decode as {became}",
                       related=((frame.when.span, f"'{frame.name}' is chosen when this holds"),))


def _default_of(decl: ast.Frame, name: str) -> ast.Expr | None:
    node = _declared(decl).get(name)
    return node.default if node is not None else None


def check_record_defaults(records: tuple[ast.Record, ...], problems: Problems) -> None:
    """Record entries start at 0 in every field; `default` is not for them."""
    for record in records:
        for item in record.items:
            for node in item.members if isinstance(item, ast.Bits) else (item,):
                if node.default is not None:
                    problems.error(node.default.span, f"'{node.name}' is a field of record "
                                   f"'{record.name}': `default` is not supported in a record "
                                   f"(an entry's fields start at 0)")
