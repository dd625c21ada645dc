"""A view of the IR for the C templates: names made safe, expressions
translated, every decision about what to emit taken here, so the templates
only lay out statements. Built fresh per call; nothing is sorted by hash."""

from __future__ import annotations

from dataclasses import dataclass, replace

from protodsl.codegen.numbers import DECIMAL, literal_format
from protodsl.codegen.wasm.expr import c_int, to_c
from protodsl.codegen.wasm.naming import c_string, comment_inline, comment_lines, ident

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    Builder,
    BytesField,
    Element,
    Frame,
    IntField,
    IntType,
    KvMapField,
    Protocol,
    ValueNode,
    fixed_width,
)

# Bytes of the EncodeData prefix: u32 0 | u8 flag | u64 id | u32 t/s | u32 frame_len.
ENCODE_PREFIX = 21
# Bytes of the DecodeData fixed part around the header map: u32 header_bytes and
# u8 flag | u64 id | u32 t/s | u32 drain_len | u32 payload_len.
DECODE_FIXED = 25


@dataclass(frozen=True)
class Check:
    """A malformed-input test: `cond` true means return `fail`."""

    cond: str
    fail: str


@dataclass(frozen=True)
class DecodeItem:
    """One element read by a frame decoder, at a fixed or running offset."""

    kind: str  # "values" (an int or a bits container), "bytes" or "kvmap"
    comment: str
    assigns: tuple[tuple[str, str], ...] = ()  # values: (lvalue, C expression)
    checks: tuple[Check, ...] = ()
    member: str = ""  # bytes, kvmap: the struct member
    size: str = ""  # bytes, kvmap: C expression of the byte count (pd_u32)
    width: int = 0  # bytes held by a fixed-width item
    pad: str | None = None  # bytes: the pad byte to strip
    fmt: str = ""  # kvmap: PD_KV(...)
    where: str = ""  # C string naming frame.field for log lines
    offset: str = ""  # C text of the offset in the frame
    present: str | None = None  # conditional: C condition (parenthesised) for being on the wire
    absent: tuple[str, ...] = ()  # conditional: statements that zero it when it is not


@dataclass(frozen=True)
class HeaderGroup:
    """Fixed-offset items that need the same number of bytes: the need check
    comes first, value checks only after the last item, so 99 vs 10 is decided
    in exactly the order the decode semantics prescribe. Fixed byte fields are
    padded and UTF-8 checked only once the whole header is there, as the
    Python codec does."""

    need: int
    items: tuple[DecodeItem, ...]


@dataclass(frozen=True)
class SizeView:
    local: str
    expr: str
    where: str
    comment: str
    present: str | None  # conditional field: its size is checked only when it is there


@dataclass(frozen=True)
class Member:
    decl: str  # C type and name
    comment: str


@dataclass(frozen=True)
class WriteStep:
    comment: str
    statements: tuple[str, ...]
    present: str | None = None  # conditional: C condition (parenthesised) for writing it


@dataclass(frozen=True)
class Keep:
    """A variable field copied into the pool when the frame is remembered."""

    member: str  # through `fr`
    name: str  # the struct member


@dataclass(frozen=True)
class RolesView:
    kind: str
    base_flag: str
    oneway: str | None  # parenthesised C condition on `fr`
    heartbeat: str | None
    id_member: str
    id_from_host: str  # the new id from `cmd`; encode checks that it fits
    tos_member: str | None
    tos_from_host: str | None
    headers: str | None  # member
    headers_fmt: str
    headers_where: str
    payload: str | None  # member
    # Encode writes in place around the payload (the frame ends with it); the
    # headers, which may view the host's buffer, first move to end this many
    # bytes (C expression) before the frame's end.
    encode_in_place: bool
    headers_tail: str
    kept_values: tuple[str, ...]  # free values but the id (struct members)
    kept: tuple[Keep, ...]
    # A builder gives the payload a literal: the built frame keeps it (struct
    # member `literal`) and encode uses it when MOSN passes no payload, as MOSN
    # does for the keepalive and hijack frames it asks for.
    literal: str | None


@dataclass(frozen=True)
class FrameView:
    name: str
    index: int
    doc: tuple[str, ...]
    struct: str
    union_member: str
    dec: str
    fin: str
    wr: str
    emit: str
    apply: str
    report: str
    keep: str
    flag: str
    req_from: str  # a request frame: fills struct pd_req for the builders
    accept: str
    where: str
    members: tuple[Member, ...]
    bytes_members: tuple[str, ...]
    header: tuple[HeaderGroup, ...]
    header_bytes: tuple[DecodeItem, ...]  # fixed byte fields to strip and check
    sizes: tuple[SizeView, ...]
    total: str
    header_size: int
    prefix: tuple[DecodeItem, ...]  # fixed-width items after the header, before the sizes
    variable: tuple[DecodeItem, ...]
    uses_bits: bool
    uses_status: bool
    constants: tuple[tuple[str, str], ...]  # fin: (member, value)
    computed: tuple[tuple[str, str, str], ...]  # fin: (member, expr, comment)
    fin_checks: tuple[Check, ...]
    writes: tuple[WriteStep, ...]
    checksum: bool  # the writer keeps the frame's start for a checksum
    roles: RolesView | None
    when: str  # parenthesised C condition on the discriminator locals


