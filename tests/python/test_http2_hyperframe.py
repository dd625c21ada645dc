"""The generated HTTP/2 codec against hyperframe, the framing layer of the
Python HTTP/2 stack: frames hyperframe builds decode to the same fields and
re-encode to the same bytes, and frames we build parse the same in hyperframe."""

from __future__ import annotations

from typing import Any

from hyperframe import frame as hf
from hypothesis import given
from hypothesis import strategies as st

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst
from tests.helpers import SPECS

HTTP2 = compile_file(SPECS / "http2-frame.proto-dsl")
CODEC = load_python(HTTP2)

stream_ids = st.integers(1, (1 << 31) - 1)
u32 = st.integers(0, (1 << 32) - 1)
blobs = st.binary(max_size=64)


@st.composite
def hyperframes(draw: Any) -> hf.Frame:
    kind = draw(st.sampled_from(["data", "headers", "rst", "settings", "ping", "goaway",
                                 "window"]))
    if kind == "data":
        frame = hf.DataFrame(draw(stream_ids), data=draw(blobs))
        if draw(st.booleans()):
            frame.flags.add("PADDED")
            frame.pad_length = draw(st.integers(0, 255))
    elif kind == "headers":
        frame = hf.HeadersFrame(draw(stream_ids), data=draw(blobs))
        if draw(st.booleans()):
            frame.flags.add("PADDED")
            frame.pad_length = draw(st.integers(0, 40))
        if draw(st.booleans()):
            frame.flags.add("PRIORITY")
            frame.depends_on = draw(st.integers(0, (1 << 31) - 1))
            frame.stream_weight = draw(st.integers(0, 255))
            frame.exclusive = draw(st.booleans())
        if draw(st.booleans()):
            frame.flags.add("END_HEADERS")
    elif kind == "rst":
        frame = hf.RstStreamFrame(draw(stream_ids), error_code=draw(u32))
    elif kind == "settings":
        # hyperframe 6.1 writes a setting's 16-bit id masked to 8 bits (`setting & 0xFF`),
        # so ids above 255 would not survive its own serializer: draw ids it can write.
        settings = draw(st.dictionaries(st.integers(0, 0xFF), u32, max_size=6))
        frame = hf.SettingsFrame(0, settings=settings)
    elif kind == "ping":
        frame = hf.PingFrame(0, opaque_data=draw(st.binary(min_size=8, max_size=8)))
    elif kind == "goaway":
        frame = hf.GoAwayFrame(0, last_stream_id=draw(st.integers(0, (1 << 31) - 1)),
                               error_code=draw(u32), additional_data=draw(blobs))
    else:
        frame = hf.WindowUpdateFrame(draw(st.integers(0, (1 << 31) - 1)),
                                     window_increment=draw(st.integers(1, (1 << 31) - 1)))
    if kind in ("data", "headers") and draw(st.booleans()):
        frame.flags.add("END_STREAM")
    return frame


def _same_fields(ours: Any, theirs: hf.Frame) -> None:
    values = CODEC.field_values(ours)
    assert values["type"] == theirs.type
    assert values["stream_id"] == theirs.stream_id
    flags = set(theirs.flags)
    if isinstance(theirs, hf.DataFrame):
        assert values["data"] == theirs.data
        assert bool(values["padded"]) == ("PADDED" in flags)
        assert values["pad_length"] == theirs.pad_length
        assert bool(values["end_stream"]) == ("END_STREAM" in flags)
    elif isinstance(theirs, hf.HeadersFrame):
        assert values["block"] == theirs.data
        assert bool(values["priority"]) == ("PRIORITY" in flags)
        assert bool(values["end_headers"]) == ("END_HEADERS" in flags)
        if "PRIORITY" in flags:
            assert values["depends_on"] == theirs.depends_on
            assert values["weight"] == theirs.stream_weight
            assert bool(values["exclusive"]) == theirs.exclusive
        assert values["pad_length"] == theirs.pad_length
    elif isinstance(theirs, hf.RstStreamFrame):
        assert values["error_code"] == theirs.error_code
    elif isinstance(theirs, hf.SettingsFrame):
        assert {s.id_: s.value for s in values["settings"]} == theirs.settings  # `id` is a builtin
        assert bool(values["ack"]) == ("ACK" in flags)
    elif isinstance(theirs, hf.PingFrame):
        assert values["opaque"] == theirs.opaque_data
    elif isinstance(theirs, hf.GoAwayFrame):
        assert values["last_stream_id"] == theirs.last_stream_id
        assert values["error_code"] == theirs.error_code
        assert values["debug"] == theirs.additional_data
    else:
        assert values["increment"] == theirs.window_increment


@given(hyperframes())
def test_hyperframe_bytes_decode_to_the_same_fields(theirs: hf.Frame) -> None:
    wire = theirs.serialize()
    for decode, encode in ((CODEC.decode, CODEC.encode),
                           (CODEC.reference_decode, CODEC.reference_encode)):
        result = decode(wire)
        assert result.consumed == len(wire)
        _same_fields(result.frame, theirs)
        assert encode(result.frame) == wire


def _parse_with_hyperframe(wire: bytes) -> hf.Frame:
    frame, length = hf.Frame.parse_frame_header(memoryview(wire[:9]))
    frame.parse_body(memoryview(wire[9:9 + length]))
    return frame


@given(pst.frames(HTTP2, CODEC))
def test_our_frames_parse_the_same_in_hyperframe(ours: Any) -> None:
    values = CODEC.field_values(ours)
    if any(values.get(name) for name in ("flags_unused", "flags_unused_mid", "flags_unused_low",
                                         "reserved", "last_reserved", "increment_reserved",
                                         "flags")):
        return  # hyperframe drops undefined flags and reads reserved bits into the ids
    if values["type"] == 0x8 and values["increment"] == 0:
        return  # hyperframe refuses a zero window increment, as RFC 9113 requires
    if values["type"] in (0x4, 0x6, 0x7) and values["stream_id"] != 0:
        return  # connection-level frames must use stream 0; hyperframe enforces it
    if values["type"] == 0x4 and (values["ack"] and values["settings"] or any(
            s.id_ > 0xFF for s in values["settings"])):
        return  # a SETTINGS ack carries no settings; ids over 255: see hyperframes()
    if values["type"] in (0x0, 0x1, 0x3) and values["stream_id"] == 0:
        return  # stream frames need a stream; hyperframe enforces it
    if values["type"] == 0x1 and values["padded"] and not values["block"] and not (
            values["priority"]):
        return  # padding filling a HEADERS body: RFC 9113 6.2 allows it, hyperframe does not
    wire = CODEC.encode(ours)
    theirs = _parse_with_hyperframe(wire)
    _same_fields(ours, theirs)
    if not any(values.get("padding", b"")):  # hyperframe writes padding as zeros
        assert theirs.serialize() == wire
