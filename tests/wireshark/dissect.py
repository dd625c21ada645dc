"""Run a generated dissector over a capture with tshark and compare what it
shows, frame by frame, with the Python codec's decode of the same bytes."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from protodsl.codegen.wireshark.fields import prefix

from protodsl.ir.model import KvMapField, ListField, Protocol
from tests.wireshark.pcap import CLIENT, Stream

Pairs = list[tuple[str, Any]]
LUA_ERRORS = re.compile(r"Lua: Error|Lua Error|lua_error|\[Lua", re.IGNORECASE)
PORT = 47000  # every test stream's server port, given as the dissector's preference


@dataclass
class Frame:
    """A frame the Python codec decoded: what the dissector must show."""

    name: str
    values: dict[str, Any]
    summary: str


@dataclass
class Broken:
    """Where the Python codec refused a stream: the expert the dissector must raise."""

    expert: str
    message: str


Outcome = Frame | Broken


def python_outcomes(protocol: Protocol, codec: ModuleType, stream: Stream) -> list[Outcome]:
    """The stream as the Python codec reads it: each side's bytes in order, the
    state threaded through both sides, until a frame is refused."""
    buffers = {"client": b"", "server": b""}
    state = codec.State()
    out: list[Outcome] = []
    for side, payload in stream.segments:
        buffers[side] += payload
        while buffers[side]:
            if "side" in {f.name for f in dataclasses.fields(state)}:
                state = dataclasses.replace(state, side=side)
            try:
                result = codec.decode(buffers[side], state)
            except codec.ProtocolError as exc:
                out.append(Broken(_snake(type(exc).__name__), str(exc)))
                return out
            if isinstance(result, codec.NeedMore):
                break
            frame = result.frame
            name = protocol.frames[codec.FRAMES.index(type(frame))].name
            out.append(Frame(name, codec.field_values(frame, state),
                             summary(protocol, codec, name, frame)))
            state = result.state
            buffers[side] = buffers[side][result.consumed:]
    return out


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def summary(protocol: Protocol, codec: ModuleType, name: str, frame: Any) -> str:
    """The Info column's text of a frame: its name, and its roles when it has them."""
    ir_frame = protocol.frame(name)
    assert ir_frame is not None
    roles = ir_frame.roles
    if roles is None:
        return name
    text = f"{name} ({codec.kind(frame)} id={codec.command_id(frame)}"
    if codec.is_heartbeat(frame):
        text += " heartbeat"
    status = codec.status(frame)
    if status is not None:
        value = ir_frame.value(roles.status) if roles.status else None
        enum = protocol.enum(value.enum) if value is not None and value.enum else None
        member = next((m.name for m in enum.members if m.value == status), None) if enum else None
        text += f" status={member or status}"
    return text + ")"


@dataclass
class Dissected:
    """tshark's reading of a capture: per TCP stream, the dissector's frames (each
    its tree, as pairs) in order; the Info column per packet; all output text."""

    frames: dict[int, list[Pairs]]
    info: dict[int, list[str]]  # stream -> the Info column of each packet with a frame
    summaries: dict[int, list[list[str]]]  # stream -> each such packet's frame summaries
    output: str


def run_tshark(tshark: str, script: Path, pcap: Path, protocol: Protocol,
               extra: tuple[str, ...] = (), port: int = PORT) -> Dissected:
    """tshark twice over the capture: the trees as JSON, and the Info column."""
    base = [tshark, "-n", "-o", "tcp.desegment_tcp_streams:TRUE", "-o",
            f"{prefix(protocol)}.tcp_port:{port}", "-X", f"lua_script:{script}", "-r", str(pcap),
            *extra]
    tree = subprocess.run([*base, "-T", "json"], capture_output=True, text=True,
                          errors="replace", timeout=300, check=False)
    assert tree.returncode == 0, tree.stderr
    cols = subprocess.run([*base, "-T", "fields", "-E", "separator=/t", "-e", "tcp.stream",
                           "-e", "_ws.col.Info"], capture_output=True, text=True,
                          errors="replace", timeout=300, check=False)
    assert cols.returncode == 0, cols.stderr
    name = prefix(protocol)
    frames: dict[int, list[Pairs]] = {}
    summaries: dict[int, list[list[str]]] = {}
    packets_with_frames: dict[int, list[int]] = {}
    for packet in json.loads(tree.stdout, object_pairs_hook=list):
        layers = _get(_get(packet, "_source"), "layers")
        stream = int(_get(_get(layers, "tcp"), "tcp.stream"))
        mine = [v for k, v in layers if k == name]
        if not mine:
            continue
        frames.setdefault(stream, []).extend(mine)
        summaries.setdefault(stream, []).append(
            [s for f in mine if (s := _find(f, f"{name}.summary")) is not None])
        number = int(_get(_get(layers, "frame"), "frame.number"))
        packets_with_frames.setdefault(stream, []).append(number)
    info: dict[int, list[str]] = {}
    for number, line in enumerate(cols.stdout.splitlines(), start=1):
        stream_text, _, text = line.partition("\t")
        stream = int(stream_text)
        if number in packets_with_frames.get(stream, ()):
            info.setdefault(stream, []).append(text)
    return Dissected(frames, info, summaries, tree.stdout + tree.stderr + cols.stderr)


