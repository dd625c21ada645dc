"""IR expression -> Lua source text, integer semantics as in protodsl.ir.expr.

Lua is not C: 0 is true, and Lua 5.2 has no integer division or bit operators.
So every node is printed as what it is, a number or a boolean, and converted
where the other is wanted (`(c and 1 or 0)`, `(x ~= 0)`); `/` and `%` truncate
as C does and bit operators go through the runtime's `band`/`bor`/`bxor`/`shl`/
`shr` (see the template), for 5.2 and 5.4 alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protodsl.codegen.wireshark.lua import key, string

from protodsl.ir import expr as ir

_BOOL_OPS = frozenset({"or", "and", "==", "!=", "<", "<=", ">", ">="})
_CALLS = {"&": "band", "|": "bor", "^": "bxor", "<<": "shl", ">>": "shr", "/": "div",
          "%": "mod"}
_PREC = {"or": 1, "and": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "+": 5,
         "-": 5, "*": 6, "not": 7, "neg": 7}
_ATOM = 9


@dataclass(frozen=True)
class Scope:
    """How the frame's names read in Lua: a value (`v.x`), a sized element's
    length (`n.x`), a list's records (`v.x`, an array), the state and `more()`."""

    value: Callable[[str], str]
    length: Callable[[str], str]
    state: Callable[[ir.StateValue], str]
    more: str = "off < size"


def frame_scope(frame: str, values: str = "v", lengths: str = "n") -> Scope:
    """Names of a frame decoder's body: values in `v`, lengths in `n`, the state
    `st` read through the runtime's checks (an unset member is malformed)."""

    def state(sv: ir.StateValue) -> str:
        if sv.side is None:
            return f"state_get(st, {string(sv.name)}, {string(frame)})"
        return f"side_get(st, {string(sv.name)}, {string(sv.side)}, {string(frame)})"

    return Scope(lambda n: key(values, n), lambda n: key(lengths, n), state)


def record_scope(table: str = "r") -> Scope:
    """Names inside one record entry: its members, in `table`."""

    def no_state(sv: ir.StateValue) -> str:
        raise AssertionError(f"a record reads no state: {sv.key}")

    return Scope(lambda n: key(table, n), lambda n: key(table, f"n_{n}"), no_state)


def number(e: ir.Expr, scope: Scope) -> str:
    """`e` as a Lua number."""
    return _Printer(scope).num(e, 0)


def boolean(e: ir.Expr, scope: Scope) -> str:
    """`e` as a Lua condition (non-zero is true)."""
    return _Printer(scope).cond(e, 0)


def is_boolean(e: ir.Expr) -> bool:
    return (isinstance(e, ir.Binary) and e.op in _BOOL_OPS) or isinstance(
        e, ir.InSet | ir.More) or (isinstance(e, ir.Unary) and e.op == "not")


class _Printer:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def num(self, e: ir.Expr, outer: int) -> str:
        if is_boolean(e):
            return f"({self.cond(e, 2)} and 1 or 0)"
        text, prec = self._num(e)
        return f"({text})" if prec < outer else text

    def cond(self, e: ir.Expr, outer: int) -> str:
        if not is_boolean(e):
            return f"{self.num(e, 4)} ~= 0" if outer <= 3 else f"({self.num(e, 4)} ~= 0)"
        text, prec = self._cond(e)
        return f"({text})" if prec < outer else text

    def _cond(self, e: ir.Expr) -> tuple[str, int]:
        match e:
            case ir.More():
                return self.scope.more, 3
            case ir.Unary(op="not", operand=o):
                return f"not {self.cond(o, _PREC['not'])}", _PREC["not"]
            case ir.Binary(op="and" | "or" as op, left=a, right=b):
                prec = _PREC[op]
                return f"{self.cond(a, prec)} {op} {self.cond(b, prec + 1)}", prec
            case ir.Binary(op=op, left=a, right=b):
                lua = "~=" if op == "!=" else op
                return f"{self.num(a, 4)} {lua} {self.num(b, 4)}", 3
            case ir.InSet(operand=o, values=values):
                subject = self.num(o, _ATOM)
                if len(values) == 1:
                    return f"{subject} == {values[0]}", 3
                return f"is_in({subject}, {{{', '.join(map(str, values))}}})", _ATOM
        raise TypeError(f"not a condition: {e!r}")

    def _num(self, e: ir.Expr) -> tuple[str, int]:
        match e:
            case ir.Const(value=v) | ir.EnumValue(value=v):
                return str(v), (_ATOM if v >= 0 else _PREC["neg"])
            case ir.FieldValue(field=name):
                return self.scope.value(name), _ATOM
            case ir.LenOf(field=name):
                return self.scope.length(name), _ATOM
            case ir.CountOf(field=name):
                return f"#{self.scope.value(name)}", _PREC["neg"]
            case ir.StateValue() as sv:
                return self.scope.state(sv), _ATOM
            case ir.LastOf(list=name, condition=c, value=v, default=d):
                inner = record_scope()
                return (f"last_of({self.scope.value(name)}, function(r) return "
                        f"{boolean(c, inner)} end, function(r) return {number(v, inner)} "
                        f"end, {self.num(d, 0)})"), _ATOM
            case ir.Unary(op="-", operand=o):
                return f"-{self.num(o, _PREC['neg'])}", _PREC["neg"]
            case ir.Binary(op=op, left=a, right=b) if op in _CALLS:
                return f"{_CALLS[op]}({self.num(a, 0)}, {self.num(b, 0)})", _ATOM
            case ir.Binary(op=op, left=a, right=b):
                prec = _PREC[op]
                return f"{self.num(a, prec)} {op} {self.num(b, prec + 1)}", prec
            case ir.Match(subject=s, cases=cases, default=default):
                subject = self.num(s, 4)
                text = self.num(default, 2)
                for k, result in reversed(cases):  # numbers are never false in Lua
                    text = f"({subject} == {k} and {self.num(result, 2)} or {text})"
                return text, _ATOM
        raise TypeError(f"cannot translate {e!r} to Lua")
