"""A view of the IR for the Python templates: names made safe, expressions and
per-frame code prepared, nothing left for a template to work out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from protodsl.codegen.numbers import literal_format
from protodsl.codegen.python import naming
from protodsl.codegen.python.expr import translate

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    Builder,
    BytesField,
    Element,
    Frame,
    IntField,
    IntType,
    KvMapField,
    ListField,
    Protocol,
    Record,
    ValueNode,
    VarintField,
)

_STRUCT_CODES = {1: "b", 2: "h", 4: "i", 8: "q"}


def struct_code(t: IntType) -> str:
    if t.width == 3:
        return "3s"
    code = _STRUCT_CODES[t.width]
    return code if t.signed else code.upper()


def order_char(t: IntType) -> str:
    return ">" if t.byte_order == "big" else "<"


@dataclass
class EnumView:
    name: str
    doc: str | None
    open: bool
    lookup: str  # module-level dict value -> member
    members: list[tuple[str, int, str | None]]


@dataclass
class FieldView:
    attr: str
    spec_name: str
    hint: str
    default: str | None  # None: the constructor requires it (passes/defaults.py)
    doc: str | None


@dataclass
class FrameView:
    name: str
    spec_name: str
    cls: str
    doc: str | None
    fields: list[FieldView]
    constants: list[tuple[str, str, int]]  # attribute, spec name, value
    computed: list[tuple[str, str, str]]  # property, spec name, expression over self
    head: str  # module-level struct name
    head_format: str
    head_size: int
    checks: str  # module-level short-header check table name
    check_rows: list[str]
    decode: list[str]
    encode: list[str]
    construct_fields: list[str]
    from_container: list[str]
    to_container: list[str]
    when: str  # over _disc
    when_fast: str = ""  # over the _d_* locals that decode() reads
    claim: str = ""  # the frame's own `when` over its attributes (_f)
    claim_text: str = ""  # that condition as the spec writes it
    claim_fields: list[tuple[str, str]] = field(default_factory=list)  # spec name, attribute
    wire_fields: list[tuple[str, str]] = field(default_factory=list)  # spec name, attribute
    attrs: dict[str, str] = field(default_factory=dict)  # every spec name -> attribute
    roles: dict[str, str] = field(default_factory=dict)


@dataclass
class BuilderView:
    kind: str
    signature: str
    cls: str
    args: list[str]
    doc: str | None


@dataclass
class ModuleView:
    name: str
    mosn_name: str
    source: str
    doc: str | None
    max_frame: int
    enums: list[EnumView]
    frames: list[FrameView]
    builders: list[BuilderView]
    disc_size: int
    disc_struct: list[str]
    disc_values: list[tuple[str, list[str]]]
    disc_field: str
    disc_offset: int
    disc_reads: list[str] = field(default_factory=list)
    records: list[RecordView] = field(default_factory=list)
    disc_message: str = '""'  # UnknownVariant's message: the values the `when`s read


@dataclass
class RecordView:
    """A record's dataclass and the straight-line reader and writer of a list of it."""

    name: str  # spec name, in helper names
    cls: str
    doc: str | None
    fields: list[str]  # attributes, in wire order
    attrs: dict[str, str]  # spec name -> attribute
    format: str  # struct format of one record
    size: int
    variable: bool = False  # a member sized by an earlier field: the lines below
    hints: list[tuple[str, str, str]] = field(default_factory=list)  # attr, hint, default
    structs: list[tuple[str, str]] = field(default_factory=list)  # name, struct format
    read: list[str] = field(default_factory=list)  # body of the per-entry loop
    bind: list[str] = field(default_factory=list)  # an entry's values from `r`
    write: list[str] = field(default_factory=list)  # appends an entry's bytes to `out`
    ref_fields: list[str] = field(default_factory=list)  # construct Struct of one entry
    ref_read: list[str] = field(default_factory=list)  # checks after construct parsed `c`
    ref_values: str = ""  # the dict construct builds from


class _Names:
    """Per-frame names: attribute and local for each spec name."""

    def __init__(self, frame: Frame, module_names: frozenset[str]) -> None:
        """`module_names`: the classes and enums the module defines, which a local
        or a class attribute of the same name would hide."""
        def safe(name: str) -> str:
            attr = naming.snake(name)
            while attr in module_names:
                attr += "_"
            return attr

        self.attr = {e.name: safe(e.name) for e in frame.elements}
        for v in frame.values():
            self.attr[v.name] = safe(v.name)

    def local(self, name: str) -> str:
        return self.attr[name]


def build_view(protocol: Protocol, source: str) -> ModuleView:
    ns = naming.Namespace()
    enum_names = {e.name: ns.claim(e.name) for e in protocol.enums}
    enums = [
        EnumView(
            enum_names[e.name], e.doc, e.open, f"_values_{enum_names[e.name]}",
            [(naming.member(m.name), m.value, m.doc) for m in e.members],
        )
        for e in protocol.enums
    ]
    by_enum = {e.name: v for e, v in zip(protocol.enums, enums, strict=True)}
    record_classes = {r.name: ns.claim(naming.camel(r.name)) for r in protocol.records}
    records = [_record(protocol, r, record_classes[r.name]) for r in protocol.records]
    classes = {f.name: ns.claim(naming.camel(f.name)) for f in protocol.frames}
    module_names = frozenset([*enum_names.values(), *record_classes.values(), *classes.values()])
    frames = [_frame(protocol, f, classes[f.name], by_enum, record_classes, module_names)
              for f in protocol.frames]
    disc_struct, disc_values = _discriminator(protocol)
    builders = [_builder(protocol, b, classes, by_enum, module_names)
                for b in protocol.builders]
    chooser = _chooser(protocol)
    reads = _fast_discriminator(protocol)
    for fv, f in zip(frames, protocol.frames, strict=True):
        fv.when_fast = translate(f.when, lambda n: f"_d_{n}", _no_length)
    return ModuleView(
        protocol.name, protocol.mosn_name, source, protocol.doc, protocol.max_frame, enums,
        frames, builders, protocol.discriminator_size, disc_struct, disc_values,
        chooser[0], chooser[1], reads, records, _variant_message(protocol),
    )


def _variant_message(protocol: Protocol) -> str:
    """UnknownVariant's message, as Python over `_disc`: every value a `when`
    reads, in wire order, as the plugin logs them (see codegen/wasm/view.py)."""
    read = set().union(*(ir.fields_read(f.when) for f in protocol.frames))
    parts = [f"'{v.name}=' + _num(_disc[{v.name!r}], {literal_format(v.value).python!r})"
             for v in protocol.frames[0].values() if v.name in read]
    return " + ', ' + ".join(parts) or '""'


