"""Connection states to test a stateful spec in.

A frame's layout may read the connection's state, so a property runs once per
state worth trying: the new connection's (`State()`), and every combination of
the values the spec's conditions compare each member with (MQTT's protocol
level 4 and 5). In each, the codec is bound to that state, so a property reads
it like any other codec; the frames a state cannot reach (a member they read is
unset, or their `when` is false whatever the fields say) need no example there."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from types import ModuleType

from protodsl.codecs import bind_state
from protodsl.ir import expr as ir
from protodsl.ir.model import SIDES, Frame, Protocol

MOST = 16
"""At most this many states per spec: the first combinations, in order."""


@dataclass(frozen=True)
class Scenario:
    """A connection state: each member's value, None where unset."""

    values: tuple[tuple[str, int | None], ...]
    initial: bool  # a new connection's state: the one a plugin's context starts in
    side: str | None = None  # whose bytes, for a spec that keeps members per side

    @property
    def label(self) -> str:
        said = "new connection" if self.initial else ", ".join(
            f"{n}={'unset' if v is None else v}" for n, v in self.values)
        return f"{said}, {self.side}'s bytes" if self.side else said

    def reaches(self, frame: Frame) -> bool:
        """Whether some frame of this variant can pass in this state."""
        known = {f"state.{n}": v for n, v in self.values if v is not None}
        if any(f"state.{n}" not in known for n in frame.state_reads()):
            return False

        def fill(node: ir.Expr) -> ir.Expr | None:
            return ir.Const(known[node.key], node.span) if isinstance(node, ir.StateValue) else None

        when = _folded(ir.substitute(frame.when, fill))
        return not ir.is_constant(when) or bool(ir.evaluate(when))

    def bind(self, codec: ModuleType) -> ModuleType:
        """`codec` with every call that takes a state given this one."""
        if not self.values:
            return codec
        sides = {"side": self.side} if self.side else {}
        return bind_state(codec, codec.State(**sides, **{codec.STATE_ATTRS[n]: v
                                                         for n, v in self.values}))


def _folded(e: ir.Expr) -> ir.Expr:
    """`e` with its constant parts computed, and `and`/`or` cut short by one, so
    that `kind == 7 and 0 != 0` is known false."""
    match e:
        case ir.Binary(op=op, left=left, right=right):
            a, b = _folded(left), _folded(right)
            for side in (a, b):
                if op in ("and", "or") and ir.is_constant(side) and (
                        bool(ir.evaluate(side)) == (op == "or")):
                    return ir.Const(int(op == "or"), e.span)
            e = ir.Binary(op, a, b, e.span)
        case ir.Unary(op=op, operand=o):
            e = ir.Unary(op, _folded(o), e.span)
        case _:
            pass
    return ir.Const(ir.evaluate(e), e.span) if ir.is_constant(e) else e


def scenarios(protocol: Protocol) -> tuple[Scenario, ...]:
    """A new connection's state first, then the states the conditions tell apart;
    with members kept per side, each as the client's bytes and as the server's
    (a side's value is tried at its initial value: no condition compares it)."""
    members = protocol.state
    if not members:
        return (Scenario((), True),)
    names = [n for m in members for n in m.slots()]
    initial = tuple((n, m.initial) for m in members for n in m.slots())
    options = [(_compared(protocol, m.name) if not m.per_side else set())
               | ({m.initial} if m.initial is not None else set())
               for m in members for _ in m.slots()]
    found = [initial]
    for combo in itertools.product(*(sorted(o) or [0] for o in options)):
        values = tuple(zip(names, combo, strict=True))
        if values != initial:
            found.append(values)
    sides: tuple[str | None, ...] = SIDES if any(m.per_side for m in members) else (None,)
    out = [Scenario(values, values == initial, side) for values in found for side in sides]
    return tuple(out[:MOST])


def _compared(protocol: Protocol, member: str) -> set[int]:
    """The constants a condition compares `member` with."""
    exprs = [f.when for f in protocol.frames] + [
        e.present for f in protocol.frames for e in f.elements if e.present is not None]
    declared = protocol.state_member(member)
    assert declared is not None
    out: set[int] = set()
    for expr in exprs:
        for node in ir.walk(expr):
            match node:
                case ir.Binary(op=op, left=ir.StateValue(name=n), right=other) | ir.Binary(
                        op=op, left=other, right=ir.StateValue(name=n)) if (
                        n == member and ir.is_constant(other)):
                    value = ir.evaluate(other)
                    out.add(value)
                    # the other side: of a bound, or a value it is not
                    if value > declared.type.min:
                        out.add(value - 1)
                    elif op in ("==", "!="):
                        out.add(value + 1)
                case ir.InSet(operand=ir.StateValue(name=n), values=values) if n == member:
                    out.update(values)
                case _:
                    pass
    return out
