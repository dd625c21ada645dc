"""A frame's decoder and the dispatcher's reads, printed from the decode plan.

The plan says what is read, in what order, and what each value must be; this
module only says it in C: which runtime call reads an element, the need-more
checks of the fixed header (grouped so that a value is checked as soon as its
bytes are there), the pd_fail_v text of every refusal."""

from __future__ import annotations

from dataclasses import dataclass, replace

from protodsl.codegen.numbers import DECIMAL, NumberFormat, spelled_format
from protodsl.codegen.wasm.expr import FrameNames, c_int, to_c
from protodsl.codegen.wasm.layout import (
    Check,
    element_comment,
    expr_text,
    kv_fmt,
    read_int,
    reader,
    type_text,
    unsigned,
    where,
)
from protodsl.codegen.wasm.naming import c_string, ident

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    IntField,
    KvMapField,
    ListField,
    VarintField,
)
from protodsl.plan import Check as PlanCheck
from protodsl.plan import (
    DecodePlan,
    Discriminator,
    Fixed,
    Measured,
    MustBeMember,
    MustEqual,
    MustMatchChecksum,
    Read,
    RestFraming,
    SizeStep,
    Value,
)

CRC = NumberFormat(16, 8)  # a checksum shows as 8 hex digits


@dataclass(frozen=True)
class DecodeItem:
    """One element read by a frame decoder, at a fixed or running offset."""

    kind: str  # "values" (an int or a bits container), "varint", "bytes", "kvmap" or "list"
    comment: str
    assigns: tuple[tuple[str, str], ...] = ()  # values, varint: (lvalue, C expression)
    checks: tuple[Check, ...] = ()
    member: str = ""  # bytes, kvmap, list: the struct member
    size: str = ""  # bytes, kvmap, list: C expression of the byte count (pd_u32)
    width: int = 0  # bytes held by a fixed-width item
    need: str = ""  # C expression of the bytes it needs there (pd_u64 compared); "": any
    advance: str = ""  # what `at` steps by past it
    inline_size: tuple[str, str] | None = None  # (local, C expression) computed right here
    negative: bool = False  # the inline size may be negative: refused
    pad: str | None = None  # bytes: the pad byte to strip
    fmt: str = ""  # kvmap: PD_KV(...)
    checker: str = ""  # list: the record's checker of a section
    max_bytes: int = 0  # varint: its most bytes
    where: str = ""  # C string naming frame.field for log lines
    offset: str = ""  # C text of the offset in the frame
    present: str | None = None  # conditional: C condition (parenthesised) for being on the wire
    zeroed: tuple[str, ...] = ()  # values, varint: the members set to 0 when not on the wire
    recounts: tuple[Check, ...] = ()  # counts of the records read up to here, checked after it


@dataclass(frozen=True)
class HeaderGroup:
    """Fixed-offset items that need the same number of bytes: the need check
    comes first, value checks only after the last item, so 99 vs 10 is decided
    in exactly the order the decode plan prescribes. Fixed byte fields are
    padded and UTF-8 checked only once the whole header is there."""

    need: int
    items: tuple[DecodeItem, ...]


@dataclass(frozen=True)
class SizeView:
    local: str
    expr: str
    where: str
    comment: str
    present: str | None  # conditional field: its size is checked only when it is there
    may_be_negative: bool


@dataclass(frozen=True)
class RestView:
    """The varint declaring a `len(rest)` frame's size, right after the header."""

    comment: str
    lvalue: str
    max_bytes: int
    where: str


@dataclass(frozen=True)
class DeclaredView:
    """An integer of the header declaring the frame's size from offset `start`:
    a header longer than that size runs past the frame's end at its last element."""

    start: int
    lvalue: str
    last_where: str
    last_offset: int


@dataclass(frozen=True)
class DecoderView:
    header_size: int
    header: tuple[HeaderGroup, ...]
    header_bytes: tuple[DecodeItem, ...]  # fixed byte fields to strip and check
    prefix: tuple[DecodeItem, ...]  # fixed-width items after the header, before the sizes
    sizes: tuple[SizeView, ...]
    total: str
    tail: tuple[DecodeItem, ...]  # with `rest` or `declared`: the body, inside the declared size
    rest: RestView | None
    declared: DeclaredView | None
    inline_sizes: tuple[str, ...]  # pd_i64 locals of sizes computed where they are read
    uses_bits: bool
    uses_status: bool
    uses_varint: bool  # a varint in the body: its end goes to `next` first


@dataclass(frozen=True)
class DispatchRead:
    """A discriminator the dispatcher reads into a local before choosing a frame."""

    local: str
    read: str
    comment: str
    name: str  # spec name, for the log line when no variant matches
    fmt: str  # pd_log_n's format: as the first frame's constant is written


