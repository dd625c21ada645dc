"""The public strategies, used directly as a user would in their own tests."""

from __future__ import annotations

from hypothesis import given

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst
from tests.helpers import SPECS

BOLT = compile_file(SPECS / "bolt.proto-dsl")
CODEC = load_python(BOLT)


@given(pst.frames(BOLT, CODEC))
def test_bolt_roundtrip_both_readings(frame: object) -> None:
    wire = CODEC.encode(frame)
    assert CODEC.reference_encode(frame) == wire
    assert CODEC.decode(wire) == (frame, len(wire), CODEC.State()) == CODEC.reference_decode(wire)


@given(pst.streams(BOLT, CODEC))
def test_bolt_stream_split_anywhere(example: tuple[list[bytes], list[int]]) -> None:
    wires, cuts = example
    stream = b"".join(wires)
    frames, rest = CODEC.decode_all(stream)
    assert [CODEC.encode(f) for f in frames] == wires and rest == b""
    cut = cuts[0] if cuts else 0
    first, left = CODEC.decode_all(stream[:cut])
    more, rest = CODEC.decode_all(left + stream[cut:])
    assert [CODEC.encode(f) for f in first + more] == wires and rest == b""


@given(pst.hostile_bytes(BOLT, CODEC))
def test_bolt_hostile_bytes_raise_only_protocol_error(data: bytes) -> None:
    for decode in (CODEC.decode, CODEC.reference_decode):
        try:
            result = decode(data)
        except CODEC.ProtocolError:
            continue
        if isinstance(result, CODEC.Decoded):
            assert result.consumed <= len(data) and result.consumed <= CODEC.MAX_FRAME