@dataclass(frozen=True)
class EnumCheck:
    fn: str
    name: str
    doc: str
    cases: tuple[tuple[str, str], ...]  # (C literal, member name)


@dataclass(frozen=True)
class Discriminator:
    local: str
    read: str
    comment: str
    name: str = ""  # spec name, for the log line when no variant matches
    fmt: str = "PD_DEC"  # pd_log_n's format: as the first frame's constant is written


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
    id_param: str | None  # keepalive: the id parameter's C name
    literals: tuple[Literal, ...]  # static arrays of the bytes fields given a literal
    payload_literal: str | None  # the frame's `literal` member, when this gives the payload one


@dataclass(frozen=True)
class ProtocolView:
    name: str
    mosn_name_comment: str
    mosn_name: str  # C string literal
    log_name: str
    doc: tuple[str, ...]
    max_frame: int
    discriminator_size: int
    enums: tuple[EnumCheck, ...]
    frames: tuple[FrameView, ...]
    discriminators: tuple[Discriminator, ...]
    # What the builders read of the request they answer, from whichever request
    # frame decoded it: the members of `struct pd_req` and the frames that fill it.
    request_members: tuple[str, ...]
    request_frames: tuple[FrameView, ...]
    keepalive: BuilderView | None
    keepalive_reply: BuilderView | None
    hijack: BuilderView | None


class FrameNames:
    """Names inside functions that work on one frame through the pointer `fr`."""

    def __init__(self, frame: Frame, ptr: str = "fr") -> None:
        self.frame = frame
        self.ptr = ptr

    def field(self, name: str) -> str:
        return f"{self.ptr}->{ident('f', name)}"

    def length(self, name: str) -> str:
        element = self.frame.element(name)
        if isinstance(element, BytesField) and element.pad is not None:
            return c_int(ir.evaluate(element.size))
        return f"(pd_i64){self.ptr}->{ident('f', name)}.len"

    def param(self, name: str) -> str:
        raise ValueError(f"frame '{self.frame.name}' reads builder parameter '{name}'")

    def param_field(self, param: str, field: str) -> str:
        raise ValueError(f"frame '{self.frame.name}' reads builder parameter '{param}'")


class DiscriminatorNames(FrameNames):
    """`when` conditions read the discriminator locals of the dispatcher."""

    def field(self, name: str) -> str:
        return ident("d", name)


class BuilderNames:
    """A builder reads its parameters: integers and fields of the request."""

    def __init__(self, builder: Builder) -> None:
        self.builder = builder

    def field(self, name: str) -> str:
        raise ValueError(f"builder '{self.builder.kind}' reads field '{name}'")

    def length(self, name: str) -> str:
        raise ValueError(f"builder '{self.builder.kind}' reads len({name})")

    def param(self, name: str) -> str:
        return ident("p", name)

    def param_field(self, param: str, field: str) -> str:
        return f"{ident('p', param)}->{ident('f', field)}"


