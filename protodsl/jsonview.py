"""Frames as JSON, the CLI's format, one object per frame: the frame's name,
its MOSN roles, the bytes it took (`consumed`) and every named field.

`fields` is the frame: `encode` writes what `fields` says and nothing else.
The other keys are what decode saw, for reading: `encode` accepts them when they
agree with `fields` and refuses them when they do not, as it refuses any key it
does not know, so an edit is never lost silently.

- Bytes print as text when they are UTF-8 and as {"hex": ...} otherwise; enum
  values print as their member names. `encode` takes either form, and numbers.
- A role the frame does not declare (dubbo's requests have no timeout) is null;
  so is a field that is not on the wire (its `if` condition does not hold), and
  `encode` takes null (or no key) for it.
- Bytes after the last whole frame print as {"need_more": true, "have": N,
  "hex": ...}; `encode` writes them back as they were."""

from __future__ import annotations

import dataclasses
import json
from types import ModuleType
from typing import TYPE_CHECKING, Any

from protodsl.codecs import state_env, state_of
from protodsl.codegen.numbers import literal_format
from protodsl.ir import BitsField, Frame, IntField, KvMapField, ListField, Protocol
from protodsl.ir import expr as ir
from protodsl.ir.model import names_of

if TYPE_CHECKING:  # the host (wasmtime) only for `--engine wasm`, which imports it itself
    from protodsl.host import DecodedCommand

# Every key `frame_json` may print; all but `fields` (and `frame`, which picks
# the variant) are output only.
FRAME_KEYS = ("frame", "kind", "id", "heartbeat", "timeout", "status", "headers",
              "payload_hex", "consumed", "fields")
NEED_MORE_KEYS = ("need_more", "have", "hex")


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
    if isinstance(value, dict) and set(value) == {"hex"} and isinstance(value["hex"], str):
        try:
            return bytes.fromhex(value["hex"])
        except ValueError:
            raise JsonFrameError(f"{where}: invalid hex") from None
    raise JsonFrameError(f"{where}: expected a string or {{\"hex\": ...}}")


