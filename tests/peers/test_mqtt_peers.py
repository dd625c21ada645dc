"""MQTT as real peers speak it: mosquitto (broker), mosquitto_pub/sub and
paho-mqtt (clients), MQTT 3.1.1 and 5.0, recorded both ways on every
connection. Every recorded stream decodes to its last byte in both engines,
every frame re-encodes byte for byte, scapy agrees on the fields it dissects,
and the sessions reach every packet type. The CONNECT's level is connection
state (from 5 on, packets carry properties): one state threads through both
directions, and the CLI threads it through each direction's stream."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from scapy.contrib import mqtt as sm

from protodsl.cli import main
from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS
from tests.mqtt_oracle import scapy_fields
from tests.peers import sessions
from tests.peers.streams import (
    Frame,
    Stream,
    check_next_state,
    decode_both,
    mqtt_packets,
    reencode,
)
from tests.recorder import DIRECTIONS, Direction, Recording

MQTT = load_python(compile_file(SPECS / "mqtt.proto-dsl"))
SAVE = os.environ.get("PROTODSL_PEER_RECORDINGS")  # a folder to save the recordings in


_DECODED: dict[int, list[dict[Direction, Stream]]] = {}


def _streams(recordings: dict[str, Recording], name: str) -> list[dict[Direction, Stream]]:
    """The session's connections decoded (once), both engines compared."""
    recording = recordings[name]
    if id(recording) not in _DECODED:
        if SAVE:
            recording.save(Path(SAVE) / f"mqtt-{name}.json")
        _DECODED[id(recording)] = [dict(decode_both(MQTT, c)) for c in recording.connections]
    return _DECODED[id(recording)]


def _problems(streams: list[dict[Direction, Stream]]) -> list[str]:
    return [f"connection {i}: {p}" for i, conn in enumerate(streams)
            for s in conn.values() if (p := s.problem())]


@pytest.mark.parametrize("name", list(sessions.MQTT))
def test_streams_decode_to_the_last_byte(mqtt_recordings: dict[str, Recording],
                                         name: str) -> None:
    """Both directions of every connection, in both engines, which agree."""
    streams = _streams(mqtt_recordings, name)
    assert streams, f"{name} recorded no connection"
    assert not _problems(streams), "\n".join(_problems(streams))


@pytest.mark.parametrize("name", list(sessions.MQTT))
def test_frames_reencode_byte_for_byte(mqtt_recordings: dict[str, Recording],
                                       name: str) -> None:
    streams = _streams(mqtt_recordings, name)
    for conn in streams:
        for stream in conn.values():
            for f in stream.frames:
                for engine in ("encode", "reference_encode"):
                    assert reencode(MQTT, f, engine) == f.wire, (
                        f"{engine}: {f.direction} at byte {f.offset}: {f.frame!r}")
                check_next_state(MQTT, f)
    assert not _problems(streams), "\n".join(_problems(streams))




def _our_fields(f: Frame, like: dict[str, Any]) -> dict[str, Any]:
    frame = f.frame
    values = MQTT.field_values(frame, f.state_before)
    missing = set(like) - set(values)
    assert not missing, f"{type(frame).__name__} has no field {sorted(missing)}"
    if "topics" in like and isinstance(frame, MQTT.Subscribe):
        values["topics"] = [(t.filter.encode(), t.qos) for t in values["topics"]]
    elif "topics" in like:
        values["topics"] = [t.filter.encode() for t in values["topics"]]
    elif "return_codes" in like:
        values["return_codes"] = [c.code for c in values["return_codes"]]
    return {k: values[k].encode() if isinstance(values[k], str) else values[k] for k in like}


def _level(conn: dict[Direction, Stream]) -> int:
    """The protocol level of the connection's CONNECT (4 if none decoded)."""
    for f in conn["c2s"].frames:
        values = MQTT.field_values(f.frame, f.state_before)
        if values.get("type") == 1:
            return int(values["level"])
    return 4


@pytest.mark.parametrize("name", list(sessions.MQTT))
def test_scapy_agrees(mqtt_recordings: dict[str, Recording], name: str) -> None:
    streams = _streams(mqtt_recordings, name)
    checked = 0
    for conn in streams:
        level = _level(conn)
        for stream in conn.values():
            for f in stream.frames:
                theirs = scapy_fields(sm.MQTT(f.wire), level)
                assert _our_fields(f, theirs) == theirs, (
                    f"{f.direction} at byte {f.offset}: {f.frame!r}")
                checked += 1
    assert not _problems(streams), "\n".join(_problems(streams))
    assert checked


def _types(recordings: dict[str, Recording], names: list[str], direction: Direction) -> set[int]:
    return {t for n in names for conn in recordings[n].connections
            for t, _ in mqtt_packets(conn.data(direction))}


def _publish_flags(recordings: dict[str, Recording], names: list[str]) -> set[str]:
    seen = set()
    for n in names:
        for conn in recordings[n].connections:
            for d in DIRECTIONS:
                for t, wire in mqtt_packets(conn.data(d)):
                    if t == 3:
                        seen |= {f"{d} qos{(wire[0] >> 1) & 3}"} | (
                            {f"{d} retain"} if wire[0] & 1 else set())
    return seen


