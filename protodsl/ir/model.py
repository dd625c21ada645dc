"""Frames, fields, enums, roles and builders, resolved and laid out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from protodsl.diagnostics import Span
from protodsl.ir.expr import (
    Binary,
    Checksum,
    Const,
    Expr,
    FieldValue,
    LenOf,
    More,
    ParamField,
    Rest,
    fields_read,
    reads_more,
    state_read,
    substitute,
)
from protodsl.ir.expr import evaluate as _evaluate
from protodsl.ir.expr import is_constant as _is_constant

ByteOrder = Literal["big", "little"]
Kind = Literal["request", "response"]


@dataclass(frozen=True)
class IntType:
    width: int  # bytes: 1, 2, 3, 4, 8 or 16
    signed: bool
    byte_order: ByteOrder

    @property
    def wide(self) -> bool:
        """A 128-bit integer: data only (no expression, role, constant or enum
        reads it), which a backend of 64-bit integers carries as its bytes."""
        return self.width > 8

    @property
    def bits(self) -> int:
        return self.width * 8

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def name(self) -> str:
        return f"{'i' if self.signed else 'u'}{self.bits}"


@dataclass(frozen=True)
class EnumMember:
    name: str
    value: int
    doc: str | None
    span: Span


@dataclass(frozen=True)
class Enum:
    name: str
    base: IntType
    open: bool  # an open enum accepts values it does not name
    members: tuple[EnumMember, ...]
    doc: str | None
    span: Span

    def member(self, name: str) -> EnumMember | None:
        return next((m for m in self.members if m.name == name), None)


@dataclass(frozen=True)
class IntField:
    """An integer on the wire. `value` makes it a constant (checked on decode) or,
    when it reads other fields, computed on encode; `default` serves the others
    (None: a new frame must be given it, see passes/defaults.py)."""

    name: str
    type: IntType
    enum: str | None
    value: Expr | None
    constant: bool
    default: int | None
    offset: int | None  # from the frame start, when no variable-size field precedes
    doc: str | None
    span: Span
    present: Expr | None = None  # on the wire only when this holds; else 0 / empty


@dataclass(frozen=True)
class VarintField:
    """An unsigned LEB128 integer: 7 bits a byte, least significant group first,
    the high bit set on every byte but the last; at most `max_bytes` bytes, so at
    most 7 * max_bytes bits. Its width depends on its value. With `value` Rest it
    declares the frame's size (`remaining: varint(4) = len(rest)`)."""

    name: str
    max_bytes: int
    value: Expr | None
    constant: bool
    default: int | None
    offset: int | None
    doc: str | None
    span: Span
    present: Expr | None = None
    enum: None = None  # reads like an IntField where values are listed

    @property
    def max(self) -> int:
        return (1 << (7 * self.max_bytes)) - 1


@dataclass(frozen=True)
class BitMember:
    name: str
    width: int
    shift: int  # from the least significant bit of the container
    enum: str | None
    value: Expr | None
    constant: bool
    default: int | None
    doc: str | None
    span: Span

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


@dataclass(frozen=True)
class BitsField:
    """An unsigned container split into named bit members, most significant first."""

    name: str  # synthetic, e.g. `_bits0`; the members are the spec's names
    type: IntType
    members: tuple[BitMember, ...]
    offset: int | None
    doc: str | None
    span: Span
    present: Expr | None = None  # on the wire only when this holds; else 0 / empty


@dataclass(frozen=True)
class BytesField:
    """Raw bytes, or UTF-8 text, sized by an expression of earlier fields.
    With `pad`, the size is a fixed width and shorter values are padded."""

    name: str
    size: Expr
    text: bool
    pad: int | None
    offset: int | None
    doc: str | None
    span: Span
    present: Expr | None = None  # on the wire only when this holds; else 0 / empty


@dataclass(frozen=True)
class KvMapField:
    """A header map: repeated (length-prefixed key, the `between` bytes,
    length-prefixed value) filling a section of `size` bytes. With `null_drop`,
    a length of all ones is a null and such a pair is dropped on decode."""

    name: str
    key_length: IntType
    value_length: IntType
    null_drop: bool
    size: Expr
    offset: int | None
    doc: str | None
    span: Span
    present: Expr | None = None  # on the wire only when this holds; else 0 / empty
    between: bytes = b""

    @property
    def overhead(self) -> int:
        """Bytes of a pair besides its key and value."""
        return self.key_length.width + len(self.between) + self.value_length.width

    def null_lengths(self) -> tuple[int, int]:
        """The key's and the value's null marker: all ones."""
        return (1 << self.key_length.bits) - 1, (1 << self.value_length.bits) - 1


