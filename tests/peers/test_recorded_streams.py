"""streams.py threads one connection state through both directions of a
recorded connection in recorded order: MQTT's CONNECT (client to server)
announces the level that the server's CONNACK is laid out by, and the codec
refuses a CONNACK on a connection no CONNECT has set the level of."""

from __future__ import annotations

import pytest

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS
from tests.peers import sessions
from tests.peers.streams import check_next_state, decode_both, decode_connection, reencode
from tests.recorder import Connection, Recording

MQTT = load_python(compile_file(SPECS / "mqtt.proto-dsl"))


@pytest.mark.parametrize("name", sessions.MQTT_V311 + sessions.MQTT_V5)
def test_state_is_threaded_across_directions(mqtt_recordings: dict[str, Recording],
                                             name: str) -> None:
    for conn in mqtt_recordings[name].connections:
        streams = decode_both(MQTT, conn)
        assert all(s.problem() is None for s in streams.values()), [
            s.problem() for s in streams.values()]
        connect, connack = streams["c2s"].frames[0], streams["s2c"].frames[0]
        assert connect.state_before == MQTT.State()  # level unset: a new connection
        assert connack.state_before == connect.state_after == MQTT.State(connect.frame.level)
        for s in streams.values():
            for f in s.frames:
                assert reencode(MQTT, f) == f.wire
                check_next_state(MQTT, f)


def test_an_error_stops_both_directions() -> None:
    """A CONNACK first: the state cannot go on, so neither direction does."""
    conn = Connection(chunks=[("s2c", b"\x20\x02\x00\x00"), ("c2s", b"\xc0\x00")])
    streams = decode_connection(MQTT, conn.chunks)
    assert ("StateUnset at byte 0 (frame 0): state.level: state 'level' is read by frame "
            "'connack' but was never set" in (streams["s2c"].problem() or ""))
    assert "stopped" in (streams["c2s"].problem() or "")


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