def _show(codec: ModuleType, protocol: Protocol, node: Any, value: Any) -> Any:
    """A field's value as JSON: `node` is its IR element or value (for an enum's
    member names, which are the spec's, not the generated module's: `True`, not
    `True_`), or None."""
    if isinstance(value, bytes):
        return show_bytes(value)
    if isinstance(value, list) and isinstance(node, ListField):
        record = protocol.record(node.record)
        spec_names = {attr: name for name, attr in codec.ATTRS[node.record].items()}
        members = {e.name: e for e in record.elements} if record else {}
        out = []
        for item in value:
            shown = {spec_names.get(k, k): v for k, v in dataclasses.asdict(item).items()}
            env = record.entry_env(shown) if record else {}
            out.append({k: _show(codec, protocol, members.get(k), v) for k, v in shown.items()
                        if _on_wire(members.get(k), env)})
        return out
    if isinstance(value, list):
        return [[show_bytes(k), show_bytes(v)] for k, v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        enum = protocol.enum(node.enum) if getattr(node, "enum", None) else None
        member = next((m for m in enum.members if m.value == value), None) if enum else None
        return member.name if member is not None else int(value)
    return value


def _on_wire(member: Any, values: dict[str, int]) -> bool:
    """A record member an entry carries: no condition, or its condition holds."""
    present = getattr(member, "present", None)
    return present is None or bool(ir.evaluate(present, values))


def frame_of(codec: ModuleType, protocol: Protocol, frame: Any) -> Frame:
    index: int = codec.FRAMES.index(type(frame))
    return protocol.frames[index]


def need_more_json(rest: bytes) -> dict[str, Any]:
    """The bytes after the last whole frame: not a frame yet."""
    return {"need_more": True, "have": len(rest), "hex": rest.hex()}


def frame_json(codec: ModuleType, protocol: Protocol, frame: Any, consumed: int,
               state: Any = None) -> dict[str, Any]:
    """`frame` as decode prints it; `state`: the connection's before it (by default
    the one `codec` is bound to, else a new connection's)."""
    spec = frame_of(codec, protocol, frame)
    out: dict[str, Any] = {"frame": spec.name}
    roles = spec.roles
    if roles is not None:
        out["kind"] = codec.kind(frame)
        out["id"] = codec.command_id(frame)
        out["heartbeat"] = codec.is_heartbeat(frame)
        if roles.kind == "request":
            out["timeout"] = codec.timeout(frame)
        else:
            out["status"] = codec.status(frame)
        out["headers"] = ([[show_bytes(k), show_bytes(v)] for k, v in codec.headers(frame)]
                          if roles.headers else None)
        out["payload_hex"] = codec.payload(frame).hex() if roles.payload else None
    out["consumed"] = consumed
    state = state_of(codec, state)
    values = codec.field_values(frame, state=state)
    absent = _absent_names(spec, values, state_env(codec, state))
    out["fields"] = {name: None if name in absent else
                     _show(codec, protocol, spec.value(name) or spec.element(name), value)
                     for name, value in values.items()}
    return out


def _absent_names(spec: Frame, values: dict[str, Any], state: dict[str, int]) -> set[str]:
    """Names of the fields that are not on the wire: their condition is false (in
    the connection's `state`; `more()` as encode reads it)."""
    env: dict[str, int] = dict(state)
    for name, value in values.items():
        if isinstance(value, int):
            env[name] = int(value)
        elif isinstance(value, bytes | str):
            env[name] = len(value.encode() if isinstance(value, str) else value)
        elif isinstance(value, list):
            env[name] = len(value)  # what `more()` asks of it: empty or not
    absent: set[str] = set()
    for e in spec.elements:
        written = spec.written_when(e)
        if written is not None:
            try:
                present = ir.evaluate(written, env)
            except (KeyError, ZeroDivisionError, TypeError):
                continue
            if not present:
                absent.update(names_of(e))
    return absent


def variant_of(protocol: Protocol, data: bytes) -> Frame | None:
    """The frame variant whose `when` holds for the bytes at the start of `data`,
    read from the IR alone (the values a `when` reads sit at fixed offsets)."""
    env: dict[str, int] = {}
    for e in protocol.frames[0].elements:
        if e.offset is None:
            break
        if not isinstance(e, IntField | BitsField) or e.offset + e.type.width > len(data):
            continue
        raw = int.from_bytes(data[e.offset:e.offset + e.type.width], e.type.byte_order,
                             signed=isinstance(e, IntField) and e.type.signed)
        if isinstance(e, BitsField):
            env.update({m.name: (raw >> m.shift) & m.mask for m in e.members})
        else:
            env[e.name] = raw
    for frame in protocol.frames:
        try:
            if ir.evaluate(frame.when, env):
                return frame
        except (KeyError, ZeroDivisionError):
            return None
    return None


def command_json(protocol: Protocol, command: DecodedCommand, data: bytes) -> dict[str, Any]:
    """The same keys as `frame_json` but `fields`, as a MOSN plugin reports the
    frame at the start of `data`: the ABI carries no field values, and always a
    timeout or status, which is shown only where the frame declares that role."""
    spec = variant_of(protocol, data)
    out: dict[str, Any] = {}
    if spec is not None:
        out["frame"] = spec.name
    roles = spec.roles if spec is not None else None
    out |= {
        "kind": command.kind,
        "id": command.id,
        "heartbeat": command.heartbeat,
    }
    key = "status" if command.kind == "response" else "timeout"
    role = (roles.status if key == "status" else roles.timeout) if roles else None
    value: int | None = None
    if spec is not None and roles is not None and (role is not None or roles.derived is not None):
        value = command.timeout_or_status
        node = spec.value(role) if role is not None else None
        t = getattr(node, "type", None)
        if t is not None and t.signed and value >= 1 << (t.bits - 1):
            value -= 1 << t.bits
    out[key] = value
    has_headers = roles is None or roles.headers is not None
    has_payload = roles is None or roles.payload is not None
    out["headers"] = ([[show_bytes(k), show_bytes(v)] for k, v in command.headers]
                      if has_headers else None)
    out["payload_hex"] = command.payload.hex() if has_payload else None
    out["consumed"] = command.drain_len
    return out


# ---------------------------------------------------------------------- encode


def wire_from_json(codec: ModuleType, protocol: Protocol, obj: Any) -> tuple[bytes, Any]:
    """The bytes one object of decode's output stands for, and the frame they are
    (None for the trailing bytes of a need-more line)."""
    if isinstance(obj, dict) and "need_more" in obj:
        return _partial(codec, obj), None
    frame = frame_from_json(codec, protocol, obj)
    data: bytes = codec.encode(frame)
    return data, frame


def _partial(codec: ModuleType, obj: dict[str, Any]) -> bytes:
    unknown = [k for k in obj if k not in NEED_MORE_KEYS]
    if unknown:
        raise JsonFrameError(f"unknown key '{unknown[0]}' in a need_more object "
                             f"(it has {', '.join(NEED_MORE_KEYS)})")
    if obj["need_more"] is not True:
        raise JsonFrameError("'need_more' must be true")
    if not isinstance(obj.get("hex"), str):
        raise JsonFrameError("a need_more object needs the bytes as 'hex'")
    data = read_bytes({"hex": obj["hex"]}, "hex")
    if "have" in obj and obj["have"] != len(data):
        raise JsonFrameError(f"'have' is {obj['have']}, but 'hex' holds {len(data)} bytes")
    try:
        result = codec.decode(data)
    except codec.ProtocolError as exc:
        raise JsonFrameError(f"the need_more bytes are malformed: {exc}") from None
    if not isinstance(result, codec.NeedMore):
        raise JsonFrameError("the need_more bytes hold a whole frame: give it as a frame")
    return data


def frame_from_json(codec: ModuleType, protocol: Protocol, obj: Any) -> Any:
    """The frame `obj["fields"]` describes. Every other key given must agree with
    it, and so must a constant or computed field: the frame is encoded and
    decoded back, and each key given is compared with what decode says."""
    if not isinstance(obj, dict):
        raise JsonFrameError("expected a JSON object")
    unknown = [k for k in obj if k not in FRAME_KEYS]
    if unknown:
        raise JsonFrameError(f"unknown key '{unknown[0]}' (a frame object has "
                             f"{', '.join(FRAME_KEYS)})")
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
    optional = {n for e in spec.elements if e.present is not None for n in names_of(e)}
    kwargs: dict[str, Any] = {}
    for key, value in fields.items():
        if spec.value(key) is None and spec.element(key) is None:
            raise JsonFrameError(f"frame '{name}' has no field '{key}'")
        if value is None:
            if key not in optional:
                raise JsonFrameError(f"fields.{key} is null, but '{key}' is always in a "
                                     f"'{name}' frame")
            continue  # not on the wire: nothing to write
        parsed = _field_value(codec, protocol, spec, key, value)
        if key in free:
            kwargs[codec.ATTRS[name][key]] = parsed
    missing = [key for key in spec.free_names()
               if codec.ATTRS[name][key] not in kwargs and _required(cls, codec.ATTRS[name][key])]
    if missing:
        raise JsonFrameError(_missing(protocol, spec, missing))
    try:
        frame = cls(**kwargs)
    except TypeError as exc:
        raise JsonFrameError(f"frame '{name}': {exc}") from None
    _agrees(codec, protocol, spec, frame, obj)
    return frame


def _required(cls: type, attr: str) -> bool:
    """A constructor argument without a default (a field that changes what the
    frame means, and the spec gives no `default` for)."""
    return any(f.name == attr and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING
               for f in dataclasses.fields(cls))


def _missing(protocol: Protocol, spec: Frame, names: list[str]) -> str:
    parts = []
    for key in names:
        node = spec.value(key)
        enum = protocol.enum(node.enum) if node is not None and node.enum else None
        choices = f": one of {', '.join(m.name for m in enum.members)}" if enum else ""
        parts.append(f"fields.{key}{choices}")
    return (f"a '{spec.name}' frame needs {'; '.join(parts)} (the spec gives "
            f"{'it' if len(names) == 1 else 'them'} no default)")


def _agrees(codec: ModuleType, protocol: Protocol, spec: Frame, frame: Any,
            obj: dict[str, Any]) -> None:
    """Encode `frame`, decode it back, and refuse any key of `obj` the result
    contradicts, naming what was given and what the fields make of it."""
    wire = codec.encode(frame)
    back = codec.decode(wire)
    if not isinstance(back, codec.Decoded) or back.consumed != len(wire):
        raise JsonFrameError(f"frame '{spec.name}' does not decode back from its own "
                             f"encoding {wire.hex()}")
    got = frame_json(codec, protocol, back.frame, back.consumed)
    if got["frame"] != spec.name:
        raise JsonFrameError(f"these fields encode a '{got['frame']}' frame, not "
                             f"'{spec.name}'")
    problems = _field_problems(codec, protocol, spec, obj.get("fields", {}), got["fields"])
    problems += _role_problems(spec, obj, got)
    if len(problems) == 1:
        raise JsonFrameError(problems[0])
    if problems:
        raise JsonFrameError(f"{len(problems)} keys contradict `fields` (leave them out or "
                             f"make them agree):\n  " + "\n  ".join(problems))


def _field_problems(codec: ModuleType, protocol: Protocol, spec: Frame, fields: dict[str, Any],
                    got: dict[str, Any]) -> list[str]:
    """The fields given that the encoded frame does not have as given."""
    free = set(spec.free_names())
    problems = []
    for key, given in fields.items():
        actual = got.get(key)
        if _same_field(codec, protocol, spec, key, given, actual):
            continue
        node = spec.value(key)
        if actual is None:
            problems.append(f"fields.{key} is {_text(given)}, but '{key}' is not in this "
                            f"frame: its condition does not hold (give null or leave it out)")
        elif given is None:
            problems.append(f"fields.{key} is null, but '{key}' is in this frame (its "
                            f"condition holds) and encodes as {_text(actual)}")
        elif node is not None and node.constant and node.value is not None:
            shown = literal_format(node.value).show(ir.evaluate(node.value))
            problems.append(f"fields.{key} is {_text(given)}, but '{key}' is the constant "
                            f"{shown}")
        elif key not in free and node is not None and node.value is not None:
            problems.append(f"fields.{key} is {_text(given)}, but the other fields make it "
                            f"{_text(actual)} ({key} = {_spelled(node.value)}, computed on "
                            f"encode: leave it out or make it agree)")
        else:
            problems.append(f"fields.{key} is {_text(given)}, but it encodes as "
                            f"{_text(actual)}")
    return problems


def _role_problems(spec: Frame, obj: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """The output-only keys given that contradict what the fields encode."""
    roles = spec.roles
    via = {"id": roles.id, "timeout": roles.timeout, "status": roles.status,
           "headers": roles.headers, "payload_hex": roles.payload} if roles else {}
    problems = []
    for key in FRAME_KEYS:
        if key in ("frame", "fields") or key not in obj:
            continue
        given = obj[key]
        if key not in got:
            problems.append(f"'{key}' is not part of a '{spec.name}' frame "
                            f"({'no ' + key + ' role' if roles else 'it has no roles'})")
            continue
        actual = got[key]
        if _same_role(key, given, actual):
            continue
        if key == "consumed":
            problems.append(f"'consumed' is {_text(given)}, but the fields encode {actual} "
                            f"bytes (it is output only: leave it out or make it agree)")
            continue
        source = (f"fields.{via[key]} makes it {_text(actual)}" if via.get(key)
                  else f"the fields make it {_text(actual)}")
        problems.append(f"'{key}' is {_text(given)}, but {source}: top-level keys are output "
                        f"only; `fields` is what encode writes (leave '{key}' out or make it "
                        f"agree)")
    return problems


def _spelled(expr: ir.Expr) -> str:
    if isinstance(expr, ir.Checksum):
        return f"{expr.kind}({expr.first}, {expr.last})"
    spelled = getattr(ir, "spelled", None)  # the lead's renderer, where the IR has it
    return str(spelled(expr)) if spelled is not None else "an expression of other fields"


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _same_field(codec: ModuleType, protocol: Protocol, spec: Frame, key: str, given: Any,
                actual: Any) -> bool:
    if given is None or actual is None:
        return given is actual
    try:
        return bool(_field_value(codec, protocol, spec, key, given)
                    == _field_value(codec, protocol, spec, key, actual))
    except JsonFrameError:
        return False


def _same_role(key: str, given: Any, actual: Any) -> bool:
    if given is None or actual is None:
        return given is actual
    try:
        if key == "headers":
            return _pairs(given, key) == _pairs(actual, key)
        if key == "payload_hex":
            return isinstance(given, str) and bytes.fromhex(given) == bytes.fromhex(actual)
        if key == "heartbeat":
            return given is actual
        if key == "kind":
            return bool(given == actual)
        return bool(_int(given, key) == actual)
    except (JsonFrameError, ValueError):
        return False


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


def _member_value(protocol: Protocol, enum_name: str | None, value: Any, where: str) -> Any:
    """An enum's member named in JSON (as decode prints it) is its number."""
    if enum_name is None or not isinstance(value, str):
        return value
    enum = protocol.enum(enum_name)
    member = enum.member(value) if enum else None
    if member is None:
        raise JsonFrameError(f"{where}: '{value}' is not a member of {enum_name}")
    return member.value


def _pairs(value: Any, where: str) -> list[tuple[bytes, bytes]]:
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise JsonFrameError(f"{where}: expected a list of [key, value]")
    return [(read_bytes(k, where), read_bytes(v, where)) for k, v in value]


def _field_value(codec: ModuleType, protocol: Protocol, spec: Frame, key: str, value: Any
                 ) -> Any:
    node = spec.value(key)
    if node is not None:
        return _int(_member_value(protocol, node.enum, value, key), key)
    element = spec.element(key)
    if isinstance(element, KvMapField):
        return _pairs(value, key)
    if isinstance(element, ListField):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise JsonFrameError(f"{key}: expected a list of objects")
        cls = codec.RECORDS[element.record]
        attrs = codec.ATTRS[element.record]
        record = protocol.record(element.record)
        enums = {e.name: e.enum for e in record.elements if isinstance(e, IntField) and e.enum
                 } if record else {}
        try:
            hints = {f.name: str(f.type) for f in dataclasses.fields(cls)}
            return [cls(**{attrs.get(k, k): _record_member(
                        _member_value(protocol, enums.get(k), v, f"{key}.{k}"),
                        hints.get(attrs.get(k, k)), f"{key}.{k}")
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