def _record(protocol: Protocol, r: Record, cls: str) -> RecordView:
    if r.variable:
        return _variable_record(protocol, r, cls)
    order = ">" if protocol.byte_order == "big" else "<"
    fields = [naming.snake(e.name) for e in r.elements]
    formats = []
    for e in r.elements:
        assert isinstance(e, IntField) and not _raw(e.type, protocol.byte_order), (
            "records hold plain integers")
        formats.append(struct_code(e.type))
    return RecordView(r.name, cls, r.doc, fields,
                      {e.name: a for e, a in zip(r.elements, fields, strict=True)},
                      order + "".join(formats), r.size)


def _variable_record(protocol: Protocol, r: Record, cls: str) -> RecordView:
    """A record with text/bytes members sized by its own earlier integers: a
    straight-line reader of one entry per loop turn (an entry running past the
    section is a MalformedSection), and a construct Struct per entry for the
    reference."""
    attrs = {e.name: naming.snake(e.name) for e in r.elements}
    local: Callable[[str], str] = lambda n: f"_r_{n}"  # noqa: E731
    length: Callable[[str], str] = lambda n: f"len(_r_{n})"  # noqa: E731
    ints = [e for e in r.elements if isinstance(e, IntField)]
    free = [e for e in r.elements if not (isinstance(e, IntField) and e.value is not None)]
    view = RecordView(r.name, cls, r.doc, [attrs[e.name] for e in free], attrs, "", r.size,
                      variable=True)
    for e in free:
        if isinstance(e, BytesField):
            view.hints.append((attrs[e.name], *(("str", '""') if e.text else ("bytes", 'b""'))))
        else:
            view.hints.append((attrs[e.name], "int", "0"))
    overrun = f'raise MalformedSection(name, at, "a {r.name} entry runs past its section")'
    groups: list[list[IntField]] = []
    for i, e in enumerate(r.elements):
        if isinstance(e, IntField):
            assert e.type.width != 3, "records hold 1, 2, 4 or 8 byte integers"
            before = r.elements[i - 1] if i else None
            if (groups and isinstance(before, IntField) and before in groups[-1]
                    and before.type.byte_order == e.type.byte_order):
                groups[-1].append(e)
            else:
                groups.append([e])
    for e in r.elements:
        if isinstance(e, BytesField):
            size = translate(e.size, local, _no_length)
            view.read += [f"_n = {size}",
                          "if _n < 0 or end - off < _n:", f"    {overrun}",
                          f"_r_{e.name} = buf[off:off + _n]"]
            if e.text:
                view.read.append(f"_r_{e.name} = _text(_r_{e.name}, {e.name!r}, off)")
            view.read.append("off += _n")
            view.write += [f"if len(_r_{e.name}) != {translate(e.size, local, length)}:",
                           f"    raise EncodeError({e.name!r}, None, \"its length does not match "
                           f"its size field\")",
                           f"out.append(_r_{e.name})"]
            continue
        group = next(g for g in groups if g[0] is e) if any(g[0] is e for g in groups) else None
        if group is None:
            continue
        name = f"_rec_{r.name}_{len(view.structs)}"
        width = sum(g.type.width for g in group)
        view.structs.append((name, order_char(group[0].type)
                             + "".join(struct_code(g.type) for g in group)))
        view.read += [f"if end - off < {width}:", f"    {overrun}",
                      f"{', '.join(local(g.name) for g in group)}, = {name}.unpack_from(buf, off)",
                      f"off += {width}"]
        view.write.append(f"out.append({name}.pack({', '.join(local(g.name) for g in group)}))")
    for e in ints:
        if e.constant and e.value is not None:
            const = ir.evaluate(e.value)
            fmt = literal_format(e.value).python
            check = [f"if _r_{e.name} != {const}:",
                     f"    raise ConstantMismatch({e.name!r}, off, _r_{e.name}, {const}, "
                     f"{fmt!r})"]
            view.ref_read += [line.replace("_r_", "c.") for line in check]
            at = view.read.index(next(line for line in view.read if local(e.name) in line
                                      and "unpack_from" in line))
            view.read[at + 2:at + 2] = check  # after the unpack and the step
    args = ", ".join(local(e.name) for e in free)
    view.read.append(f"append({cls}({args}))")
    for e in r.elements:
        if isinstance(e, BytesField):
            view.bind.append(f"_r_{e.name} = r.{attrs[e.name]}"
                             + (".encode()" if e.text else ""))
            continue
        assert isinstance(e, IntField), "a variable record holds no bits (layout rejects them)"
        if e.value is None:
            view.bind.append(f"_r_{e.name} = r.{attrs[e.name]}")
    for e in ints:
        if e.value is not None:
            view.bind.append(f"_r_{e.name} = {translate(e.value, local, length)}")
    ctx = lambda n: f"_c[{n!r}]"  # noqa: E731
    for e in r.elements:
        if isinstance(e, BytesField):
            view.ref_fields.append(f"{e.name!r} / cs.Bytes(lambda _c: "
                                   f"{translate(e.size, ctx, _no_length)})")
        else:
            view.ref_fields.append(f"{e.name!r} / {_construct_int(e.type)}")
    for e in r.elements:
        if isinstance(e, BytesField) and e.text:
            view.ref_read.append(f"c[{e.name!r}] = _text(c[{e.name!r}], {e.name!r}, at)")
    view.ref_read.append(f"append({cls}({', '.join(f'c[{e.name!r}]' for e in free)}))")
    view.ref_values = "{" + ", ".join(f"{e.name!r}: _r_{e.name}" for e in r.elements) + "}"
    return view


def _fast_discriminator(protocol: Protocol) -> list[str]:
    """Straight-line reads of the values the `when`s use, at their fixed offsets."""
    read = set().union(*(ir.fields_read(f.when) for f in protocol.frames))
    lines: list[str] = []
    for e in protocol.frames[0].elements:
        if e.offset is None or e.offset >= protocol.discriminator_size:
            break
        if isinstance(e, IntField) and e.name in read:
            lines.append(f"_d_{e.name} = {_read_int(e.type, e.offset)}")
        elif isinstance(e, BitsField):
            members = [m for m in e.members if m.name in read]
            if members:
                lines.append(f"_c = {_read_int(e.type, e.offset)}")
                lines.extend(f"_d_{m.name} = (_c >> {m.shift}) & {m.mask:#x}" for m in members)
    return lines


def _read_int(t: IntType, offset: int) -> str:
    if t.width == 1 and not t.signed:
        return f"buf[{offset}]"
    return (f"int.from_bytes(buf[{offset}:{offset + t.width}], {t.byte_order!r}, "
            f"signed={t.signed})")


def _chooser(protocol: Protocol) -> tuple[str, int]:
    """The first field that tells variants apart, and its offset, for errors."""
    first = protocol.frames[0]
    read = set().union(*(ir.fields_read(f.when) for f in protocol.frames))
    for e in first.elements:
        if e.offset is not None and (e.name in read or isinstance(e, BitsField) and any(
                m.name in read for m in e.members)):
            name = e.name if not isinstance(e, BitsField) else next(
                m.name for m in e.members if m.name in read)
            return name, e.offset
    return "frame", 0


