"""The connection's state: the members a spec declares and the `set` statements
that change them. A member is an integer of a declared type; one with no initial
value is unset until a frame sets it."""

from __future__ import annotations

from protodsl.diagnostics import Span
from protodsl.frontend import ast
from protodsl.ir import expr as ir
from protodsl.ir.model import ByteOrder, Enum, StateMember, StateSet
from protodsl.passes.exprs import INT, ExprResolver, Scope, check_side, did_you_mean
from protodsl.passes.problems import Problems
from protodsl.passes.types import int_type


def resolve_state(blocks: tuple[ast.StateDecl, ...], order: ByteOrder,
                  problems: Problems) -> tuple[StateMember, ...]:
    members: list[StateMember] = []
    seen: dict[str, Span] = {}
    for block in blocks:
        if block is not blocks[0]:
            problems.error(block.span, "a second state block: declare every member in one",
                           related=((blocks[0].span, "the first"),))
    for decl in (m for b in blocks for m in b.members):
        if decl.name in seen:
            problems.error(decl.span, f"duplicate state member '{decl.name}'",
                           related=((seen[decl.name], "first declared here"),))
            continue
        seen[decl.name] = decl.span
        typ = int_type(decl.type, order)
        if typ is None or typ.wide:
            problems.error(decl.type_span, f"a state member is an integer of 64 bits or fewer "
                           f"(u8 .. u64, i8 .. i64), not '{decl.type}'")
            continue
        initial = None
        if decl.initial is not None:
            value = ExprResolver(Scope({}), problems).resolve(decl.initial, INT)
            if value is None:
                continue
            if not ir.is_constant(value):
                problems.error(decl.initial.span, "a state member's initial value is a constant")
                continue
            initial = ir.evaluate(value)
            if not typ.min <= initial <= typ.max:
                problems.error(decl.initial.span, f"initial value {initial} does not fit "
                               f"'{decl.name}' ({typ.name}: {typ.min}..{typ.max})")
                continue
        members.append(StateMember(decl.name, typ, initial, decl.doc, decl.span, decl.per_side))
    return tuple(members)


def resolve_sets(frame: ast.Frame, scope: Scope, problems: Problems) -> tuple[StateSet, ...]:
    """A frame's `set state.NAME = value` (`set state.sender.NAME` for a member kept
    per side), each member and side at most once."""
    out: list[StateSet] = []
    seen: dict[str, Span] = {}
    resolver = ExprResolver(scope, problems)
    for s in frame.sets:
        if s.name not in scope.state:
            problems.error(s.span, f"unknown state member '{s.name}'",
                           did_you_mean(s.name, scope.state) if scope.state else
                           "declare it: state { " + s.name + ": u8 }")
            continue
        if not check_side(scope.state[s.name], s.side, s.side_span or s.span, problems):
            continue
        written = f"{s.side}.{s.name}" if s.side else s.name
        if written in seen:
            problems.error(s.span, f"state member '{written}' is set twice in frame "
                           f"'{frame.name}'", related=((seen[written], "first set here"),))
            continue
        seen[written] = s.span
        value = resolver.resolve(s.value, INT, state=True, last=True)
        if value is not None:
            out.append(StateSet(s.name, value, s.span, s.side))
    return tuple(out)


def resolve_limit(settings: tuple[ast.Setting, ...], enums: dict[str, Enum],
                  state: tuple[StateMember, ...], problems: Problems) -> ir.Expr | None:
    """`max_frame EXPR`: a bound on every frame's size that the connection's state
    sets (HTTP/2: 9 + what the receiver announced), beside a constant max_frame."""
    limits = [s for s in settings if s.name == "max_frame" and not isinstance(s.value, str | int)]
    for extra in limits[1:]:
        problems.error(extra.span, "a second max_frame limit: one expression says it",
                       related=((limits[0].span, "the first"),))
    if not limits:
        return None
    written = limits[0].value
    assert not isinstance(written, str | int)
    scope = Scope(enums, state={m.name: m for m in state})
    limit = ExprResolver(scope, problems).resolve(written, INT, state=True)
    if limit is not None and not any(isinstance(n, ir.StateValue) for n in ir.walk(limit)):
        problems.error(written.span, "a max_frame expression reads the connection's state "
                       "(a constant size is written as a number: max_frame 16KiB)")
        return None
    return limit