def condition(text: str) -> str:
    """C expression text wrapped in exactly one pair of parentheses, for `if`."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and i < len(text) - 1:
            return f"({text})"
    return text if text.startswith("(") else f"({text})"


def build_view(protocol: Protocol) -> ProtocolView:
    frames = tuple(_frame(protocol, f, i) for i, f in enumerate(protocol.frames))
    by_name = {f.name: f for f in frames}
    builders = {b.kind: _builder(protocol, b, by_name) for b in protocol.builders}
    read = sorted({node.field for b in protocol.builders for _, value in b.assignments
                   for node in ir.walk(value) if isinstance(node, ir.ParamField)})
    return ProtocolView(
        name=protocol.name,
        mosn_name_comment=comment_inline(protocol.mosn_name),
        mosn_name=c_string(protocol.mosn_name),
        log_name=c_string(protocol.name),
        doc=tuple(comment_lines(protocol.doc)),
        max_frame=protocol.max_frame,
        discriminator_size=protocol.discriminator_size,
        enums=_enum_checks(protocol),
        frames=frames,
        discriminators=_discriminators(protocol),
        request_members=tuple(ident("f", name) for name in read),
        request_frames=tuple(v for v, f in zip(frames, protocol.frames, strict=True)
                             if f.roles is not None and f.roles.kind == "request"),
        keepalive=builders.get("keepalive"),
        keepalive_reply=builders.get("keepalive_reply"),
        hijack=builders.get("hijack"),
    )


# ----------------------------------------------------------------- enums


def _enum_checks(protocol: Protocol) -> tuple[EnumCheck, ...]:
    """Membership tests for the closed enums some field uses, in spec order."""
    used: set[str] = set()
    for frame in protocol.frames:
        for v in frame.values():
            if v.enum is not None:
                used.add(v.enum)
    out = []
    for enum in protocol.enums:
        if enum.open or enum.name not in used:
            continue
        out.append(EnumCheck(
            fn=ident("isok", enum.name),
            name=enum.name,
            doc=comment_inline(enum.doc),
            cases=tuple((c_int(m.value), m.name) for m in enum.members),
        ))
    return tuple(out)


def _closed_enum(protocol: Protocol, name: str | None) -> str | None:
    if name is None:
        return None
    enum = protocol.enum(name)
    return None if enum is None or enum.open else name


# ----------------------------------------------------------------- frames


def _where(frame: Frame, name: str) -> str:
    return c_string(f"{frame.name}.{name}")


def _read(pointer: str, t: IntType) -> str:
    reader = "pd_rd_le" if t.byte_order == "little" else "pd_rd_be"
    raw = f"{reader}({pointer}, {t.width})"
    if t.signed:
        return f"pd_sext({raw}, {t.bits})"
    return f"(pd_i64){raw}"


def _type_text(t: IntType) -> str:
    order = "" if t.width == 1 else ("le" if t.byte_order == "little" else "be")
    return t.name + order


def _value_checks(
    protocol: Protocol, frame: Frame, v: ValueNode, lvalue: str, offset: str
) -> list[Check]:
    """Decode checks of one value: its constant, then its closed enum."""
    where = _where(frame, v.name)
    checks = []
    unsigned = not isinstance(v, IntField) or not v.type.signed
    if v.value is not None and v.constant:
        want = ir.evaluate(v.value)
        fmt = literal_format(v.value)  # the message is the Python codec's, to the letter
        checks.append(Check(
            f"{lvalue} != {c_int(want)}",
            f"pd_fail_v({where}, {offset}, {c_string(f'expected {fmt.show(want)}, got ')}, "
            f"{lvalue}, {fmt.c(unsigned)}, \"\")",
        ))
    enum = _closed_enum(protocol, v.enum)
    if enum is not None:
        checks.append(Check(
            f"!{ident('isok', enum)}({lvalue})",
            f"pd_fail_v({where}, {offset}, {c_string(f'not a {enum}: ')}, {lvalue}, "
            f"{DECIMAL.c(unsigned)}, \"\")",
        ))
    return checks


def _value_comment(v: ValueNode, t: str) -> str:
    parts = [f"{v.name}: {t}"]
    if v.enum is not None:
        parts.append(v.enum)
    if v.value is not None:
        parts.append("= " + _expr_text(v.value))
    text = " ".join(parts)
    doc = comment_inline(v.doc)
    return f"{text}; {doc}" if doc else text


def _expr_text(e: ir.Expr) -> str:
    """A short spec-like rendering of an expression for comments."""
    match e:
        case ir.Const(value=v):
            return str(v)
        case ir.EnumValue(member=m):
            return m
        case ir.FieldValue(field=f):
            return f
        case ir.LenOf(field=f):
            return f"len({f})"
        case ir.Param(name=n):
            return n
        case ir.ParamField(param=p, field=f):
            return f"{p}.{f}"
        case ir.Unary(op=op, operand=o):
            return f"{op} {_expr_text(o)}" if op == "not" else f"-{_expr_text(o)}"
        case ir.Binary(op=op, left=left, right=right):
            return f"({_expr_text(left)} {op} {_expr_text(right)})"
        case ir.InSet(operand=o, values=values):
            return f"{_expr_text(o)} in {{{', '.join(map(str, values))}}}"
        case ir.Match(subject=s):
            return f"match {_expr_text(s)} {{...}}"
        case ir.Checksum(kind=kind, first=first, last=last):
            return f"{kind}({first}, {last})"
    return "?"


def _decode_item(
    protocol: Protocol, frame: Frame, e: Element, names: FrameNames, offset: str, base: str
) -> DecodeItem:
    """How to read element `e` at `base` (C pointer text), `offset` its offset text."""
    item = _read_item(protocol, frame, e, names, offset, base)
    if e.present is None:
        return item
    return replace(item, present=condition(to_c(e.present, names)), absent=_absent(e, names),
                   comment=f"{item.comment}; only if {_expr_text(e.present)}")


def _absent(e: Element, names: FrameNames) -> tuple[str, ...]:
    """Statements giving an element that is not on the wire its value: 0 or empty."""
    if isinstance(e, IntField):
        return (f"{names.field(e.name)} = 0;",)
    if isinstance(e, BitsField):
        return tuple(f"{names.field(m.name)} = 0;" for m in e.members)
    return (f"{names.field(e.name)} = (pd_bytes){{0, 0}};",)


def _checksum_start(frame: Frame, c: ir.Checksum) -> int:
    """The offset where a checksum's range starts (fixed: the passes require it)."""
    for e in frame.elements:
        if e.name == c.first or (
                isinstance(e, BitsField) and any(m.name == c.first for m in e.members)):
            assert e.offset is not None, f"checksum range of '{frame.name}' has no fixed start"
            return e.offset
    raise AssertionError(f"checksum range of '{frame.name}' starts at no field")


