"""A malformed member of a variable record is named at its own offset by the
straight path, the construct reference and the plugin alike (the reference
once named the entry's start)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.host import MosnHost, streams

SPEC = Path(__file__).parent.parent / "wasm" / "specs" / "lists.proto-dsl"


def _call(codec: ModuleType) -> bytes:
    tags = [codec.Tag(name="é", data=b"12", flags=0), codec.Tag(name="ab", data=b"", flags=1)]
    return bytes(codec.encode(codec.Call(id=1, timeout=0, pairs=[], tags=tags, body=b"")))


@pytest.mark.parametrize(("member", "value", "message"), [
    ("version", b"\x02", "call.version at offset {at}: expected 1, got 2"),
    ("name", b"\xff", "call.name at offset {at}: not UTF-8 at byte 0"),
])
def test_a_member_is_named_at_its_offset(
    codec: ModuleType, wasm: Path, member: str, value: bytes, message: str
) -> None:
    data = bytearray(_call(codec))
    second = data.index(b"\x01\x02ab")  # the second entry: version 1, name_len 2, "ab"
    at = second if member == "version" else second + 2
    data[at:at + 1] = value
    want = message.format(at=at)
    for decode in (codec.decode, codec.reference_decode):
        with pytest.raises(codec.ProtocolError) as caught:
            decode(bytes(data))
        assert str(caught.value) == want
    host = MosnHost.from_file(wasm)
    assert streams.decode_one(host, bytes(data))[0] == 10
    assert want in host.logs[-1].message
