"""The codec plan: what every backend does with a frame, decided once.

The IR says what a frame is; the plan says how a codec reads and writes it: in
what order, what is checked where, when a decoder knows how many bytes it
needs, in what order computed values are evaluated, where a checksum starts.
Backends print a plan in their language and choose representations (struct
formats, C types); they decide nothing here. Every node keeps the IR node it
comes from, and so its span in the spec."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    Builder,
    BytesField,
    Element,
    Enum,
    Frame,
    IdView,
    IntField,
    IntType,
    KvMapField,
    ListField,
    Protocol,
    Record,
    ValueNode,
    VarintField,
    names_of,
)

# ------------------------------------------------------------------ checks


@dataclass(frozen=True)
class MustEqual:
    """A constant: decode refuses any other value. `spelling` is the literal as
    the spec wrote it (`0xCAFEBABE`), for messages."""

    value: int
    spelling: str | None


@dataclass(frozen=True)
class MustBeMember:
    """A value of a closed enum: decode refuses a number no member has."""

    enum: Enum


@dataclass(frozen=True)
class MustMatchChecksum:
    """A checksum: the bytes from frame offset `start` up to the checksum field
    itself must give the value read."""

    kind: str  # "crc32": IEEE, as zlib
    start: int


Check = MustEqual | MustBeMember | MustMatchChecksum


# ------------------------------------------------------------------ decoding


@dataclass(frozen=True)
class Value:
    """One integer a decoder extracts: a whole integer field, or a bit member of
    its container (`(container >> shift) & mask`)."""

    node: ValueNode
    shift: int
    mask: int | None  # None: the whole container
    checks: tuple[Check, ...]  # in this order

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def free(self) -> bool:
        """Set by whoever makes a frame, neither constant nor computed."""
        return self.node.value is None


@dataclass(frozen=True)
class Fixed:
    """A size known from the spec alone."""

    bytes: int


@dataclass(frozen=True)
class Measured:
    """A size computed from earlier values (`SizeStep` computes it first, in a
    sized frame); one that can be negative is refused (`NegativeSize`)."""

    expr: ir.Expr
    may_be_negative: bool


@dataclass(frozen=True)
class RestOfFrame:
    """Whatever is left of a `len(rest)` frame."""


Size = Fixed | Measured | RestOfFrame


@dataclass(frozen=True)
class Recount:
    """A computed value that counts records (`n: u8 = count(tags)`): decode
    refuses a frame where it disagrees with the records read (`CountMismatch`),
    checked once the lists it counts are read, whether or not they are there."""

    node: ValueNode
    expr: ir.Expr
    offset: int | None  # where the count is, when fixed, for messages


@dataclass(frozen=True)
class Read:
    """One element on the wire, at `offset` from the frame's start (None: where
    the previous element ended). When `present` is false it is not on the wire
    and takes its absent value: 0, or empty. `recounts` are checked after it."""

    element: Element
    offset: int | None
    present: ir.Expr | None
    values: tuple[Value, ...]  # an integer, a bits container or a varint
    size: Size | None  # bytes, text, a map or a list
    width: int | None  # bytes it always takes, when fixed
    recounts: tuple[Recount, ...] = ()

    @property
    def name(self) -> str:
        return self.element.name

    @property
    def names(self) -> tuple[str, ...]:
        """The spec names it carries: itself, or its bit members."""
        return names_of(self.element)


@dataclass(frozen=True)
class SizeStep:
    """A decoder computes the byte count of a sized element before it knows the
    frame's size; a count that can be negative is refused (`NegativeSize`)."""

    element: BytesField | KvMapField | ListField
    expr: ir.Expr
    may_be_negative: bool
    present: ir.Expr | None  # only then is it computed and checked


@dataclass(frozen=True)
class SizedFraming:
    """A frame whose size follows from its first fields: the fixed header, then
    `prefix` (fixed-width elements after it, each a need-more point of unknown
    total), then `sizes`, then the total (refused past max_frame, need-more
    until it is there), then `tail`, each element read where the last ended."""

    prefix: tuple[Read, ...]
    sizes: tuple[SizeStep, ...]
    total: ir.Expr
    tail: tuple[Read, ...]


