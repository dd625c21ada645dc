"""What the Python template prints, from the plan: module-level names, the
frame classes (fields, constants, computed properties), roles, and each
frame's decoder, encoder and construct reference from their printers. Nothing
is left for the template to work out, and nothing here decides a rule of the
codec: the plan has."""

from __future__ import annotations

from dataclasses import dataclass, field

from protodsl.codegen.python import naming
from protodsl.codegen.python.builders import BuilderView, builder_view
from protodsl.codegen.python.context import EnumView, Module, free_names, holders
from protodsl.codegen.python.decode import (
    FrameDecoder,
    discriminator_reads,
    variant_message,
)
from protodsl.codegen.python.encode import FrameEncoder
from protodsl.codegen.python.expr import lengths, no_length, state_reader, translate
from protodsl.codegen.python.records import RecordView, record_view
from protodsl.codegen.python.reference import FrameReference, discriminator

from protodsl.ir import Frame, Protocol, StateMember
from protodsl.ir import expr as ir
from protodsl.ir.model import SIDES, BytesField, IntField, KvMapField, ListField, VarintField
from protodsl.plan import DerivedHeader, FramePlan, ProtocolPlan, plan_of


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
    # a frame whose layout reads the state: its computed values by spec name, over
    # `frame` and `state` (no properties: the frame alone does not know its size)
    wire_computed: dict[str, str]
    head: str  # module-level struct name
    head_format: str
    head_size: int
    checks: str  # module-level short-header check table name
    check_rows: list[str]
    decode: str  # the decoder's body
    encode: str  # the encoder's body
    construct_fields: list[str]
    from_container: list[str]
    to_container: list[str]
    when: str  # over _disc
    when_fast: str  # over the _d_* locals that decode() reads
    claim_failed: str  # the frame's own `when`, negated, over its attributes (_f)
    claim_text: str  # that condition as the spec writes it
    claim_fields: list[tuple[str, str]]  # spec name, attribute
    wire_fields: list[tuple[str, str]]  # spec name, attribute
    attrs: dict[str, str]  # every spec name -> attribute
    roles: dict[str, str] = field(default_factory=dict)
    state_reads: tuple[tuple[str, str], ...] = ()  # member, attribute
    next_state: list[str] = field(default_factory=list)  # State(...)'s arguments, when it sets
    next_lines: list[str] = field(default_factory=list)  # what those arguments read, first
    # Derived headers MOSN's edit goes back into: (index among the derived
    # headers, attribute, text, frame name, field name).
    derived_writes: list[tuple[int, str, bool, str, str]] = field(default_factory=list)
    int_hint: str = "int"  # `int` inside the class body (builtins.int where hidden)


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
    records: list[RecordView]
    disc_size: int  # bytes decode needs before it can choose a variant
    disc_struct: list[str]  # _choose's construct Struct
    disc_values: list[tuple[str, list[str]]]  # value name, path in the parsed container
    disc_field: str  # the first value that tells variants apart, for errors
    disc_offset: int
    disc_reads: list[str]  # decode()'s reads of the discriminators
    disc_message: str  # UnknownVariant's message
    header_lists: bool  # some frame's MOSN headers are records: print `_merge_headers`
    id_views: bool = False  # some frame's id is part of a bytes field: the helpers for it
    derived_headers: bool = False  # some frame derives headers: `_take_derived`
    state: list[StateView] = field(default_factory=list)
    sides: bool = False  # some member is kept per side: State.side says whose bytes
    frame_limit: str | None = None  # `max_frame EXPR`, read off the State `_st`
    builtins: bool = False  # some class body spells a builtin `builtins.X`
    constants: bool = False  # some frame has a constant: a ClassVar
    checksums: bool = False  # some frame has a checksum: zlib computes it
    public: list[str] = field(default_factory=list)  # __all__


@dataclass
class StateView:
    attr: str
    spec_name: str
    initial: str  # Python text: the initial value, or None
    doc: str | None


