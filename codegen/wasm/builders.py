"""The frames MOSN asks the plugin to make (keepalive, its reply, a hijack
answer), printed from the plan's builders: one C function per builder that
fills a zeroed frame struct; its literal bytes are static arrays, the bytes it
copies view the request's (which the caller keeps alive until the frame is
remembered), and a match of literals is a switch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from protodsl.codegen.wasm.expr import BuilderNames, c_int, match_arms, to_c
from protodsl.codegen.wasm.naming import comment_lines, ident

from protodsl.ir import expr as ir
from protodsl.ir.model import BytesChoice
from protodsl.plan import BuilderPlan

if TYPE_CHECKING:  # view.py imports this module
    from protodsl.codegen.wasm.view import FrameView

BYTES_PER_LINE = 12
LINE = 100  # columns a builder's assignment may take before a `match` breaks


@dataclass(frozen=True)
class Literal:
    """A builder's literal bytes for a field: a static array in the builder."""

    array: str  # C name, local to the builder function
    member: str  # the struct member, through `fr`
    data: tuple[str, ...]  # lines of C initializer items, e.g. `0x4e, 0x4e`
    size: int
    comment: str


@dataclass(frozen=True)
class Arm:
    """A case of a switch choosing a literal: `case 404:` or `default:`."""

    label: str
    value: str  # a pd_bytes compound literal
    comment: str


@dataclass(frozen=True)
class Choice:
    """A bytes member set by a switch on an integer (the IR's BytesChoice)."""

    member: str
    subject: str
    arms: tuple[Arm, ...]  # the default last


@dataclass(frozen=True)
class BuilderView:
    kind: str
    fn: str
    doc: tuple[str, ...]
    frame: FrameView
    params: str  # C parameter list after the output struct
    assignments: tuple[tuple[str, str], ...]
    literals: tuple[Literal, ...]  # static arrays of the bytes fields given a literal
    arm_arrays: tuple[Literal, ...]  # static arrays of the choices' arms
    copies: tuple[tuple[str, str], ...]  # (member, the request's) of fields copied
    choices: tuple[Choice, ...]
    payload_literal: str | None  # the frame's `literal` member, when this gives the payload one


def builder_view(b: BuilderPlan, frame: FrameView) -> BuilderView:
    builder = b.builder
    names = BuilderNames(builder)
    params = [f"const struct pd_req *{ident('p', b.request)}"] if b.request else []
    params += [f"pd_i64 {ident('p', p)}" for p in b.integers]
    roles = b.frame.frame.roles
    payload = roles.payload if roles is not None else None
    data = dict(builder.data)
    copies, choices, arrays = [], [], []
    for name, value in builder.sized:
        member = f"fr->{ident('f', name)}"
        if isinstance(value, ir.ParamField):
            copies.append((member, names.param_field(value.param, value.field)))
        else:
            choice, literals = _choice(name, member, value, names)
            choices.append(choice)
            arrays += literals
    return BuilderView(
        kind=builder.kind,
        fn=ident("build", builder.kind),
        doc=tuple(comment_lines(builder.doc)),
        frame=frame,
        params=", ".join(params),
        assignments=tuple(_assign(f"fr->{ident('f', name)}", value, names)
                          for name, value in builder.assignments) + _id_bytes(b, names),
        # An empty literal is the default, the zeroed member.
        literals=tuple(_literal(name, raw) for name, raw in builder.data if raw),
        arm_arrays=tuple(arrays),
        copies=tuple(copies),
        choices=tuple(choices),
        payload_literal=(frame.roles.literal if frame.roles is not None and payload is not None
                         and data.get(payload) else None),
    )


def _id_bytes(b: BuilderPlan, names: BuilderNames) -> tuple[tuple[str, str], ...]:
    """The id field of a frame whose id is part of it: zeros, the id in the view
    (a request's id bytes read there are its id, which `struct pd_req` holds)."""
    built = b.id_bytes
    if built is None:
        return ()
    view = built.view
    little = int(view.byte_order == "little")
    return ((f"fr->{ident('f', built.field)}",
             f"pd_id_bytes({built.size}u, {view.start}u, {view.width}u, {little}, "
             f"(pd_u64)({to_c(built.value, names)}))"),)


def _assign(member: str, value: ir.Expr, names: BuilderNames) -> tuple[str, str]:
    """`member` and the C text of `value`; a `match` too long for one line
    puts an arm a line, aligned after the parenthesis."""
    text = to_c(value, names)
    if not isinstance(value, ir.Match) or len(f"    {member} = {text};") <= LINE:
        return member, text
    indent = "\n" + " " * len(f"    {member} = (")
    return member, f"({indent.join(match_arms(value, names))})"


def _choice(
    name: str, member: str, value: BytesChoice, names: BuilderNames
) -> tuple[Choice, list[Literal]]:
    """The switch, and a static array for each non-empty literal of its arms."""
    arms, arrays = [], []
    cases: list[tuple[str, bytes]] = [(f"case {c_int(k)}", v) for k, v in value.cases]
    for i, (label, data) in enumerate([*cases, ("default", value.default)]):
        if data:
            array = _literal(name, data, f"{name}_{i}")
            arrays.append(array)
            text = f"(pd_bytes){{{array.array}, {len(data)}u}}"
        else:
            text = "(pd_bytes){0, 0u}"
        shown = f"x\"{data.hex(' ')}\"" if len(data) <= 32 else f"{len(data)} bytes"
        arms.append(Arm(label, text, shown))
    return Choice(member, to_c(value.subject, names), tuple(arms)), arrays


def _literal(name: str, data: bytes, array: str | None = None) -> Literal:
    return Literal(
        array=ident("lit", array or name),
        member=f"fr->{ident('f', name)}",
        data=tuple(", ".join(f"0x{x:02x}" for x in data[i:i + BYTES_PER_LINE])
                   for i in range(0, len(data), BYTES_PER_LINE)),
        size=len(data),
        comment=(f"{name}: x\"{data.hex(' ')}\"" if len(data) <= 32
                 else f"{name}: {len(data)} bytes"),
    )
