"""Every backend prints the same plan, and they agree on a table of hand-made
frames: the Python straight path, the construct reference and the Wasm plugin
(through MOSN's calls) decode each to the same outcome, and re-encode each
frame to its own bytes. The cases are the corners that once split them:
conditional padded text, a conditional closed enum whose absent value is no
member, a checksum after fixed-width fields."""

from __future__ import annotations

import zlib
from pathlib import Path
from types import ModuleType

import pytest

from protodsl.host import MosnHost, streams
from protodsl.ir import Protocol
from protodsl.plan import MustMatchChecksum, RestFraming, SizedFraming, plan_of
from protodsl.testing.outcomes import MALFORMED, NEED_MORE, Outcome, python_decode, wasm_decode

SPEC = Path(__file__).parent / "specs" / "corners.proto-dsl"
REPLY = bytes.fromhex("02 00000009 0007")
SUM = zlib.crc32(REPLY).to_bytes(4, "big")

# name, bytes, the outcome every engine must give, the fields of a frame
CASES: list[tuple[str, bytes, str, dict[str, object]]] = [
    ("plain call", bytes.fromhex("01 00 00000007 0002 6869"), "frame",
     {"tag": "", "level": 0, "body": b"hi"}),
    ("padded text, present", bytes.fromhex("01 80 00000007 0002 61622020 6869"), "frame",
     {"tag": "ab", "level": 0}),
    ("padded text, all padding", bytes.fromhex("01 80 00000007 0000 20202020"), "frame",
     {"tag": ""}),
    ("padded text, not UTF-8", bytes.fromhex("01 80 00000007 0000 ff202020"), "malformed", {}),
    ("padded text, cut short", bytes.fromhex("01 80 00000007 0000 6162"), "need_more", {}),
    ("enum, present", bytes.fromhex("01 40 00000007 0001 02 7a"), "frame",
     {"level": 2, "body": b"z"}),
    ("enum, present but no member", bytes.fromhex("01 40 00000007 0000 00"), "malformed", {}),
    ("enum absent: reads 0, no member", bytes.fromhex("01 00 00000007 0000"), "frame",
     {"level": 0}),
    ("both optional parts", bytes.fromhex("01 c0 00000007 0000 78202020 01"), "frame",
     {"tag": "x", "level": 1}),
    ("checksum after fixed fields", REPLY + SUM, "frame", {"status": 7}),
    ("checksum wrong", REPLY + bytes(4), "malformed", {}),
    ("checksum cut short", REPLY + SUM[:2], "need_more", {}),
    ("unknown kind", bytes.fromhex("09 00 00000007 0000"), "malformed", {}),
    ("frame past max_frame", bytes.fromhex("01 00 00000007 ffff"), "malformed", {}),
]


def test_the_plan_has_the_corners(protocol: Protocol) -> None:
    """The spec reaches what the table is about: conditional fixed-width parts
    after the header, and a checksum read as a trailer of fixed offset."""
    call, reply = plan_of(protocol).frames
    assert isinstance(call.decode.framing, SizedFraming)
    assert [r.name for r in call.decode.framing.prefix] == ["tag", "level"]
    assert all(r.present is not None for r in call.decode.framing.prefix)
    assert not isinstance(reply.decode.framing, RestFraming)
    assert [w.checksum for w in reply.encode.writes] == [
        None, None, None, MustMatchChecksum("crc32", 0)]


def _reference(codec: ModuleType, data: bytes) -> Outcome:
    try:
        result = codec.reference_decode(data)
    except codec.ProtocolError:
        return MALFORMED
    if isinstance(result, codec.NeedMore):
        return NEED_MORE
    return ("frame", result.consumed)


@pytest.mark.parametrize(("name", "data", "want", "fields"), CASES, ids=[c[0] for c in CASES])
def test_every_backend_gives_the_same_answer(
    name: str, data: bytes, want: str, fields: dict[str, object], codec: ModuleType, wasm: Path
) -> None:
    straight = python_decode(codec, data)
    host = MosnHost.from_file(wasm)
    assert straight[0] == want, straight
    assert wasm_decode(host, data) == straight
    reference = _reference(codec, data)
    assert reference[0] == want
    if want != "frame":
        return
    assert reference == ("frame", straight[1].drain_len)
    frame = codec.decode(data).frame
    assert codec.reference_decode(data).frame == frame
    values = codec.field_values(frame)
    assert {k: values[k] for k in fields} == fields
    assert codec.encode(frame) == data
    assert codec.reference_encode(frame) == data
    (decoded,) = streams.Connection(host).feed(data)
    result = streams.send(host, decoded, decoded.command.id)
    assert result.status == 0 and result.frame is not None, host.logs[-1:]
    assert result.frame.frame == data