def build_view(protocol: Protocol, source: str) -> ModuleView:
    plan = plan_of(protocol)
    module = _module(plan)
    header_records = {f.roles.header_records.record.record.name for f in plan.frames
                      if f.roles is not None and f.roles.header_records is not None}
    frames = [_frame(module, f) for f in plan.frames]
    struct, values = discriminator(plan)
    first = plan.discriminators[0] if plan.discriminators else None
    view = ModuleView(
        name=protocol.name, mosn_name=protocol.mosn_name, source=source, doc=protocol.doc,
        max_frame=protocol.max_frame, enums=list(module.enums.values()), frames=frames,
        builders=[builder_view(module, b) for b in plan.builders],
        records=[record_view(r, module.records[r.record.name], protocol.byte_order,
                             r.record.name in header_records, module.enums)
                 for r in plan.records],
        header_lists=bool(header_records),
        disc_size=protocol.discriminator_size, disc_struct=struct, disc_values=values,
        disc_field=first.value.name if first else "frame",
        disc_offset=first.offset if first else 0,
        disc_reads=discriminator_reads(plan), disc_message=variant_message(plan),
        id_views=any(f.roles is not None and f.roles.id_view is not None for f in plan.frames),
        derived_headers=any(f.roles is not None and f.roles.derived_headers
                            for f in plan.frames),
        state=[StateView(attr, name, repr(m.initial), m.doc)
               for m in protocol.state for name, attr in _state_slots(m)],
        sides=any(m.per_side for m in protocol.state),
    )
    view.builtins = _reads_builtins(view)
    view.public = _public(view)
    view.constants = any(f.constants for f in frames)
    view.checksums = any(isinstance(v.value, ir.Checksum)
                         for f in protocol.frames for v in f.values())
    return view


# What every generated module exports, besides its enums, records, frames and builders.
_PUBLIC = (
    "PROTOCOL", "MOSN_NAME", "MAX_FRAME", "ATTRS", "RECORDS", "FRAMES", "WITH_ROLES",
    "STATE_ATTRS", "Frame", "State", "NeedMore", "Decoded",
    "ProtocolError", "ConstantMismatch", "UnknownEnumValue", "UnknownVariant", "FrameTooLarge",
    "NegativeSize", "CountMismatch", "MalformedSection", "InvalidText", "ChecksumMismatch",
    "MalformedVarint", "FieldOverrun", "LeftoverBytes", "EncodeError", "StateUnset",
    "decode", "encode", "decode_all", "next_state", "reference_decode", "reference_encode",
    "field_values", "kind", "is_heartbeat", "command_id", "timeout", "status", "headers",
    "payload", "with_roles",
)


def _public(view: ModuleView) -> list[str]:
    """`__all__`, sorted as ruff sorts it: constants, then classes, then functions."""
    names = [*_PUBLIC, *(["SideUnknown"] if view.sides else []),
             *(e.name for e in view.enums), *(r.cls for r in view.records),
             *(f.cls for f in view.frames), *(b.kind for b in view.builders)]
    return sorted(set(names), key=lambda n: (0 if n.isupper() else 1 if n[:1].isupper()
                                             else 2, n))


def _reads_builtins(view: ModuleView) -> bool:
    """Whether a class body qualifies a builtin its attributes hide."""
    hints = [h for f in view.frames for h in
             (f.int_hint, *(x for fld in f.fields for x in (fld.hint, fld.default or "")))]
    hints += [h for r in view.records for h in (r.int_hint, *(h for _, h, _ in r.hints))]
    return any("builtins." in h for h in hints)


def _state_slots(m: StateMember) -> list[tuple[str, str]]:
    """(spec name, State attribute) of a member: one, or one per side."""
    attr = naming.snake(m.name)
    if m.per_side:
        return [(slot, f"{side}_{attr}") for side, slot in zip(SIDES, m.slots(), strict=True)]
    return [(m.name, attr)]


def _int(text: str) -> str:
    """A plain int for the State, not an enum member: constants are already."""
    return text if text.lstrip("-").isdigit() else f"int({text})"


