"""Resolved expressions: every name is known to be a field, an enum member or a
builder parameter, so a backend translates them without looking anything up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TypeGuard

from protodsl.diagnostics import Span


@dataclass(frozen=True)
class Const:
    value: int
    span: Span
    spelling: str | None = field(default=None, compare=False)  # `0xCAFEBABE`, as written


@dataclass(frozen=True)
class EnumValue:
    enum: str
    member: str
    value: int
    span: Span


@dataclass(frozen=True)
class FieldValue:
    """The integer value of a field or bit member of the same frame."""

    field: str
    span: Span


@dataclass(frozen=True)
class LenOf:
    """The encoded byte length of a bytes, text or map field of the same frame."""

    field: str
    span: Span


@dataclass(frozen=True)
class CountOf:
    """The number of records a list field of the same frame holds; a computed
    value that reads it is checked on decode once the list is read."""

    field: str
    span: Span


@dataclass(frozen=True)
class Param:
    """A builder's integer parameter (`id`, `code`)."""

    name: str
    span: Span


@dataclass(frozen=True)
class ParamField:
    """A field of the frame a builder answers (`req.request_id`)."""

    param: str
    field: str
    span: Span


@dataclass(frozen=True)
class StateValue:
    """A member of the connection's state (`state.level`): what an earlier frame
    set, or its initial value. Read only by `when`, `if`, `set` and a `max_frame`
    limit. A member kept per side is read as one side's value: `side` is
    "sender" (the side whose bytes these are) or "receiver"."""

    name: str
    span: Span
    side: str | None = None

    @property
    def key(self) -> str:
        """Its name in an evaluation environment, apart from the frame's fields."""
        return f"state.{self.side}.{self.name}" if self.side else f"state.{self.name}"


@dataclass(frozen=True)
class LastOf:
    """`last(list, condition, value, default)`: `value` of the last record of a
    list field for which `condition` holds, else `default` (HTTP/2: the last
    SETTINGS entry with id 5). `condition` and `value` read the record's members
    (a FieldValue names a member there); `default` reads the frame. Only a `set`
    reads it, once the frame has passed."""

    list: str
    record: str
    condition: Expr
    value: Expr
    default: Expr
    span: Span


@dataclass(frozen=True)
class More:
    """`more()` in a field's condition: the frame's declared size has bytes left
    where the field starts. On decode that is what it says; on encode the field
    is written when it, or a field after it, is not zero or empty (MQTT 5: "the
    Reason Code and Property Length can be omitted if ..."), see
    `Frame.written_when`."""

    span: Span

    key = "more()"


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Expr
    span: Span


@dataclass(frozen=True)
class Binary:
    op: str  # or and == != < <= > >= | & << >> + - * / %
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class InSet:
    operand: Expr
    values: tuple[int, ...]
    span: Span
    # each value as the spec wrote it (`oneway`, `0x10`), for messages
    spellings: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Match:
    subject: Expr
    cases: tuple[tuple[int, Expr], ...]
    default: Expr
    span: Span


@dataclass(frozen=True)
class Checksum:
    """A field's whole value: a checksum (`crc32`: IEEE, as zlib) of the encoded
    bytes from the start of `first` to the end of `last`, which ends right
    before the field itself."""

    kind: str
    first: str
    last: str
    span: Span


@dataclass(frozen=True)
class Rest:
    """`rest`: the bytes from here to the frame's end. As a size (`bytes[rest]`)
    the field fills the frame; as a value it declares the frame's size, counted
    from the end of the field that holds it (`len(rest)`) or from the start of
    field `start` (`size(start..last)`, the frame's last field)."""

    span: Span
    start: str | None = None


@dataclass(frozen=True)
class SizeOf:
    """`size(first..last)`: the bytes of a run of fields. Only the resolver makes
    it; the sizes pass turns it into the sum of the run's widths and lengths
    (or, reaching the frame's end on an integer, into a declared `Rest`)."""

    first: str
    last: str
    span: Span


Expr = (Const | EnumValue | FieldValue | LenOf | CountOf | Param | ParamField | StateValue
        | More | Unary | Binary | InSet | Match | Checksum | Rest | SizeOf | LastOf)

BOOLEAN_OPS = frozenset({"or", "and", "==", "!=", "<", "<=", ">", ">="})


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of an expression, parents first; a LastOf's condition and value
    are in its records' scope, not the frame's, so only its default is walked."""
    yield expr
    match expr:
        case Unary(operand=operand):
            yield from walk(operand)
        case Binary(left=left, right=right):
            yield from walk(left)
            yield from walk(right)
        case InSet(operand=operand):
            yield from walk(operand)
        case Match(subject=subject, cases=cases, default=default):
            yield from walk(subject)
            for _, value in cases:
                yield from walk(value)
            yield from walk(default)
        case LastOf(default=default):
            yield from walk(default)
        case _:
            pass


def substitute(expr: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """`expr` with every node for which `fn` gives a replacement replaced,
    children first tried where `fn` gives None."""
    new = fn(expr)
    if new is not None:
        return new
    match expr:
        case Unary(operand=o):
            return replace(expr, operand=substitute(o, fn))
        case Binary(left=a, right=b):
            return replace(expr, left=substitute(a, fn), right=substitute(b, fn))
        case InSet(operand=o):
            return replace(expr, operand=substitute(o, fn))
        case Match(subject=s, cases=cases, default=d):
            return replace(expr, subject=substitute(s, fn),
                           cases=tuple((k, substitute(v, fn)) for k, v in cases),
                           default=substitute(d, fn))
        case LastOf(default=d):
            return replace(expr, default=substitute(d, fn))
    return expr


def fields_read(expr: Expr) -> set[str]:
    """Names of this frame's fields an expression reads (values and lengths)."""
    return ({n.field for n in walk(expr) if isinstance(n, FieldValue | LenOf | CountOf)}
            | {n.list for n in walk(expr) if isinstance(n, LastOf)})


