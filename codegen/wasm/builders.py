"""The frames MOSN asks the plugin to make (keepalive, its reply, a hijack
answer), printed from the plan's builders: one C function per builder that
fills a zeroed frame struct; its literal bytes are static arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from protodsl.codegen.wasm.expr import BuilderNames, match_arms, to_c
from protodsl.codegen.wasm.naming import comment_lines, ident

from protodsl.ir import expr as ir
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
class BuilderView:
    kind: str
    fn: str
    doc: tuple[str, ...]
    frame: FrameView
    params: str  # C parameter list after the output struct
    assignments: tuple[tuple[str, str], ...]
    literals: tuple[Literal, ...]  # static arrays of the bytes fields given a literal
    payload_literal: str | None  # the frame's `literal` member, when this gives the payload one


def builder_view(b: BuilderPlan, frame: FrameView) -> BuilderView:
    builder = b.builder
    names = BuilderNames(builder)
    params = [f"const struct pd_req *{ident('p', b.request)}"] if b.request else []
    params += [f"pd_i64 {ident('p', p)}" for p in b.integers]
    roles = b.frame.frame.roles
    payload = roles.payload if roles is not None else None
    data = dict(builder.data)
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


def _literal(name: str, data: bytes) -> Literal:
    return Literal(
        array=ident("lit", name),
        member=f"fr->{ident('f', name)}",
        data=tuple(", ".join(f"0x{x:02x}" for x in data[i:i + BYTES_PER_LINE])
                   for i in range(0, len(data), BYTES_PER_LINE)),
        size=len(data),
        comment=(f"{name}: x\"{data.hex(' ')}\"" if len(data) <= 32
                 else f"{name}: {len(data)} bytes"),
    )