@dataclass(frozen=True)
class RestFraming:
    """A frame that declares its own size: a `varint = len(rest)` right after the
    header (`length`; the frame ends its value after the varint), or an integer
    of the header (`length` None; the frame ends its value after `start`). Then
    every element of `body` is read in order inside that size (one running past
    it is a `FieldOverrun`, as is a header longer than the size), and nothing
    is left over."""

    length: Read | None
    size_field: ValueNode
    start: int | None
    body: tuple[Read, ...]


@dataclass(frozen=True)
class DecodePlan:
    """The header is read in one piece once `header_size` bytes are there; with
    fewer, every value whose bytes are there is checked, in order, and only then
    does the decoder ask for more."""

    header_size: int
    header: tuple[Read, ...]
    framing: SizedFraming | RestFraming

    @property
    def reads(self) -> tuple[Read, ...]:
        """Every element of the frame as decode reads it, in wire order."""
        framing = self.framing
        if isinstance(framing, RestFraming):
            length = () if framing.length is None else (framing.length,)
            return (*self.header, *length, *framing.body)
        return (*self.header, *framing.prefix, *framing.tail)


# ------------------------------------------------------------------ encoding


@dataclass(frozen=True)
class Computed:
    """A value computed on encode, after every computed value it reads."""

    node: ValueNode
    expr: ir.Expr


@dataclass(frozen=True)
class FitCheck:
    """Encode refuses a value its field cannot hold: outside `lo`..`hi`, or no
    member of a closed enum. Checked only when the field is on the wire."""

    node: ValueNode
    lo: int
    hi: int
    what: str  # "u16", "3 bits", "varint(4)"
    enum: Enum | None  # closed
    present: ir.Expr | None


@dataclass(frozen=True)
class LengthCheck:
    """Encode refuses a sized element whose length disagrees with its size: not
    `expr` bytes, or for a padded one more than `pad_width` or ending with its
    pad byte (decode strips the padding, so it would read back shorter)."""

    element: BytesField | KvMapField | ListField
    expr: ir.Expr | None  # None: padded to pad_width
    pad_width: int | None
    present: ir.Expr | None


@dataclass(frozen=True)
class Write:
    """One element written, in wire order, when `present` holds. A checksum
    covers what was written from its `start` up to it. A map whose null marker
    (an all-ones length) a frame could hold refuses a key or value that long
    (`refuse_null`): it would read back as a null."""

    element: Element
    present: ir.Expr | None
    checksum: MustMatchChecksum | None = None
    refuse_null: bool = False


@dataclass(frozen=True)
class EncodePlan:
    """Values first (`computed` in order), then checks (`fits`, `lengths`, the
    frame's own condition `claim`), the size (`total`, refused past max_frame;
    for `rest` framing known once the body is written), then `writes`."""

    computed: tuple[Computed, ...]
    fits: tuple[FitCheck, ...]
    lengths: tuple[LengthCheck, ...]
    claim: ir.Expr  # the frame's `when`: an encoder never writes another frame
    total: ir.Expr | None
    rest: VarintField | None
    writes: tuple[Write, ...]


# ------------------------------------------------------------------ the rest


@dataclass(frozen=True)
class HeaderRecords:
    """`headers = tags(key, value)`: MOSN's headers are each entry's `key` and
    `value` members, in wire order. Encode merges MOSN's edited map into the
    entries decoded: the n-th entry with a key takes the n-th value MOSN has
    for that key (in place), an entry whose key MOSN has no more values for is
    dropped, and MOSN's pairs left over are appended as new entries, whose
    integers are `fresh` (constants; 0 for a free one) before the computed ones
    are computed. Every new or changed entry is checked as `record` checks an
    entry on encode (`fits`, `lengths`); a text key or value must be UTF-8."""

    list: ListField
    record: RecordPlan
    key: BytesField
    value: BytesField
    fresh: tuple[tuple[ValueNode, int], ...]


