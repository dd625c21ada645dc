"""IR expression -> Python source text, integer semantics as in protodsl.ir.expr."""

from __future__ import annotations

from collections.abc import Callable

from protodsl.codegen.python import naming

from protodsl.ir import expr as ir
from protodsl.ir.model import BytesField, Frame, KvMapField, ListField

_PRECEDENCE = {
    "or": 1, "and": 2, "not": 3,
    "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4,
    "|": 5, "^": 6, "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10, "neg": 11,
}


def translate(
    e: ir.Expr,
    value: Callable[[str], str],
    length: Callable[[str], str],
    param: Callable[[str, str | None], str] = lambda p, f: p,
    records: Callable[[str], str] | None = None,
    state: Callable[[str], str] = lambda n: f"_st.{naming.snake(n)}",
    more: str = "_off < _size",
) -> str:
    """`value(name)` and `length(name)` give the text reading a field's value and a
    sized field's encoded length; `param(name, field)` reads builder parameters;
    `records(name)` a list's records (by default its value); `state(name)` a
    state member (by default of the State `_st`, checked to be set); `more`
    whether the frame has bytes left (by default in a decoder's body)."""
    records = records or value

    def go(node: ir.Expr, outer: int) -> str:
        text, prec = emit(node)
        return f"({text})" if prec < outer else text

    def emit(node: ir.Expr) -> tuple[str, int]:
        match node:
            case ir.Const(value=v):
                return (str(v), 12) if v >= 0 else (str(v), 11)
            case ir.EnumValue(value=v):
                return str(v), 12
            case ir.FieldValue(field=name):
                return value(name), 12
            case ir.LenOf(field=name):
                return length(name), 12
            case ir.CountOf(field=name):
                return f"len({records(name)})", 12
            case ir.Param(name=name):
                return param(name, None), 12
            case ir.ParamField(param=p, field=f):
                return param(p, f), 12
            case ir.StateValue(name=name):
                return state(name), 12
            case ir.More():
                return more, 4
            case ir.Unary(op="not", operand=o):
                return f"not {go(o, 3)}", 3
            case ir.Unary(op="-", operand=o):
                return f"-{go(o, 11)}", 11
            case ir.Binary(op="/", left=a, right=b):
                return f"_div({go(a, 0)}, {go(b, 0)})", 12
            case ir.Binary(op="%", left=a, right=b):
                return f"_mod({go(a, 0)}, {go(b, 0)})", 12
            case ir.Binary(op=op, left=a, right=b):
                prec = _PRECEDENCE[op]
                left = prec + 1 if prec == _PRECEDENCE["=="] else prec  # Python chains comparisons
                return f"{go(a, left)} {op} {go(b, prec + 1)}", prec
            case ir.InSet(operand=o, values=values):
                options = ", ".join(str(v) for v in values)
                return f"{go(o, 5)} in ({options}{',' if len(values) == 1 else ''})", 4
            case ir.Match(subject=s, cases=cases, default=default):
                subject = go(s, 0)
                text = go(default, 1)
                for key, result in reversed(cases):
                    text = f"{go(result, 1)} if {subject} == {key} else {text}"
                return text, 0
        raise TypeError(f"cannot translate {node!r}")

    return go(e, 0)


def no_length(name: str) -> str:
    """For expressions that read no length (conditions, decoded sizes)."""
    raise AssertionError(f"no length in this context: {name}")


def lengths(frame: Frame, value: Callable[[str], str], encoded: bool = False
            ) -> Callable[[str], str]:
    """`len(x)` of a frame's sized element as its encoded byte count, the element
    read through `value`; `encoded` where text is already bytes there."""

    def length(name: str) -> str:
        element = frame.element(name)
        text = value(name)
        if isinstance(element, KvMapField):
            return f"_kvmap_size({text}, {element.overhead})"
        if isinstance(element, ListField):
            return f"_record_len_{element.record}({text})"
        if isinstance(element, BytesField) and element.text and not encoded:
            return f"len({text}.encode())"
        return f"len({text})"

    return length