def _checksum_check(frame: Frame, e: IntField, lvalue: str, offset: str) -> Check:
    """Decode: the checksum read equals the one of the bytes from its range's
    start up to the checksum itself (`offset`)."""
    assert isinstance(e.value, ir.Checksum) and e.value.kind == "crc32", e.value
    start = _checksum_start(frame, e.value)
    if offset.isdigit():
        covered = f"buf + {start}, {int(offset) - start}u"
    else:
        covered = f"buf + {start}, {offset} - {start}u" if start else f"buf, {offset}"
    return Check(
        f"{lvalue} != (pd_i64)pd_crc32({covered})",
        f"pd_fail_v({_where(frame, e.name)}, {offset}, \"{e.value.kind} \", {lvalue}, "
        f"PD_NUM(16, 8, 0){'' if e.type.signed else ' | PD_NUM_UNSIGNED'}, "
        f"\" does not match the bytes it covers\")",
    )


def _read_item(
    protocol: Protocol, frame: Frame, e: Element, names: FrameNames, offset: str, base: str
) -> DecodeItem:
    """`_decode_item` without the element's condition."""
    where = _where(frame, e.name)
    if isinstance(e, IntField):
        lvalue = names.field(e.name)
        value_checks = _value_checks(protocol, frame, e, lvalue, offset)
        if isinstance(e.value, ir.Checksum):
            value_checks.append(_checksum_check(frame, e, lvalue, offset))
        return DecodeItem(
            kind="values",
            comment=_value_comment(e, _type_text(e.type)),
            assigns=((lvalue, _read(base, e.type)),),
            checks=tuple(value_checks),
            width=e.type.width,
            offset=offset,
        )
    if isinstance(e, BitsField):
        reader = "pd_rd_le" if e.type.byte_order == "little" else "pd_rd_be"
        assigns = [("bits", f"{reader}({base}, {e.type.width})")]
        checks: list[Check] = []
        for m in e.members:
            lvalue = names.field(m.name)
            assigns.append((lvalue, f"(pd_i64)((bits >> {m.shift}) & 0x{m.mask:x}u)"))
            checks.extend(_value_checks(protocol, frame, m, lvalue, offset))
        members = ", ".join(f"{m.name}:{m.width}" for m in e.members)
        doc = comment_inline(e.doc)
        return DecodeItem(
            kind="values",
            comment=f"bits {_type_text(e.type)} {{{members}}}" + (f"; {doc}" if doc else ""),
            assigns=tuple(assigns),
            checks=tuple(checks),
            width=e.type.width,
            offset=offset,
        )
    assert isinstance(e, BytesField | KvMapField), "check_target rejects lists and varints"
    member = names.field(e.name)
    fixed = ir.is_constant(e.size)
    size = f"{ir.evaluate(e.size)}u" if fixed else f"(pd_u32){ident('n', e.name)}"
    if isinstance(e, KvMapField):
        return DecodeItem(
            kind="kvmap",
            comment=f"{e.name}: {_sized_text(e)}" + _doc_suffix(e.doc),
            member=member,
            size=size,
            fmt=_kv_fmt(e),
            where=where,
            offset=offset,
        )
    checks = []
    if e.text:
        checks.append(Check(
            f"pd_utf8_bad({member}.ptr, {member}.len) >= 0",
            f"pd_fail_v({where}, {offset}, \"not UTF-8 at byte \", "
            f"pd_utf8_bad({member}.ptr, {member}.len), PD_DEC, \"\")",
        ))
    return DecodeItem(
        kind="bytes",
        comment=f"{e.name}: {_sized_text(e)}" + _doc_suffix(e.doc),
        member=member,
        size=size,
        width=ir.evaluate(e.size) if fixed else 0,
        checks=tuple(checks),
        pad=None if e.pad is None else c_int(e.pad),
        where=where,
        offset=offset,
    )


def _doc_suffix(doc: str | None) -> str:
    text = comment_inline(doc)
    return f"; {text}" if text else ""