def state_read(expr: Expr) -> set[str]:
    """Names of the state members an expression reads, of those kept once per
    connection; one side's value of a member kept per side is checked as it is read."""
    return {n.name for n in walk(expr) if isinstance(n, StateValue) and n.side is None}


def reads_more(expr: Expr | None) -> TypeGuard[Expr]:
    """Whether a condition asks `more()`: whether the frame has bytes left."""
    return expr is not None and any(isinstance(n, More) for n in walk(expr))


def is_constant(expr: Expr) -> bool:
    return all(isinstance(n, Const | EnumValue | Unary | Binary) for n in walk(expr))


def evaluate(expr: Expr, env: dict[str, int] | None = None) -> int:
    """Evaluate with integer semantics shared by every backend (C-like division)."""
    env = env or {}
    match expr:
        case Const(value=v) | EnumValue(value=v):
            return v
        case FieldValue(field=name) | LenOf(field=name) | CountOf(field=name) | Param(name=name):
            return env[name]
        case ParamField(param=p, field=f):
            return env[f"{p}.{f}"]
        case StateValue() as sv:
            return env[sv.key]
        case More():
            return env[More.key]
        case Unary(op="-", operand=o):
            return -evaluate(o, env)
        case Unary(op="not", operand=o):
            return int(not evaluate(o, env))
        case Binary(op=op, left=left, right=right):
            a, b = evaluate(left, env), evaluate(right, env)
            return _BINARY[op](a, b)
        case InSet(operand=o, values=values):
            return int(evaluate(o, env) in values)
        case Match(subject=s, cases=cases, default=default):
            key = evaluate(s, env)
            for value, result in cases:
                if key == value:
                    return evaluate(result, env)
            return evaluate(default, env)
    raise TypeError(f"cannot evaluate {expr!r}")


_SPELLING_PRECEDENCE = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4,
                        ">=": 4, "|": 5, "^": 6, "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9,
                        "*": 10, "/": 10, "%": 10}


def spelled(expr: Expr) -> str:
    """`expr` as a spec writes it (enum members by name), for messages."""

    def go(node: Expr, outer: int) -> str:
        text, prec = emit(node)
        return f"({text})" if prec < outer else text

    def emit(node: Expr) -> tuple[str, int]:
        match node:
            case Const(value=v, spelling=spelling):
                return spelling or str(v), 12
            case EnumValue(member=member):
                return member, 12
            case FieldValue(field=name) | Param(name=name):
                return name, 12
            case LenOf(field=name):
                return f"len({name})", 12
            case CountOf(field=name):
                return f"count({name})", 12
            case ParamField(param=p, field=f):
                return f"{p}.{f}", 12
            case StateValue() as sv:
                return sv.key, 12
            case More():
                return More.key, 12
            case Unary(op="not", operand=o):
                return f"not {go(o, 3)}", 3
            case Unary(op="-", operand=o):
                return f"-{go(o, 11)}", 11
            case Binary(op=op, left=a, right=b):
                prec = _SPELLING_PRECEDENCE[op]
                return f"{go(a, prec)} {op} {go(b, prec + 1)}", prec
            case InSet(operand=o, values=values, spellings=spellings):
                return f"{go(o, 5)} in {{{', '.join(spellings or map(str, values))}}}", 4
            case Match(subject=s):
                return f"match {go(s, 0)} {{...}}", 0
            case LastOf(list=name, condition=c, value=v, default=d):
                return f"last({name}, {go(c, 0)}, {go(v, 0)}, {go(d, 0)})", 12
        return type(node).__name__, 12

    return go(expr, 0)


def compiled(expr: Expr) -> Callable[[dict[str, int]], int]:
    """`expr` as a function of the environment, as `evaluate` computes it, built
    once to be called many times (claims.py tries every discriminator value)."""
    match expr:
        case Const(value=v) | EnumValue(value=v):
            return lambda env: v
        case FieldValue(field=name) | LenOf(field=name) | CountOf(field=name) | Param(name=name):
            return lambda env: env[name]
        case ParamField(param=p, field=f):
            key = f"{p}.{f}"
            return lambda env: env[key]
        case StateValue(key=key):
            return lambda env: env[key]
        case More():
            return lambda env: env[More.key]
        case Unary(op="-", operand=o):
            inner = compiled(o)
            return lambda env: -inner(env)
        case Unary(op="not", operand=o):
            inner = compiled(o)
            return lambda env: int(not inner(env))
        case Binary(op=op, left=left, right=right):
            a, b, apply = compiled(left), compiled(right), _BINARY[op]
            return lambda env: apply(a(env), b(env))
        case InSet(operand=o, values=values):
            inner, members = compiled(o), frozenset(values)
            return lambda env: int(inner(env) in members)
        case Match():
            return lambda env: evaluate(expr, env)
    raise TypeError(f"cannot evaluate {expr!r}")


def _div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


_BINARY: dict[str, Callable[[int, int], int]] = {
    "or": lambda a, b: int(bool(a) or bool(b)),
    "and": lambda a, b: int(bool(a) and bool(b)),
    "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b),
    ">=": lambda a, b: int(a >= b),
    "|": lambda a, b: a | b,
    "&": lambda a, b: a & b,
    "^": lambda a, b: a ^ b,
    "<<": lambda a, b: a << b,
    ">>": lambda a, b: a >> b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _div,
    "%": lambda a, b: a - b * _div(a, b),
}
