"""Frames as JSON, the CLI's format: roles first, then every named field.

Bytes print as text when they are UTF-8 and as {"hex": ...} otherwise; enum
values print as their member names. Both forms are accepted back by `encode`."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

from protodsl.host import DecodedCommand
from protodsl.ir import Frame, KvMapField, ListField, Protocol


class JsonFrameError(Exception):
    """A JSON object that does not describe a frame of this protocol."""


def show_bytes(data: bytes) -> Any:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": data.hex()}


def read_bytes(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and isinstance(value.get("hex"), str):
        try:
            return bytes.fromhex(value["hex"])
        except ValueError:
            raise JsonFrameError(f"{where}: invalid hex") from None
    raise JsonFrameError(f"{where}: expected a string or {{\"hex\": ...}}")


def _show(value: Any) -> Any:
    if isinstance(value, bytes):
        return show_bytes(value)
    if isinstance(value, list):
        return [{k: _show(v) for k, v in dataclasses.asdict(item).items()}
                if dataclasses.is_dataclass(item) and not isinstance(item, type)
                else [show_bytes(item[0]), show_bytes(item[1])] for item in value]
    if isinstance(value, int) and hasattr(value, "name"):
        return value.name
    return value


def frame_of(codec: ModuleType, protocol: Protocol, frame: Any) -> Frame:
    index: int = codec.FRAMES.index(type(frame))
    return protocol.frames[index]


def frame_json(codec: ModuleType, protocol: Protocol, frame: Any, consumed: int) -> dict[str, Any]:
    spec = frame_of(codec, protocol, frame)
    out: dict[str, Any] = {"frame": spec.name}
    if spec.roles is not None:
        out["kind"] = codec.kind(frame)
        out["id"] = codec.command_id(frame)
        out["heartbeat"] = codec.is_heartbeat(frame)
        if spec.roles.kind == "request":
            out["timeout"] = codec.timeout(frame)
        else:
            out["status"] = codec.status(frame)
        out["headers"] = [[show_bytes(k), show_bytes(v)] for k, v in codec.headers(frame)]
        out["payload_hex"] = codec.payload(frame).hex()
    out["consumed"] = consumed
    out["fields"] = {name: _show(value) for name, value in codec.field_values(frame).items()}
    return out


def command_json(protocol: Protocol, command: DecodedCommand) -> dict[str, Any]:
    """The same roles as `frame_json`, as a MOSN plugin reports them. The ABI
    carries no field values; the variant is named when only one has this kind."""
    out: dict[str, Any] = {}
    kind = "response" if command.kind == "response" else "request"
    variants = [f.name for f in protocol.frames if f.roles and f.roles.kind == kind]
    if len(variants) == 1:
        out["frame"] = variants[0]
    out |= {
        "kind": command.kind,
        "id": command.id,
        "heartbeat": command.heartbeat,
    }
    if command.kind == "response":
        out["status"] = command.timeout_or_status
    else:
        value = command.timeout_or_status
        out["timeout"] = value - (1 << 32) if value >= 1 << 31 else value
    out["headers"] = [[show_bytes(k), show_bytes(v)] for k, v in command.headers]
    out["payload_hex"] = command.payload.hex()
    out["consumed"] = command.drain_len
    return out


def frame_from_json(codec: ModuleType, protocol: Protocol, obj: Any) -> Any:
    if not isinstance(obj, dict):
        raise JsonFrameError("expected a JSON object")
    names = [f.name for f in protocol.frames]
    name = obj.get("frame", names[0] if len(names) == 1 else None)
    if name not in names:
        raise JsonFrameError(f"'frame' must be one of {', '.join(names)}")
    spec = protocol.frames[names.index(name)]
    cls = codec.FRAMES[names.index(name)]
    fields = obj.get("fields", {})
    if not isinstance(fields, dict):
        raise JsonFrameError("'fields' must be an object")
    free = set(spec.free_names())
    kwargs: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in free:
            if spec.value(key) is None and spec.element(key) is None:
                raise JsonFrameError(f"frame '{name}' has no field '{key}'")
            continue  # constants and computed lengths are written by encode
        kwargs[codec.ATTRS[name][key]] = _field_value(codec, protocol, spec, key, value)
    frame = cls(**kwargs)
    roles: dict[str, Any] = {}
    if spec.roles is not None:
        if "id" in obj:
            roles["id"] = _int(obj["id"], "id")
        for role in ("timeout", "status"):
            if obj.get(role) is not None:
                roles["timeout_or_status"] = _int(obj[role], role)
        if "headers" in obj:
            roles["headers"] = _pairs(obj["headers"], "headers")
        if "payload_hex" in obj:
            roles["payload"] = read_bytes({"hex": obj["payload_hex"]}, "payload_hex")
    return codec.with_roles(frame, **roles) if roles else frame


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise JsonFrameError(f"{where}: expected an integer")
    return value


def _record_member(value: Any, hint: str | None, where: str) -> Any:
    """One member of a record: text, bytes (text or {"hex": ...}) or an integer."""
    if hint == "str":
        data = read_bytes(value, where)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonFrameError(f"{where}: text must be UTF-8") from None
    if hint == "bytes":
        return read_bytes(value, where)
    return _int(value, where)


def _pairs(value: Any, where: str) -> list[tuple[bytes, bytes]]:
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise JsonFrameError(f"{where}: expected a list of [key, value]")
    return [(read_bytes(k, where), read_bytes(v, where)) for k, v in value]


def _field_value(codec: ModuleType, protocol: Protocol, spec: Frame, key: str, value: Any
                 ) -> Any:
    node = spec.value(key)
    if node is not None:
        if isinstance(value, str) and node.enum:
            enum = protocol.enum(node.enum)
            member = enum.member(value) if enum else None
            if member is None:
                raise JsonFrameError(f"{key}: '{value}' is not a member of {node.enum}")
            return member.value
        return _int(value, key)
    element = spec.element(key)
    if isinstance(element, KvMapField):
        return _pairs(value, key)
    if isinstance(element, ListField):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise JsonFrameError(f"{key}: expected a list of objects")
        cls = codec.RECORDS[element.record]
        attrs = codec.ATTRS[element.record]
        try:
            hints = {f.name: str(f.type) for f in dataclasses.fields(cls)}
            return [cls(**{attrs.get(k, k): _record_member(v, hints.get(attrs.get(k, k)),
                                                           f"{key}.{k}")
                           for k, v in item.items()})
                    for item in value]
        except TypeError as exc:
            raise JsonFrameError(f"{key}: {exc}") from None
    data = read_bytes(value, key)
    if getattr(element, "text", False):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonFrameError(f"{key}: text must be UTF-8") from None
    return data
