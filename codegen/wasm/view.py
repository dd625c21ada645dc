"""What the C template prints, from the codec plan: per frame its struct, its
decoder, its encoder and what MOSN's calls need of it; the dispatcher's reads,
the closed enums, the builders. The plan decides; these views only choose C
names, types and runtime calls. Built fresh per call; nothing is sorted by hash."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.wasm.builders import BuilderView, builder_view
from protodsl.codegen.wasm.decode import DecoderView, DispatchRead, decoder, dispatch_reads
from protodsl.codegen.wasm.encode import EncoderView, encoder
from protodsl.codegen.wasm.expr import DiscriminatorNames, FrameNames, c_int, to_c
from protodsl.codegen.wasm.headers import HeaderListView, header_list_view
from protodsl.codegen.wasm.layout import Member, kv_format, members, where
from protodsl.codegen.wasm.naming import c_string, comment_inline, comment_lines, ident
from protodsl.codegen.wasm.records import RecordView, record_view
from protodsl.codegen.wasm.roles import RolesView, payload_literal, roles_view
from protodsl.codegen.wasm.wide import as_bytes

from protodsl.ir import expr as ir
from protodsl.ir.model import Enum, KvMapField, ListField, Protocol
from protodsl.plan import FramePlan, ProtocolPlan, plan_of


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
    # A request frame, when heartbeat replies copy bytes: (pd_req member, log
    # name) of each bytes field the heartbeat's slot keeps for the reply.
    hb_kept: tuple[tuple[str, str], ...]
    accept: str
    where: str
    members: tuple[Member, ...]
    decoder: DecoderView
    encoder: EncoderView
    roles: RolesView | None
    when: str  # parenthesised C condition on the discriminator locals
    when_reads_state: bool  # tried with the state's set bits checked (pd_state_get)
    # The connection's state (a spec with a state block): the function checking
    # that the members the frame reads are set, and its checks; the function
    # giving the state after the frame, and its assignments.
    needs: str | None = None
    state_checks: tuple[StateCheck, ...] = ()
    next: str | None = None
    sets: tuple[tuple[str, str], ...] = ()  # (pd_state member, C value)


@dataclass(frozen=True)
class StateCheck:
    """A state member read before a frame: its set bit, and the Python codec's
    StateUnset message when it is not set."""

    mask: str
    message: str  # C string literal


@dataclass(frozen=True)
class StateMemberView:
    member: str
    name: str
    doc: str
    initial: str  # C literal; 0 when unset
    mask: str  # its bit in pd_state's `set`


@dataclass(frozen=True)
class EnumCheck:
    fn: str
    name: str
    doc: str
    cases: tuple[tuple[str, str], ...]  # (C literal, member name)


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
    kv_formats: tuple[tuple[str, str], ...]  # (name, initializer) of each map format
    frames: tuple[FrameView, ...]
    discriminators: tuple[DispatchRead, ...]
    # What the builders read of the request they answer, from whichever request
    # frame decoded it: the members of `struct pd_req` and the frames that fill it.
    request_members: tuple[str, ...]
    request_bytes: tuple[str, ...]  # pd_bytes members: fields copied
    heartbeat_bytes: bool  # heartbeat slots keep the copied fields' bytes for the reply
    request_frames: tuple[FrameView, ...]
    records: tuple[RecordView, ...]  # those a frame lists
    header_lists: tuple[HeaderListView, ...]  # one per (record, key, value) a frame's headers are
    keepalive: BuilderView | None
    keepalive_reply: BuilderView | None
    hijack: BuilderView | None
    state: tuple[StateMemberView, ...] = ()
    state_initial_set: str = "0"  # the set bits of a new connection's state


def build_view(protocol: Protocol) -> ProtocolView:
    protocol = as_bytes(protocol)
    plan = plan_of(protocol)
    frames = tuple(_frame(plan, f) for f in plan.frames)
    masks = _state_masks(protocol)
    builders = {b.builder.kind: builder_view(b, frames[b.frame.index]) for b in plan.builders}
    return ProtocolView(
        name=protocol.name,
        mosn_name_comment=comment_inline(protocol.mosn_name),
        mosn_name=c_string(protocol.mosn_name),
        log_name=c_string(protocol.name),
        doc=tuple(comment_lines(protocol.doc)),
        max_frame=protocol.max_frame,
        discriminator_size=protocol.discriminator_size,
        enums=tuple(_enum_check(e) for e in plan.closed_enums),
        kv_formats=tuple(sorted({kv_format(e) for f in protocol.frames for e in f.elements
                                 if isinstance(e, KvMapField)})),
        frames=frames,
        discriminators=dispatch_reads(plan.discriminators),
        request_members=tuple(ident("f", name) for name in plan.request_fields),
        request_bytes=tuple(ident("f", name) for name in plan.request_bytes),
        heartbeat_bytes=_heartbeat_bytes(plan),
        request_frames=tuple(frames[f.index] for f in plan.request_frames),
        records=tuple(record_view(r, r.record.name in _counted(plan)) for r in plan.records
                      if any(isinstance(e, ListField) and e.record == r.record.name
                             for f in protocol.frames for e in f.elements)),
        header_lists=tuple({v.merge_fn: v for v in (
            header_list_view(f.roles.header_records) for f in plan.frames
            if f.roles is not None and f.roles.header_records is not None)}.values()),
        keepalive=builders.get("keepalive"),
        keepalive_reply=builders.get("keepalive_reply"),
        hijack=builders.get("hijack"),
        state=tuple(StateMemberView(ident("s", m.name), m.name, comment_inline(m.doc),
                                    c_int(m.initial or 0), masks[m.name])
                    for m in protocol.state),
        state_initial_set=_mask_literal(sum(1 << i for i, m in enumerate(protocol.state)
                                            if m.initial is not None)),
    )


def _mask_literal(bits: int) -> str:
    return f"0x{bits:x}ull"


def _state_masks(protocol: Protocol) -> dict[str, str]:
    """Each state member's bit in `struct pd_state`'s set bits, in declaration order."""
    return {m.name: _mask_literal(1 << i) for i, m in enumerate(protocol.state)}


def _state_checks(protocol: Protocol, members: list[str] | tuple[str, ...], frame: str
                  ) -> tuple[StateCheck, ...]:
    """Checks in the order the Python codec's `_require` makes them, with its words."""
    masks = _state_masks(protocol)
    return tuple(StateCheck(masks[m], c_string(
        f"state.{m}: state '{m}' is read by frame '{frame}' but was never set "
        f"(no earlier frame set it)")) for m in members)