def _enum_of(v: ValueNode, by_enum: dict[str, EnumView]) -> EnumView | None:
    return by_enum[v.enum] if v.enum else None


def _hint(frame: Frame, name: str, by_enum: dict[str, EnumView],
          record_classes: dict[str, str]) -> tuple[str, str | None]:
    """(type hint, default) of a free field; no default where the spec gives none."""
    value = frame.value(name)
    if value is not None:
        enum = _enum_of(value, by_enum)
        hint = "int" if enum is None else f"{enum.name} | int" if enum.open else enum.name
        if value.default is None or enum is None:
            return hint, None if value.default is None else str(value.default)
        member = next((m for m, v, _ in enum.members if v == value.default), None)
        return hint, f"{enum.name}.{member}" if member else str(value.default)
    element = frame.element(name)
    if isinstance(element, KvMapField):
        return "list[tuple[bytes, bytes]]", "field(default_factory=list)"
    if isinstance(element, ListField):
        return f"list[{record_classes[element.record]}]", "field(default_factory=list)"
    assert isinstance(element, BytesField)
    return ("str", '""') if element.text else ("bytes", 'b""')


def _frame(
    protocol: Protocol, frame: Frame, cls: str, by_enum: dict[str, EnumView],
    record_classes: dict[str, str], module_names: frozenset[str],
) -> FrameView:
    names = _Names(frame, module_names)
    head_elements = [e for e in frame.elements if e.offset is not None
                     and e.offset < frame.header_size]
    head_format = ">" if protocol.byte_order == "big" else "<"
    fields = []
    for name in frame.free_names():
        hint, default = _hint(frame, name, by_enum, record_classes)
        element = frame.value(name) or frame.element(name)
        fields.append(FieldView(names.attr[name], name, hint, default,
                                element.doc if element else None))
    constants = [(names.attr[v.name], v.name, ir.evaluate(v.value)) for v in frame.values()
                 if v.constant and v.value is not None]
    self_value = lambda n: f"self.{names.attr[n]}"  # noqa: E731
    computed = [
        (names.attr[v.name], v.name, _computed_property(frame, v, self_value))
        for v in frame.values() if v.value is not None and not v.constant
    ]
    view = FrameView(
        name=frame.name, spec_name=frame.name, cls=cls, doc=frame.doc, fields=fields,
        constants=constants, computed=computed, head=f"_head_{frame.name}",
        head_format=head_format + "".join(_code(e, protocol.byte_order) for e in head_elements),
        head_size=frame.header_size, checks=f"_checks_{frame.name}", check_rows=[],
        decode=[], encode=[], construct_fields=[], from_container=[], to_container=[],
        when=translate(frame.when, lambda n: f"_disc[{n!r}]", _no_length),
        claim=translate(frame.when, lambda n: f"_f.{names.attr[n]}", _no_length),
        claim_text=ir.spelled(frame.when),
        claim_fields=[(n, names.attr[n]) for n in sorted(ir.fields_read(frame.when))],
    )
    _decode_lines(protocol, frame, names, view, by_enum)
    _encode_lines(protocol, frame, names, view, by_enum)
    _construct_lines(protocol, frame, names, view, by_enum)
    view.to_container = _to_container(frame, names)
    view.wire_fields = [(v, names.attr[v]) for v in _wire_names(frame)]
    view.attrs = {n: names.attr[n] for n in _wire_names(frame) if not n.startswith("_")}
    _role_lines(frame, names, view)
    return view


def _computed_property(frame: Frame, v: ValueNode, self_value: Callable[[str], str]) -> str:
    """A computed field as a property: its expression, or for a checksum (always
    the frame's last field) the last bytes of the encoding."""
    assert v.value is not None
    if isinstance(v.value, ir.Rest):
        assert isinstance(v, VarintField)
        return (f"_read_varint(encode(self), {frame.header_size}, MAX_FRAME, {v.max_bytes}, "
                f"{v.name!r})[0]")
    if isinstance(v.value, ir.Checksum):
        assert isinstance(v, IntField)
        element = frame.element(v.name)
        read = f"int.from_bytes(encode(self)[-{v.type.width}:], {v.type.byte_order!r})"
        if element is not None and element.present is not None:
            return f"{read} if {translate(element.present, self_value, _no_length)} else 0"
        return read
    return translate(v.value, self_value, lambda n: _length_of(frame, n, self_value))


def _code(e: Element, order: str) -> str:
    if isinstance(e, BytesField):
        return f"{ir.evaluate(e.size)}s"
    assert isinstance(e, IntField | BitsField)
    if _raw(e.type, order):
        return f"{e.type.width}s"
    return struct_code(e.type)


def _raw(t: IntType, order: str) -> bool:
    """Integers the header struct carries as bytes: 24-bit ones, and those whose
    byte order differs from the protocol's."""
    return t.width == 3 or (t.width > 1 and t.byte_order != order)


def _no_length(name: str) -> str:
    raise AssertionError(f"no length in this context: {name}")


def _length_of(
    frame: Frame, name: str, access: Callable[[str], str], encoded: bool = False
) -> str:
    """The encoded length of a sized field read through `access(spec_name)`;
    `encoded` when text is already bytes there (construct's build context)."""
    element = frame.element(name)
    value = access(name)
    if isinstance(element, KvMapField):
        return f"_kvmap_size({value}, {element.length_type.width})"
    if isinstance(element, ListField):
        return f"_record_len_{element.record}({value})"
    if isinstance(element, BytesField) and element.text and not encoded:
        return f"len({value}.encode())"
    return f"len({value})"


def _value_checks(
    v: ValueNode, local: str, offset: int | str, by_enum: dict[str, EnumView], indent: str
) -> list[str]:
    lines: list[str] = []
    if v.constant and v.value is not None:
        c = ir.evaluate(v.value)
        fmt = literal_format(v.value).python
        shown = "" if fmt == "d" else f", {fmt!r}"  # as the spec wrote the constant
        lines.append(f"{indent}if {local} != {c}:")
        lines.append(f"{indent}    raise ConstantMismatch({v.name!r}, {offset}, {local}, {c}"
                     f"{shown})")
    enum = _enum_of(v, by_enum)
    if enum is not None and not enum.open:
        lines.append(f"{indent}_e_{v.name} = {enum.lookup}.get({local})")
        lines.append(f"{indent}if _e_{v.name} is None:")
        lines.append(f"{indent}    raise UnknownEnumValue({v.name!r}, {offset}, {local}, "
                     f"{enum.name!r})")
    return lines


def _wrap(v: ValueNode, local: str, by_enum: dict[str, EnumView], checked: bool = True) -> str:
    """The dataclass value of an integer: an enum member where one exists. A
    `checked` value is known to be a member of a closed enum."""
    enum = _enum_of(v, by_enum)
    if enum is None:
        return local
    if enum.open or not checked:
        return f"{enum.lookup}.get({local}, {local})"
    return f"{enum.lookup}[{local}]"


