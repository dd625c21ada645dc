"""The IR lowered to a codec plan, once for every backend: text -> AST -> IR ->
plan -> printers. `check_plan` runs in the compiler, so a spec the lowering
cannot plan (computed values that read each other) is a spec error; backends
call `plan_of` on a compiled protocol."""

from __future__ import annotations

from functools import partial

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    Builder,
    BytesField,
    Element,
    Enum,
    Frame,
    IntField,
    ListField,
    Protocol,
    Record,
    ValueNode,
    VarintField,
    names_of,
)
from protodsl.passes.problems import Problems
from protodsl.plan.decode import checks, lower_decode
from protodsl.plan.encode import evaluation_order, fit, lower_encode
from protodsl.plan.model import (
    BuilderPlan,
    BuiltId,
    Check,
    DerivedHeader,
    Discriminator,
    FramePlan,
    HeaderRecords,
    IntRun,
    LengthCheck,
    MustBeMember,
    MustEqual,
    ProtocolPlan,
    RecordPlan,
    RolesPlan,
    Value,
)


def plan_of(protocol: Protocol) -> ProtocolPlan:
    """The plan of a compiled protocol (the compiler has run `check_plan`)."""
    problems = Problems()
    plan = lower(protocol, problems)
    assert not problems, [d.message for d in problems.items]
    return plan


def check_plan(protocol: Protocol, problems: Problems) -> None:
    """Report what keeps `protocol` from having a plan."""
    lower(protocol, problems)


def lower(protocol: Protocol, problems: Problems) -> ProtocolPlan:
    enums = {e.name: e for e in protocol.enums}
    records = tuple(_record(r, enums, problems) for r in protocol.records)
    frames = tuple(
        FramePlan(f, i, lower_decode(f, enums),
                  lower_encode(f, enums, protocol.max_frame, problems), _roles(f, records))
        for i, f in enumerate(protocol.frames))
    by_name = {f.name: f for f in frames}
    used = {v.enum for f in protocol.frames for v in f.values() if v.enum is not None}
    return ProtocolPlan(
        protocol=protocol,
        frames=frames,
        discriminators=_discriminators(protocol),
        closed_enums=tuple(e for e in protocol.enums if not e.open and e.name in used),
        records=records,
        builders=tuple(_builder(b, by_name[b.frame]) for b in protocol.builders),
        request_fields=tuple(sorted({
            node.field for b in protocol.builders for value in _builder_values(b)
            for node in ir.walk(value) if isinstance(node, ir.ParamField)})),
        request_bytes=tuple(sorted({value.field for b in protocol.builders
                                    for _, value in b.sized
                                    if isinstance(value, ir.ParamField)})),
        request_frames=tuple(f for f in frames
                             if f.frame.roles is not None and f.frame.roles.kind == "request"),
    )


def _builder_values(b: Builder) -> tuple[ir.Expr, ...]:
    """What a builder computes: its assignments and its id."""
    return tuple(v for _, v in b.assignments) + ((b.id_value,) if b.id_value else ())


def _discriminators(protocol: Protocol) -> tuple[Discriminator, ...]:
    """Every value a `when` reads, where the first frame that has it has it
    (variants.py made sure every frame that has it has it there too; a frame
    chosen by the state alone may lack it), in wire order."""
    read: set[str] = set().union(*(ir.fields_read(f.when) for f in protocol.frames))
    enums = {e.name: e for e in protocol.enums}
    out = []
    for name in read:
        holder = next(f for f in protocol.frames if f.holder(name) is not None)
        e = holder.holder(name)
        if isinstance(e, IntField):
            assert e.offset is not None
            out.append(Discriminator(Value(e, 0, None, checks(e, enums, holder)), e.type,
                                     e.offset))
        elif isinstance(e, BitsField):
            m = next(m for m in e.members if m.name == name)
            assert e.offset is not None
            out.append(Discriminator(Value(m, m.shift, m.mask, checks(m, enums, holder)),
                                     e.type, e.offset))
    return tuple(sorted(out, key=lambda d: (d.offset, -d.value.shift)))


def _roles(frame: Frame, records: tuple[RecordPlan, ...]) -> RolesPlan | None:
    roles = frame.roles
    if roles is None:
        return None
    last = frame.elements[-1] if frame.elements else None
    ends = (roles.payload is not None and isinstance(last, BytesField)
            and last.name == roles.payload and last.pad is None
            and all(e.present is None for e in frame.elements))
    after: tuple[Element, ...] = ()
    if roles.headers is not None:
        at = [e.name for e in frame.elements].index(roles.headers)
        after = frame.elements[at + 1:]
    return RolesPlan(ends, after, roles.id_view, _header_records(frame, records),
                     _derived_headers(frame))