RecordMember = IntField | BitsField | BytesField | VarintField


@dataclass(frozen=True)
class Record:
    """A named run of fields, repeated by a ListField: fixed-width integers, or
    (`variable`, read member by member) also length-prefixed text and bytes,
    varints, members of a closed enum and members present only when a condition
    on earlier members holds (MQTT 5's properties: an id, then a value whose type
    the id chooses)."""

    name: str
    elements: tuple[RecordMember, ...]  # offsets relative to the record
    size: int  # the record's width; for a variable record, its least width
    doc: str | None
    span: Span
    variable: bool = False  # read member by member, not as one struct

    def entry_env(self, carried: dict[str, object]) -> dict[str, int]:
        """What a member's condition reads of an entry, given the members it
        carries by spec name: integers, the lengths of text and bytes, and the
        computed members, which an entry does not carry, computed as encode
        computes them (the compiler refused values that read each other)."""
        env = {k: int(v) if isinstance(v, int) else len(v.encode() if isinstance(v, str) else v)
               for k, v in carried.items() if isinstance(v, int | bytes | str)}
        pending = [e for e in self.elements
                   if isinstance(e, IntField | VarintField) and e.value is not None]
        while pending:
            ready = [e for e in pending if e.value is not None and all(
                n in env for n in fields_read(e.value))]
            if not ready:
                break
            for e in ready:
                assert e.value is not None
                env[e.name] = _evaluate(e.value, env)
                pending.remove(e)
        return env


@dataclass(frozen=True)
class ListField:
    """Records, back to back, filling a section of `size` bytes exactly."""

    name: str
    record: str
    size: Expr
    offset: int | None
    doc: str | None
    span: Span
    present: Expr | None = None


Element = IntField | BitsField | BytesField | KvMapField | ListField | VarintField
ValueNode = IntField | BitMember | VarintField


def prefix_count(elements: tuple[Element, ...]) -> int:
    """Leading elements of fixed width, present or not: a decoder reads them all
    before it computes the frame's size (which may depend on them)."""
    for i, e in enumerate(elements):
        if isinstance(e, KvMapField | ListField | VarintField) or (
                isinstance(e, BytesField) and not _is_constant(e.size)):
            return i
    return len(elements)


def fixed_width(e: Element) -> int | None:
    """Bytes an element always takes, or None when its size varies."""
    if isinstance(e, IntField | BitsField):
        return e.type.width
    if isinstance(e, BytesField) and _is_constant(e.size):
        return _evaluate(e.size)
    return None


def header_count(elements: tuple[Element, ...]) -> int:
    """How many leading elements form the fixed header: of a fixed width and
    always on the wire, so each is at a fixed offset. A checksum is never part
    of it, even when every field is fixed: it is computed over the bytes before
    it, so it is read and written after them, as a trailer."""
    for i, e in enumerate(elements):
        if fixed_width(e) is None or e.present is not None or (
                isinstance(e, IntField) and isinstance(e.value, Checksum)):
            return i
    return len(elements)


def names_of(e: Element) -> tuple[str, ...]:
    """The spec names an element carries: itself, or its bit members."""
    return tuple(m.name for m in e.members) if isinstance(e, BitsField) else (e.name,)


def values_of(elements: tuple[Element, ...]) -> tuple[ValueNode, ...]:
    """Integer values in wire order: int fields and bit members."""
    out: list[ValueNode] = []
    for e in elements:
        if isinstance(e, IntField | VarintField):
            out.append(e)
        elif isinstance(e, BitsField):
            out.extend(e.members)
    return tuple(out)


@dataclass(frozen=True)
class IdView:
    """The id role as part of a fixed-size bytes field (a 16-byte UUID request
    id): bytes `start` to `start + width` read as an unsigned integer, at most
    8 bytes since MOSN's command id is a u64. Encode writes a new id there and
    keeps the field's other bytes, so an echoed UUID maps back."""

    start: int
    width: int  # 1..8
    byte_order: ByteOrder
    span: Span

    @property
    def end(self) -> int:
        return self.start + self.width

    @property
    def max(self) -> int:
        return (1 << (8 * self.width)) - 1


