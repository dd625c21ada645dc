"""IR expressions to C expression text, in 64-bit signed arithmetic.

Every value is a `pd_i64`. Arithmetic goes through the runtime's `pd_add`,
`pd_mul` ... so overflow wraps and division by zero gives 0 instead of C's
undefined behaviour (a trap in Wasm). Comparisons, `and`, `or`, `not` and `in`
give 0 or 1 like the IR's `evaluate`. Every operation is parenthesised, so the
text never depends on C's precedence rules. Names are resolved by the caller's
`Names`, which knows whether a field lives in a struct, a local or a parameter:
`FrameNames` (a frame struct through a pointer), `DiscriminatorNames` (the
dispatcher's locals), `BuilderNames` (a builder's parameters).
"""

from __future__ import annotations

from typing import Protocol

from protodsl.codegen.wasm.naming import c_string, ident

from protodsl.ir import expr as ir
from protodsl.ir.model import Builder, BytesField, Frame, ListField, Record

_CALLS = {
    "+": "pd_add",
    "-": "pd_sub",
    "*": "pd_mul",
    "/": "pd_div",
    "%": "pd_mod",
    "<<": "pd_shl",
    ">>": "pd_shr",
}
_INFIX = {
    "==": "==",
    "!=": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "|": "|",
    "&": "&",
    "^": "^",
    "and": "&&",
    "or": "||",
}
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


class Names(Protocol):
    """Where the names an expression reads live in the C code at hand."""

    def field(self, name: str) -> str: ...

    def length(self, name: str) -> str: ...

    def count(self, name: str) -> str: ...

    def param(self, name: str) -> str: ...

    def param_field(self, param: str, field: str) -> str: ...


def c_int(value: int) -> str:
    """A C literal of type int or long long with this 64-bit value; values past
    the signed range are two's complement bit patterns (u64 constants)."""
    if -(1 << 31) < value < (1 << 31):
        return str(value)
    if value == _I64_MIN:
        return "(-9223372036854775807LL - 1)"
    if _I64_MIN < value <= _I64_MAX:
        return f"{value}LL"
    return f"(pd_i64)0x{value & ((1 << 64) - 1):x}ULL"


def to_c(expr: ir.Expr, names: Names) -> str:
    match expr:
        case ir.Const(value=v):
            return c_int(v)
        case ir.EnumValue(enum=enum, member=member, value=v):
            return f"{c_int(v)} /* {enum}.{member} */"
        case ir.FieldValue(field=name):
            return names.field(name)
        case ir.LenOf(field=name):
            return names.length(name)
        case ir.CountOf(field=name):
            return names.count(name)
        case ir.Param(name=name):
            return names.param(name)
        case ir.ParamField(param=param, field=field):
            return names.param_field(param, field)
        case ir.StateValue(name=name):
            # The state the frame at hand is decoded, built or encoded in
            # (plugin.c.j2, "connection state"); checked to be set before.
            return names.state(name) if isinstance(names, DiscriminatorNames) else (
                f"pd_st.{ident('s', name)}")
        case ir.Unary(op="-", operand=o):
            return f"pd_neg({to_c(o, names)})"
        case ir.Unary(op="not", operand=o):
            return f"(!{to_c(o, names)})"
        case ir.Binary(op=op, left=left, right=right) if op in _CALLS:
            return f"{_CALLS[op]}({to_c(left, names)}, {to_c(right, names)})"
        case ir.Binary(op=op, left=left, right=right) if op in _INFIX:
            return f"({to_c(left, names)} {_INFIX[op]} {to_c(right, names)})"
        case ir.InSet(operand=o, values=values):
            subject = to_c(o, names)
            if not values:
                return "0"
            return "(" + " || ".join(f"{subject} == {c_int(v)}" for v in values) + ")"
        case ir.Match():
            return f"({' '.join(match_arms(expr, names))})"
    raise TypeError(f"cannot translate {expr!r} to C")


def match_arms(expr: ir.Match, names: Names) -> list[str]:
    """A `match` as a chain of conditionals, one arm a piece (`s == k ? v :`),
    the default last; joined by spaces and parenthesised it is `to_c`'s text."""
    subject = to_c(expr.subject, names)
    arms = [f"{subject} == {c_int(k)} ? {to_c(v, names)} :" for k, v in expr.cases]
    return [*arms, to_c(expr.default, names)]


def condition(text: str) -> str:
    """C expression text wrapped in exactly one pair of parentheses, for `if`."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and i < len(text) - 1:
            return f"({text})"
    return text if text.startswith("(") else f"({text})"


class FrameNames:
    """Names inside functions that work on one frame through the pointer `fr`;
    `records` by name, for counting a list's entries."""

    def __init__(self, frame: Frame, records: dict[str, Record] | None = None,
                 ptr: str = "fr") -> None:
        self.frame = frame
        self.records = records or {}
        self.ptr = ptr

    def field(self, name: str) -> str:
        return f"{self.ptr}->{ident('f', name)}"

    def length(self, name: str) -> str:
        element = self.frame.element(name)
        if isinstance(element, BytesField) and element.pad is not None:
            return c_int(ir.evaluate(element.size))  # a padded field is always that wide
        return f"(pd_i64){self.ptr}->{ident('f', name)}.len"

    def count(self, name: str) -> str:
        """The entries of a decoded (checked) list: its bytes over a fixed
        record's width, or a variable record's entries walked."""
        element = self.frame.element(name)
        assert isinstance(element, ListField), f"count({name}) of no list"
        record = self.records[element.record]
        member = f"{self.ptr}->{ident('f', name)}"
        if record.variable:
            return f"{ident('cnt', record.name)}({member})"
        return f"(pd_i64)({member}.len / {record.size}u)"

    def param(self, name: str) -> str:
        raise ValueError(f"frame '{self.frame.name}' reads builder parameter '{name}'")

    def param_field(self, param: str, field: str) -> str:
        raise ValueError(f"frame '{self.frame.name}' reads builder parameter '{param}'")

    def test(self, expr: ir.Expr) -> str:
        """`expr` as the parenthesised condition of an `if`."""
        return condition(to_c(expr, self))


class DiscriminatorNames(FrameNames):
    """`when` conditions read the discriminator locals of the dispatcher, and
    the state through `pd_state_get`, which notes an unset member as the Python
    codec's `_set` raises for it: when the decoder tries that frame."""

    def __init__(self, frame: Frame, state_masks: dict[str, str] | None = None) -> None:
        super().__init__(frame)
        self.state_masks = state_masks or {}

    def field(self, name: str) -> str:
        return ident("d", name)

    def state(self, name: str) -> str:
        message = c_string(f"state.{name}: state '{name}' is read by frame "
                           f"'{self.frame.name}' but was never set (no earlier frame set it)")
        return f"pd_state_get({self.state_masks[name]}, pd_st.{ident('s', name)}, {message})"


class BuilderNames:
    """A builder reads its parameters: integers and fields of the request."""

    def __init__(self, builder: Builder) -> None:
        self.builder = builder

    def field(self, name: str) -> str:
        raise ValueError(f"builder '{self.builder.kind}' reads field '{name}'")

    def length(self, name: str) -> str:
        raise ValueError(f"builder '{self.builder.kind}' reads len({name})")

    def count(self, name: str) -> str:
        raise ValueError(f"builder '{self.builder.kind}' reads count({name})")

    def param(self, name: str) -> str:
        return ident("p", name)

    def param_field(self, param: str, field: str) -> str:
        return f"{ident('p', param)}->{ident('f', field)}"