def _derived_headers(frame: Frame) -> tuple[DerivedHeader, ...]:
    assert frame.roles is not None
    out = []
    for entry in frame.roles.entries:
        parts: list[bytes | BytesField] = []
        for part in entry.parts:
            if isinstance(part, bytes):
                parts.append(part)
                continue
            field = frame.element(part)
            assert isinstance(field, BytesField), "roles.py: an entry reads text or bytes"
            parts.append(field)
        writes = parts[0] if entry.writes is not None else None
        out.append(DerivedHeader(entry.name.encode(), tuple(parts),
                                 writes if isinstance(writes, BytesField) else None))
    return tuple(out)


def _header_records(frame: Frame, records: tuple[RecordPlan, ...]) -> HeaderRecords | None:
    roles = frame.roles
    if roles is None or roles.header_members is None:
        return None
    listed = frame.element(roles.headers or "")
    assert isinstance(listed, ListField), "roles.py: a header list is a list field"
    record = next(r for r in records if r.record.name == listed.record)
    members = {e.name: e for e in record.record.elements}
    key, value = (members[name] for name in roles.header_members)
    assert isinstance(key, BytesField) and isinstance(value, BytesField), "roles.py checked"
    constants = {v.name: c.value for v in record.values for c in v.checks
                 if isinstance(c, MustEqual)}
    fresh = tuple((v.node, constants.get(v.name, 0)) for v in record.values
                  if v.name in constants or v.free)
    return HeaderRecords(listed, record, key, value, fresh)


def _record(record: Record, enums: dict[str, Enum], problems: Problems) -> RecordPlan:
    """A record's members are plain integers in every codec: decode checks their
    constants and closed enums, and they stay numbers. Runs of unconditional
    integers are read together; a varint, a sized member and a member present
    only when its condition holds are each a step of their own."""
    computed: list[ValueNode] = [e for e in record.elements if isinstance(e, IntField)
                                 and e.value is not None and not e.constant]
    steps: list[IntRun | BytesField | VarintField] = []
    run: list[IntField | BitsField] = []

    def close_run() -> None:
        if run:
            steps.append(IntRun(tuple(run), _values(run, enums), sum(i.type.width for i in run)))
            run.clear()

    for e in record.elements:
        if isinstance(e, IntField | BitsField) and e.present is None:
            run.append(e)
            continue
        close_run()
        if isinstance(e, IntField | BitsField):
            steps.append(IntRun((e,), _values([e], enums), e.type.width, e.present))
        else:
            steps.append(e)
    close_run()
    values = tuple(v for step in steps for v in (
        step.values if isinstance(step, IntRun) else
        (Value(step, 0, None, _kept(checks(step, enums))),) if isinstance(step, VarintField)
        else ()))
    return RecordPlan(
        record, values, evaluation_order(computed, problems, partial(_condition, record)),
        tuple(steps),
        fits=tuple(fit(v.node, {}, _present_of(record, v.node)) for v in values
                   if not v.node.constant),
        lengths=tuple(LengthCheck(e, e.size, None, e.present) for e in record.elements
                      if isinstance(e, BytesField)),
    )


def _condition(record: Record, name: str) -> ir.Expr | None:
    """When the member named `name` is on the wire (None: always, or no such member)."""
    return next((e.present for e in record.elements if name in names_of(e)), None)


def _present_of(record: Record, v: ValueNode) -> ir.Expr | None:
    holder = next(e for e in record.elements if v.name in names_of(e))
    return holder.present


def _values(run: list[IntField | BitsField], enums: dict[str, Enum]) -> tuple[Value, ...]:
    out: list[Value] = []
    for e in run:
        if isinstance(e, IntField):
            out.append(Value(e, 0, None, _kept(checks(e, enums))))
        else:
            out.extend(Value(m, m.shift, m.mask, _kept(checks(m, enums))) for m in e.members)
    return tuple(out)


def _kept(found: tuple[Check, ...]) -> tuple[Check, ...]:
    """What a record entry checks of a member: its constant and its closed enum."""
    return tuple(c for c in found if isinstance(c, MustEqual | MustBeMember))


def _builder(b: Builder, frame: FramePlan) -> BuilderPlan:
    answers = b.kind in ("keepalive_reply", "hijack")
    request = b.params[0] if answers and b.params else None
    roles = frame.frame.roles
    built = None
    if roles is not None and roles.id_view is not None and b.id_value is not None:
        field = frame.frame.element(roles.id)
        assert isinstance(field, BytesField), "roles.py: an id view is part of a bytes field"
        built = BuiltId(roles.id, ir.evaluate(field.size), roles.id_view, b.id_value)
    return BuilderPlan(b, frame, request, tuple(p for p in b.params if p != request), built)

