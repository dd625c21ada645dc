"""HTTP/2 as real peers speak it: nghttpd (h2c) with nghttp and the h2 library
as clients, recorded both ways on every connection. Every recorded stream
decodes to its last byte in both engines, every frame re-encodes byte for byte,
hyperframe agrees on every frame, hpack decodes every header block the frames
carry, and the sessions reach all ten frame types.

The client's stream starts with the 24-byte preface, once (connection state:
`state.preface`): both directions decode from their first byte, with the
codec and with the CLI. A frame is at most what its receiver announced in
SETTINGS_MAX_FRAME_SIZE (state kept per side): the h2 library on both ends
sends DATA frames past 16 KiB once the other side allowed them, and one
direction decoded without the other's SETTINGS is refused there."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import hpack
import pytest
from hyperframe import frame as hf
from hyperframe.exceptions import InvalidDataError

from protodsl.cli import main
from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS
from tests.peers import sessions
from tests.peers.streams import (
    H2_PREFACE,
    SIDES,
    Stream,
    check_next_state,
    decode_both,
    decode_connection,
    h2_frames,
    reencode,
)
from tests.recorder import DIRECTIONS, Direction, Recording

H2 = load_python(compile_file(SPECS / "http2-frame.proto-dsl"))
SAVE = os.environ.get("PROTODSL_PEER_RECORDINGS")  # a folder to save the recordings in
CASES = [(n, d) for n in sessions.HTTP2 for d in DIRECTIONS]
IDS = [f"{n}-{d}" for n, d in CASES]

_DECODED: dict[int, list[dict[Direction, Stream]]] = {}


def _streams(recordings: dict[str, Recording], name: str, direction: Direction) -> list[Stream]:
    """One direction of each of the session's connections, decoded (once)."""
    recording = recordings[name]
    if id(recording) not in _DECODED:
        if SAVE:
            recording.save(Path(SAVE) / f"http2-{name}.json")
        _DECODED[id(recording)] = [dict(decode_both(H2, c)) for c in recording.connections]
    return [conn[direction] for conn in _DECODED[id(recording)]]


def _problems(streams: list[Stream]) -> list[str]:
    return [f"connection {i}: {p}" for i, s in enumerate(streams) if (p := s.problem())]


@pytest.mark.parametrize(("name", "direction"), CASES, ids=IDS)
def test_streams_decode_to_the_last_byte(h2_recordings: dict[str, Recording], name: str,
                                         direction: Direction) -> None:
    streams = _streams(h2_recordings, name, direction)
    assert streams, f"{name} recorded no connection"
    assert not _problems(streams), "\n".join(_problems(streams))


@pytest.mark.parametrize(("name", "direction"), CASES, ids=IDS)
def test_frames_reencode_byte_for_byte(h2_recordings: dict[str, Recording], name: str,
                                       direction: Direction) -> None:
    streams = _streams(h2_recordings, name, direction)
    for stream in streams:
        for f in stream.frames:
            for engine in ("encode", "reference_encode"):
                assert reencode(H2, f, engine) == f.wire, (
                    f"{engine}: {f.direction} at byte {f.offset}: {f.frame!r}")
            check_next_state(H2, f)
    assert not _problems(streams), "\n".join(_problems(streams))


def _parse_with_hyperframe(wire: bytes) -> hf.Frame:
    frame, length = hf.Frame.parse_frame_header(memoryview(wire[:9]))
    assert length == len(wire) - 9
    frame.parse_body(memoryview(wire[9:]))
    return frame


def _same_fields(ours: Any, theirs: hf.Frame) -> None:
    """As in tests/python/test_http2_hyperframe.py: type, flags, stream id and
    the body's fields."""
    values = H2.field_values(ours)
    assert values["type"] == theirs.type
    assert values["stream_id"] == theirs.stream_id
    flags = set(theirs.flags)
    if "ack" in values:
        assert bool(values["ack"]) == ("ACK" in flags)
    if "end_stream" in values:
        assert bool(values["end_stream"]) == ("END_STREAM" in flags)
    if "end_headers" in values:
        assert bool(values["end_headers"]) == ("END_HEADERS" in flags)
    if "padded" in values:
        assert isinstance(theirs, hf.Padding)
        assert bool(values["padded"]) == ("PADDED" in flags)
        assert values["pad_length"] == theirs.pad_length
    if isinstance(theirs, hf.DataFrame):
        assert values["data"] == theirs.data
    elif isinstance(theirs, hf.HeadersFrame):
        assert values["block"] == theirs.data
        assert bool(values["priority"]) == ("PRIORITY" in flags)
        if "PRIORITY" in flags:
            assert (values["depends_on"], values["weight"], bool(values["exclusive"])) == (
                theirs.depends_on, theirs.stream_weight, theirs.exclusive)
    elif isinstance(theirs, hf.PriorityFrame):
        assert (values["depends_on"], values["weight"], bool(values["exclusive"])) == (
            theirs.depends_on, theirs.stream_weight, theirs.exclusive)
    elif isinstance(theirs, hf.PushPromiseFrame):
        assert values["promised_stream_id"] == theirs.promised_stream_id
        assert values["block"] == theirs.data
    elif isinstance(theirs, hf.ContinuationFrame):
        assert values["block"] == theirs.data
    elif isinstance(theirs, hf.RstStreamFrame):
        assert values["error_code"] == theirs.error_code
    elif isinstance(theirs, hf.SettingsFrame):
        assert {s.id: s.value for s in values["settings"]} == theirs.settings
    elif isinstance(theirs, hf.PingFrame):
        assert values["opaque"] == theirs.opaque_data
    elif isinstance(theirs, hf.GoAwayFrame):
        assert (values["last_stream_id"], values["error_code"], values["debug"]) == (
            theirs.last_stream_id, theirs.error_code, theirs.additional_data)
    else:
        assert isinstance(theirs, hf.WindowUpdateFrame)
        assert values["increment"] == theirs.window_increment