def _decode_lines(
    protocol: Protocol, frame: Frame, names: _Names, view: FrameView,
    by_enum: dict[str, EnumView],
) -> None:
    out = view.decode
    head = [e for e in frame.elements if e.offset is not None and e.offset < frame.header_size]
    locals_: list[str] = []
    for e in head:
        locals_.append(f"_{e.name}" if isinstance(e, BitsField) else names.local(e.name))
    if head:
        out.append(f"if _end < {frame.header_size}:")
        out.append(f"    return _short_header(_buf, _end, {view.checks}, {frame.header_size})")
        target = ", ".join(locals_) + ("," if len(locals_) == 1 else "")
        out.append(f"{target} = {view.head}.unpack_from(_buf, 0)")
    for e in head:
        assert e.offset is not None
        if isinstance(e, IntField):
            local = names.local(e.name)
            if _raw(e.type, protocol.byte_order):
                out.append(f"{local} = int.from_bytes({local}, {e.type.byte_order!r}, "
                           f"signed={e.type.signed})")
            out.extend(_value_checks(e, local, e.offset, by_enum, ""))
            view.check_rows.append(_check_row(e.name, e.offset, e.type, 0, None, e, by_enum))
        elif isinstance(e, BitsField):
            container = f"_{e.name}"
            if _raw(e.type, protocol.byte_order):
                out.append(f"{container} = int.from_bytes({container}, "
                           f"{e.type.byte_order!r})")
            for m in e.members:
                local = names.local(m.name)
                out.append(f"{local} = ({container} >> {m.shift}) & {m.mask:#x}")
                out.extend(_value_checks(m, local, e.offset, by_enum, ""))
                view.check_rows.append(_check_row(m.name, e.offset, e.type, m.shift, m.mask, m,
                                                  by_enum))
        elif isinstance(e, BytesField):
            local = names.local(e.name)
            out.extend(_finish_bytes(e, local, str(e.offset)))
    value = lambda n: names.local(n)  # noqa: E731
    if frame.rest_field() is not None:
        _rest_decode_lines(frame, names, view, by_enum, value)
    else:
        _sized_decode_lines(frame, names, view, by_enum, value, head)
    _return_decoded(frame, names, view, by_enum)


def _sized_decode_lines(
    frame: Frame, names: _Names, view: FrameView, by_enum: dict[str, EnumView],
    value: Callable[[str], str], head: list[Element],
) -> None:
    """After the fixed header: the frame's size from the prefix, then the rest."""
    out = view.decode
    rest = [e for e in frame.elements if e not in head]
    prefix = [e for e in rest if frame.elements.index(e) < frame.prefix_count()]
    tail = [e for e in rest if e not in prefix]
    sized = [e for e in rest if isinstance(e, BytesField | KvMapField | ListField)
             and not ir.is_constant(e.size)]
    if rest:
        out.append(f"_off = {frame.header_size}")
    for e in prefix:  # fixed width after the header, each there or not: sizes may read them
        out.extend(_read_element(e, frame, names, by_enum, sized, value, f"_end < _off + "
                                 f"{_width_of(e)}", more=True))
    for e in sized:
        out.append(f"_n_{e.name} = {translate(e.size, value, _no_length)}")
        if _never_negative(frame, e.size):
            continue
        negative = f"_n_{e.name} < 0"
        if e.present is not None:
            negative = f"{negative} and {translate(e.present, value, _no_length)}"
        out.append(f"if {negative}:")
        out.append(f"    raise NegativeSize({e.name!r}, {frame.header_size}, _n_{e.name})")
    out.append(f"_size = {translate(frame.size, value, _no_length)}")
    out.append("if _size > MAX_FRAME:")
    out.append(f"    raise FrameTooLarge({frame.name!r}, 0, _size, MAX_FRAME)")
    out.append("if _end < _size:")
    out.append("    return NeedMore(_end, _size)")
    for i, e in enumerate(tail):
        out.extend(_read_element(e, frame, names, by_enum, sized, value, None,
                                 more=i < len(tail) - 1))


def _rest_decode_lines(
    frame: Frame, names: _Names, view: FrameView, by_enum: dict[str, EnumView],
    value: Callable[[str], str],
) -> None:
    """A `len(rest)` frame: the size right after the header, then every element
    in order, each checked to fit inside the frame, and nothing left over."""
    out = view.decode
    rest = frame.rest_field()
    assert rest is not None
    local = names.local(rest.name)
    out.append(f"{local}, _off = _read_varint(_buf, {frame.header_size}, _end, "
               f"{rest.max_bytes}, {rest.name!r})")
    out.append("if _off < 0:")
    out.append("    return NeedMore(_end, None)")
    out.append(f"_size = _off + {local}")
    out.append("if _size > MAX_FRAME:")
    out.append(f"    raise FrameTooLarge({frame.name!r}, 0, _size, MAX_FRAME)")
    out.append("if _end < _size:")
    out.append("    return NeedMore(_end, _size)")
    for e in frame.elements[frame.elements.index(rest) + 1:]:
        out.extend(_bounded_element(e, frame, names, by_enum, value))
    out.append("if _off != _size:")
    out.append(f"    raise LeftoverBytes({frame.name!r}, _off, _size - _off)")


def _bounded_element(
    e: Element, frame: Frame, names: _Names, by_enum: dict[str, EnumView],
    value: Callable[[str], str],
) -> list[str]:
    """Read one element at _off inside a frame ending at _size, and step past it."""
    lines: list[str] = []
    if isinstance(e, VarintField):
        local = names.local(e.name)
        lines += [f"{local}, _next = _read_varint(_buf, _off, _size, {e.max_bytes}, "
                  f"{e.name!r})",
                  "if _next < 0:",
                  f"    raise FieldOverrun({e.name!r}, _off, _size)",
                  *_value_checks(e, local, "_off", by_enum, ""),
                  "_off = _next"]
    elif isinstance(e, IntField | BitsField):
        lines += [f"if _off + {e.type.width} > _size:",
                  f"    raise FieldOverrun({e.name!r}, _off, _size)",
                  *_trailing_int(e, frame, names, by_enum),
                  f"_off += {e.type.width}"]
    else:
        size = "_size - _off" if isinstance(e.size, ir.Rest) else translate(
            e.size, value, _no_length)
        lines.append(f"_n_{e.name} = {size}")
        if not isinstance(e.size, ir.Rest):
            if not _never_negative(frame, e.size):
                lines += [f"if _n_{e.name} < 0:",
                          f"    raise NegativeSize({e.name!r}, _off, _n_{e.name})"]
            lines += [f"if _off + _n_{e.name} > _size:",
                      f"    raise FieldOverrun({e.name!r}, _off, _size)"]
        assert isinstance(e, BytesField | KvMapField | ListField)
        lines += [*_sized_read(e, names, f"_n_{e.name}"), f"_off += _n_{e.name}"]
    if e.present is None:
        return lines
    return [f"if {translate(e.present, value, _no_length)}:",
            *("    " + line for line in lines),
            "else:",
            *(f"    {local} = {default}" for local, default in _absent(e, names))]


