"""The Go side of `protodsl test --target mosn-go`: the driver process
(codegen/mosn_go/driver.py), one kept alive across examples, and what each codec
says about some bytes or a frame, in one comparable shape.

Go's answers are fuller than a Wasm plugin's: the whole frame, not only its MOSN
roles. A decode outcome is ("frame", GoFrame), ("need_more", have, need) with
need -1 when not known yet, or ("malformed", kind, text); an encode outcome is
("bytes", hex) or ("refused", kind, text). Kinds are the Python codec's
exception classes, texts its messages, exactly.

A stateful spec's codec is bound to a connection state (scenarios.py): each
request to the driver carries that state, and a decoded frame's outcome the
state after it, on both sides (`Decoded.state`)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from protodsl.codecs import state_of
from protodsl.codegen.mosn_go.backend import struct_members
from protodsl.codegen.mosn_go.naming import members
from protodsl.codegen.mosn_go.records import free_members
from protodsl.ir import Frame, Protocol
from protodsl.ir.model import IntField, ListField, Record
from protodsl.testing.outcomes import Outcome


class GoFrame(NamedTuple):
    name: str  # the spec's name of the frame
    fields: dict[str, Any]  # the Go struct as the driver shows it (spec_fields)
    drain_len: int  # the bytes it took, named as MOSN's roles name them (see _feed)
    state: dict[str, int | None] | None = None  # after it, for a spec with a state


def state_fields(protocol: Protocol, codec: ModuleType, state: Any = None
                 ) -> dict[str, int | None] | None:
    """A connection state as the driver reads and shows it (each member by its
    spec name, None where unset): `state`, else the one `codec` is bound to;
    None for a spec without a state."""
    if not protocol.state:
        return None
    st = state_of(codec, state)
    return {name: getattr(st, attr) for name, attr in codec.STATE_ATTRS.items()}


class GoPanicked(AssertionError):
    """The Go codec panicked, or the driver died: always a failure."""


def frame_spec(protocol: Protocol, codec: ModuleType, frame: Any) -> Frame:
    spec: Frame = protocol.frames[codec.FRAMES.index(type(frame))]
    return spec


def frame_name(protocol: Protocol, codec: ModuleType, frame: Any) -> str:
    return frame_spec(protocol, codec, frame).name


def go_fields(protocol: Protocol, codec: ModuleType, frame: Any) -> dict[str, Any]:
    """The Python codec's frame as encoding/json shows the Go struct: Go names
    (naming.members), bytes in base64, a map as [{"Key", "Value"}], a list of
    records as their structs, enum members as numbers."""
    return _fields(protocol, codec, frame, spec=False)


def spec_fields(protocol: Protocol, codec: ModuleType, frame: Any) -> dict[str, Any]:
    """The same values as the Go driver shows them (codegen/mosn_go/driver.py): by
    the spec's names, as the Python codec's decode JSON, an enum member by its name."""
    return _fields(protocol, codec, frame, spec=True)


def _fields(protocol: Protocol, codec: ModuleType, frame: Any, spec: bool) -> dict[str, Any]:
    """The struct's members by Go name, or by spec name with enum members named."""
    frame_ir = frame_spec(protocol, codec, frame)
    lists = {e.name: e.record for e in frame_ir.elements if isinstance(e, ListField)}

    def key(scope: Frame | Record, name: str) -> str:
        return name if spec else members(scope)[name]

    def shown(value: Any, enum: str | None) -> Any:
        found = protocol.enum(enum) if spec and enum is not None else None
        if found is not None and isinstance(value, int):
            member = next((m for m in found.members if m.value == value), None)
            if member is not None:
                return member.name
        return _shown(value)

    out: dict[str, Any] = {}
    for name, _ in struct_members(frame_ir):
        value = getattr(frame, codec.ATTRS[frame_ir.name][name])
        if name in lists:
            record = protocol.record(lists[name])
            assert record is not None, "a list's record is declared"
            value = [{key(record, e.name): shown(getattr(r, codec.ATTRS[record.name][e.name]),
                                                 e.enum if isinstance(e, IntField) else None)
                      for e in free_members(record)} for r in value]
        elif isinstance(value, list):
            value = [{"Key": _shown(k), "Value": _shown(v)} for k, v in value]
        else:
            node = frame_ir.value(name)
            value = shown(value, node.enum if node is not None else None)
        out[key(frame_ir, name)] = value
    return out


def _shown(value: Any) -> Any:
    """A value as encoding/json shows it: bytes in base64, an enum member a number."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, int):
        return int(value)
    return value


def oracle_decode(protocol: Protocol, codec: ModuleType, data: bytes) -> Outcome:
    """Only ProtocolError counts as a rejection; any other exception propagates."""
    try:
        result = codec.decode(data)
    except codec.ProtocolError as exc:
        return ("malformed", type(exc).__name__, str(exc))
    if isinstance(result, codec.NeedMore):
        return ("need_more", result.have, -1 if result.need is None else result.need)
    return ("frame", GoFrame(frame_name(protocol, codec, result.frame),
                             spec_fields(protocol, codec, result.frame), result.consumed,
                             state_fields(protocol, codec, result.state)))


def oracle_encode(codec: ModuleType, frame: Any) -> Outcome:
    try:
        return ("bytes", codec.encode(frame).hex())
    except codec.ProtocolError as exc:
        return ("refused", type(exc).__name__, str(exc))


class GoDriver:
    """One driver process: a request written, its answer read, in turn."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self._process = subprocess.Popen([str(binary)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, encoding="utf-8")

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            line = stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise GoPanicked(f"the Go driver exited: {self._died()}")
        reply: dict[str, Any] = json.loads(line)
        if "panic" in reply:
            raise GoPanicked(f"the Go codec panicked: {reply['panic']}")
        if "bad_request" in reply:  # protodsl's own mistake, not the codec's
            raise RuntimeError(f"the Go driver cannot read {request}: {reply['bad_request']}")
        return reply

    def decode(self, data: bytes, state: dict[str, int | None] | None = None) -> Outcome:
        """`state`: the connection's (state_fields), for a spec with one."""
        reply = self.ask({"op": "decode", "hex": data.hex(), **_carried(state)})
        if "frame" in reply:
            return ("frame", GoFrame(reply["frame"], reply["fields"], reply["consumed"],
                                     reply.get("state")))
        if reply.get("need_more"):
            return ("need_more", reply["have"], reply["need"])
        return ("malformed", reply["error"], reply["text"])

    def encode(self, frame: str, fields: dict[str, Any],
               state: dict[str, int | None] | None = None) -> Outcome:
        reply = self.ask({"op": "encode", "frame": frame, "fields": fields, **_carried(state)})
        if "hex" in reply:
            return ("bytes", reply["hex"])
        return ("refused", reply["error"], reply["text"])

    def _died(self) -> str:
        try:
            _, err = self._process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, err = self._process.communicate()
        return f"exit status {self._process.returncode}: {err.strip()[-2000:]}"

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self._process.communicate(timeout=5)  # EOF on stdin ends it
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.communicate()


def _carried(state: dict[str, int | None] | None) -> dict[str, Any]:
    """What a request adds for a state: nothing for a spec without one."""
    return {} if state is None else {"state": state}
