"""The syntax tree: what the spec says, names unresolved, every node with its span."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.diagnostics import Span

# ---- expressions -----------------------------------------------------------


@dataclass(frozen=True)
class IntLit:
    value: int
    span: Span
    spelling: str | None = None  # as written (`0xCAFEBABE`): messages show it so


@dataclass(frozen=True)
class NameRef:
    name: str
    span: Span


@dataclass(frozen=True)
class Dotted:
    """`a.b`: an enum member (`Status.SUCCESS`), a field of a builder parameter or a
    state member (`state.level`); `state.sender.NAME` has a third part, `member`."""

    base: str
    name: str
    span: Span
    member: str | None = None


@dataclass(frozen=True)
class FieldRange:
    """`a..b`, the fields from a through b in wire order: `size(a..b)`."""

    first: str
    last: str
    span: Span


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr | FieldRange, ...]
    span: Span


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Expr
    span: Span


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class InSet:
    operand: Expr
    options: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class MatchCase:
    key: int | None  # None is the `_` default
    value: Expr | BytesLit  # a literal: the value of a builder's bytes or text field
    span: Span


@dataclass(frozen=True)
class Match:
    subject: Expr
    cases: tuple[MatchCase, ...]
    span: Span


Expr = IntLit | NameRef | Dotted | Call | Unary | Binary | InSet | Match

# ---- declarations ----------------------------------------------------------


@dataclass(frozen=True)
class TypeArg:
    name: str | None  # None for a positional argument
    value: Expr
    span: Span


@dataclass(frozen=True)
class TypeRef:
    name: str
    args: tuple[TypeArg, ...]
    size: Expr | None
    span: Span


@dataclass(frozen=True)
class Field:
    name: str
    type: TypeRef
    value: Expr | None
    doc: str | None
    span: Span
    present: Expr | None = None  # `if CONDITION`: the field is on the wire only then
    default: Expr | None = None  # `default EXPR`: what a new frame has unless told


@dataclass(frozen=True)
class BitMember:
    name: str
    width: int
    enum: str | None
    value: Expr | None
    doc: str | None
    span: Span
    enum_span: Span | None = None  # the enum's name after `as`
    default: Expr | None = None  # `default EXPR`


@dataclass(frozen=True)
class Bits:
    base: str
    members: tuple[BitMember, ...]
    doc: str | None
    span: Span
    present: Expr | None = None


@dataclass(frozen=True)
class Record:
    """`record NAME { ... }`: fixed-width fields repeated by a `list(NAME)` field."""

    name: str
    items: tuple[Field | Bits, ...]
    doc: str | None
    span: Span


@dataclass(frozen=True)
class ByteView:
    """`request_id[8..16]` or `u64le(request_id[8..16])`: bytes `start` up to `end`
    of a bytes field read as an unsigned integer (the id role of a UUID id)."""

    type: str | None  # the integer type giving the byte order, when written
    field: str
    start: int
    end: int
    span: Span
    field_span: Span


@dataclass(frozen=True)
class TextLit:
    """A string literal in a derived header entry."""

    value: str
    span: Span


@dataclass(frozen=True)
class HeaderEntry:
    """`service = service_name + ":" + version`: a header MOSN sees, joined from
    string literals and text or bytes fields (a Call is refused by the roles pass:
    no functions there)."""

    name: str
    parts: tuple[TextLit | NameRef | Call, ...]
    span: Span  # the entry's name


@dataclass(frozen=True)
class Role:
    name: str
    value: Expr | ByteView | None  # None: `headers = { ... }`, derived entries only
    span: Span
    entries: tuple[HeaderEntry, ...] = ()  # `headers = ... + { ... }`


@dataclass(frozen=True)
class Roles:
    roles: tuple[Role, ...]
    span: Span


@dataclass(frozen=True)
class StateMember:
    """`level: u8` or `preface: u8 = 1`: one value a connection carries between frames."""

    name: str
    type: str
    initial: Expr | None
    doc: str | None
    span: Span
    type_span: Span
    per_side: bool = False  # `per side`: a value for each side of the connection


@dataclass(frozen=True)
class StateDecl:
    """`state { ... }`: the members of the connection's state."""

    members: tuple[StateMember, ...]
    span: Span


@dataclass(frozen=True)
class StateSet:
    """`set state.level = level`: the value a member has after this frame passes;
    `set state.sender.NAME = ...` sets one side's value of a member kept per side."""

    name: str
    value: Expr
    span: Span  # the member's name
    side: str | None = None  # "sender" or "receiver", as written
    side_span: Span | None = None


@dataclass(frozen=True)
class Frame:
    name: str
    when: Expr | None  # None: `otherwise`, every input no earlier frame claims
    items: tuple[Field | Bits, ...]
    roles: tuple[Roles, ...]
    doc: str | None
    span: Span
    sets: tuple[StateSet, ...] = ()


@dataclass(frozen=True)
class EnumMember:
    name: str
    value: int
    doc: str | None
    span: Span
    value_span: Span | None = None


@dataclass(frozen=True)
class Enum:
    name: str
    base: str
    open: bool
    members: tuple[EnumMember, ...]
    doc: str | None
    span: Span
    base_span: Span | None = None


@dataclass(frozen=True)
class BytesLit:
    """`x"4e 4e"` or `"text"` (UTF-8): the value of a sized field in a builder."""

    value: bytes
    span: Span


@dataclass(frozen=True)
class Assignment:
    name: str
    value: Expr | BytesLit
    span: Span


@dataclass(frozen=True)
class Builder:
    """`keepalive request(id) { ... }`: how to make a frame the host asks for."""

    kind: str
    frame: str
    params: tuple[str, ...]
    assignments: tuple[Assignment, ...]
    doc: str | None
    span: Span  # the kind
    frame_span: Span | None = None
    params_span: Span | None = None  # from '(' to ')'


@dataclass(frozen=True)
class Setting:
    name: str
    value: str | int | Expr  # Expr: a `max_frame` limit that is not a constant size
    span: Span


@dataclass(frozen=True)
class Protocol:
    name: str
    mosn_name: str
    mosn_name_span: Span  # the quoted name
    settings: tuple[Setting, ...]
    enums: tuple[Enum, ...]
    frames: tuple[Frame, ...]
    builders: tuple[Builder, ...]
    doc: str | None
    span: Span
    records: tuple[Record, ...] = ()
    state: tuple[StateDecl, ...] = ()
