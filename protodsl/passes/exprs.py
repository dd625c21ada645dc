"""AST expressions to IR expressions: names resolved, types checked.

A bare name is, in this order: a value of the frame, a builder parameter, a
member of the enum the context expects (`type == oneway` looks in `type`'s enum),
or a member of exactly one enum."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from protodsl.diagnostics import Span
from protodsl.frontend import ast
from protodsl.ir import expr as ir
from protodsl.ir.model import Enum, Frame, Record, StateMember, VarintField, values_of
from protodsl.passes.problems import Problems

# An expression's type: "int", "bool", or the name of an enum.
Type = str
INT, BOOL = "int", "bool"
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}
_I64_MIN, _U64_MAX = -(1 << 63), (1 << 64) - 1
SIDES = ("sender", "receiver")  # `state.sender.NAME`: whose value of a member kept per side


class Invalid(Exception):
    """An expression that has already been reported."""


@dataclass
class Scope:
    enums: dict[str, Enum]
    values: dict[str, str | None] = field(default_factory=dict)  # name -> enum
    sized: set[str] = field(default_factory=set)  # bytes, text, map and list fields
    lists: set[str] = field(default_factory=set)
    list_records: dict[str, str] = field(default_factory=dict)  # list field -> its record
    wide: set[str] = field(default_factory=set)  # 128-bit integers: no expression reads them
    int_params: set[str] = field(default_factory=set)
    # A builder's request parameter: any request frame the protocol decodes.
    frame_params: dict[str, tuple[Frame, ...]] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    state: dict[str, StateMember] = field(default_factory=dict)  # the connection's members
    # Names whose declaration is already reported, so that no use of them is: fields
    # of an unknown type (`untyped`: neither integers nor sized), fields that did not
    # lay out (`broken`), records that did not (`broken_records`).
    untyped: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)
    broken_records: set[str] = field(default_factory=set)
    # An unknown name is reported once per scope; its later uses are related places.
    unknown: dict[str, int] = field(default_factory=dict)

    def fields(self) -> set[str]:
        return set(self.values) | self.sized | self.untyped

    def members(self, enum: str | None = None) -> set[str]:
        enums = [self.enums[enum]] if enum in self.enums else self.enums.values()
        return {m.name for e in enums for m in e.members}


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A note for an unknown `name`: the closest of `candidates`, when one is close."""
    close = difflib.get_close_matches(name, sorted(set(candidates) - {name}), n=1)
    return f"did you mean '{close[0]}'?" if close else None


def report_unknown(
    scope: Scope, problems: Problems, span: Span, message: str, note: str | None = None
) -> None:
    """Report an unknown name once per scope: a later use of the same unknown name
    becomes a related place of the first report, not a diagnostic of its own."""
    first = scope.unknown.get(message)
    if first is not None and first < len(problems.items) and (
            problems.items[first].message == message):
        d = problems.items[first]
        problems.items[first] = dataclasses.replace(
            d, related=d.related + ((span, "also used here"),))
        return
    scope.unknown[message] = len(problems.items)
    problems.error(span, message, note)


