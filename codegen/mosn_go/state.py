"""The connection's state in the Go codec, for a spec with a `state` block (a
spec without one prints none of this): the `State` struct, `NewState`,
`NextState`, the per-frame `next` of a frame that sets state, and the checks
that a frame reads no member it has not been given, in the Python codec's
order and words (its `_require`, `_set` and `StateUnset`).

Each member is an int64, as the Python codec's int and the Wasm plugin's pd_i64
(a `set` is never truncated to the member's type), with a bit in `Set` saying
it holds a value: a member with no initial value is unset until a frame sets
it, and a frame that reads it then is malformed, never a guess."""

from __future__ import annotations

from collections.abc import Callable

from protodsl.codegen.mosn_go.expr import Unsupported, go_int, to_go, value_as_encoded
from protodsl.codegen.mosn_go.gotext import Func, align
from protodsl.codegen.mosn_go.naming import GoNames, claimed, comment, go_string, members

from protodsl.ir import expr as ir
from protodsl.ir.model import BytesField, Frame, KvMapField, ListField, Protocol
from protodsl.plan import FramePlan, ProtocolPlan

MAX_MEMBERS = 64
"""Each member has a bit in State.Set, a uint64 (the Wasm plugin's limit too)."""

def names(protocol: Protocol) -> dict[str, str]:
    """The Go member of State of each state member (`Set` is taken)."""
    return claimed([m.name for m in protocol.state], frozenset({"Set"}))


def mask(protocol: Protocol, member: str) -> str:
    """A member's bit in State.Set, in declaration order."""
    index = next(i for i, m in enumerate(protocol.state) if m.name == member)
    return f"{1 << index:#x}"


def field(protocol: Protocol, st: str) -> Callable[[str], str]:
    """to_go's `state`: a member of the State value `st`, already checked to be set."""
    go = names(protocol)
    return lambda name: f"{st}.{go[name]}"


def require(f: Func, protocol: Protocol, frame: Frame, ret: str, st: str) -> None:
    """Python's `_require`: each member the frame reads (sorted by name), set."""
    for member in frame.state_reads():
        f.open(f"if {st}.Set&{mask(protocol, member)} == 0")
        f.line(f"return {ret}stateUnset({go_string(member)}, {go_string(frame.name)})")
        f.close()


def when_reads_state(frame: Frame) -> bool:
    return bool(ir.state_read(frame.when))


def lazy_test(expr: ir.Expr, go: Callable[[ir.Expr], str]) -> str:
    """A `when` as a Go bool whose `and`, `or` and `not` stop where Python's do,
    so a member is read (and noted when unset, `State.got`) only where Python's
    `_set` reads it; `go` gives the int64 text of any other expression."""
    match expr:
        case ir.Binary(op="and" | "or", left=left, right=right):
            join = " && " if expr.op == "and" else " || "
            return f"({lazy_test(left, go)}{join}{lazy_test(right, go)})"
        case ir.Unary(op="not", operand=o):
            return f"!{lazy_test(o, go)}"
    return f"{go(expr)} != 0"