# Who sends which packet type (MQTT 3.1.1 section 2.2.1); 5.0 adds AUTH both
# ways and a server's DISCONNECT.
CLIENT = {1, 3, 4, 5, 6, 7, 8, 10, 12, 14}
SERVER = {2, 3, 4, 5, 6, 7, 9, 11, 13}


def test_v311_sessions_reach_all_14_packet_types(
        mqtt_recordings: dict[str, Recording]) -> None:
    """Read by the fixed header alone, whatever the codec says: a test fails
    if a session stops producing, say, PUBREL or PINGRESP."""
    assert _types(mqtt_recordings, sessions.MQTT_V311, "c2s") == CLIENT
    assert _types(mqtt_recordings, sessions.MQTT_V311, "s2c") == SERVER
    assert _publish_flags(mqtt_recordings, sessions.MQTT_V311) >= {
        f"{d} qos{q}" for d in ("c2s", "s2c") for q in (0, 1, 2)} | {"c2s retain", "s2c retain"}


def test_v5_sessions_reach_all_15_packet_types(mqtt_recordings: dict[str, Recording]) -> None:
    """AUTH both ways comes from the hand-written raw-v5-auth session (the
    broker's through its enhanced-authentication plugin), the server's
    DISCONNECT from raw-v5."""
    assert _types(mqtt_recordings, sessions.MQTT_V5, "c2s") == CLIENT | {15}
    assert _types(mqtt_recordings, sessions.MQTT_V5, "s2c") == SERVER | {14, 15}
    assert _publish_flags(mqtt_recordings, sessions.MQTT_V5) >= {
        f"{d} qos{q}" for d in ("c2s", "s2c") for q in (0, 1, 2)} | {"c2s retain", "s2c retain"}


def test_v5_connections_announce_level_5(mqtt_recordings: dict[str, Recording]) -> None:
    """The v5 sessions really speak v5 (byte 8 of a CONNECT with a 1-byte
    remaining length is the level)."""
    for n in sessions.MQTT_V5:
        for conn in mqtt_recordings[n].connections:
            first = next(mqtt_packets(conn.data("c2s")))[1]
            assert first[0] == 0x10 and first[8] == 5, (n, first[:12].hex())


@pytest.mark.parametrize(("names", "count"), [(sessions.MQTT_V311, 14), (sessions.MQTT_V5, 15)])
def test_frame_kinds_decoded(mqtt_recordings: dict[str, Recording], names: list[str],
                             count: int) -> None:
    """Every frame class of the spec is reached by a decoded frame: 14 in
    3.1.1, all 15 in 5.0, and in 5.0 frames with properties of every kind."""
    frames = [f.frame for n in names for conn in _streams(mqtt_recordings, n)
              for s in conn.values() for f in s.frames]
    assert len({type(f).__name__ for f in frames}) == count
    if count == 15:
        ids = {int(p.id) for f in frames for name in ("properties", "will_properties")
               for p in getattr(f, name, [])}
        shapes = {"byte": 0x01, "four": 0x02, "text": 0x03, "binary": 0x09, "varint": 0x0B,
                  "two": 0x23, "pair": 0x26}
        assert {k for k, v in shapes.items() if v in ids} == set(shapes), sorted(ids)


@pytest.mark.parametrize("name", list(sessions.MQTT))
def test_the_cli_threads_the_state_through_each_direction(
        mqtt_recordings: dict[str, Recording], name: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`protodsl decode` reads a client's stream from its first byte (its
    CONNECT sets the level); a server's stream is laid out by a level it never
    sees, so it needs `--state level=N`, and without it says so. decode | encode
    gives each stream back byte for byte."""
    spec = str(SPECS / "mqtt.proto-dsl")
    conn = mqtt_recordings[name].connections[0]
    level = next(mqtt_packets(conn.data("c2s")))[1][8]
    for direction, state in (("c2s", []), ("s2c", [f"--state=level={level}"])):
        data = conn.data(direction)
        assert main(["decode", spec, *state, "--hex", data.hex()]) == 0
        lines = capsys.readouterr().out
        assert lines.count("\n") == len(list(mqtt_packets(data)))
        assert main(["encode", spec, *state, lines]) == 0
        assert bytes.fromhex(capsys.readouterr().out.replace("\n", "")) == data
    assert main(["decode", spec, "--hex", conn.data("s2c").hex()]) == 1
    first = {2: "connack", 15: "auth"}[next(mqtt_packets(conn.data("s2c")))[0]]
    assert (f"state 'level' is read by frame '{first}' but was never set"
            in capsys.readouterr().err)


def test_the_brokers_auth_decodes_with_its_reason_and_properties(
        mqtt_recordings: dict[str, Recording]) -> None:
    """mosquitto's AUTH packets: a challenge (reason 0x18, continue) twice and,
    after the re-authentication, success (0x00), each naming the method; the
    challenge carries its data."""
    [conn] = _streams(mqtt_recordings, "raw-v5-auth")
    auths = [f.frame for f in conn["s2c"].frames if type(f.frame).__name__ == "Auth"]
    assert [int(a.reason_code) for a in auths] == [0x18, 0x18, 0x00]
    for a, data in zip(auths, (b"challenge", b"challenge", None), strict=True):
        values = {int(p.id): p for p in a.properties}
        assert values[0x15].text == "protodsl"
        assert (values[0x16].data if 0x16 in values else None) == data