def decoder(plan: DecodePlan, names: FrameNames) -> DecoderView:
    framing = plan.framing
    items = [_item(r, names, str(r.offset), f"buf + {r.offset}") for r in plan.header]
    rest: RestView | None = None
    declared: DeclaredView | None = None
    if isinstance(framing, RestFraming):
        if framing.length is not None:
            length = framing.length.element
            assert isinstance(length, VarintField)
            rest = RestView(element_comment(length), names.field(length.name),
                            length.max_bytes, where(names.frame, length.name))
        else:
            assert framing.start is not None, "an integer of the header declares the size"
            last = plan.header[-1]
            assert last.offset is not None
            declared = DeclaredView(framing.start, names.field(framing.size_field.name),
                                    where(names.frame, last.name), last.offset)
        prefix: tuple[DecodeItem, ...] = ()
        sizes: tuple[SizeView, ...] = ()
        total = ""
        tail = tuple(_item(r, names, "at", "buf + at", bounded=True) for r in framing.body)
    else:
        prefix = tuple(_item(r, names, "at", "buf + at") for r in framing.prefix)
        sizes = tuple(_size(s, names) for s in framing.sizes)
        total = to_c(framing.total, names)
        tail = tuple(_item(r, names, "at", "buf + at") for r in framing.tail)
    elements = names.frame.elements
    return DecoderView(
        header_size=plan.header_size,
        header=_groups(plan.header, items),
        header_bytes=tuple(i for i in items
                           if i.kind == "bytes" and (i.checks or i.pad is not None)),
        prefix=prefix,
        sizes=sizes,
        total=total,
        tail=tail,
        rest=rest,
        declared=declared,
        inline_sizes=tuple(i.inline_size[0] for i in tail if i.inline_size is not None),
        uses_bits=any(isinstance(e, BitsField) for e in elements),
        uses_status=rest is not None or any(isinstance(e, KvMapField | ListField)
                                            for e in elements),
        uses_varint=any(i.kind == "varint" for i in tail),
    )


def _groups(reads: tuple[Read, ...], items: list[DecodeItem]) -> tuple[HeaderGroup, ...]:
    """One need-more check before the values up to the next one that is
    checked: each check runs once its value's bytes are there."""
    groups: list[HeaderGroup] = []
    pending: list[DecodeItem] = []
    for i, (read, item) in enumerate(zip(reads, items, strict=True)):
        assert read.offset is not None and read.width is not None and read.present is None
        pending.append(item)
        if (item.kind == "values" and item.checks) or i == len(reads) - 1:
            groups.append(HeaderGroup(read.offset + read.width, tuple(pending)))
            pending = []
    return tuple(groups)


def _size(step: SizeStep, names: FrameNames) -> SizeView:
    e = step.element
    present = f", if {expr_text(step.present)}" if step.present is not None else ""
    return SizeView(
        local=ident("n", e.name),
        expr=to_c(step.expr, names),
        where=where(names.frame, e.name),
        comment=f"{e.name}: {expr_text(step.expr)} bytes{present}",
        present=names.test(step.present) if step.present is not None else None,
        may_be_negative=step.may_be_negative or _reads_u64(step, names),
    )


def _reads_u64(step: SizeStep, names: FrameNames) -> bool:
    """A u64 size field is a negative `pd_i64` past 2**63: C checks it anyway."""
    v = names.frame.value(step.expr.field) if isinstance(step.expr, ir.FieldValue) else None
    return isinstance(v, IntField) and v.type.width == 8


def _item(read: Read, names: FrameNames, offset: str, base: str, bounded: bool = False
          ) -> DecodeItem:
    """How to read `read` at `base` (C pointer text), `offset` its offset text;
    `bounded`: in the body of a `len(rest)` frame, its size computed right there.
    Then the counts of the records read up to it, as the Python codec's
    CountMismatch words them."""
    item = _read(read, names, offset, base, bounded)
    recounts = tuple(Check(
        f"{names.field(c.node.name)} != {to_c(c.expr, names)}",
        f"pd_fail_count({where(names.frame, c.node.name)}, "
        f"{-1 if c.offset is None else c.offset}, {names.field(c.node.name)}, "
        f"{to_c(c.expr, names)})") for c in read.recounts)
    return replace(item, recounts=recounts) if recounts else item


