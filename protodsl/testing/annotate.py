"""Bytes shown field by field, so a counterexample reads like the spec."""

from __future__ import annotations

from types import ModuleType

from protodsl.codecs import state_env
from protodsl.ir import BitsField, BytesField, IntField, KvMapField, ListField, Protocol
from protodsl.ir import expr as ir

_SHOWN = 12


def _hex(data: bytes) -> str:
    text = data[:_SHOWN].hex(" ")
    return text + (f" ... ({len(data)} bytes)" if len(data) > _SHOWN else "")


def annotate(protocol: Protocol, codec: ModuleType, data: bytes) -> str:
    """One line per field of the frame these bytes start with, as far as the
    bytes and the layout go; then any bytes left over."""
    lines: list[str] = []
    offset = 0
    try:
        result = codec.decode(data)
    except codec.ProtocolError as exc:
        result = None
        lines.append(f"(malformed: {exc})")
    if result is not None and not isinstance(result, codec.NeedMore):
        frame_ir = protocol.frames[codec.FRAMES.index(type(result.frame))]
        values = codec.field_values(result.frame)
        # a layout reads the state the codec is bound to, as well as the fields
        ints = {k: int(v) for k, v in values.items() if isinstance(v, int)} | state_env(codec)
        for e in frame_ir.elements:
            if e.present is not None and not ir.evaluate(e.present, ints):
                continue  # not on the wire
            if isinstance(e, IntField | BitsField):
                width = e.type.width
            elif isinstance(e, KvMapField):
                width = codec._kvmap_size(values[e.name], e.overhead)
            elif isinstance(e, ListField):
                width = getattr(codec, f"_record_len_{e.record}")(values[e.name])
            else:
                assert isinstance(e, BytesField)
                raw = values[e.name]
                width = len(raw.encode() if isinstance(raw, str) else raw)
                if e.pad is not None:
                    width = _fixed(e.size, width)
            chunk = data[offset:offset + width]
            if isinstance(e, BitsField):
                shown = ", ".join(f"{m.name}={int(values[m.name])}" for m in e.members)
            elif isinstance(e, IntField):
                value = values[e.name]
                shown = f"{e.name} = {int(value)}" + (f" ({value.name})" if hasattr(
                    value, "name") else "")
            elif isinstance(e, KvMapField | ListField):
                shown = f"{e.name}: {len(values[e.name])} items"
            else:
                shown = f"{e.name}: {width} bytes"
            lines.append(f"{offset:04x}  {_hex(chunk):<42} {shown}")
            offset += width
    else:
        frame_ir = protocol.frames[0]
        for e in frame_ir.elements:
            if e.offset is None or not isinstance(e, IntField | BitsField):
                break
            chunk = data[e.offset:e.offset + e.type.width]
            if len(chunk) < e.type.width:
                break
            lines.append(f"{e.offset:04x}  {_hex(chunk):<42} {e.name} (as in frame "
                         f"'{frame_ir.name}')")
            offset = e.offset + e.type.width
    if offset < len(data):
        lines.append(f"{offset:04x}  {_hex(data[offset:]):<42} (rest)")
    return "\n".join(lines) if lines else "(no bytes)"


def _fixed(size: object, default: int) -> int:
    return ir.evaluate(size) if isinstance(size, ir.Const) else default
