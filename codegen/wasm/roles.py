"""What MOSN's x-protocol calls need of a frame with roles: its flag, the
DecodeData and EncodeData buffers around it, what is remembered between its
decode and its encode, and whether its encode can stay in the host's buffer
(the plan's `RolesPlan` says when the payload ends the frame)."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.wasm.expr import FrameNames, to_c
from protodsl.codegen.wasm.headers import (
    DerivedView,
    HeaderListView,
    derived_view,
    header_list_view,
)
from protodsl.codegen.wasm.layout import kv_fmt, where
from protodsl.codegen.wasm.naming import c_string, ident

from protodsl.ir.model import (
    BytesField,
    Element,
    IntField,
    KvMapField,
    ListField,
    VarintField,
    fixed_width,
)
from protodsl.plan import FramePlan, ProtocolPlan

# Bytes of the EncodeData prefix: u32 0 | u8 flag | u64 id | u32 t/s | u32 frame_len.
ENCODE_PREFIX = 21
# Bytes of the DecodeData fixed part around the header map: u32 header_bytes and
# u8 flag | u64 id | u32 t/s | u32 drain_len | u32 payload_len.
DECODE_FIXED = 25


@dataclass(frozen=True)
class Keep:
    """A variable field copied into the pool when the frame is remembered (a
    list as its wire bytes, which encode writes again)."""

    member: str  # through `fr`
    name: str  # the struct member


@dataclass(frozen=True)
class IdInto:
    """Encode's new id into a view of a remembered bytes field (runtime
    pd_id_into), refused with `refusal` (a C string) when it does not fit."""

    field: str  # the pd_bytes member
    args: str  # at, width, little
    refusal: str
    where: str


@dataclass(frozen=True)
class RolesView:
    kind: str
    base_flag: str
    oneway: str | None  # parenthesised C condition on `fr`
    heartbeat: str | None
    id_member: str  # the id, through `fr` (an integer member, or a view's read)
    id_from_host: str  # the new id from `cmd`; encode checks that it fits
    # What report writes as the id: read into a local first when it is a view,
    # since report may write over the input the view's bytes are in.
    id_report: str
    id_into: IdInto | None  # the id is part of a bytes field
    request_reads: tuple[tuple[str, str], ...]  # struct pd_req member, its value from `fr`
    tos_member: str | None  # the field MOSN's timeout or status is written back to
    tos_value: str | None  # what MOSN is told: that field, or a derived role's expression
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
    # `headers = tags(key, value)`: the list's C functions, and the struct member
    # keeping its entries as decoded, which encode merges MOSN's headers into.
    header_list: HeaderListView | None
    kept_headers: str | None
    # `headers = ... + { ... }`: the derived headers a report appends, and those
    # whose MOSN value encode writes into their field (kept as decoded too).
    derived: DerivedView | None


def payload_literal(plan: ProtocolPlan, frame: FramePlan) -> str | None:
    """The struct member keeping a built frame's literal payload, when a
    builder of this frame gives its payload one."""
    roles = frame.frame.roles
    if roles is None or roles.payload is None:
        return None
    if any(b.frame is frame and roles.payload in dict(b.builder.data) for b in plan.builders):
        return ident("lit", "payload")
    return None


def roles_view(plan: ProtocolPlan, frame: FramePlan, names: FrameNames) -> RolesView | None:
    roles, layout = frame.frame.roles, frame.roles
    if roles is None or layout is None:
        return None
    spec = frame.frame
    tos_name = roles.timeout if roles.kind == "request" else roles.status
    tos_value = (names.field(tos_name) if tos_name is not None
                 else to_c(roles.derived, names) if roles.derived is not None else None)
    tos_from_host = None
    if tos_name is not None:
        tos = spec.value(tos_name)
        signed = isinstance(tos, IntField) and tos.type.signed
        tos_from_host = ("pd_sext(cmd->timeout_or_status, 32)" if signed
                         else "(pd_i64)cmd->timeout_or_status")
    headers = spec.element(roles.headers) if roles.headers else None
    role_members = {roles.headers, roles.payload} - {None}
    view = layout.id_view
    id_member = names.field(roles.id)
    id_into = None
    if view is not None:
        args = f"{view.start}u, {view.width}u, {int(view.byte_order == 'little')}"
        id_member = f"pd_id_of({id_member}, {args})"
        id_into = IdInto(names.field(roles.id), args,
                         c_string(f"id does not fit {view.width} bytes:"), where(spec, roles.id))
    reads = {name: names.field(name) for name in plan.request_fields}
    listed = layout.header_records
    kept_headers = (Keep(names.field(listed.list.name), ident("hk", listed.list.name)),
                    ) if listed else ()
    derived = derived_view(spec, layout.derived_headers, names)
    kept_derived = tuple(Keep(e.write.member, e.write.decoded) for e in derived.entries
                         if e.write is not None) if derived else ()
    return RolesView(
        kind=roles.kind,
        base_flag="PD_FLAG_REQUEST" if roles.kind == "request" else "PD_FLAG_RESPONSE",
        oneway=names.test(roles.oneway) if roles.oneway is not None else None,
        heartbeat=names.test(roles.heartbeat) if roles.heartbeat is not None else None,
        id_member=id_member,
        id_from_host="(pd_i64)cmd->replaced_id",
        id_report="id" if view is not None else f"(pd_u64){id_member}",
        id_into=id_into,
        request_reads=tuple((ident("f", name), value) for name, value in reads.items()),
        tos_member=names.field(tos_name) if tos_name is not None else None,
        tos_value=tos_value,
        tos_from_host=tos_from_host,
        headers=names.field(roles.headers) if roles.headers else None,
        headers_fmt=kv_fmt(headers) if isinstance(headers, KvMapField) else "",
        headers_where=where(spec, roles.headers) if roles.headers else "",
        payload=names.field(roles.payload) if roles.payload else None,
        encode_in_place=layout.payload_ends_frame,
        headers_tail=" + ".join(_written_size(e, names) for e in layout.after_headers)
        if layout.payload_ends_frame else "",
        # The timeout or status is kept too: a built frame's stays when MOSN passes 0.
        kept_values=tuple(ident("f", v.name) for v in spec.values()
                          if v.value is None and v.name != roles.id),
        kept=tuple(Keep(names.field(e.name), ident("f", e.name)) for e in spec.elements
                   if isinstance(e, BytesField | KvMapField | ListField)
                   and e.name not in role_members) + kept_headers + kept_derived,
        literal=payload_literal(plan, frame),
        header_list=header_list_view(listed) if listed else None,
        kept_headers=kept_headers[0].name if kept_headers else None,
        derived=derived,
    )


def _written_size(e: Element, names: FrameNames) -> str:
    """C text of the bytes encode writes for element `e` (fin has checked
    every length against its size)."""
    width = fixed_width(e)
    if width is not None:
        return f"{width}u"
    if isinstance(e, VarintField):
        return f"(pd_u64)pd_varint_len((pd_u64){names.field(e.name)})"
    return f"(pd_u64){names.field(e.name)}.len"