def _return_decoded(
    frame: Frame, names: _Names, view: FrameView, by_enum: dict[str, EnumView],
) -> None:
    out = view.decode
    args = []
    optional = {n for e in frame.elements if e.present is not None for n in _names_in(e)}
    for name in frame.free_names():
        v = frame.value(name)
        enum = _enum_of(v, by_enum) if v else None
        if v is None:
            value = names.local(name)
        elif enum is not None and not enum.open and name not in optional:
            value = f"_e_{name}"  # looked up by the check
        else:
            value = _wrap(v, names.local(name), by_enum, checked=False)
        args.append(f"{names.attr[name]} = {value}")
    # Built without __init__: keyword arguments (the fields are kw_only) would cost
    # a sixth of the decode; every field is set here.
    out.append(f"_fr = _new_object({view.cls})")
    out += [f"_fr.{arg}" for arg in args]
    out.append("return _tuple_new(Decoded, (_fr, _size))")


def _width_of(e: Element) -> int:
    if isinstance(e, IntField | BitsField):
        return e.type.width
    assert isinstance(e, BytesField)
    return ir.evaluate(e.size)


def _read_element(
    e: Element, frame: Frame, names: _Names, by_enum: dict[str, EnumView],
    sized: Sequence[Element],
    value: Callable[[str], str], short: str | None, more: bool,
) -> list[str]:
    """Read one element at _off (and step past it when `more`); `short` is the
    condition under which the buffer ends inside it (need more)."""
    lines: list[str] = []
    if short is not None:
        lines += [f"if {short}:", "    return NeedMore(_end, None)"]
    if isinstance(e, IntField | BitsField):
        lines.extend(_trailing_int(e, frame, names, by_enum))
        step = str(e.type.width)
    else:
        assert isinstance(e, BytesField | KvMapField | ListField)
        step = f"_n_{e.name}" if e in sized else str(ir.evaluate(e.size))
        lines.extend(_sized_read(e, names, step))
    if more:
        lines.append(f"_off += {step}")
    if e.present is None:
        return lines
    return [f"if {translate(e.present, value, _no_length)}:",
            *("    " + line for line in lines),
            "else:",
            *(f"    {local} = {default}" for local, default in _absent(e, names))]


def _sized_read(e: BytesField | KvMapField | ListField, names: _Names, step: str) -> list[str]:
    """Read a sized element of `step` bytes at _off."""
    local = names.local(e.name)
    if isinstance(e, KvMapField):
        return [f"{local} = _read_kvmap(_buf, _off, _off + {step}, "
                f"{_len_struct(e.length_type)}, {e.null_drop}, {e.name!r})"]
    if isinstance(e, ListField):
        return [f"{local} = _read_{e.record}(_buf, _off, _off + {step}, {e.name!r})"]
    return [f"{local} = _buf[_off:_off + {step}]", *_finish_bytes(e, local, "_off")]


def _names_in(e: Element) -> list[str]:
    return [m.name for m in e.members] if isinstance(e, BitsField) else [e.name]


def _holders(frame: Frame) -> dict[str, Element]:
    """The element each name is on the wire in: itself, or its bits container."""
    return {name: e for e in frame.elements for name in _names_in(e)}


def _absent(e: Element, names: _Names) -> list[tuple[str, str]]:
    """(local, value) for an element that is not on the wire: zero or empty."""
    if isinstance(e, BitsField):
        return [(names.local(m.name), "0") for m in e.members]
    if isinstance(e, IntField | VarintField):
        return [(names.local(e.name), "0")]
    if isinstance(e, KvMapField | ListField):
        return [(names.local(e.name), "[]")]
    return [(names.local(e.name), '""' if e.text else 'b""')]


def _start_of(frame: Frame, c: ir.Checksum) -> int:
    first = frame.element(c.first) or next(
        e for e in frame.elements if isinstance(e, BitsField)
        and any(m.name == c.first for m in e.members))
    assert first.offset is not None  # the passes require it
    return first.offset


def _never_negative(frame: Frame, size: ir.Expr) -> bool:
    """A size that is one unsigned field (or a constant) cannot be negative."""
    if ir.is_constant(size):
        return ir.evaluate(size) >= 0
    if isinstance(size, ir.FieldValue):
        v = frame.value(size.field)
        return v is not None and (not isinstance(v, IntField) or not v.type.signed)
    return False


def _trailing_int(e: IntField | BitsField, frame: Frame, names: _Names,
                  by_enum: dict[str, EnumView]) -> list[str]:
    """An integer after the variable part (a trailer, a checksum): read at _off."""
    t = e.type
    read = f"int.from_bytes(_buf[_off:_off + {t.width}], {t.byte_order!r}, signed={t.signed})"
    if isinstance(e, IntField):
        local = names.local(e.name)
        lines = [f"{local} = {read}", *_value_checks(e, local, "_off", by_enum, "")]
        if isinstance(e.value, ir.Checksum):
            lines.append(f"if {local} != zlib.{e.value.kind}(_buf[{_start_of(frame, e.value)}"
                         f":_off]):")
            lines.append(f"    raise ChecksumMismatch({e.name!r}, _off, {local}, "
                         f"{e.value.kind!r})")
        return lines
    lines = [f"_{e.name} = {read}"]
    for m in e.members:
        local = names.local(m.name)
        lines.append(f"{local} = (_{e.name} >> {m.shift}) & {m.mask:#x}")
        lines.extend(_value_checks(m, local, "_off", by_enum, ""))
    return lines


def _finish_bytes(e: BytesField, local: str, offset: str) -> list[str]:
    lines = []
    if e.pad is not None:
        lines.append(f"{local} = {local}.rstrip({bytes([e.pad])!r})")
    if e.text:
        lines.append(f"{local} = _text({local}, {e.name!r}, {offset})")
    return lines


def _len_struct(t: IntType) -> str:
    return f"_LEN_{order_char(t) == '>' and 'BE' or 'LE'}{t.width}"


def _check_row(
    name: str, offset: int, t: IntType, shift: int, mask: int | None, v: ValueNode,
    by_enum: dict[str, EnumView],
) -> str:
    const = ir.evaluate(v.value) if v.constant and v.value is not None else None
    enum = _enum_of(v, by_enum)
    closed = enum.lookup if enum is not None and not enum.open else None
    enum_name = repr(enum.name) if enum is not None else None
    fmt = literal_format(v.value).python
    return (f"({name!r}, {offset}, {t.width}, {t.byte_order!r}, {t.signed}, {shift}, "
            f"{mask}, {const}, {closed or None}, {enum_name}, {fmt!r})")


