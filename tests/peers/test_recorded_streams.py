"""streams.py's stateful path before the language has state: a stand-in module
with the coming API (`State`, `decode(buf, state)` returning the new state,
`encode(frame, state)`, `next_state`) wrapped around today's MQTT codec. Its
state is the level the CONNECT announced, and it refuses a CONNACK before a
CONNECT, so a helper that did not thread one state through both directions in
recorded order would fail here."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

import pytest

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS
from tests.peers import sessions
from tests.peers.recorder import Connection, Recording
from tests.peers.streams import check_next_state, decode_both, decode_connection, reencode

MQTT = load_python(compile_file(SPECS / "mqtt.proto-dsl"))


@dataclasses.dataclass(frozen=True)
class State:
    level: int = 0  # 0: no CONNECT yet


@dataclasses.dataclass(frozen=True)
class Decoded:
    frame: Any
    consumed: int
    state: State


def _next_state(frame: Any, state: State) -> State:
    if isinstance(frame, MQTT.Connect):
        return State(frame.level)
    return state


def _check(frame: Any, state: State) -> None:
    if isinstance(frame, MQTT.Connack) and state.level == 0:
        raise MQTT.ProtocolError("connack", 0, "CONNACK before CONNECT")


def _decoder(engine: str) -> Any:
    def decode(buf: bytes, state: State) -> Any:
        result = getattr(MQTT, engine)(buf)
        if isinstance(result, MQTT.NeedMore):
            return result
        _check(result.frame, state)
        return Decoded(result.frame, result.consumed, _next_state(result.frame, state))
    return decode


def _encoder(engine: str) -> Any:
    def encode(frame: Any, state: State) -> bytes:
        _check(frame, state)
        data: bytes = getattr(MQTT, engine)(frame)
        return data
    return encode


def _as_module() -> ModuleType:
    module = ModuleType("stateful_mqtt")
    module.__dict__.update(
        State=State, decode=_decoder("decode"), reference_decode=_decoder("reference_decode"),
        encode=_encoder("encode"), reference_encode=_encoder("reference_encode"),
        next_state=_next_state, NeedMore=MQTT.NeedMore, ProtocolError=MQTT.ProtocolError)
    return module


@pytest.mark.parametrize("name", sessions.MQTT_V311)
def test_state_is_threaded_across_directions(mqtt_recordings: dict[str, Recording],
                                             name: str) -> None:
    module = _as_module()
    for conn in mqtt_recordings[name].connections:
        streams = decode_both(module, conn)
        assert all(s.problem() is None for s in streams.values()), [
            s.problem() for s in streams.values()]
        connack = streams["s2c"].frames[0]
        assert connack.state_before == State(4) == connack.state_after
        for s in streams.values():
            for f in s.frames:
                assert reencode(module, f) == f.wire
                check_next_state(module, f)


def test_an_error_stops_both_directions() -> None:
    """A CONNACK first: the state cannot go on, so neither direction does."""
    conn = Connection(chunks=[("s2c", b"\x20\x02\x00\x00"), ("c2s", b"\xc0\x00")])
    streams = decode_connection(_as_module(), conn.chunks)
    assert "CONNACK before CONNECT" in (streams["s2c"].problem() or "")
    assert "stopped" in (streams["c2s"].problem() or "")


def test_stateless_directions_are_independent() -> None:
    conn = Connection(chunks=[("s2c", b"\x20\x02\x00\x00"), ("c2s", b"\xc0\x00\xc0")])
    streams = decode_connection(MQTT, conn.chunks)
    assert streams["s2c"].problem() is None and len(streams["s2c"].frames) == 1
    assert "need-more at the end: 1 bytes" in (streams["c2s"].problem() or "")


def test_recording_json_round_trip() -> None:
    recording = Recording("x", [Connection(chunks=[("c2s", b"\x01"), ("s2c", b""),
                                                   ("c2s", b"\xff")])])
    again = Recording.from_json(recording.to_json())
    assert again.connections[0].chunks == recording.connections[0].chunks
    assert again.connections[0].closed


def test_recorded_order_is_causal(mqtt_recordings: dict[str, Recording]) -> None:
    """A chunk is recorded before it is forwarded, so no MQTT connection's
    first chunk is the server's: a server says nothing before CONNECT. (HTTP/2
    is not asserted: a server may send its SETTINGS before the client's
    preface arrives, though nghttpd has not been seen to.)"""
    for recording in mqtt_recordings.values():
        for conn in recording.connections:
            assert conn.chunks[0][0] == "c2s", recording.name