@dataclass(frozen=True)
class HeaderEntry:
    """A header MOSN sees after the stored ones, derived from the frame's fields
    (`service = service_name + ":" + version`): `parts` joined, each literal text
    (bytes) or the name of a text or bytes field (str). `writes` is the field
    when the entry is exactly that field: MOSN's edit goes back into it; any
    other entry is read-only."""

    name: str
    parts: tuple[bytes | str, ...]
    span: Span

    @property
    def writes(self) -> str | None:
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], str) else None


@dataclass(frozen=True)
class Roles:
    """What MOSN needs of a frame variant (see docs/mosn-abi.md). With `id_view`,
    `id` names the bytes field the view is part of."""

    kind: Kind
    oneway: Expr | None
    heartbeat: Expr | None
    id: str
    timeout: str | None
    status: str | None
    headers: str | None  # a kvmap field, or a list of records (`header_members`)
    payload: str | None
    span: Span
    id_view: IdView | None = None
    # `headers = tags(key, value)`: the record members that are each entry's key and value
    header_members: tuple[str, str] | None = None
    # `status = 200`, `status = match code { ... }`: the timeout or status MOSN reads,
    # an expression of the frame's fields (timeout/status are then None). Read-only:
    # encode never writes MOSN's value back into the frame.
    derived: Expr | None = None
    # `headers = ... + { service = ..., method = method }`: headers MOSN sees after
    # the stored ones (`headers`, which may be None), in the order declared.
    entries: tuple[HeaderEntry, ...] = ()


SIDES = ("client", "server")  # a member kept per side has a value for each


@dataclass(frozen=True)
class StateMember:
    """One value a connection carries from frame to frame (`level: u8`). With no
    `initial` it is unset until a frame sets it: a frame that reads it then is
    malformed, never a guess."""

    name: str
    type: IntType
    initial: int | None
    doc: str | None
    span: Span
    per_side: bool = False  # one value per side: HTTP/2's SETTINGS each side announced

    def slots(self) -> tuple[str, ...]:
        """The names its values go by in a State: its own, or one per side
        (`client.NAME`, `server.NAME`)."""
        return tuple(f"{side}.{self.name}" for side in SIDES) if self.per_side else (self.name,)


@dataclass(frozen=True)
class StateSet:
    """`set state.NAME = value`: after the frame passes (decoded or encoded), the
    member holds `value`, an expression of the frame's fields and the state before.
    For a member kept per side, `side` says whose value: "sender" or "receiver"."""

    name: str
    value: Expr
    span: Span
    side: str | None = None


@dataclass(frozen=True)
class Frame:
    name: str
    when: Expr
    elements: tuple[Element, ...]
    roles: Roles | None
    header_size: int  # bytes of the fixed-width run at the start of the frame
    size: Expr  # the whole frame's length, in fields of the fixed header; Rest: len(rest)
    doc: str | None
    span: Span
    sets: tuple[StateSet, ...] = ()

    def element(self, name: str) -> Element | None:
        return next((e for e in self.elements if e.name == name), None)

    def written_when(self, e: Element) -> Expr | None:
        """When encode writes element `e`: its condition, with `more()` read as
        `given_from(e)`."""
        if e.present is None or not reads_more(e.present):
            return e.present
        given = self.given_from(e)
        return substitute(e.present, lambda n: given if isinstance(n, More) else None)

    def given_from(self, e: Element) -> Expr:
        """`more()` on encode: `e` or a later field a user sets is not zero or empty."""
        assert e.present is not None
        span = e.present.span
        given: Expr | None = None
        for x in self.elements[self.elements.index(e):]:
            if isinstance(x, IntField | VarintField) and x.value is not None:
                continue  # computed (a length) or constant: given by what it reads
            for name in names_of(x):
                test: Expr = (Binary("!=", FieldValue(name, span), Const(0, span), span)
                              if isinstance(x, IntField | BitsField | VarintField) else
                              Binary(">", LenOf(name, span), Const(0, span), span))
                given = test if given is None else Binary("or", given, test, span)
        assert given is not None
        return given

    def state_reads(self) -> tuple[str, ...]:
        """The state members the frame reads (in `when`, an `if` or a `set`), sorted:
        each must be set before the frame decodes or encodes."""
        exprs = [self.when, *(s.value for s in self.sets),
                 *(e.present for e in self.elements if e.present is not None)]
        return tuple(sorted(set().union(*(state_read(x) for x in exprs))))

    def holder(self, name: str) -> Element | None:
        """The element a spec name is on the wire in: itself, or its bits container."""
        return next((e for e in self.elements if name in names_of(e)), None)

    def prefix_count(self) -> int:
        return prefix_count(self.elements)

    def header_count(self) -> int:
        return header_count(self.elements)

    def rest_field(self) -> IntField | VarintField | None:
        """The field declaring the frame's size (`len(rest)`, `size(a..last)`):
        everything after the fixed header is read in order, inside that size."""
        return next((v for v in self.elements if isinstance(v, IntField | VarintField)
                     and isinstance(v.value, Rest)), None)

    def size_start(self) -> int | None:
        """The frame offset a declared size counts from: the start of the field
        `size(a..last)` names, or the end of a fixed-offset `len(rest)` field; None
        for a varint's `len(rest)` (right after it, where it ends)."""
        rest = self.rest_field()
        if rest is None or not isinstance(rest.value, Rest) or isinstance(rest, VarintField):
            return None
        if rest.value.start is None:
            assert rest.offset is not None, "check_rest: a declaring integer is in the header"
            return rest.offset + rest.type.width
        first = self.holder(rest.value.start)
        assert first is not None and first.offset is not None, (
            "check_rest: a declared size starts in the header")
        return first.offset

    def values(self) -> tuple[ValueNode, ...]:
        return values_of(self.elements)

    def value(self, name: str) -> ValueNode | None:
        return next((v for v in self.values() if v.name == name), None)

    def free_names(self) -> tuple[str, ...]:
        """Names a user sets: neither constant nor computed, in wire order."""
        names: list[str] = []
        for e in self.elements:
            if isinstance(e, IntField | VarintField):
                if e.value is None:
                    names.append(e.name)
            elif isinstance(e, BitsField):
                names.extend(m.name for m in e.members if m.value is None)
            else:
                names.append(e.name)
        return tuple(names)