@pytest.mark.parametrize(("name", "direction"), CASES, ids=IDS)
def test_hyperframe_agrees(h2_recordings: dict[str, Recording], name: str,
                           direction: Direction) -> None:
    streams = _streams(h2_recordings, name, direction)
    for stream in streams:
        for i, f in enumerate(stream.frames):
            if isinstance(f.frame, H2.Preface):  # not a frame to hyperframe: the RFC's bytes
                assert (i, f.direction, f.wire) == (0, "c2s", H2_PREFACE), f
                continue
            try:
                theirs = _parse_with_hyperframe(f.wire)
            except InvalidDataError:  # what it refuses: h2-errors' zero WINDOW_UPDATE
                values = H2.field_values(f.frame)
                assert (values["type"], values["increment"]) == (0x8, 0), f.frame
                continue
            try:
                _same_fields(f.frame, theirs)
            except AssertionError as exc:
                raise AssertionError(f"{f.direction} at byte {f.offset}: {f.frame!r}") from exc
    assert not _problems(streams), "\n".join(_problems(streams))


@pytest.mark.parametrize(("name", "direction"), CASES, ids=IDS)
def test_header_blocks_decode_with_hpack(h2_recordings: dict[str, Recording], name: str,
                                         direction: Direction) -> None:
    """The blocks of HEADERS and PUSH_PROMISE and the CONTINUATIONs that follow
    them, joined as our frames say (END_HEADERS), decode with one hpack
    decoder a direction: the frames carry the blocks exactly, in order."""
    streams = _streams(h2_recordings, name, direction)
    blocks = 0
    for stream in streams:
        decoder = hpack.Decoder()
        decoder.max_header_list_size = 1 << 20
        pending = b""
        for f in stream.frames:
            values = H2.field_values(f.frame)
            if values["type"] in (0x1, 0x5, 0x9):
                pending += values["block"]
                if values["end_headers"]:
                    headers = dict(decoder.decode(pending, raw=True))
                    assert (b":status" in headers) == (direction == "s2c" and
                                                        values["type"] != 0x5), headers
                    pending, blocks = b"", blocks + 1
        assert pending == b"", f"{name} {direction}: a header block without END_HEADERS"
    assert not _problems(streams), "\n".join(_problems(streams))
    assert blocks or (name, direction) == ("h2-errors", "s2c")  # nghttpd only resets there


NAMES = {0x0: "DATA", 0x1: "HEADERS", 0x2: "PRIORITY", 0x3: "RST_STREAM", 0x4: "SETTINGS",
         0x5: "PUSH_PROMISE", 0x6: "PING", 0x7: "GOAWAY", 0x8: "WINDOW_UPDATE",
         0x9: "CONTINUATION"}


def _seen(recordings: dict[str, Recording], direction: Direction) -> set[str]:
    """Frame types (and flags of note) by the 9-byte frame header alone."""
    seen = set()
    for recording in recordings.values():
        for conn in recording.connections:
            for t, flags, _, _ in h2_frames(conn.data(direction)):
                seen.add(NAMES.get(t, hex(t)))
                if t in (0x0, 0x1, 0x5) and flags & 0x8:
                    seen.add(f"{NAMES[t]}+PADDED")
                if t == 0x1 and flags & 0x20:
                    seen.add("HEADERS+PRIORITY")
                if t in (0x4, 0x6) and flags & 0x1:
                    seen.add(f"{NAMES[t]}+ACK")
    return seen


def test_sessions_reach_all_ten_frame_types(h2_recordings: dict[str, Recording]) -> None:
    """Read by the frame header alone, whatever the codec says: a test fails if
    a session stops producing, say, PRIORITY or CONTINUATION."""
    c2s, s2c = _seen(h2_recordings, "c2s"), _seen(h2_recordings, "s2c")
    assert c2s == {"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PING", "GOAWAY",
                   "WINDOW_UPDATE", "CONTINUATION", "SETTINGS+ACK", "DATA+PADDED",
                   "HEADERS+PRIORITY"}, sorted(c2s)
    assert s2c >= {"DATA", "HEADERS", "SETTINGS", "SETTINGS+ACK", "PUSH_PROMISE", "PING+ACK",
                   "WINDOW_UPDATE", "RST_STREAM", "GOAWAY"}, sorted(s2c)
    assert {n[:n.find("+")] if "+" in n else n for n in c2s | s2c} == set(NAMES.values())