def _sized_text(e: BytesField | KvMapField) -> str:
    if isinstance(e, KvMapField):
        null = ", null_drop" if e.null_drop else ""
        return f"kvmap({_type_text(e.length_type)}{null})[{_expr_text(e.size)}]"
    kind = "text" if e.text else "bytes"
    pad = f"(pad={e.pad})" if e.pad is not None else ""
    return f"{kind}{pad}[{_expr_text(e.size)}]"


def _kv_fmt(e: KvMapField) -> str:
    t = e.length_type
    little = int(t.byte_order == "little" and t.width > 1)
    return f"PD_KV({t.width}, {little}, {int(e.null_drop)})"


def _header(
    protocol: Protocol, frame: Frame, names: FrameNames
) -> tuple[HeaderGroup, ...]:
    groups: list[HeaderGroup] = []
    pending: list[DecodeItem] = []
    fixed = frame.elements[:frame.header_count()]
    for i, e in enumerate(fixed):
        assert e.offset is not None
        item = _decode_item(protocol, frame, e, names, str(e.offset), f"buf + {e.offset}")
        pending.append(item)
        if (item.kind == "values" and item.checks) or i == len(fixed) - 1:
            end = e.offset + item.width
            groups.append(HeaderGroup(end, tuple(pending)))
            pending = []
    return tuple(groups)


def _members(protocol: Protocol, frame: Frame) -> tuple[Member, ...]:
    out = []
    literal = _payload_literal(protocol, frame)
    for e in frame.elements:
        if isinstance(e, IntField):
            out.append(Member(f"pd_i64 {ident('f', e.name)};",
                              _value_comment(e, _type_text(e.type))))
        elif isinstance(e, BitsField):
            for m in e.members:
                out.append(Member(f"pd_i64 {ident('f', m.name)};",
                                  _value_comment(m, f"bits {m.width} of {_type_text(e.type)}")))
        else:
            assert isinstance(e, BytesField | KvMapField), "check_target rejects lists and varints"
            out.append(Member(f"pd_bytes {ident('f', e.name)};",
                              f"{_sized_text(e)}" + _doc_suffix(e.doc)))
    if literal is not None:
        out.append(Member(f"pd_bytes {literal};",
                          "a built frame's literal payload, for an encode that passes none"))
    return tuple(out)


def _payload_literal(protocol: Protocol, frame: Frame) -> str | None:
    """The struct member keeping a built frame's literal payload, when a
    builder of this frame gives its payload one."""
    roles = frame.roles
    if roles is None or roles.payload is None:
        return None
    if any(b.frame == frame.name and roles.payload in dict(b.data) for b in protocol.builders):
        return ident("lit", "payload")
    return None


def _computed_order(frame: Frame) -> list[ValueNode]:
    """Computed values, each after the computed values its expression reads."""
    computed = [v for v in frame.values() if v.value is not None and not v.constant
                and not isinstance(v.value, ir.Checksum)]  # checksums: the writer's
    names = {v.name for v in computed}
    done: set[str] = set()
    out: list[ValueNode] = []
    remaining = list(computed)
    while remaining:
        for v in remaining:
            assert v.value is not None
            if (ir.fields_read(v.value) & names) - done - {v.name} == set():
                break
        else:
            v = remaining[0]
        remaining.remove(v)
        done.add(v.name)
        out.append(v)
    return out


def _fit_check(protocol: Protocol, frame: Frame, v: ValueNode, names: FrameNames) -> list[Check]:
    lvalue = names.field(v.name)
    where = _where(frame, v.name)
    checks = []
    if isinstance(v, BitMember):
        lo, hi, t = 0, v.mask, f"{v.width} bits"
    else:
        assert isinstance(v, IntField), "check_target rejects varints"
        lo, hi, t = v.type.min, v.type.max, v.type.name
    if not (isinstance(v, IntField) and v.type.width == 8):
        cond = f"{lvalue} < {c_int(lo)} || {lvalue} > {c_int(hi)}"
        if isinstance(v, IntField) and v.present is not None:
            # As the Python codec: an integer must fit only when it is written;
            # bit members and enums are checked whether or not they are.
            cond = f"{condition(to_c(v.present, names))} && ({cond})"
        checks.append(Check(
            cond, f"pd_fail_field(\"encode\", {where}, \"does not fit {t}:\", {lvalue})",
        ))
    enum = _closed_enum(protocol, v.enum)
    if enum is not None:
        checks.append(Check(
            f"!{ident('isok', enum)}({lvalue})",
            f"pd_fail_field(\"encode\", {where}, \"not a {enum}:\", {lvalue})",
        ))
    return checks