def _state_attrs(members: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((m, naming.snake(m)) for m in members)


def _module(plan: ProtocolPlan) -> Module:
    """Module-level names, claimed in a fixed order: enums, records, frames."""
    protocol = plan.protocol
    ns = naming.Namespace()
    enum_names = {e.name: ns.claim(e.name) for e in protocol.enums}
    enums = {
        e.name: EnumView(enum_names[e.name], e.doc, e.open, f"_values_{enum_names[e.name]}",
                         [(naming.member(m.name), m.value, m.doc) for m in e.members])
        for e in protocol.enums
    }
    records = {r.name: ns.claim(naming.camel(r.name)) for r in protocol.records}
    classes = {f.name: ns.claim(naming.camel(f.name)) for f in protocol.frames}
    module_names = frozenset([*enum_names.values(), *records.values(), *classes.values()])
    return Module(plan, enums, records, classes, module_names)


def _frame(module: Module, fp: FramePlan) -> FrameView:
    frame = fp.frame
    names = module.names(fp)
    cls = module.classes[frame.name]
    state_reads = frame.state_reads()
    stateful = bool(state_reads)  # its size is read off an encoding in a given state
    decoder = FrameDecoder(module, fp, cls)
    reference = FrameReference(module, fp, cls)
    wire = [n for r in fp.decode.reads for n in r.names]
    claimed = sorted(ir.fields_read(fp.encode.claim))
    view = FrameView(
        name=frame.name, spec_name=frame.name, cls=cls, doc=frame.doc,
        fields=[_field(module, fp, names, n) for n in free_names(fp)],
        constants=[(names.attr[v.name], v.name, ir.evaluate(v.value)) for v in frame.values()
                   if v.constant and v.value is not None],
        computed=[(a, spec, text) for a, spec, text, wire in _properties(fp, names)
                  if not (wire and stateful)],
        wire_computed={spec: text for _, spec, text, wire in _properties(fp, names, "frame")
                       if wire} if stateful else {},
        head=decoder.head, head_format=decoder.head_format(),
        head_size=fp.decode.header_size, checks=decoder.checks,
        check_rows=decoder.check_rows(), decode=decoder.body(),
        encode=FrameEncoder(module, fp, cls, decoder.head).body(),
        construct_fields=reference.fields(), from_container=reference.from_container(),
        to_container=reference.to_container(),
        when=translate(frame.when, lambda n: f"_disc[{n!r}]", no_length,
                       state=state_reader("_st", frame.name, checked=True)),
        when_fast=translate(frame.when, lambda n: f"_d_{n}", no_length,
                            state=state_reader("state", frame.name, checked=True)),
        claim_failed=translate(ir.Unary("not", fp.encode.claim, fp.encode.claim.span),
                               lambda n: f"_f.{names.attr[n]}", no_length),
        claim_text=ir.spelled(fp.encode.claim),
        claim_fields=[(n, names.attr[n]) for n in claimed],
        wire_fields=[(n, names.attr[n]) for n in wire],
        attrs={n: names.attr[n] for n in wire if not n.startswith("_")},
    )
    # What the class body reads, spelled so that no attribute hides it.
    hidden = frozenset(names.attr.values())
    view.int_hint = naming.qualified("int", hidden)
    for f in view.fields:
        f.hint = naming.qualified(f.hint, hidden)
        f.default = f.default and naming.qualified(f.default, hidden)
    _roles(module, fp, names, view)
    view.state_reads = _state_attrs(state_reads)
    if frame.sets:
        view.next_lines, view.next_state = _next_state(module.plan.protocol, frame, names)
    return view


def _next_state(protocol: Protocol, frame: Frame, names: naming.FrameNames
                ) -> tuple[list[str], list[str]]:
    """The lines computing what a frame sets, then `State(...)`'s arguments: a
    member kept per side takes the value set for the side whose bytes these
    are (`_sender`) or the other (`_receiver`), and keeps the other side's."""
    def value(s: ir.Expr) -> str:
        return _int(translate(s, lambda n: f"_f.{names.attr[n]}", no_length,
                              state=state_reader("_st", frame.name)))

    shared = {s.name: value(s.value) for s in frame.sets if s.side is None}
    lines: list[str] = []
    per_side = [s for s in frame.sets if s.side is not None]
    if per_side:
        lines.append(f"_sender, _receiver = _sides(_st, {per_side[0].name!r})")
        lines += [f"_{s.side}_{naming.snake(s.name)} = {value(s.value)}" for s in per_side]
    args = ["side=_st.side"] if any(m.per_side for m in protocol.state) else []
    for m in protocol.state:
        attr = naming.snake(m.name)
        if not m.per_side:
            args.append(f"{attr}={shared.get(m.name, f'_st.{attr}')}")
            continue
        for side in SIDES:
            text = f"_st.{side}_{attr}"
            for s in per_side:
                if s.name == m.name:
                    text = f"_{s.side}_{attr} if _{s.side} == {side!r} else {text}"
            args.append(f"{side}_{attr}={text}")
    return lines, args


def _field(module: Module, fp: FramePlan, names: naming.FrameNames, name: str) -> FieldView:
    """A dataclass field: its type hint, and its default where the spec gives one."""
    frame = fp.frame
    value = frame.value(name)
    element = frame.element(name)
    described = value or element
    doc = described.doc if described is not None else None
    if value is not None:
        enum = module.enum_of(value)
        # a closed enum's field its condition leaves off reads as a plain 0
        loose = enum is not None and (enum.open or (holders(fp)[name].present is not None
                                                    and not module.zero_is_member(value)))
        hint = "int" if enum is None else f"{enum.name} | int" if loose else enum.name
        default = None if value.default is None else str(value.default)
        if enum is not None and value.default is not None:
            member = next((m for m, v, _ in enum.members if v == value.default), None)
            default = f"{enum.name}.{member}" if member else default
        return FieldView(names.attr[name], name, hint, default, doc)
    if isinstance(element, KvMapField):
        hint, default = "list[tuple[bytes, bytes]]", "dataclasses.field(default_factory=list)"
    elif isinstance(element, ListField):
        hint, default = (f"list[{module.records[element.record]}]",
                         "dataclasses.field(default_factory=list)")
    else:
        assert isinstance(element, BytesField)
        hint, default = ("str", '""') if element.text else ("bytes", 'b""')
    return FieldView(names.attr[name], name, hint, default, doc)


def _properties(fp: FramePlan, names: naming.FrameNames, owner: str = "self"
                ) -> list[tuple[str, str, str, bool]]:
    """Computed values as properties of the class: their expression, or read off
    the encoding (a checksum, always the frame's last field; a `len(rest)`: True
    last). With another `owner` (`frame`), as `field_values` computes them: a
    frame whose layout reads the connection's state is encoded in the `state`
    given, so what is read off its encoding is no property."""
    frame = fp.frame
    of_owner = lambda n: f"{owner}.{names.attr[n]}"  # noqa: E731
    wire = f"encode({owner}, state)" if owner != "self" else "encode(self)"
    computed = {c.node.name: c.expr for c in fp.encode.computed}
    out = []
    for v in frame.values():
        if v.value is None or v.constant:
            continue
        read_off = v.name not in computed  # from the encoding, not an expression
        if v.name in computed:
            text = translate(computed[v.name], of_owner, lengths(frame, of_owner))
        elif isinstance(v.value, ir.Rest):
            assert isinstance(v, VarintField)
            text = (f"_read_varint({wire}, {fp.decode.header_size}, MAX_FRAME, "
                    f"{v.max_bytes}, {v.name!r})[0]")
        elif isinstance(v.value, ir.Checksum):
            assert isinstance(v, IntField)
            text = f"int.from_bytes({wire}[-{v.type.width}:], {v.type.byte_order!r})"
            present = holders(fp)[v.name].present
            if present is not None:
                text = f"{text} if {translate(present, of_owner, no_length)} else 0"
        else:
            raise AssertionError(f"computed value '{v.name}' has no plan")
        out.append((names.attr[v.name], v.name, text, read_off))
    return out


def _roles(module: Module, fp: FramePlan, names: naming.FrameNames, view: FrameView) -> None:
    roles = fp.frame.roles
    if roles is None:
        return
    attr = lambda n: f"frame.{names.attr[n]}"  # noqa: E731
    view.roles["kind"] = repr(roles.kind)
    if roles.oneway is not None:
        view.roles["kind"] = (f"\"oneway\" if {translate(roles.oneway, attr, no_length)} "
                              f"else \"request\"")
    view.roles["heartbeat"] = (f"bool({translate(roles.heartbeat, attr, no_length)})"
                               if roles.heartbeat is not None else "False")
    view.roles["id"] = roles.id and names.attr[roles.id]
    # The id, and what with_roles gives the id's field for a new `id`.
    view.roles["id_get"] = f"int(frame.{names.attr[roles.id]})"
    view.roles["id_set"] = "id"
    idv = fp.roles.id_view if fp.roles is not None else None
    if idv is not None:
        field = f"frame.{names.attr[roles.id]}"
        view.roles["id_get"] = (f"int.from_bytes({field}[{idv.start}:{idv.end}], "
                                f"{idv.byte_order!r})")
        view.roles["id_set"] = (f"_id_into({field}, {idv.start}, {idv.width}, "
                                f"{idv.byte_order!r}, id, {fp.name!r}, {roles.id!r})")
    for role in ("timeout", "status", "headers", "payload"):
        target = getattr(roles, role)
        view.roles[role] = names.attr[target] if target else ""
    for role in ("timeout", "status"):
        view.roles[f"{role}_get"] = f"int(frame.{view.roles[role]})" if view.roles[role] else ""
    if roles.derived is not None:  # read-only: with_roles has no field to set
        role = "timeout" if roles.kind == "request" else "status"
        view.roles[f"{role}_get"] = _int(translate(roles.derived, attr, lengths(fp.frame, attr)))
    listed = fp.roles.header_records if fp.roles is not None else None
    stored = view.roles["headers"]
    if listed is not None:
        record = module.records[listed.record.record.name]
        key, value = (naming.attribute(m.name) for m in (listed.key, listed.value))
        items = f"frame.{names.attr[listed.list.name]}"
        view.roles["headers_get"] = (
            f"[(r.{key}{'.encode()' if listed.key.text else ''}, "
            f"r.{value}{'.encode()' if listed.value.text else ''}) for r in {items}]")
        members = ((key, listed.key.name, listed.key.text),
                   (value, listed.value.name, listed.value.text))
        view.roles["headers_set"] = (
            f"_merge_headers({items}, headers, {members[0]!r}, {members[1]!r}, "
            f"lambda k, v: {record}({key}=k, {value}=v), _check_{listed.record.record.name}, "
            f"{listed.list.name!r}, {fp.frame.name!r})")
    elif stored:
        view.roles["headers_get"] = f"frame.{stored}"
        view.roles["headers_set"] = "headers"
    derived = fp.roles.derived_headers if fp.roles is not None else ()
    view.roles["derived_keys"] = ""
    view.roles.setdefault("headers_get", "")
    if derived:
        view.roles["headers_get"] = " + ".join(
            ([view.roles["headers_get"]] if stored else [])
            + [f"[{', '.join(_derived_pair(d, names) for d in derived)}]"])
        view.roles["derived_keys"] = repr(tuple(d.key for d in derived))
        view.derived_writes = [
            (i, names.attr[d.writes.name], d.writes.text, fp.frame.name, d.writes.name)
            for i, d in enumerate(derived) if d.writes is not None]


def _derived_pair(d: DerivedHeader, names: naming.FrameNames) -> str:
    """A derived header as a Python (key, value) expression over `frame`."""
    parts = [repr(p) if isinstance(p, bytes) else
             f"frame.{names.attr[p.name]}{'.encode()' if p.text else ''}" for p in d.parts]
    return f"({d.key!r}, {' + '.join(parts)})"