def test_every_client_stream_starts_with_the_preface(
        h2_recordings: dict[str, Recording]) -> None:
    """h2c with prior knowledge: the 24-byte preface, then a SETTINGS frame."""
    for recording in h2_recordings.values():
        for conn in recording.connections:
            data = conn.data("c2s")
            assert data.startswith(H2_PREFACE) and data[len(H2_PREFACE) + 3] == 0x4


def test_the_cli_decodes_each_stream_from_its_first_byte(
        h2_recordings: dict[str, Recording], capsys: pytest.CaptureFixture[str]) -> None:
    """`protodsl decode` of a client's stream: the preface, then its frames;
    of a server's, its frames; decode | encode gives both back."""
    spec = str(SPECS / "http2-frame.proto-dsl")
    conn = h2_recordings["nghttp-assets"].connections[0]
    for direction in DIRECTIONS:
        data = conn.data(direction)
        side = ["--side", SIDES[direction]]
        assert main(["decode", spec, *side, "--hex", data.hex()]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == len(list(h2_frames(data))) + (direction == "c2s")
        assert ('"frame": "preface"' in lines[0]) == (direction == "c2s")
        assert main(["encode", spec, *side, "\n".join(lines)]) == 0
        assert bytes.fromhex(capsys.readouterr().out.replace("\n", "")) == data


def test_frame_kinds_decoded_server_to_client(h2_recordings: dict[str, Recording]) -> None:
    """The frame classes the server's decoded streams reach."""
    kinds = {type(f.frame).__name__ for n in sessions.HTTP2
             for s in _streams(h2_recordings, n, "s2c") for f in s.frames}
    assert {"Data", "Headers", "Settings", "PushPromise", "Ping", "WindowUpdate"} <= kinds, kinds


DEFAULT_LIMIT = 9 + 16_384  # a frame's bytes until the receiver's SETTINGS says more


def test_frames_past_16_kib_pass_once_the_receiver_announced_more(
        h2_big_recording: Recording) -> None:
    """Both directions decode to the last byte in both readings, one state
    threaded across them; each carries a DATA frame past 16 KiB, decoded in a
    state where its receiver announced 65,536; every frame re-encodes."""
    [conn] = h2_big_recording.connections
    streams = decode_both(H2, conn)
    assert not _problems([streams["c2s"], streams["s2c"]])
    for direction in DIRECTIONS:
        receiver = SIDES["s2c" if direction == "c2s" else "c2s"]
        big = [f for f in streams[direction].frames if len(f.wire) > DEFAULT_LIMIT]
        assert [type(f.frame).__name__ for f in big] == ["Data"], direction
        before = big[0].state_before
        assert getattr(before, f"{receiver}_max_frame_size") == sessions.BIG_FRAME_SETTING
        assert before.side == SIDES[direction]
        for f in streams[direction].frames:
            assert reencode(H2, f) == f.wire
            check_next_state(H2, f)


@pytest.mark.parametrize("engine", ["decode", "reference_decode"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_one_direction_alone_refuses_the_first_frame_past_16_kib(
        h2_big_recording: Recording, direction: Direction, engine: str) -> None:
    """Without the other direction the receiver's SETTINGS never passes: the
    first frame past 16 KiB is FrameTooLarge, exactly where it starts."""
    [conn] = h2_big_recording.connections
    data = conn.data(direction)
    at = len(H2_PREFACE) if data.startswith(H2_PREFACE) else 0
    for *_, frame in h2_frames(data):
        if len(frame) > DEFAULT_LIMIT:
            break
        at += len(frame)
    stream = decode_connection(H2, [(direction, data)], engine)[direction]
    assert stream.decoded == at and stream.error is not None
    assert stream.error.startswith(f"{direction}: FrameTooLarge at byte {at} "), stream.error
    assert f"exceeds max_frame {DEFAULT_LIMIT}" in stream.error


def test_the_cli_is_given_what_the_receiver_announced(
        h2_big_recording: Recording, capsys: pytest.CaptureFixture[str]) -> None:
    """`protodsl decode --side client` of the client's stream stops at its big
    DATA frame; with `--state server.max_frame_size=65536` it decodes it all."""
    spec = str(SPECS / "http2-frame.proto-dsl")
    data = h2_big_recording.connections[0].data("c2s")
    assert main(["decode", spec, "--side", "client", "--hex", data.hex()]) == 1
    assert f"exceeds max_frame {DEFAULT_LIMIT}" in capsys.readouterr().err
    assert main(["decode", spec, "--side", "client", "--state",
                 f"server.max_frame_size={sessions.BIG_FRAME_SETTING}", "--hex", data.hex()]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(list(h2_frames(data))) + 1
    assert main(["decode", spec, "--hex", data.hex()]) == 1
    assert "--side client or --side server" in capsys.readouterr().err