def _size_checks(frame: Frame, names: FrameNames) -> list[Check]:
    """On encode every variable field must have the length its size says."""
    checks = []
    for e in frame.elements:
        if not isinstance(e, BytesField | KvMapField):
            continue
        member = names.field(e.name)
        where = _where(frame, e.name)
        if isinstance(e, BytesField) and ir.is_constant(e.size):
            width = ir.evaluate(e.size)
            if e.pad is not None:
                cond = f"{member}.len > {width}u"
                what = f"longer than its {width} bytes:"
            else:
                cond = f"{member}.len != {width}u"
                what = f"not {width} bytes but"
        else:
            cond = f"{to_c(e.size, names)} != (pd_i64){member}.len"
            what = "length disagrees with its size:"
        if e.present is not None and not (isinstance(e, BytesField) and e.pad is not None):
            # Checked only when it is written; a padded value must fit regardless.
            cond = f"{condition(to_c(e.present, names))} && ({cond})"
        checks.append(Check(
            cond, f"pd_fail_field(\"encode\", {where}, \"{what}\", (pd_i64){member}.len)"
        ))
    return checks


def _writes(frame: Frame, names: FrameNames) -> tuple[WriteStep, ...]:
    """Every element's write; a conditional one's only when its condition holds."""
    return tuple(
        step if e.present is None else replace(
            step, present=condition(to_c(e.present, names)),
            comment=f"{step.comment}; only if {_expr_text(e.present)}")
        for e, step in zip(frame.elements, _write_steps(frame, names), strict=True)
    )


def _write_steps(frame: Frame, names: FrameNames) -> list[WriteStep]:
    out = []
    for e in frame.elements:
        if isinstance(e, IntField) and isinstance(e.value, ir.Checksum):
            # The bytes already written from the range's start: `start` is the
            # frame's first byte, and the range ends right before this field.
            put = "pd_put_le" if e.type.byte_order == "little" else "pd_put_be"
            first = _checksum_start(frame, e.value)
            covered = (f"pd_crc32(start + {first}, (pd_u32)(p - start) - {first}u)"
                       if first else "pd_crc32(start, (pd_u32)(p - start))")
            out.append(WriteStep(
                f"{e.name}: {_type_text(e.type)} = {_expr_text(e.value)}",
                (f"p = {put}(p, end, {e.type.width}, p ? (pd_u64){covered} : 0);",),
            ))
        elif isinstance(e, IntField):
            put = "pd_put_le" if e.type.byte_order == "little" else "pd_put_be"
            out.append(WriteStep(
                f"{e.name}: {_type_text(e.type)}",
                (f"p = {put}(p, end, {e.type.width}, (pd_u64){names.field(e.name)});",),
            ))
        elif isinstance(e, BitsField):
            put = "pd_put_le" if e.type.byte_order == "little" else "pd_put_be"
            parts = " |\n            ".join(
                f"(((pd_u64){names.field(m.name)} & 0x{m.mask:x}u) << {m.shift})"
                for m in e.members
            )
            out.append(WriteStep(
                f"bits {_type_text(e.type)}",
                (f"p = {put}(p, end, {e.type.width},\n            {parts});",),
            ))
        else:
            assert isinstance(e, BytesField | KvMapField), "check_target rejects lists and varints"
            member = names.field(e.name)
            statements = [f"p = pd_put(p, end, {member}.ptr, {member}.len);"]
            if isinstance(e, BytesField) and e.pad is not None:
                width = ir.evaluate(e.size)
                statements.append(
                    f"p = pd_put_fill(p, end, {c_int(e.pad)}, {width}u - {member}.len);")
            out.append(WriteStep(f"{e.name}: {_sized_text(e)}", tuple(statements)))
    return out


def _roles(protocol: Protocol, frame: Frame, names: FrameNames) -> RolesView | None:
    roles = frame.roles
    if roles is None:
        return None
    idv = frame.value(roles.id)
    assert idv is not None, f"id role '{roles.id}' of '{frame.name}' is not a value"
    tos_name = roles.timeout if roles.kind == "request" else roles.status
    tos_from_host = None
    if tos_name is not None:
        tv = frame.value(tos_name)
        assert tv is not None
        if isinstance(tv, IntField) and tv.type.signed:
            tos_from_host = "pd_sext(cmd->timeout_or_status, 32)"
        else:
            tos_from_host = "(pd_i64)cmd->timeout_or_status"
    headers = frame.element(roles.headers) if roles.headers else None
    role_members = {roles.headers, roles.payload} - {None}
    kept = tuple(
        Keep(names.field(e.name), ident("f", e.name))
        for e in frame.elements
        if isinstance(e, BytesField | KvMapField) and e.name not in role_members
    )
    # The timeout or status is kept too: a built frame's stays when MOSN passes 0.
    kept_values = tuple(
        ident("f", v.name) for v in frame.values()
        if v.value is None and v.name != roles.id
    )
    in_place, tail = _encode_in_place(frame, names)
    return RolesView(
        kind=roles.kind,
        base_flag="PD_FLAG_REQUEST" if roles.kind == "request" else "PD_FLAG_RESPONSE",
        oneway=condition(to_c(roles.oneway, names)) if roles.oneway is not None else None,
        heartbeat=condition(to_c(roles.heartbeat, names)) if roles.heartbeat is not None else None,
        id_member=names.field(roles.id),
        id_from_host="(pd_i64)cmd->replaced_id",
        tos_member=names.field(tos_name) if tos_name is not None else None,
        tos_from_host=tos_from_host,
        headers=names.field(roles.headers) if roles.headers else None,
        headers_fmt=_kv_fmt(headers) if isinstance(headers, KvMapField) else "",
        headers_where=_where(frame, roles.headers) if roles.headers else "",
        payload=names.field(roles.payload) if roles.payload else None,
        encode_in_place=in_place,
        headers_tail=tail,
        kept_values=kept_values,
        kept=kept,
        literal=_payload_literal(protocol, frame),
    )


