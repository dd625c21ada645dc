"""A timeout or status derived from the frame's fields (`timeout = timeout_s *
1000`, `status = match code { ... }`, `status = 200`): the Python codec and the
plugin tell MOSN the same value, and neither writes MOSN's value back into the
frame on encode (the role is read-only)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.host import MosnHost, streams

SPEC = Path(__file__).parent / "specs" / "derived_roles.proto-dsl"


@pytest.mark.parametrize(("wire", "value"), [
    (bytes.fromhex("01 00000007 0003 0001 21"), 3000),  # timeout = timeout_s * 1000
    (bytes.fromhex("02 00000007 00"), 200),  # status = match code { 0 => 200 ...
    (bytes.fromhex("02 00000007 01"), 404),
    (bytes.fromhex("02 00000007 07"), 507),  # ... _ => 500 + code }
    (bytes.fromhex("02 00000007 ff"), 499),  # code is an i8: -1
    (bytes.fromhex("03 00000007"), 200),  # status = 200
])
def test_both_engines_tell_mosn_the_derived_value(
        codec: ModuleType, wasm: Path, wire: bytes, value: int) -> None:
    frame = codec.decode(wire).frame
    python = codec.timeout(frame) if wire[0] == 1 else codec.status(frame)
    assert python == value
    (decoded,) = streams.Connection(MosnHost.from_file(wasm)).feed(wire)
    assert decoded.command.timeout_or_status == value


@pytest.mark.parametrize("wire", [bytes.fromhex("01 00000007 0003 0001 21"),
                                  bytes.fromhex("02 00000007 01")])
def test_mosns_value_is_not_written_back(codec: ModuleType, wasm: Path, wire: bytes) -> None:
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(wire)
    result = streams.send(host, decoded, 9, timeout_or_status=1234)
    want = codec.encode(codec.with_roles(codec.decode(wire).frame, id=9, timeout_or_status=1234))
    assert want == wire[:1] + (9).to_bytes(4, "big") + wire[5:]
    assert result.frame is not None and result.frame.frame == want