class ExprResolver:
    def __init__(self, scope: Scope, problems: Problems) -> None:
        self.scope = scope
        self.problems = problems
        self._state_readable = False
        self._more_readable = False
        self._last_readable = False

    def resolve(self, e: ast.Expr, want: Type, hint: str | None = None, state: bool = False,
                more: bool = False, last: bool = False) -> ir.Expr | None:
        """Resolve `e` as a value of type `want`; None after reporting a problem.
        With `state`, it may read the connection's state (`when`, `if`, `set`);
        with `more`, whether the frame has bytes left (a field's `if`); with
        `last`, an aggregate over a list's records (a `set`)."""
        self._state_readable, self._more_readable, self._last_readable = state, more, last
        try:
            out, typ = self._expr(e, hint)
            self._expect(e, typ, want)
            return out
        except Invalid:
            return None
        finally:
            self._state_readable = self._more_readable = self._last_readable = False

    def _fail(self, e: ast.Expr | ast.BytesLit, message: str, note: str | None = None
              ) -> Invalid:
        self.problems.error(e.span, message, note)
        return Invalid()

    def _unknown(self, e: ast.Expr | ast.FieldRange, message: str, note: str | None = None
                 ) -> Invalid:
        report_unknown(self.scope, self.problems, e.span, message, note)
        return Invalid()

    def _expect(self, e: ast.Expr, got: Type, want: Type) -> None:
        if want == got or (want == INT and got not in (BOOL,)) or (
            want not in (INT, BOOL) and got == INT and isinstance(e, ast.IntLit | ast.Match)
        ):
            return
        raise self._fail(e, f"type mismatch: expected {_describe(want)}, found {_describe(got)}")

    def _expr(self, e: ast.Expr, hint: str | None) -> tuple[ir.Expr, Type]:
        match e:
            case ast.IntLit(value=v):
                return ir.Const(v, e.span, e.spelling), INT
            case ast.NameRef(name=name):
                return self._name(e, name, hint)
            case ast.Dotted(base="state", name=side, member=str(name)):
                return self._state(e, name, side), INT
            case ast.Dotted(base=base, name=name, member=str(member)):
                raise self._fail(e, f"'{base}.{name}.{member}': only a state member kept per "
                                 f"side has three parts (state.sender.NAME, "
                                 f"state.receiver.NAME)")
            case ast.Dotted(base=base, name=name):
                return self._dotted(e, base, name)
            case ast.Call(func="last", args=args):
                return self._last(e, args), INT
            case ast.Call(func="len", args=(ast.NameRef(name=name) as arg,)):
                if name in self.scope.sized:
                    return ir.LenOf(name, e.span), INT
                if name in self.scope.untyped:
                    raise Invalid()  # its unknown type is reported
                if name in self.scope.values:
                    raise self._fail(arg, f"len() needs a bytes, text or map field; "
                                     f"'{name}' is an integer")
                raise self._unknown(arg, f"unknown field '{name}'",
                                    did_you_mean(name, self.scope.sized)
                                    or did_you_mean(name, self.scope.fields()))
            case ast.Call(func="len"):
                raise self._fail(e, "len() takes the name of one bytes, text or map field")
            case ast.Call(func="count", args=(ast.NameRef(name=name) as arg,)):
                if name in self.scope.lists:
                    return ir.CountOf(name, e.span), INT
                if name in self.scope.untyped:
                    raise Invalid()  # its unknown type is reported
                if name in self.scope.fields():
                    raise self._fail(arg, f"count() counts the records of a list; '{name}' "
                                     f"is not a list", note=f"len({name}) is its byte length"
                                     if name in self.scope.sized else None)
                raise self._unknown(arg, f"unknown field '{name}'",
                                    did_you_mean(name, self.scope.lists)
                                    or did_you_mean(name, self.scope.fields()))
            case ast.Call(func="count"):
                raise self._fail(e, "count() takes the name of one list field")
            case ast.Call(func="size", args=(ast.FieldRange(first=first, last=last) as run,)):
                for name in (first, last):
                    if name in self.scope.untyped:
                        raise Invalid()  # its unknown type is reported
                    if name not in self.scope.fields():
                        raise self._unknown(run, f"unknown field '{name}'",
                                            did_you_mean(name, self.scope.fields()))
                return ir.SizeOf(first, last, e.span), INT
            case ast.Call(func="size"):
                raise self._fail(e, "size() takes a run of fields: size(first..last)")
            case ast.Call(func="more", args=()):
                if not self._more_readable:
                    raise self._fail(e, "more() is read only by a field's `if`: whether the "
                                     "frame has bytes left where the field starts")
                return ir.More(e.span), BOOL
            case ast.Call(func="more"):
                raise self._fail(e, "more() takes no arguments")
            case ast.Call(func=func):
                raise self._fail(e, f"unknown function '{func}' (len(field), count(list), "
                                 f"size(first..last), more() and last(list, condition, "
                                 f"value, default) exist)",
                                 did_you_mean(func, ("len", "count", "size", "more", "last")))
            case ast.Unary(op="not", operand=o):
                inner, _ = self._typed(o, BOOL)
                return ir.Unary("not", inner, e.span), BOOL
            case ast.Unary(op=op, operand=o):
                inner, _ = self._typed(o, INT)
                return self._checked(e, ir.Unary(op, inner, e.span)), INT
            case ast.Binary(op=op, left=left, right=right) if op in ("and", "or"):
                a, _ = self._typed(left, BOOL)
                b, _ = self._typed(right, BOOL)
                return ir.Binary(op, a, b, e.span), BOOL
            case ast.Binary(op=op, left=left, right=right) if op in _COMPARE:
                a, ta = self._expr(left, None)
                b, tb = self._expr(right, ta if ta not in (INT, BOOL) else None)
                if ta != tb and (BOOL in (ta, tb) or INT not in (ta, tb)):
                    raise self._fail(e, f"type mismatch: cannot compare {_describe(ta)} "
                                     f"with {_describe(tb)}")
                return ir.Binary(op, a, b, e.span), BOOL
            case ast.Binary(op=op, left=left, right=right):
                a, _ = self._typed(left, INT)
                b, _ = self._typed(right, INT)
                return self._checked(e, ir.Binary(op, a, b, e.span), right), INT
            case ast.InSet(operand=o, options=options):
                inner, t = self._expr(o, None)
                values: list[int] = []
                spellings: list[str] = []
                for opt in options:
                    option, _ = self._typed(opt, t if t != BOOL else INT, hint=t)
                    if not ir.is_constant(option):
                        raise self._fail(opt, "the options of 'in' must be constants")
                    values.append(ir.evaluate(option))
                    spellings.append(ir.spelled(option))
                return ir.InSet(inner, tuple(values), e.span, tuple(spellings)), BOOL
            case ast.Match(subject=subject, cases=cases):
                subj, _ = self._typed(subject, INT)
                out: list[tuple[int, ir.Expr]] = []
                default: ir.Expr | None = None
                result_type = hint or INT
                for case in cases:
                    if isinstance(case.value, ast.BytesLit):
                        raise self._fail(case.value, f"type mismatch: expected "
                                         f"{_describe(result_type)}, found a bytes or text "
                                         f"literal", note="a match yields literals only for a "
                                         "builder's bytes or text field")
                    value, _ = self._typed(case.value, result_type, hint=hint)
                    if case.key is None:
                        default = value
                    elif any(k == case.key for k, _ in out):
                        raise self._fail(case.value, f"duplicate match case {case.key}")
                    else:
                        out.append((case.key, value))
                if default is None:
                    raise self._fail(e, "a match needs a default case '_ => ...'")
                return ir.Match(subj, tuple(out), default, e.span), result_type
        raise self._fail(e, "unsupported expression")

    def _checked(self, e: ast.Expr, node: ir.Expr, right: ast.Expr | None = None) -> ir.Expr:
        """Reject what has no value in any backend: a constant zero divisor, a constant
        shift count outside 0..63, a constant expression beyond 64 bits. Checked at
        every node, so constants never grow large enough to be slow."""
        if isinstance(node, ir.Binary) and right is not None and ir.is_constant(node.right):
            count = ir.evaluate(node.right)
            if node.op in ("/", "%") and count == 0:
                raise self._fail(right, "division by zero")
            if node.op in ("<<", ">>") and not 0 <= count <= 63:
                raise self._fail(right, f"shift count {count} is out of range (0..63)")
        if ir.is_constant(node) and not _I64_MIN <= ir.evaluate(node) <= _U64_MAX:
            raise self._fail(e, "constant expression out of the 64-bit range")
        return node

    def _typed(
        self, e: ast.Expr, want: Type, hint: str | None = None
    ) -> tuple[ir.Expr, Type]:
        out, typ = self._expr(e, hint if hint not in (INT, BOOL) else None)
        self._expect(e, typ, want)
        return out, typ

    def _name(self, e: ast.Expr, name: str, hint: str | None) -> tuple[ir.Expr, Type]:
        scope = self.scope
        if name in scope.untyped:
            raise Invalid()  # its unknown type is reported
        if name in scope.wide:
            raise self._fail(e, f"'{name}' is a 128-bit integer: data only, no expression "
                             f"reads it")
        if name in scope.values:
            if hint is not None and hint in scope.enums and scope.enums[hint].member(name):
                raise self._fail(e, f"ambiguous name '{name}': a field, and a member of "
                                 f"enum '{hint}'",
                                 note=f"write {hint}.{name} for the member, or rename the field")
            return ir.FieldValue(name, e.span), scope.values[name] or INT
        if name in scope.sized:
            if hint is not None and hint in scope.enums and scope.enums[hint].member(name):
                raise self._fail(e, f"ambiguous name '{name}': a field (not an integer), "
                                 f"and a member of enum '{hint}'",
                                 note=f"write {hint}.{name} for the member, or len({name}) "
                                 f"for the field's length")
            raise self._fail(e, f"'{name}' is not an integer; did you mean len({name})?")
        if name in scope.int_params:
            return ir.Param(name, e.span), INT
        if name in scope.frame_params:
            raise self._fail(e, f"'{name}' is a frame; name one of its fields ({name}.field)")
        if hint is not None and hint in scope.enums:
            member = scope.enums[hint].member(name)
            if member is not None:
                return ir.EnumValue(hint, name, member.value, e.span), hint
        owners = [en for en in scope.enums.values() if en.member(name) is not None]
        if len(owners) == 1:
            member = owners[0].member(name)
            assert member is not None
            return ir.EnumValue(owners[0].name, name, member.value, e.span), owners[0].name
        if len(owners) > 1:
            names = " and ".join(o.name for o in owners)
            raise self._fail(e, f"ambiguous name '{name}': a member of {names}",
                             note="write " + " or ".join(f"{o.name}.{name}" for o in owners))
        if hint is not None and hint in scope.enums:
            raise self._unknown(e, f"'{name}' is not a member of enum '{hint}'",
                                did_you_mean(name, scope.members(hint)))
        raise self._unknown(e, f"unknown name '{name}'", did_you_mean(
            name, scope.fields() | scope.int_params | set(scope.frame_params) | scope.members()))

    def _dotted(self, e: ast.Expr, base: str, name: str) -> tuple[ir.Expr, Type]:
        scope = self.scope
        if base == "state":  # a keyword: no enum or parameter has the name
            return self._state(e, name), INT
        if base in scope.enums:
            member = scope.enums[base].member(name)
            if member is None:
                raise self._unknown(e, f"'{name}' is not a member of enum '{base}'",
                                    did_you_mean(name, scope.members(base)))
            return ir.EnumValue(base, name, member.value, e.span), base
        if base in scope.frame_params:
            frames = scope.frame_params[base]
            values = [f.value(name) for f in frames]
            every = (f"'{base}' is any request frame ({', '.join(f.name for f in frames)}): "
                     f"each must have the field" if len(frames) > 1 else None)
            for frame, value in zip(frames, values, strict=True):
                if value is None:
                    raise self._fail(e, f"frame '{frame.name}' has no integer field '{name}'",
                                     note=every or did_you_mean(
                                         name, (v.name for v in frame.values())))
            enums = {v.enum for v in values if v is not None}
            if len(enums) > 1:
                raise self._fail(e, f"'{base}.{name}' has different types in the request "
                                 f"frames", note=every)
            first = values[0]
            assert first is not None
            return ir.ParamField(base, name, e.span), first.enum or INT
        raise self._unknown(e, f"unknown name '{base}'", did_you_mean(
            base, set(scope.enums) | set(scope.frame_params) | scope.int_params | scope.fields()))


    def _state(self, e: ast.Expr, name: str, side: str | None = None) -> ir.StateValue:
        written = f"state.{side}.{name}" if side else f"state.{name}"
        if not self.scope.state:
            raise self._fail(e, f"'{written}': the protocol declares no state",
                             note="declare it: state { " + name + ": u8 }")
        if name not in self.scope.state:
            raise self._unknown(e, f"unknown state member '{name}'",
                                did_you_mean(name, self.scope.state))
        if not self._state_readable:
            raise self._fail(e, f"'{written}' is read here, but the state is read only by "
                             f"a frame's `when`, a field's `if`, a `set` and a `max_frame` "
                             f"limit", note="a layout may depend on the state; a value cannot")
        if not check_side(self.scope.state[name], side, e.span, self.problems):
            raise Invalid()
        return ir.StateValue(name, e.span, side)

    def _last(self, e: ast.Expr, args: tuple[ast.Expr | ast.FieldRange, ...]) -> ir.LastOf:
        """`last(list, condition, value, default)`: the condition and value read the
        list's records, the default the frame; only a `set` reads it."""
        if not self._last_readable:
            raise self._fail(e, "last() is read only by a `set`: the frame has passed, "
                             "so every record is known")
        if len(args) != 4 or isinstance(args[0], ast.FieldRange) or not isinstance(
                args[0], ast.NameRef):
            raise self._fail(e, "last() takes a list field, a condition on its records, a "
                             "value of the record, and a default: last(settings, id == 5, "
                             "value, 16384)")
        name = args[0].name
        if name not in self.scope.list_records:
            if name in self.scope.untyped:
                raise Invalid()  # its unknown type is reported
            raise self._unknown(args[0], f"last() reads a list field; '{name}' is not one",
                                did_you_mean(name, self.scope.list_records))
        record = self.scope.records.get(self.scope.list_records[name])
        if record is None:
            raise Invalid()  # the record did not lay out: reported
        entry = Scope(self.scope.enums, values={
            v.name: None if isinstance(v, VarintField) else v.enum
            for v in values_of(record.elements)})
        inner = ExprResolver(entry, self.problems)
        exprs = [a for a in args[1:] if not isinstance(a, ast.FieldRange)]
        if len(exprs) != 3:
            raise self._fail(e, "last()'s condition, value and default are expressions")
        condition = inner.resolve(exprs[0], BOOL)
        value = inner.resolve(exprs[1], INT)
        default, _ = self._typed(exprs[2], INT)
        if condition is None or value is None:
            raise Invalid()
        computed = {v.name for v in values_of(record.elements) if v.value is not None}
        for arg, resolved in zip(exprs[:2], (condition, value), strict=True):
            if read := sorted(ir.fields_read(resolved) & computed):
                raise self._fail(arg, f"last() reads '{read[0]}', which record '{record.name}' "
                                 f"computes on encode: a record keeps only what it stores",
                                 note="read a member the record stores")
        return ir.LastOf(name, record.name, condition, value, default, e.span)


def check_side(member: StateMember, side: str | None, span: Span, problems: Problems) -> bool:
    """Whether `side` suits `member`: named for a member kept per side, else absent."""
    if side is not None and side not in SIDES:
        problems.error(span, f"'{side}' is not a side: state.sender.{member.name} is the "
                       f"value of the side whose bytes these are, state.receiver."
                       f"{member.name} the other side's")
        return False
    if member.per_side and side is None:
        problems.error(span, f"state member '{member.name}' is kept per side: say whose, "
                       f"state.sender.{member.name} or state.receiver.{member.name}")
        return False
    if not member.per_side and side is not None:
        problems.error(span, f"state member '{member.name}' is one value for the "
                       f"connection, not kept per side: state.{member.name}",
                       note=f"declare it `{member.name}: ... per side` to keep one per side")
        return False
    return True


def _describe(t: Type) -> str:
    if t == INT:
        return "an integer"
    if t == BOOL:
        return "a condition"
    return f"enum '{t}'"