def source(plan: ProtocolPlan, pkg: GoNames) -> list[str]:
    """State, NewState, the StateUnset error, NextState and each frame's `next`
    (`pkg`: the package's names)."""
    p = plan.protocol
    go = names(p)
    rows: list[list[str] | str] = []
    for m in p.state:
        rows += comment(m.doc)
        rows.append([go[m.name], "int64"])
    order = ", ".join(f"{go[m.name]} {mask(p, m.name)}" for m in p.state)
    rows += ["// Set has a bit per member that holds a value: " + order + ".",
             ["Set", "uint64"]]
    initial = [m for m in p.state if m.initial is not None]
    values = [f"{go[m.name]}: {m.initial}" for m in initial]
    bits = sum(1 << i for i, m in enumerate(p.state) if m.initial is not None)
    out = [
        "// StateUnset is the kind of the error of a frame that reads a member of the",
        "// connection's state no earlier frame set.",
        'const StateUnset = "StateUnset"', "",
        "// State is the connection's state: what earlier frames set, carried from",
        "// frame to frame. Decode takes the connection's *State and moves it past the",
        "// frame it decodes (a failed decode leaves it as it was); Encode reads a",
        "// State, and NextState gives the one after a frame passes. It is a value of",
        "// a few words, kept by its connection: no allocation, and no sharing between",
        "// connections unless a caller shares it.",
        "type State struct {", *align(rows, "\t"), "}", "",
        "// NewState is a new connection's state: the spec's initial values; a member",
        "// without one is unset.",
        "func NewState() State {",
        f"\treturn State{{{', '.join([*values, f'Set: {bits:#x}'])}}}", "}", "",
        "func stateUnset(member, frame string) error {",
        "\treturn &ProtocolError{Kind: StateUnset, Field: \"state.\" + member, Offset: noOffset,",
        "\t\tDetail: \"state '\" + member + \"' is read by frame '\" + frame +",
        "\t\t\t\"' but was never set (no earlier frame set it)\"}", "}", "",
    ]
    if any(when_reads_state(fp.frame) for fp in plan.frames):
        out += [
            "// got is a member's value as a frame's `when` reads it; an unset one is",
            "// named in *unset (the first only), and Decode then refuses the frame.",
            "func (s *State) got(bit uint64, v int64, member string, unset *string) int64 {",
            "\tif s.Set&bit == 0 && *unset == \"\" {", "\t\t*unset = member", "\t}",
            "\treturn v", "}", "",
        ]
    out += _next_state(plan, pkg)
    for fp in plan.frames:
        if fp.frame.sets:
            out += _next(fp, p, pkg)
    return out


def _next_state(plan: ProtocolPlan, pkg: GoNames) -> list[str]:
    f = Func()
    setting = [fp for fp in plan.frames if fp.frame.sets]
    if setting:
        f.open("switch fr := f.(type)")
        for fp in setting:
            f.depth -= 1
            f.line(f"case *{pkg.frame(fp.name)}:")
            f.depth += 1
            f.open("if fr != nil")
            require(f, plan.protocol, fp.frame, "st, ", "st")
            f.line("return fr.next(st), nil")
            f.close()
        f.close()
    f.line("return st, nil")
    return ["// NextState is the connection's state after frame f passes (decoded or",
            "// encoded) in state st: a StateUnset error when f reads a member st lacks.",
            "func NextState(f Frame, st State) (State, error) {", *f.text(), "}", ""]


def _next(fp: FramePlan, p: Protocol, pkg: GoNames) -> list[str]:
    """The state after the frame: every `set` computed from the state before."""
    frame = fp.frame
    own = members(frame)

    def value(name: str) -> str:
        node = frame.value(name)
        if node is None:
            raise Unsupported(f"a `set` reading '{name}', which is no integer")
        stored = f"f.{own[name]}" if node.value is None else ""
        text = value_as_encoded(fp, node, stored, go)
        if text is None:
            raise Unsupported(f"a `set` reading '{name}', which encode does not compute")
        return text

    def length(name: str) -> str:
        el = frame.element(name)
        if isinstance(el, BytesField) and el.pad is not None:
            return go_int(ir.evaluate(el.size))
        if isinstance(el, KvMapField):
            return f"kvSize(f.{own[name]}, {el.overhead})"
        if isinstance(el, BytesField):
            return f"int64(len(f.{own[name]}))"
        raise Unsupported(f"a `set` reading len({name})")

    def count(name: str) -> str:
        if not isinstance(frame.element(name), ListField):
            raise Unsupported(f"a `set` reading count({name})")
        return f"int64(len(f.{own[name]}))"

    def go(expr: ir.Expr) -> str:
        return to_go(expr, value, length, count=count, state=field(p, "st"))

    go_names = names(p)
    body = ["\tn := st"]
    for s in frame.sets:
        if s.side is not None:
            raise Unsupported(f"a `set` of state kept per side (frame '{frame.name}')")
        body.append(f"\tn.{go_names[s.name]} = {go(s.value)}")
    set_bits = sum(int(mask(p, s.name), 16) for s in frame.sets)
    body += [f"\tn.Set |= {set_bits:#x}", "\treturn n"]
    name = pkg.frame(frame.name)
    return [f"// next is the state after a {name} passes in st (its members read are set).",
            f"func (f *{name}) next(st State) State {{", *body, "}", ""]
