"""Sizes without hand-counted constants: an integer's `len(rest)` and
`size(first..last)` reaching the frame's end declare the frame's size;
`size(a..b)` is the bytes of a run of fields. Encode writes them, decode frames
by them, and both engines of the Python codec agree on what is malformed."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.codecs import load_python
from protodsl.diagnostics import SpecError
from protodsl.passes.pipeline import compile_file, compile_source
from protodsl.plan import RestFraming, plan_of

SPEC = Path(__file__).parent / "specs" / "sizes.proto-dsl"


def test_the_plan_frames_by_the_declared_integer() -> None:
    call, answer = plan_of(compile_file(SPEC)).frames
    assert isinstance(call.decode.framing, RestFraming)
    assert call.decode.framing.length is None and call.decode.framing.start == 6
    assert isinstance(answer.decode.framing, RestFraming) and answer.decode.framing.start == 0


def test_sizes_are_written(codec: ModuleType) -> None:
    call = codec.Call(id=9, service="pay", headers=[(b"k", b"v")], body=b"xyz")
    data = codec.encode(call)
    headers = bytes.fromhex("0001 6b 0001 76")
    want = (bytes.fromhex("dab0") + (1 + 4 + 2 + 8 + len(headers) + 3).to_bytes(4, "big")
            + b"\x01" + (9).to_bytes(4, "big") + (8 + len(headers)).to_bytes(2, "big")
            + b"pay     " + headers + b"xyz")
    assert data == want
    assert codec.reference_encode(call) == data
    assert codec.decode(data).frame == call
    answer = codec.Answer(id=9, code=3, note="no", body=b"")
    data = codec.encode(answer)
    assert int.from_bytes(data[2:6], "big") == len(data) == 2 + 4 + 1 + 4 + 2 + 1 + 2
    assert codec.reference_encode(answer) == data
    assert codec.decode(data).frame == answer


def _outcome(decode: object, data: bytes, codec: ModuleType) -> str:
    try:
        result = decode(data)  # type: ignore[operator]
    except codec.ProtocolError as error:
        return f"{type(error).__name__}: {error}"
    if isinstance(result, codec.NeedMore):
        return "need more"
    return f"frame of {result.consumed}"


@pytest.mark.parametrize(("total", "want"), [
    (12, "FieldOverrun: answer.code at offset 11: runs past the frame's end at 12"),
    (13, "FieldOverrun: answer.note_len at offset 13: runs past the frame's end at 13"),
    (15, "FieldOverrun: answer.note at offset 14: runs past the frame's end at 15"),
    (16, "frame of 16"),
    (17, "need more"),
    (0x10001, "FrameTooLarge: answer at offset 0: frame of 65537 bytes exceeds max_frame "
              "65536"),
])
def test_a_declared_size_frames_the_rest(codec: ModuleType, total: int, want: str) -> None:
    data = bytearray(codec.encode(codec.Answer(id=1, code=3, note="no", body=b"")))
    data[2:6] = total.to_bytes(4, "big")
    for decode in (codec.decode, codec.reference_decode):
        assert _outcome(decode, bytes(data), codec) == want


FRAME = """protocol p "x-p" {{
  frame f when kind == 1 {{
    magic: u16 = 1
    {fields}
  }}
}}
"""


@pytest.mark.parametrize(("fields", "message"), [
    ("total: u32 = size(body..magic)\n kind: u8\n body: bytes[total]",
     "size(body..magic): 'body' comes after 'magic'"),
    ("r: varint(4) = len(rest)\n kind: u8\n n: varint(2)\n m: u8 = size(kind..n)\n"
     " b: bytes[m]", "size(kind..n) covers a varint, whose width depends on its value"),
    ("kind: u8\n n: u8 = len(a)\n a: bytes[n]\n total: u32 = len(rest)\n b: bytes[rest]",
     "'total' declares the frame's size, so it must be at a fixed offset"),
    ("kind: u8\n n: u8 = len(a)\n a: bytes[n]\n b: bytes[n + size(n..a)]",
     "size(n..a) in a size must cover fixed-width fields only"),
    ("total: u16 = len(rest)\n kind: u8\n v: varint(2)",
     "varint 'v' is in a frame whose size 'total' declares"),
])
def test_what_a_size_cannot_be(fields: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        compile_source(FRAME.format(fields=fields), "p.proto-dsl")
    assert message in str(caught.value)


TRAILING = """
protocol trailing "x-trailing" {
  frame call when kind == 1 {
    kind:   u8
    id:     u32
    size:   u16 = len(rest)
    flags:  u8
    reason: u8 if more()
    roles { kind = request  id = id }
  }
  frame answer when kind == 2 {
    kind: u8
    id:   u32
    roles { kind = response  id = id }
  }
}
"""


@pytest.mark.parametrize(("reason", "wire"), [(0, "0100000007 0001 00"),
                                              (5, "0100000007 0002 00 05")])
def test_a_declared_size_counts_a_trailing_field_as_given(reason: int, wire: str) -> None:
    """An integer's `len(rest)` over a `more()` field counts it when encode writes
    it (the user gave it), in the property as in the bytes; once the property read
    a decoder-only name and raised NameError."""
    codec = load_python(compile_source(TRAILING))
    call = codec.Call(id=7, flags=0, reason=reason)
    data = codec.encode(call)
    assert data == bytes.fromhex(wire)
    assert call.size == len(data) - 7
    assert codec.reference_encode(call) == data
    assert codec.decode(data).frame == call
