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
    state: Callable[[ir.StateValue], str] | None = None,
    more: str = "_off < _size",
) -> str:
    """`value(name)` and `length(name)` give the text reading a field's value and a
    sized field's encoded length; `param(name, field)` reads builder parameters;
    `records(name)` a list's records (by default its value); `state(node)` a
    state member (by default of the State `_st`, already checked to be set, see
    `state_reader`); `more` whether the frame has bytes left (by default in a
    decoder's body)."""
    records = records or value
    state = state or state_reader("_st")

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
            case ir.StateValue() as sv:
                return state(sv), 12
            case ir.LastOf(list=name, condition=c, value=v, default=d):
                def member(n: str) -> str:
                    return f"_r.{naming.attribute(n)}"
                found = translate(v, member, no_length)
                test = translate(c, member, no_length)
                return (f"next(({found} for _r in reversed({records(name)}) if {test}), "
                        f"{go(d, 0)})"), 12
            case ir.More():
                return more, 4
            case ir.Unary(op="not", operand=ir.Unary(op="not", operand=o)) if _is_condition(o):
                return emit(o)  # a negated `otherwise`-style claim: no `not not`
            case ir.Unary(op="not", operand=ir.InSet(operand=o, values=values)):
                options = ", ".join(str(v) for v in values)
                return f"{go(o, 5)} not in ({options}{',' if len(values) == 1 else ''})", 4
            case ir.Unary(op="not", operand=ir.Binary(op="==", left=a, right=b)):
                return emit(ir.Binary("!=", a, b, node.span))
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


def state_reader(holder: str, frame: str | None = None, checked: bool = False
                 ) -> Callable[[ir.StateValue], str]:
    """How generated code reads a state member off the State `holder`: one side's
    value of a member kept per side through `_of_side`, which checks the side and
    that it is set (for `frame`); another through `_known` (a frame's layout,
    read once `_require` checked its members), or through `_set` when `checked`
    (a `when`, tried before anything checked the state)."""

    def read(sv: ir.StateValue) -> str:
        attr = naming.snake(sv.name)
        if sv.side is not None:
            assert frame is not None, "a member kept per side is read for a frame"
            return f"_of_side({holder}, {sv.name!r}, {sv.side!r}, {frame!r})"
        if checked:
            return f"_set({holder}.{attr}, {sv.name!r}, {frame!r})"
        return f"_known({holder}.{attr})"

    return read


def frame_limit(limit: ir.Expr, frame: str, holder: str = "_st") -> str:
    """A `max_frame` limit read off the State `holder`, for `frame`."""
    return translate(limit, no_length, no_length, state=state_reader(holder, frame))


def _is_condition(e: ir.Expr) -> bool:
    """Whether `e` is already true or false, so that `not not e` is `e`."""
    return (isinstance(e, ir.InSet | ir.More) or (isinstance(e, ir.Unary) and e.op == "not")
            or (isinstance(e, ir.Binary) and e.op in ir.BOOLEAN_OPS))