def _written_size(e: Element, names: FrameNames) -> str:
    """C text of the bytes encode writes for element `e` (fin has checked
    every length against its size)."""
    if isinstance(e, IntField | BitsField):
        return f"{e.type.width}u"
    if isinstance(e, BytesField) and ir.is_constant(e.size) and e.pad is not None:
        return f"{ir.evaluate(e.size)}u"
    return f"(pd_u64){names.field(e.name)}.len"


def _encode_in_place(frame: Frame, names: FrameNames) -> tuple[bool, str]:
    """Whether encode can write the frame in place around the payload the host
    passed, and the bytes from the headers' end to the frame's end.

    Only when the payload is the frame's last element, as it is, unpadded:
    then the frame ends where the payload ends in the host's buffer. A
    trailer after it (a checksum, a constant byte) leaves the copying path,
    and so do conditional fields, whose written sizes are not fixed here.
    """
    roles = frame.roles
    if roles is None or roles.payload is None or not frame.elements:
        return False, ""
    if any(e.present is not None for e in frame.elements):
        return False, ""
    last = frame.elements[-1]
    if last.name != roles.payload or not isinstance(last, BytesField) or last.pad is not None:
        return False, ""
    if roles.headers is None:
        return True, ""
    at = [e.name for e in frame.elements].index(roles.headers)
    return True, " + ".join(_written_size(e, names) for e in frame.elements[at + 1:])


def _frame(protocol: Protocol, frame: Frame, index: int) -> FrameView:
    names = FrameNames(frame)
    header = _header(protocol, frame, names)
    # After the header: fixed-width elements (conditional, or after a conditional
    # one) read before the sizes, which may use them; then the variable part.
    count, prefix_count = frame.header_count(), frame.prefix_count()
    assert sum(fixed_width(e) or 0 for e in frame.elements[:count]) == frame.header_size
    variable_elements = frame.elements[prefix_count:]
    sizes = tuple(
        SizeView(
            local=ident("n", e.name),
            expr=to_c(e.size, names),
            where=_where(frame, e.name),
            comment=f"{e.name}: {_expr_text(e.size)} bytes"
                    + (f", if {_expr_text(e.present)}" if e.present is not None else ""),
            present=condition(to_c(e.present, names)) if e.present is not None else None,
        )
        for e in variable_elements
        if isinstance(e, BytesField | KvMapField) and not ir.is_constant(e.size)
    )
    prefix = tuple(
        _decode_item(protocol, frame, e, names, "at", "buf + at")
        for e in frame.elements[count:prefix_count]
    )
    variable = tuple(
        _decode_item(protocol, frame, e, names, "at", "buf + at") for e in variable_elements
    )
    constants = tuple(
        (names.field(v.name), c_int(ir.evaluate(v.value)))
        for v in frame.values()
        if v.value is not None and v.constant
    )
    computed = tuple(
        (names.field(v.name), to_c(v.value, names), _expr_text(v.value))
        for v in _computed_order(frame)
        if v.value is not None
    )
    fin_checks: list[Check] = []
    for v in frame.values():
        if not (v.value is not None and v.constant) and not isinstance(v.value, ir.Checksum):
            fin_checks.extend(_fit_check(protocol, frame, v, names))
    fin_checks.extend(_size_checks(frame, names))
    read = sorted(ir.fields_read(frame.when))
    if read:  # MOSN's edits (an id, a status ...) must leave the frame the one it claims to be
        fin_checks.append(Check(
            f"!{condition(to_c(frame.when, names))}",
            f'pd_fail_field("encode", {_where(frame, read[0])}, '
            f'{c_string(f"does not hold the frame condition `{ir.spelled(frame.when)}`:")}, '
            f"{names.field(read[0])})",
        ))
    uses_bits = any(isinstance(e, BitsField) for e in frame.elements)
    return FrameView(
        name=frame.name,
        index=index,
        doc=tuple(comment_lines(frame.doc)),
        struct=f"struct {ident('fr', frame.name)}",
        union_member=ident("u", frame.name),
        dec=ident("dec", frame.name),
        fin=ident("fin", frame.name),
        wr=ident("wr", frame.name),
        emit=ident("emit", frame.name),
        apply=ident("apply", frame.name),
        report=ident("report", frame.name),
        keep=ident("keep", frame.name),
        flag=ident("flag", frame.name),
        req_from=ident("req", frame.name),
        accept=ident("accept", frame.name),
        where=c_string(frame.name),
        members=_members(protocol, frame),
        bytes_members=tuple(
            ident("f", e.name) for e in frame.elements if isinstance(e, BytesField | KvMapField)
        ),
        header=header,
        header_bytes=tuple(
            item for g in header for item in g.items
            if item.kind == "bytes" and (item.checks or item.pad is not None)
        ),
        sizes=sizes,
        total=to_c(frame.size, names),
        header_size=frame.header_size,
        prefix=prefix,
        variable=variable,
        uses_bits=uses_bits,
        uses_status=any(isinstance(e, KvMapField) for e in frame.elements),
        constants=constants,
        computed=computed,
        fin_checks=tuple(fin_checks),
        writes=_writes(frame, names),
        checksum=any(isinstance(e, IntField) and isinstance(e.value, ir.Checksum)
                     for e in frame.elements),
        roles=_roles(protocol, frame, names),
        when=condition(to_c(frame.when, DiscriminatorNames(frame))),
    )