@dataclass(frozen=True)
class BytesChoice:
    """A builder's bytes or text value chosen by an integer, as a `match` chooses
    one (`match code { 404 => "E404"  _ => "E500" }`): the literal of the case
    equal to `subject`, else `default`. A hijack maps MOSN's code to text so."""

    subject: Expr
    cases: tuple[tuple[int, bytes], ...]
    default: bytes
    span: Span


# A sized field's value besides a literal: the request's field of the same name
# and kind (`tran_code = req.tran_code`), or a literal chosen by an integer.
SizedValue = ParamField | BytesChoice


@dataclass(frozen=True)
class Builder:
    """How to make a frame MOSN asks for: `keepalive` (params: id),
    `keepalive_reply` (params: the request) or `hijack` (the request, a code).
    `assignments` covers every free field of `frame`, defaults included."""

    kind: Literal["keepalive", "keepalive_reply", "hijack"]
    frame: str
    params: tuple[str, ...]
    assignments: tuple[tuple[str, Expr], ...]
    doc: str | None
    span: Span
    data: tuple[tuple[str, bytes], ...] = ()  # sized fields given a literal; others empty
    # The built frame's id when the frame's id role is part of a bytes field
    # (`request_id = id`): that view holds it, the field's other bytes are zero.
    id_value: Expr | None = None
    sized: tuple[tuple[str, SizedValue], ...] = ()  # sized fields copied or chosen, wire order


@dataclass(frozen=True)
class Protocol:
    name: str
    mosn_name: str
    byte_order: ByteOrder
    max_frame: int
    enums: tuple[Enum, ...]
    frames: tuple[Frame, ...]
    discriminator_size: int  # bytes needed to choose a frame variant
    builders: tuple[Builder, ...]
    doc: str | None
    span: Span
    records: tuple[Record, ...] = ()
    unclaimed: tuple[str, ...] = ()  # discriminator values no frame claims (malformed)
    state: tuple[StateMember, ...] = ()
    # `max_frame 9 + state.receiver.max_frame_size`: a bound on every frame's size
    # that reads the state, checked with max_frame; None when the spec has none.
    frame_limit: Expr | None = None

    def record(self, name: str) -> Record | None:
        return next((r for r in self.records if r.name == name), None)

    def enum(self, name: str) -> Enum | None:
        return next((e for e in self.enums if e.name == name), None)

    def frame(self, name: str) -> Frame | None:
        return next((f for f in self.frames if f.name == name), None)

    def state_member(self, name: str) -> StateMember | None:
        return next((m for m in self.state if m.name == name), None)

    def builder(self, kind: str) -> Builder | None:
        return next((b for b in self.builders if b.kind == kind), None)