def _read(read: Read, names: FrameNames, offset: str, base: str, bounded: bool) -> DecodeItem:
    e = read.element
    comment = element_comment(e)
    if read.present is not None:
        comment += f"; only if {expr_text(read.present)}"
    present = names.test(read.present) if read.present is not None else None
    at = where(names.frame, e.name)
    if isinstance(e, IntField):
        (value,) = read.values
        lvalue = names.field(e.name)
        return DecodeItem(
            kind="values", comment=comment,
            assigns=((lvalue, read_int(base, e.type)),),
            checks=_checks(value, lvalue, names, offset),
            width=e.type.width, need=f"{e.type.width}u", advance=f"{e.type.width}u",
            where=at, offset=offset, present=present, zeroed=(lvalue,),
        )
    if isinstance(e, BitsField):
        assigns = [("bits", f"{reader(e.type)}({base}, {e.type.width})")]
        checks: list[Check] = []
        for v in read.values:
            lvalue = names.field(v.name)
            assigns.append((lvalue, f"(pd_i64)((bits >> {v.shift}) & 0x{v.mask:x}u)"))
            checks.extend(_checks(v, lvalue, names, offset))
        return DecodeItem(
            kind="values", comment=comment, assigns=tuple(assigns), checks=tuple(checks),
            width=e.type.width, need=f"{e.type.width}u", advance=f"{e.type.width}u",
            where=at, offset=offset, present=present,
            zeroed=tuple(names.field(v.name) for v in read.values),
        )
    if isinstance(e, VarintField):
        (value,) = read.values
        lvalue = names.field(e.name)
        return DecodeItem(
            kind="varint", comment=comment, assigns=((lvalue, "(pd_i64)v"),),
            checks=_checks(value, lvalue, names, offset), max_bytes=e.max_bytes,
            where=at, offset=offset, present=present, zeroed=(lvalue,),
        )
    member = names.field(e.name)
    local = ident("n", e.name)
    inline: tuple[str, str] | None = None
    negative = False
    if isinstance(read.size, Fixed):
        size = need = f"{read.size.bytes}u"
    elif not bounded:
        size = need = f"(pd_u32){local}"
    elif isinstance(read.size, Measured):
        inline, negative = (local, to_c(read.size.expr, names)), read.size.may_be_negative
        size, need = f"(pd_u32){local}", f"(pd_u64){local}"
    else:  # the rest of the frame: never past it
        inline, size, need = (local, "total - at"), f"(pd_u32){local}", ""
    item = DecodeItem(kind="bytes", comment=comment, member=member, size=size, need=need,
                      advance=size, inline_size=inline, negative=negative, where=at,
                      offset=offset, present=present)
    if isinstance(e, KvMapField):
        return replace(item, kind="kvmap", fmt=kv_fmt(e))
    if isinstance(e, ListField):
        return replace(item, kind="list", checker=ident("lst", e.record))
    if e.text:
        item = replace(item, checks=(Check(
            f"pd_utf8_bad({member}.ptr, {member}.len) >= 0",
            f"pd_fail_v({at}, {offset}, \"not UTF-8 at byte \", "
            f"pd_utf8_bad({member}.ptr, {member}.len), PD_DEC, \"\")",
        ),))
    return replace(item, width=read.width or 0, pad=None if e.pad is None else c_int(e.pad))


def _checks(value: Value, lvalue: str, names: FrameNames, offset: str) -> tuple[Check, ...]:
    """The plan's checks of a value read into `lvalue` at frame offset `offset`."""
    at = where(names.frame, value.name)
    return tuple(_check(c, value, lvalue, at, offset) for c in value.checks)


def _check(check: PlanCheck, value: Value, lvalue: str, at: str, offset: str) -> Check:
    """The test and the message, to the letter the Python codec's."""
    as_unsigned = unsigned(value.node)
    match check:
        case MustEqual(value=want, spelling=spelling):
            fmt = spelled_format(spelling)
            return Check(
                f"{lvalue} != {c_int(want)}",
                f"pd_fail_v({at}, {offset}, {c_string(f'expected {fmt.show(want)}, got ')}, "
                f"{lvalue}, {fmt.c(as_unsigned)}, \"\")",
            )
        case MustBeMember(enum=enum):
            return Check(
                f"!{ident('isok', enum.name)}({lvalue})",
                f"pd_fail_v({at}, {offset}, {c_string(f'not a {enum.name}: ')}, {lvalue}, "
                f"{DECIMAL.c(as_unsigned)}, \"\")",
            )
        case MustMatchChecksum(kind=kind, start=start):
            assert kind == "crc32", kind
            return Check(
                f"{lvalue} != (pd_i64)pd_crc32({_covered(start, offset)})",
                f"pd_fail_v({at}, {offset}, \"{kind} \", {lvalue}, {CRC.c(as_unsigned)}, "
                f"\" does not match the bytes it covers\")",
            )
    raise AssertionError(check)


def _covered(start: int, offset: str) -> str:
    """The bytes a checksum at `offset` covers: from `start` up to itself."""
    if offset.isdigit():
        return f"buf + {start}, {int(offset) - start}u"
    return f"buf + {start}, {offset} - {start}u" if start else f"buf, {offset}"


def dispatch_reads(discriminators: tuple[Discriminator, ...]) -> tuple[DispatchRead, ...]:
    """Locals for every value a `when` reads, at its offset in the first frame."""
    out = []
    for d in discriminators:
        v, t, at = d.value, d.container, d.offset
        spelling = next((c.spelling for c in v.checks if isinstance(c, MustEqual)), None)
        if isinstance(v.node, BitMember):
            assert v.mask is not None
            read = f"(pd_i64)(({reader(t)}(buf + {at}, {t.width}) >> {v.shift}) & 0x{v.mask:x}u)"
            comment = f"{v.name}: bits {v.node.width} of {type_text(t)} at {at}"
        else:
            read, comment = read_int(f"buf + {at}", t), f"{v.name}: {type_text(t)} at {at}"
        out.append(DispatchRead(ident("d", v.name), read, comment, v.name,
                                spelled_format(spelling).c(unsigned(v.node))))
    return tuple(out)