def _encode_lines(
    protocol: Protocol, frame: Frame, names: _Names, view: FrameView,
    by_enum: dict[str, EnumView],
) -> None:
    out = view.encode
    free = set(frame.free_names())
    for v in frame.values():
        if v.name in free:
            out.append(f"{names.local(v.name)} = _f.{names.attr[v.name]}")
    sized = [e for e in frame.elements if isinstance(e, BytesField | KvMapField | ListField)]
    e: Element  # each loop below narrows it
    for e in sized:
        local = names.local(e.name)
        if isinstance(e, ListField):
            out.append(f"{local} = _write_{e.record}(_f.{names.attr[e.name]}, {e.name!r})")
        elif isinstance(e, KvMapField):
            refuse_null = e.null_drop and (1 << e.length_type.bits) - 1 <= protocol.max_frame
            out.append(f"{local} = _write_kvmap(_f.{names.attr[e.name]}, "
                       f"{_len_struct(e.length_type)}, {refuse_null}, {e.name!r})")
        elif e.text:
            out.append(f"{local} = _f.{names.attr[e.name]}.encode()")
        else:
            out.append(f"{local} = _f.{names.attr[e.name]}")
        if isinstance(e, BytesField) and e.pad is not None:
            out.append(f"{local} = _pad({local}, {ir.evaluate(e.size)}, {e.pad}, {e.name!r})")
    value = lambda n: names.local(n)  # noqa: E731
    length = lambda n: f"len({names.local(n)})"  # noqa: E731
    computed = {v.name: v for v in frame.values() if v.value is not None and not v.constant
                and not isinstance(v.value, ir.Checksum | ir.Rest)}
    order = TopologicalSorter({
        n: [d for d in ir.fields_read(v.value) if d in computed]
        for n, v in computed.items() if v.value is not None  # always: `computed` holds no None
    }).static_order()
    for name in order:
        v = computed[name]
        assert v.value is not None
        out.append(f"{names.local(name)} = {translate(v.value, value, length)}")
    for e in frame.elements:
        if isinstance(e, BitsField):
            parts = []
            for m in e.members:
                local = names.local(m.name)
                if m.constant and m.value is not None:
                    parts.append(f"({ir.evaluate(m.value)} << {m.shift})")
                    continue
                out.append(f"if not 0 <= {local} <= {m.mask:#x}:")
                out.append(f"    raise EncodeError({m.name!r}, None, f\"{{{local}}} does not "
                           f"fit {m.width} bits\")")
                parts.append(f"({local} << {m.shift})")
            out.append(f"_{e.name} = {' | '.join(parts)}")
    holder = _holders(frame)
    for e in frame.elements:
        if e.present is not None:
            out.append(f"_p_{e.name} = {translate(e.present, value, length)}")
    for v in frame.values():
        enum = _enum_of(v, by_enum)
        if v.name in free and enum is not None and not enum.open:
            # A field its condition leaves off the wire is not written, so not checked.
            e = holder[v.name]
            present = f"_p_{e.name} and " if e.present is not None else ""
            out.append(f"if {present}{names.local(v.name)} not in {enum.lookup}:")
            out.append(f"    raise EncodeError({v.name!r}, None, "
                       f"f\"{{{names.local(v.name)}!r}} is not a {enum.name}\")")
    for e in sized:
        if _sized_by_own_length(frame, e) or isinstance(e.size, ir.Rest):
            continue  # `n = len(x)` and `x[n]`, or the rest: consistent by construction
        if not isinstance(e, BytesField) or e.pad is None:
            differs = f"len({names.local(e.name)}) != {translate(e.size, value, length)}"
            if e.present is not None:
                differs = f"_p_{e.name} and {differs}"
            out.append(f"if {differs}:")
            out.append(f"    raise EncodeError({e.name!r}, None, f\"{{len({names.local(e.name)})}}"
                       f" bytes, but its size says {{{translate(e.size, value, length)}}}\")")
    rest = frame.rest_field()
    too_large = (f"    raise EncodeError({frame.name!r}, None, f\"frame of {{_size}} bytes "
                 f"exceeds max_frame {{MAX_FRAME}}\")")
    if rest is None:
        out.append(f"_size = {translate(frame.size, value, length)}")
        out.append("if _size > MAX_FRAME:")
        out.append(too_large)
    head = [e for e in frame.elements if e.offset is not None and e.offset < frame.header_size]
    packed = []
    for e in head:
        if isinstance(e, BitsField):
            local = f"_{e.name}"
            packed.append(local if not _raw(e.type, protocol.byte_order) else
                          f"{local}.to_bytes({e.type.width}, {e.type.byte_order!r})")
        elif isinstance(e, IntField):
            local = (f"({ir.evaluate(e.value)})" if e.constant and e.value is not None
                     else names.local(e.name))
            packed.append(local if not _raw(e.type, protocol.byte_order) else
                          f"{local}.to_bytes({e.type.width}, {e.type.byte_order!r}, "
                          f"signed={e.type.signed})")
        else:
            packed.append(names.local(e.name))
    parts = []
    if head:
        out.append("try:")
        out.append(f"    _head = {view.head}.pack({', '.join(packed)})")
        out.append("except (struct.error, OverflowError):")
        ranges = "".join(
            f"({e.name!r}, {names.local(e.name)}, {e.type.min}, {e.type.max}), "
            for e in head if isinstance(e, IntField) and not e.constant
        )
        out.append(f"    raise _range_error(({ranges})) from None")
        parts.append("_head")
    body = 0
    for e in frame.elements:
        if e in head:
            continue
        if e is rest:
            body = len(parts)
            continue
        if isinstance(e, VarintField):
            source = (f"({ir.evaluate(e.value)})" if e.constant and e.value is not None
                      else names.local(e.name))
            encoded = f"_varint_bytes({source}, {e.max_bytes}, {e.name!r})"
            if e.present is not None:
                encoded = f"{encoded} if _p_{e.name} else b\"\""
            out.append(f"_b_{e.name} = {encoded}")
            parts.append(f"_b_{e.name}")
        elif isinstance(e, IntField | BitsField):
            t = e.type
            if isinstance(e, IntField) and isinstance(e.value, ir.Checksum):
                start = _start_of(frame, e.value)
                source = f"zlib.{e.value.kind}(b\"\".join(({', '.join(parts)},))[{start}:])"
            elif isinstance(e, IntField):
                source = (f"({ir.evaluate(e.value)})" if e.constant and e.value is not None
                          else names.local(e.name))
            else:
                source = f"_{e.name}"
            encoded = (f"_int_bytes({source}, {t.width}, {t.byte_order!r}, {t.signed}, "
                       f"{e.name!r})")
            if e.present is not None:
                encoded = f"{encoded} if _p_{e.name} else b\"\""
            out.append(f"_b_{e.name} = {encoded}")
            parts.append(f"_b_{e.name}")
        elif e.present is not None:
            parts.append(f"({names.local(e.name)} if _p_{e.name} else b\"\")")
        else:
            parts.append(names.local(e.name))
    if rest is not None:  # the size of everything after it, known once it is encoded
        local = names.local(rest.name)
        out.append("try:")
        out.append(f"    _body = b\"\".join(({''.join(p + ', ' for p in parts[body:])}))")
        out.append("except TypeError:")
        out.append(f"    raise _type_error({view.cls}, _f) from None")
        out.append(f"{local} = len(_body)")
        out.append(f"_b_{rest.name} = _varint_bytes({local}, {rest.max_bytes}, {rest.name!r})")
        out.append(f"_size = {frame.header_size} + len(_b_{rest.name}) + {local}")
        out.append("if _size > MAX_FRAME:")
        out.append(too_large)
        out.append(f"return b\"\".join(({''.join(p + ', ' for p in parts[:body])}"
                   f"_b_{rest.name}, _body))")
        return
    if len(parts) == 1:
        out.append(f"return {parts[0]}")
        return
    out.append("try:")
    out.append(f"    return b\"\".join(({', '.join(parts)},))")
    out.append("except TypeError:")
    out.append(f"    raise _type_error({view.cls}, _f) from None")