# ----------------------------------------------------------------- dispatch


def _discriminators(protocol: Protocol) -> tuple[Discriminator, ...]:
    """Locals for every value a `when` reads, at its offset in the first frame."""
    read: set[str] = set()
    for frame in protocol.frames:
        read |= ir.fields_read(frame.when)
    out = []
    first = protocol.frames[0]
    for v in first.values():
        if v.name not in read:
            continue
        for e in first.elements:
            if isinstance(e, IntField) and e.name == v.name:
                assert e.offset is not None
                out.append(Discriminator(ident("d", v.name), _read(f"buf + {e.offset}", e.type),
                                         f"{v.name}: {_type_text(e.type)} at {e.offset}",
                                         v.name, literal_format(v.value).c(not e.type.signed)))
            elif isinstance(e, BitsField) and v in e.members:
                assert e.offset is not None and isinstance(v, BitMember)
                reader = "pd_rd_le" if e.type.byte_order == "little" else "pd_rd_be"
                out.append(Discriminator(
                    ident("d", v.name),
                    f"(pd_i64)(({reader}(buf + {e.offset}, {e.type.width}) >> {v.shift})"
                    f" & 0x{v.mask:x}u)",
                    f"{v.name}: bits {v.width} of {_type_text(e.type)} at {e.offset}",
                    v.name, literal_format(v.value).c(True),
                ))
    return tuple(out)


# ----------------------------------------------------------------- builders


def _builder(protocol: Protocol, b: Builder, frames: dict[str, FrameView]) -> BuilderView:
    frame = frames[b.frame]
    spec = protocol.frame(b.frame)
    payload = spec.roles.payload if spec is not None and spec.roles is not None else None
    names = BuilderNames(b)
    params: list[str] = []
    id_param = None
    for i, p in enumerate(b.params):
        is_request = b.kind in ("keepalive_reply", "hijack") and i == 0
        if is_request:
            params.append(f"const struct pd_req *{ident('p', p)}")
        else:
            params.append(f"pd_i64 {ident('p', p)}")
            if b.kind == "keepalive":
                id_param = ident("p", p)
    return BuilderView(
        kind=b.kind,
        fn=ident("build", b.kind),
        doc=tuple(comment_lines(b.doc)),
        frame=frame,
        params=", ".join(params),
        assignments=tuple(
            (f"fr->{ident('f', name)}", to_c(value, names)) for name, value in b.assignments
        ),
        id_param=id_param,
        literals=tuple(
            Literal(
                array=ident("lit", name),
                member=f"fr->{ident('f', name)}",
                data=tuple(", ".join(f"0x{x:02x}" for x in data[i:i + 12])
                           for i in range(0, len(data), 12)),
                size=len(data),
                comment=f"{name}: x\"{data.hex(' ')}\"" if len(data) <= 32
                        else f"{name}: {len(data)} bytes",
            )
            for name, data in b.data if data  # an empty literal is the empty default
        ),
        payload_literal=(frame.roles.literal if frame.roles is not None
                         and payload is not None and dict(b.data).get(payload) else None),
    )
