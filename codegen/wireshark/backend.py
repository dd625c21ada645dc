"""Wireshark target: one Lua dissector per protocol, printed from the codec plan.

It decodes as the Python codec does (the same reads, checks and need-more
points, in the same order), shows every field as a ProtoField, the frame and
its roles in the Info column, a malformed frame as expert info, and asks TCP
for the bytes a frame still needs. What it cannot show as the spec means it
(an expression reading a 64-bit value, which Lua 5.2 numbers cannot hold
exactly) is an error naming the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from protodsl.codegen.jinja import environment, render
from protodsl.codegen.wireshark.decode import frame_functions, read_int, record_functions
from protodsl.codegen.wireshark.expr import Scope, boolean, frame_scope, number
from protodsl.codegen.wireshark.fields import Fields, prefix, value_table
from protodsl.codegen.wireshark.lua import LuaEmitter, key, string, wrap

from protodsl.diagnostics import Diagnostic
from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BytesField,
    Frame,
    IntField,
    KvMapField,
    ListField,
    Protocol,
    RecordMember,
    ValueNode,
)
from protodsl.plan import ProtocolPlan, markers, plan_of

# Ports the protocols are known by; any other spec has none (its heuristic, or
# the preference, finds it).
WELL_KNOWN_PORTS = {"bolt": 12200, "boltv2": 12200, "dubbo": 20880, "memcached": 11211,
                    "mqtt": 1883}

EXPERTS = (
    ("constant_mismatch", "Constant mismatch"),
    ("unknown_enum_value", "Unknown enum value"),
    ("unknown_variant", "No frame variant claims these values"),
    ("frame_too_large", "Frame too large"),
    ("negative_size", "Negative size"),
    ("count_mismatch", "Record count mismatch"),
    ("malformed_section", "Length past the section"),
    ("invalid_text", "Text is not UTF-8"),
    ("checksum_mismatch", "Bad checksum"),
    ("malformed_varint", "Malformed varint"),
    ("field_overrun", "Length past the end of the frame"),
    ("leftover_bytes", "Bytes left after the last field"),
    ("state_unset", "Connection state unset"),
)

# Runtime helpers printed only where the generated code calls them (luacheck
# would flag an unused one), with what each calls in turn.
OPTIONAL = {"div": (), "mod": ("div",), "is_in": (), "bits": (), "int_at": (), "hex": (),
            "text_at": ("utf8_error",), "utf8_error": (), "varint": (),
            "crc32": ("band", "bxor", "shr"), "last_of": (), "band": (), "bor": (),
            "bxor": (), "shl": (), "shr": (), "sub": (), "side_get": ("OTHER_SIDE",),
            "OTHER_SIDE": (), "read_kvmap": ("sub",)}


def file_name(protocol: Protocol) -> str:
    return f"{protocol.name}.lua"


def check_target(protocol: Protocol) -> list[Diagnostic]:
    """Lua 5.2's numbers are doubles: a 64-bit value is shown by Wireshark
    itself, but an expression, check or enum that reads one cannot be printed."""
    out: list[Diagnostic] = []

    def wide(what: str, v: ValueNode | RecordMember, holder: str) -> None:
        out.append(Diagnostic(v.span, f"the wireshark target cannot {what} '{v.name}' of "
                              f"'{holder}': a 64-bit value does not fit Lua 5.2's numbers"))

    for frame in protocol.frames:
        eight = {v.name for v in frame.values() if isinstance(v, IntField) and v.type.width == 8}
        read: set[str] = set()
        for x in _expressions(frame):
            read |= ir.fields_read(x)
        for name in sorted(eight & read):
            v = frame.value(name)
            assert v is not None
            wide("compute with", v, frame.name)
        for v in frame.values():
            if v.name in eight and (v.enum or (v.constant and v.value is not None)):
                wide("check", v, frame.name)
    for record in protocol.records:
        for m in record.elements:
            if isinstance(m, IntField) and m.type.width == 8:
                wide("read the record member", m, record.name)
    return out


def _expressions(frame: Frame) -> list[ir.Expr]:
    out: list[ir.Expr] = [frame.when, frame.size, *(s.value for s in frame.sets)]
    for e in frame.elements:
        if e.present is not None:
            out.append(e.present)
        if isinstance(e, BytesField | KvMapField | ListField) and not isinstance(e.size, ir.Rest):
            out.append(e.size)
    roles = frame.roles
    if roles is not None:
        out += [x for x in (roles.oneway, roles.heartbeat, roles.derived) if x is not None]
    return out


def generate(protocol: Protocol, out_dir: Path | None = None) -> dict[str, str]:
    """{file name: text}: one Lua script; where it goes does not change it."""
    plan = plan_of(protocol)
    source = protocol.span.file.rsplit("/", 1)[-1]
    env = environment("protodsl.codegen.wireshark", (("lua", string),))
    return {file_name(protocol): wrap(render(env, "dissector.lua.j2", m=_view(plan, source)))}


def _view(plan: ProtocolPlan, source: str) -> dict[str, Any]:
    protocol = plan.protocol
    frames, records = frame_functions(plan), record_functions(plan)
    dispatch, summary = _dispatch(plan), _summary(plan)
    states = _next_state(plan) if protocol.state else ""
    code = "\n".join([*frames, *records, dispatch, summary, states])
    uses = _uses(code + ("read_kvmap(" if _kvmaps(protocol) else ""))
    return {
        "name": protocol.name,
        "title": f"{protocol.name} ({protocol.mosn_name})",
        "description": f"{protocol.name} ({protocol.mosn_name}), protodsl",
        "source": source,
        "prefix": prefix(protocol),
        "column": protocol.name,
        "max_frame": protocol.max_frame,
        "discriminator_size": protocol.discriminator_size,
        "port": WELL_KNOWN_PORTS.get(protocol.name, 0),
        "heuristic": _recognisable(plan),
        "stateful": bool(protocol.state),
        "state_names": ", ".join(m.name for m in protocol.state),
        "value_strings": [_value_string(e.name, [(m.value, m.name) for m in e.members])
                          for e in protocol.enums],
        "fields": [f.declaration() for f in Fields(protocol).items],
        "experts": EXPERTS,
        "kvmaps": _kvmaps(protocol),
        "records": records,
        "frames": frames,
        "dispatch": dispatch,
        "summary": summary,
        "next_state": states,
        "initial": _initial(protocol),
        "uses": uses,
        "bit_ops": [op for op in ("band", "bor", "bxor", "shl", "shr") if op in uses],
    }


def _uses(code: str) -> set[str]:
    called = {name for name in OPTIONAL if re.search(rf"\b{name}[(\[]", code)}
    todo = list(called)
    while todo:
        for dep in OPTIONAL[todo.pop()]:
            if dep not in called:
                called.add(dep)
                todo.append(dep)
    return called


def _value_string(name: str, members: list[tuple[int, str]]) -> str:
    body = "".join(f"\n  [{value}] = {string(member)}," for value, member in members)
    return f"local {value_table(name)} = {{{body}\n}}"


def _kvmaps(protocol: Protocol) -> list[str]:
    out = []
    for frame in protocol.frames:
        for e in frame.elements:
            if not isinstance(e, KvMapField):
                continue
            scope = f"{frame.name}.{e.name}"
            key_null, value_null = e.null_lengths() if e.null_drop else (-1, -1)
            little = e.key_length.byte_order == "little"
            fields = ", ".join(f"{part} = F[{string(scope + suffix)}]" for part, suffix in (
                ("section", ""), ("entry", ".entry"), ("null", ".null"),
                ("key_len", ".key_len"), ("key", ".key"), ("value_len", ".value_len"),
                ("value", ".value")))
            out.append(
                f"  [{string(scope)}] = {{\n    name = {string(e.name)},\n    {fields},\n"
                f"    key_width = {e.key_length.width}, value_width = {e.value_length.width}, "
                f"le = {str(little).lower()},\n    key_null = {key_null}, "
                f"value_null = {value_null}, between = {string(e.between)},\n  }},")
    return out


def _recognisable(plan: ProtocolPlan) -> bool:
    """Every frame has a constant at a fixed offset of its header: a stream
    can be told apart from others by its first frame."""
    return all(markers(f) for f in plan.frames)


def _dispatch(plan: ProtocolPlan) -> str:
    out = LuaEmitter(1)
    masked = any(d.value.mask is not None for d in plan.discriminators)
    out.line("local d = {}")
    if masked:
        out.line("local c")
    container: int | None = None
    for d in plan.discriminators:
        at = f"base + {d.offset}"
        if d.value.mask is None:
            out.line(f"{key('d', d.value.name)} = {read_int(d.container, at)}")
            continue
        if container != d.offset:
            container = d.offset
            out.line(f"c = {read_int(d.container, at)}")
        out.line(f"{key('d', d.value.name)} = bits(c, {d.value.shift}, {d.value.mask})")
    for f in plan.frames:
        scope = frame_scope(f.name, values="d")
        with out.block(f"if {boolean(f.frame.when, scope)} then"):
            for member in f.frame.state_reads():
                out.line(f"state_get(st, {string(member)}, {string(f.name)})")
            out.line(f"return {string(f.name)}, decode_{f.name}(tvb, base, avail, st, kids, v, n)")
    if plan.discriminators:
        first = plan.discriminators[0]
        shown = ' .. ", " .. '.join(f'"{d.value.name}=" .. num({key("d", d.value.name)})'
                                    for d in plan.discriminators)
        out.line(f"malformed(E.unknown_variant, {string(first.value.name)}, base + "
                 f"{first.offset}, {first.container.width}, {shown})")
    else:
        out.line('malformed(E.unknown_variant, "frame", base, 0, "no frame variant holds")')
    return out.text()


def _summary(plan: ProtocolPlan) -> str:
    out = LuaEmitter(1)
    for f in plan.frames:
        roles = f.frame.roles
        if roles is None:
            continue
        scope = frame_scope(f.name)
        with out.block(f"if name == {string(f.name)} then"):
            kind = string(roles.kind)
            if roles.oneway is not None:
                kind = f'({boolean(roles.oneway, scope)} and "oneway" or "request")'
            out.line(f'local text = name .. " (" .. {kind} .. " id=" .. '
                     f'num({_id(f.frame, scope)})')
            if roles.heartbeat is not None:
                with out.block(f"if {boolean(roles.heartbeat, scope)} then"):
                    out.line('text = text .. " heartbeat"')
            status = _status(f.frame, scope)
            if status is not None:
                out.line(f'text = text .. " status=" .. {status}')
            out.line('return text .. ")"')
    out.line("return name")
    return out.text()


def _id(frame: Frame, scope: Scope) -> str:
    roles = frame.roles
    assert roles is not None
    view = roles.id_view
    if view is None:
        return scope.value(roles.id)
    field = frame.element(roles.id)
    assert field is not None and field.offset is not None, "roles.py: the id is in the header"
    little = "true" if view.byte_order == "little" and view.width > 1 else "false"
    return f"uint_at(tvb, base + {field.offset + view.start}, {view.width}, {little})"


def _status(frame: Frame, scope: Scope) -> str | None:
    roles = frame.roles
    assert roles is not None
    if roles.derived is not None and roles.kind == "response":
        return f"num({number(roles.derived, scope)})"
    if roles.status is None:
        return None
    value = scope.value(roles.status)
    v = frame.value(roles.status)
    if v is not None and v.enum is not None:
        return f"({value_table(v.enum)}[{value}] or num({value}))"
    return f"num({value})"


def _next_state(plan: ProtocolPlan) -> str:
    out = LuaEmitter(1)
    for f in plan.frames:
        if not f.frame.sets:
            continue
        scope = frame_scope(f.name)
        with out.block(f"if name == {string(f.name)} then"):
            out.line("local after = copy(st)")
            values = [number(s.value, scope) for s in f.frame.sets]
            for s, value in zip(f.frame.sets, values, strict=True):
                if s.side is None:
                    out.line(f"after[{string(s.name)}] = {value}")
                else:
                    whose = "st.side" if s.side == "sender" else "OTHER_SIDE[st.side]"
                    out.line(f'after[{whose} .. {string("." + s.name)}] = {value}')
            out.line("return after")
    out.line("return st")
    return out.text()


def _initial(protocol: Protocol) -> list[tuple[str, int]]:
    return [(slot, m.initial) for m in protocol.state if m.initial is not None
            for slot in m.slots()]