def _sized_by_own_length(frame: Frame, e: BytesField | KvMapField | ListField) -> bool:
    if not isinstance(e.size, ir.FieldValue):
        return False
    length = frame.value(e.size.field)
    return length is not None and isinstance(length.value, ir.LenOf) and (
        length.value.field == e.name)


def _ref(protocol: Protocol, record: str) -> str:
    """The reader and writer the reference uses for a list of `record`: a record
    with variable members has construct's own; a fixed one shares the straight path's."""
    r = protocol.record(record)
    prefix = "_ref" if r is not None and r.variable else ""
    return f"{prefix}_read_{record}, {prefix}_write_{record}"


def _construct_int(t: IntType) -> str:
    return (f"cs.Int{t.bits}{'s' if t.signed else 'u'}"
            f"{'b' if t.byte_order == 'big' else 'l'}")


def _construct_lines(
    protocol: Protocol, frame: Frame, names: _Names, view: FrameView,
    by_enum: dict[str, EnumView],
) -> None:
    """The reference: one declarative construct Struct per frame."""
    out = view.construct_fields
    ctx_value = lambda n: _container_path(frame, n)  # noqa: E731
    ctx_length = lambda n: _length_of(frame, n, ctx_value, encoded=True)  # noqa: E731
    sized = [e for e in frame.elements if isinstance(e, BytesField | KvMapField | ListField)]

    def int_con(v: ValueNode, base: str) -> str:
        if v.constant and v.value is not None:
            return f"cs.Const({ir.evaluate(v.value)}, {base})"
        if v.value is not None:
            return f"cs.Rebuild({base}, lambda _c: {translate(v.value, ctx_value, ctx_length)})"
        enum = _enum_of(v, by_enum)
        if enum is not None and not enum.open:
            return f"cs.OneOf({base}, {enum.lookup})"
        return base

    rest = frame.rest_field()
    inner: list[str] = []  # after a len(rest) field: read inside the frame's size
    for e in frame.elements:
        con: str
        if e is rest:
            continue
        if isinstance(e, VarintField):
            con = int_con(e, f"_VarInt({e.max_bytes}, {e.name!r})")
        elif isinstance(e, BytesField | KvMapField | ListField) and isinstance(e.size, ir.Rest):
            con = "cs.GreedyBytes" if isinstance(e, BytesField) else (
                f"_Section({_ref(protocol, e.record)}, {e.name!r})"
                if isinstance(e, ListField) else
                f"_Section(lambda b, o, e, n: _read_kvmap(b, o, e, "
                f"{_len_struct(e.length_type)}, {e.null_drop}, n), lambda v, n: "
                f"_write_kvmap(v, {_len_struct(e.length_type)}, {e.null_drop}, n), {e.name!r})")
        elif isinstance(e, IntField) and isinstance(e.value, ir.Checksum):
            con = (f"_Checksum(zlib.{e.value.kind}, {_start_of(frame, e.value)}, "
                   f"{_construct_int(e.type)})")
        elif isinstance(e, IntField):
            con = int_con(e, _construct_int(e.type))
        elif isinstance(e, BitsField):
            members = ", ".join(
                f"{m.name!r} / _Located({m.name!r}, {e.offset}, "
                f"{int_con(m, f'cs.BitsInteger({m.width})')})"
                for m in e.members
            )
            con = f"cs.BitStruct({members})"
            if e.type.byte_order == "little" and e.type.width > 1:
                con = f"cs.ByteSwapped({con})"
        elif isinstance(e, ListField):
            size = translate(e.size, ctx_value, ctx_length)
            con = (f"cs.FixedSized(lambda _c: {size}, _Section({_ref(protocol, e.record)}, "
                   f"{e.name!r}))")
        elif isinstance(e, KvMapField):
            size = translate(e.size, ctx_value, ctx_length)
            length = _len_struct(e.length_type)
            con = (f"cs.FixedSized(lambda _c: {size}, "
                   f"_Section(lambda b, o, e, n: _read_kvmap(b, o, e, {length}, {e.null_drop}, n), "
                   f"lambda v, n: _write_kvmap(v, {length}, {e.null_drop}, n), {e.name!r}))")
        else:
            con = f"cs.Bytes(lambda _c: {translate(e.size, ctx_value, ctx_length)})"
            if isinstance(e, BytesField) and e.text:
                pad = bytes([e.pad]) if e.pad is not None else b""
                con = f"_Utf8({con}, {pad!r}, {e.name!r})"
        if e.present is not None:
            absent = ('b""' if isinstance(e, BytesField) else
                      _absent(e, names)[0][1] if not isinstance(e, BitsField) else
                      "{" + ", ".join(f"{m.name!r}: 0" for m in e.members) + "}")
            con = (f"cs.IfThenElse(lambda _c: {translate(e.present, ctx_value, ctx_length)}, "
                   f"{con}, cs.Computed({absent}))")
        con = f"_Located({e.name!r}, {e.offset}, {con})"
        if rest is not None and frame.elements.index(e) > frame.elements.index(rest):
            if e in sized and not isinstance(e.size, ir.Rest) and not _never_negative(
                    frame, e.size):
                inner.append(_negative_guard(e, ctx_value, ctx_length, "None"))
            inner.append(f"{e.name!r} / {con}")
            continue
        out.append(f"{e.name!r} / {con}")
        if rest is None and e is frame.elements[max(frame.prefix_count(), 1) - 1]:
            out.extend(_negative_guard(s, ctx_value, ctx_length, str(frame.header_size))
                       for s in sized)
            total = translate(frame.size, ctx_value, ctx_length)
            out.append(f"_Guard(lambda _c: {total} <= MAX_FRAME, lambda _c: FrameTooLarge("
                       f"{frame.name!r}, 0, {total}, MAX_FRAME))")
            out.append(f"_WholeFrame(lambda _c: {total})")
    if rest is not None:
        out.append(f"\"_rest\" / _Framed({rest.name!r}, {frame.name!r}, {rest.max_bytes}, "
                   f"{frame.header_size}, [{', '.join(inner)}])")
    out.append('"_end" / cs.Tell')
    holder = _holders(frame)
    conv: list[str] = []  # one value per free name
    for name in frame.free_names():
        v = frame.value(name)
        source = _container_path(frame, name, parsed=True)
        element = frame.element(name)
        fallback = next((d for _, d in _absent(element, names)), None) if (
            element is not None and element.present is not None) else None
        if fallback is not None:
            if isinstance(element, BytesField):
                fallback = 'b""'  # raw, as construct gives it; text is decoded below
            source = f"({source} if {source} is not None else {fallback if v is None else 0})"
        if v is not None:  # an absent enum field reads as 0, a member or not
            conv.append(_wrap(v, source, by_enum, checked=holder[name].present is None))
            continue
        if isinstance(element, BytesField) and (element.pad is not None or element.text):
            text = source
            if element.pad is not None:
                text = f"{text}.rstrip({bytes([element.pad])!r})"
            if element.text:
                text = f"_text({text}, {element.name!r}, 0)"
            conv.append(text)
        else:
            conv.append(source)
    view.from_container = [f"{names.attr[n]}={value}"  # frames are built by keyword
                           for n, value in zip(frame.free_names(), conv, strict=True)]