@dataclass(frozen=True)
class DerivedHeader:
    """A header MOSN sees after the stored ones (`headers = ... + { key = ... }`):
    `parts` joined, literal bytes or a text or bytes field's value (a padded
    field's without its padding, as decode reads it). On encode MOSN's last pair
    with `key` is this entry's and is taken out of the map before the stored
    section is rebuilt from the rest, so a derived entry never lands there. An
    entry that is exactly one field (`writes`) puts MOSN's value back into it
    (UTF-8 for text; the field's encode checks refuse one that does not fit); any
    other entry is read-only and MOSN's edit of it is dropped."""

    key: bytes
    parts: tuple[bytes | BytesField, ...]
    writes: BytesField | None


@dataclass(frozen=True)
class RolesPlan:
    """Layout facts MOSN's encode path uses: whether the payload ends the frame
    (so a frame can be written around the payload where the host put it), and
    the elements after the headers section, whose bytes follow it."""

    payload_ends_frame: bool
    after_headers: tuple[Element, ...]
    id_view: IdView | None = None  # the id is part of the bytes field roles.id names
    header_records: HeaderRecords | None = None
    derived_headers: tuple[DerivedHeader, ...] = ()  # in the order declared


@dataclass(frozen=True)
class BuiltId:
    """A builder's id when its frame's id is part of a bytes field: the field is
    `size` zero bytes with `value` in the view (builders give integers there,
    not bytes; a request's id bytes read in `value` are its id, the view)."""

    field: str
    size: int
    view: IdView
    value: ir.Expr


@dataclass(frozen=True)
class FramePlan:
    frame: Frame
    index: int
    decode: DecodePlan
    encode: EncodePlan
    roles: RolesPlan | None

    @property
    def name(self) -> str:
        return self.frame.name


@dataclass(frozen=True)
class Discriminator:
    """A value a `when` reads, where every frame has it (variants.py checked)."""

    value: Value
    container: IntType
    offset: int


@dataclass(frozen=True)
class IntRun:
    """Integers (or bits containers) back to back in a record entry, `width`
    bytes: a decoder checks the entry holds all of them before it checks any of
    their `values`, each at its own offset in the run. A fixed record is one run."""

    elements: tuple[IntField | BitsField, ...]
    values: tuple[Value, ...]
    width: int
    present: ir.Expr | None = None  # a run of one member, read only when this holds


@dataclass(frozen=True)
class RecordPlan:
    """A list entry: its integers and (a variable record) bytes sized by the
    entry's own earlier integers, in wire order; what decode checks of its
    integers (`values`, in wire order: constants; a closed enum's members are
    not checked in a record, whose members are plain integers in every codec);
    `steps`, how decode reads an entry: runs of integers, and sized members,
    each refused when it runs past the list's section. Encode: computed values
    in order, then `fits` and `lengths` (each sized member's length against its
    size, evaluated with the computed values)."""

    record: Record
    values: tuple[Value, ...]
    computed: tuple[Computed, ...]
    steps: tuple[IntRun | BytesField | VarintField, ...]
    fits: tuple[FitCheck, ...]
    lengths: tuple[LengthCheck, ...]


@dataclass(frozen=True)
class BuilderPlan:
    """A builder: every free value of its frame assigned (defaults included),
    the literal bytes it gives sized elements, and those it copies from the
    request or chooses by an integer (the builder's `sized`)."""

    builder: Builder
    frame: FramePlan
    request: str | None  # the parameter holding the request answered
    integers: tuple[str, ...]  # the integer parameters (id, code)
    id_bytes: BuiltId | None = None


@dataclass(frozen=True)
class ProtocolPlan:
    protocol: Protocol
    frames: tuple[FramePlan, ...]
    discriminators: tuple[Discriminator, ...]  # in wire order
    closed_enums: tuple[Enum, ...]  # those a frame's value uses, in spec order
    records: tuple[RecordPlan, ...]
    builders: tuple[BuilderPlan, ...]
    request_fields: tuple[str, ...]  # what builders read of a request, sorted
    request_frames: tuple[FramePlan, ...]  # what a builder's request may be, in spec order
    # The bytes and text fields builders copy of a request, sorted: a plugin keeps
    # a heartbeat request's copy from its decode until the call that replies.
    request_bytes: tuple[str, ...] = ()

    def frame(self, name: str) -> FramePlan:
        return next(f for f in self.frames if f.name == name)

    def builder(self, kind: str) -> BuilderPlan | None:
        return next((b for b in self.builders if b.builder.kind == kind), None)