def _counted(plan: ProtocolPlan) -> set[str]:
    """The records whose lists some frame counts (`count(list)`): computed on
    encode, checked on decode (the plan's recounts)."""
    out = set()
    for fp in plan.frames:
        for c in fp.encode.computed:
            for node in ir.walk(c.expr):
                if isinstance(node, ir.CountOf):
                    element = fp.frame.element(node.field)
                    assert isinstance(element, ListField)
                    out.add(element.record)
    return out


def _heartbeat_bytes(plan: ProtocolPlan) -> bool:
    """Whether a heartbeat request's copied bytes outlive its decode: a keepalive
    reply reads them in a later call."""
    return plan.builder("keepalive_reply") is not None and bool(plan.request_bytes)


def _enum_check(enum: Enum) -> EnumCheck:
    """A membership test of a closed enum some field uses."""
    return EnumCheck(
        fn=ident("isok", enum.name),
        name=enum.name,
        doc=comment_inline(enum.doc),
        cases=tuple((c_int(m.value), m.name) for m in enum.members),
    )


def _frame(plan: ProtocolPlan, fp: FramePlan) -> FrameView:
    frame = fp.frame
    names = FrameNames(frame, {r.name: r for r in plan.protocol.records})
    reads = frame.state_reads()
    return FrameView(
        name=frame.name,
        index=fp.index,
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
        hb_kept=tuple((ident("f", name), where(frame, name)) for name in plan.request_bytes)
        if _heartbeat_bytes(plan) and any(r is fp for r in plan.request_frames) else (),
        accept=ident("accept", frame.name),
        where=c_string(frame.name),
        members=members(frame, payload_literal(plan, fp),
                        fp.roles.header_records.list.name
                        if fp.roles and fp.roles.header_records else None,
                        tuple(d.writes.name for d in fp.roles.derived_headers
                              if d.writes is not None) if fp.roles else ()),
        decoder=decoder(fp.decode, names),
        encoder=encoder(fp.encode, names, {r.record.name: r for r in plan.records},
                        fp.decode.header_size),
        roles=roles_view(plan, fp, names),
        when=DiscriminatorNames(frame, _state_masks(plan.protocol)).test(frame.when),
        when_reads_state=bool(ir.state_read(frame.when)),
        needs=ident("needs", frame.name) if reads else None,
        state_checks=_state_checks(plan.protocol, reads, frame.name),
        next=ident("next", frame.name) if frame.sets else None,
        sets=tuple((ident("s", s.name), to_c(s.value, names)) for s in frame.sets),
    )