def _wire_names(frame: Frame) -> list[str]:
    names: list[str] = []
    for e in frame.elements:
        if isinstance(e, BitsField):
            names.extend(m.name for m in e.members)
        else:
            names.append(e.name)
    return names


def _to_container(frame: Frame, names: _Names) -> list[str]:
    """Dict entries for construct's build: bit members nested in their container."""
    entries = []
    free = set(frame.free_names())
    for e in frame.elements:
        if isinstance(e, BitsField):
            inner = ", ".join(f"{m.name!r}: f.{names.attr[m.name]}" for m in e.members
                              if m.name in free)
            entries.append(f"{e.name!r}: {{{inner}}}")
        elif e.name not in free:
            continue
        elif isinstance(e, BytesField) and (e.text or e.pad is not None):
            value = f"f.{names.attr[e.name]}" + (".encode()" if e.text else "")
            if e.pad is not None:
                value = f"_pad({value}, {ir.evaluate(e.size)}, {e.pad}, {e.name!r})"
            entries.append(f"{e.name!r}: {value}")
        else:
            entries.append(f"{e.name!r}: f.{names.attr[e.name]}")
    return entries


def _negative_guard(
    s: BytesField | KvMapField | ListField, ctx_value: Callable[[str], str],
    ctx_length: Callable[[str], str], offset: str,
) -> str:
    size = translate(s.size, ctx_value, ctx_length)
    ok = f"{size} >= 0"
    if s.present is not None:
        ok = f"{ok} or not {translate(s.present, ctx_value, ctx_length)}"
    return f"_Guard(lambda _c: {ok}, lambda _c: NegativeSize({s.name!r}, {offset}, {size}))"


def _container_path(frame: Frame, name: str, parsed: bool = False) -> str:
    """Where construct keeps a value: flat in the context while it parses or
    builds; in the parsed container, what follows a len(rest) field is under
    `_rest`."""
    root = "_c"
    rest = frame.rest_field()
    if parsed and rest is not None:
        start = frame.elements.index(rest)
        if any(name in _names_in(e) for e in frame.elements[start:]):
            root = "_c['_rest']"
    for e in frame.elements:
        if isinstance(e, BitsField) and any(m.name == name for m in e.members):
            return f"{root}[{e.name!r}][{name!r}]"
    return f"{root}[{name!r}]"


def _role_lines(frame: Frame, names: _Names, view: FrameView) -> None:
    roles = frame.roles
    if roles is None:
        return
    attr = lambda n: f"frame.{names.attr[n]}"  # noqa: E731
    view.roles["kind"] = repr(roles.kind)
    if roles.oneway is not None:
        view.roles["kind"] = (f"\"oneway\" if {translate(roles.oneway, attr, _no_length)} "
                              f"else \"request\"")
    view.roles["heartbeat"] = (translate(roles.heartbeat, attr, _no_length)
                               if roles.heartbeat is not None else "False")
    view.roles["id"] = roles.id and names.attr[roles.id]
    for role in ("timeout", "status", "headers", "payload"):
        target = getattr(roles, role)
        view.roles[role] = names.attr[target] if target else ""


def _discriminator(protocol: Protocol) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """A construct Struct reading the bytes that choose a variant (no checks)."""
    first = protocol.frames[0]
    fields: list[str] = []
    values: list[tuple[str, list[str]]] = []  # value name, path in the parsed container
    for e in first.elements:
        if e.offset is None or e.offset + _width(e) > protocol.discriminator_size:
            break
        if isinstance(e, IntField):
            fields.append(f"{e.name!r} / {_construct_int(e.type)}")
            values.append((e.name, [e.name]))
        elif isinstance(e, BitsField):
            members = ", ".join(f"{m.name!r} / cs.BitsInteger({m.width})" for m in e.members)
            bits = f"cs.BitStruct({members})"
            if e.type.byte_order == "little" and e.type.width > 1:
                bits = f"cs.ByteSwapped({bits})"
            fields.append(f"{e.name!r} / {bits}")
            values.extend((m.name, [e.name, m.name]) for m in e.members)
        else:
            fields.append(f"cs.Bytes({_width(e)})")
    return fields, values


def _width(e: Element) -> int:
    if isinstance(e, IntField | BitsField):
        return e.type.width
    if isinstance(e, BytesField) and ir.is_constant(e.size):
        return ir.evaluate(e.size)
    return 1 << 62  # of no fixed width: never part of the discriminator


def _builder(
    protocol: Protocol, b: Builder, classes: dict[str, str], by_enum: dict[str, EnumView],
    module_names: frozenset[str],
) -> BuilderView:
    frame = protocol.frame(b.frame)
    assert frame is not None
    names = _Names(frame, module_names)
    request_cls = " | ".join(classes[f.name] for f in protocol.frames
                             if f.roles is not None and f.roles.kind == "request") or "Frame"

    def param(p: str, f: str | None) -> str:
        return f"int({naming.snake(p)}.{naming.snake(f)})" if f else naming.snake(p)

    args = []
    for name, value in b.assignments:
        v = frame.value(name)
        assert v is not None
        text = translate(value, _no_length, _no_length, param)
        args.append(f"{names.attr[name]}={_wrap(v, text, by_enum, checked=False)}")
    for name, data in b.data:
        element = frame.element(name)
        literal = repr(data.decode("utf-8")) if isinstance(element, BytesField) and (
            element.text) else repr(data)
        args.append(f"{names.attr[name]}={literal}")
    params = [naming.snake(p) for p in b.params]
    sig = {
        "keepalive": f"{params[0]}: int",
        "keepalive_reply": f"{params[0]}: {request_cls}",
        "hijack": f"{params[0]}: {request_cls}, {params[-1]}: int",
    }[b.kind]
    return BuilderView(b.kind, sig, classes[frame.name], args, b.doc)
