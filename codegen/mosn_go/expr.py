"""IR expressions to Go expression text: every value an int64, every operation a
call of the runtime's helpers (add, eq, land ...), so the text never depends on
Go's precedence rules nor on gofmt's spacing of mixed operators."""

from __future__ import annotations

from collections.abc import Callable

from protodsl.ir import expr as ir
from protodsl.ir.model import ValueNode
from protodsl.plan import FramePlan

_CALLS = {
    "+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "<<": "shl", ">>": "shr",
    "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
    "|": "bor", "&": "band", "^": "bxor", "and": "land", "or": "lor",
}


def go_int(value: int) -> str:
    """An int64 constant; a u64 past the signed range as its bit pattern."""
    if value >= 1 << 63:
        value -= 1 << 64
    if value == -(1 << 63):
        return "int64(-9223372036854775807 - 1)"
    return f"int64({value})"


def value_as_encoded(fp: FramePlan, node: ValueNode, stored: str,
                     go: Callable[[ir.Expr], str]) -> str | None:
    """The int64 text of a frame's value as encode has it: the member `stored`,
    a constant, or the expression encode computes it by (the Python codec's
    property); None when encode does not compute it from the other fields."""
    if node.value is None:
        return f"int64({stored})"
    if node.constant:
        return go_int(ir.evaluate(node.value))
    computed = next((c.expr for c in fp.encode.computed if c.node.name == node.name), None)
    return None if computed is None else go(computed)


def to_go(expr: ir.Expr, field: Callable[[str], str], length: Callable[[str], str],
          param: Callable[[ir.Param | ir.ParamField], str] | None = None,
          count: Callable[[str], str] | None = None,
          state: Callable[[str], str] | None = None) -> str:
    """`field(name)`, `length(name)` and `count(name)` give the int64 text of a
    value, a length and a list's number of records; `param`, in a builder, that
    of a parameter or a field of the request answered (a `match` is then a call
    of the MOSN runtime's `pick`); `state(name)`, in a spec with a state, that
    of a member of the connection's state (one kept per side is refused)."""

    def go(e: ir.Expr) -> str:
        match e:
            case ir.Const(value=v) | ir.EnumValue(value=v):
                return go_int(v)
            case ir.FieldValue(field=name):
                return field(name)
            case ir.LenOf(field=name):
                return length(name)
            case ir.CountOf(field=name) if count is not None:
                return count(name)
            case ir.StateValue(name=name, side=None) if state is not None:
                return state(name)
            case ir.Unary(op="-", operand=o):
                return f"neg({go(o)})"
            case ir.Unary(op="not", operand=o):
                return f"not({go(o)})"
            case ir.Binary(op=op, left=left, right=right) if op in _CALLS:
                return f"{_CALLS[op]}({go(left)}, {go(right)})"
            case ir.InSet(operand=o, values=values):
                subject = go(o)
                out = "int64(0)"
                for v in reversed(values):
                    out = f"lor(eq({subject}, {go_int(v)}), {out})" if out != "int64(0)" \
                        else f"eq({subject}, {go_int(v)})"
                return out
            case ir.Param() | ir.ParamField() if param is not None:
                return param(e)
            case ir.Match(subject=s, cases=cases, default=d) if param is not None:
                arms = "".join(f", {go_int(k)}, {go(v)}" for k, v in cases)
                return f"pick({go(s)}, {go(d)}{arms})"
            case ir.Match():
                raise Unsupported("a `match` expression")
        raise Unsupported(f"the expression `{ir.spelled(e)}`")

    return go(expr)


class Unsupported(Exception):
    """A construct the Go printer does not print yet; check_target names it first."""