def _get(pairs: Pairs, key: str) -> Any:
    return next(v for k, v in pairs if k == key)


def _find(pairs: Pairs, key: str) -> Any:
    return next((v for k, v in pairs if k == key), None)


def _expert(pairs: Pairs) -> tuple[str, str] | None:
    """The first expert info in a tree: its abbreviation and message."""
    for k, v in pairs:
        if k == "_ws.expert":
            abbrev = next(x for x, _ in v if not x.startswith("_ws."))
            return abbrev, _get(v, "_ws.expert.message")
        if isinstance(v, list):
            found = _expert(v)
            if found is not None:
                return found
    return None


def compare_stream(protocol: Protocol, codec: ModuleType, shown: list[Pairs],
                   expected: list[Outcome], where: str) -> None:
    """Every frame the codec decoded is shown, with every field's value; a
    refused frame is shown as the codec's error, as expert info."""
    name = prefix(protocol)
    assert len(shown) == len(expected), (
        f"{where}: tshark shows {len(shown)} frames, the codec decodes "
        f"{[o.name if isinstance(o, Frame) else o.expert for o in expected]}")
    for i, (tree, want) in enumerate(zip(shown, expected, strict=True)):
        at = f"{where}, frame {i}"
        if isinstance(want, Broken):
            found = _expert(tree)
            assert found is not None, f"{at}: no expert info for {want.expert} ({want.message})"
            assert found[0] == f"{name}.{want.expert}", f"{at}: {found} for {want}"
            continue
        assert _expert(tree) is None, f"{at}: expert info {_expert(tree)} on a good frame"
        assert _find(tree, f"{name}.frame") == want.name, at
        assert _find(tree, f"{name}.summary") == want.summary, at
        _compare_fields(protocol, codec, tree, want, at)


def _compare_fields(protocol: Protocol, codec: ModuleType, tree: Pairs, want: Frame,
                    at: str) -> None:
    frame = protocol.frame(want.name)
    assert frame is not None
    scope = f"{prefix(protocol)}.{want.name}."
    shown = {k[len(scope):]: v for k, v in tree if k.startswith(scope)}
    for field, value in want.values.items():
        if field not in shown:
            assert value in (0, b"", "", []), f"{at}: {field} = {value!r} is not shown"
            continue
        element = frame.element(field)
        text = shown[field]
        if isinstance(element, KvMapField):
            entries = shown.get(f"{field}_tree", [])
            pairs = [(_bytes(_get(e, f"{scope}{field}.key")),
                      _bytes(_get(e, f"{scope}{field}.value")))
                     for k, e in entries if k == f"{scope}{field}.entry"]
            assert pairs == list(value), f"{at}: {field}"
        elif isinstance(element, ListField):
            entries = [e for k, e in shown.get(f"{field}_tree", [])
                       if k == f"{prefix(protocol)}.{element.record}"]
            assert len(entries) == len(value), f"{at}: {field} has {len(entries)} records"
            for j, (entry, record) in enumerate(zip(entries, value, strict=True)):
                attrs = codec.ATTRS[element.record]
                members = {k.rsplit(".", 1)[1]: v for k, v in entry}
                for member, attr in attrs.items():
                    if not hasattr(record, attr):
                        continue  # a computed length: what encode writes, never stored
                    got = getattr(record, attr)
                    if member not in members:
                        assert got in (0, b"", ""), f"{at}: {field}[{j}].{member} not shown"
                    else:
                        assert _same(members[member], got), (
                            f"{at}: {field}[{j}].{member}: {members[member]!r} != {got!r}")
        else:
            assert _same(text, value), f"{at}: {field}: tshark {text!r}, codec {value!r}"


def _bytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _same(text: str, value: Any) -> bool:
    if isinstance(value, bytes):
        return _bytes(text) == value
    if isinstance(value, str):  # Wireshark's strings end at a NUL
        return text == value.split("\0")[0]
    return int(text, 0) == int(value)


__all__ = ["CLIENT", "Broken", "Dissected", "Frame", "LUA_ERRORS", "PORT", "compare_stream",
           "python_outcomes", "run_tshark"]
