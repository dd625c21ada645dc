"""128-bit integers: decoded and encoded by every engine (the plugin carries
them as their 16 bytes), and refused wherever they would have to be a 64-bit
value: expressions, roles, constants, enums, bits, records, builders."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.passes.pipeline import compile_source

SPEC = Path(__file__).parent / "specs" / "wide_ints.proto-dsl"
TRACE = 0x0123456789ABCDEF_FEDCBA9876543210
SPAN = -(1 << 127)


def test_every_engine_carries_them(codec: ModuleType, wasm: Path) -> None:
    call = codec.Call(id=7, traced=1, trace=TRACE, span=SPAN, parent=(1 << 128) - 1,
                      body=b"x")
    data = codec.encode(call)
    assert data[6:22] == TRACE.to_bytes(16, "big")
    assert data[22:38] == SPAN.to_bytes(16, "little", signed=True)
    assert data[38:54] == b"\xff" * 16
    assert codec.reference_encode(call) == data
    for decode in (codec.decode, codec.reference_decode):
        assert decode(data).frame == call
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(data)
    result = streams.send(host, decoded, 9)
    assert result.status == 0 and result.frame is not None
    call.id = 9
    assert result.frame.frame == codec.encode(call)
    assert streams.decode_one(host, data[:30])[0] == 99  # cut inside a 128-bit integer


def test_they_fit_or_are_refused(codec: ModuleType) -> None:
    for encode in (codec.encode, codec.reference_encode):
        with pytest.raises(codec.EncodeError):
            encode(codec.Call(id=1, trace=1 << 128, span=0, body=b""))
        with pytest.raises(codec.EncodeError):
            encode(codec.Call(id=1, trace=0, span=1 << 127, body=b""))


@pytest.mark.parametrize(("fields", "message"), [
    ("t: u128 = 5", "'t' is a 128-bit integer: data only, so it takes no value or default"),
    ("t: u128\n n: u8 = t + 1", "'t' is a 128-bit integer: data only, no expression reads it"),
    ("t: u128\n b: bytes[2] if t == 1", "'t' is a 128-bit integer: data only, no expression"),
    ("bits u128 { a: 64  b: 64 }", "bits need an unsigned integer container"),
    ("n: u8 = len(m)\n m: kvmap(u128)[n]", "a kvmap's lengths are at most 64 bits"),
])
def test_where_they_cannot_be(fields: str, message: str) -> None:
    source = f"""protocol p "x-p" {{
  frame f when kind == 1 {{
    kind: u8
    {fields}
  }}
}}
"""
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    assert message in str(caught.value)


@pytest.mark.parametrize(("source", "message"), [
    ('enum E: u128 { a = 1 }\n frame f when kind == 1 { kind: u8 }',
     "enum 'E' needs a base of at most 64 bits"),
    ('record R { t: u128 }\n frame f when kind == 1 { kind: u8  n: u8 = len(r)  '
     'r: list(R)[n] }', "record 'R' holds integers of at most 64 bits: 't' is 128 bits"),
    ('frame f when kind == 1 { kind: u8  t: u128  roles { kind = request  id = t } }\n'
     ' frame g when kind == 2 { kind: u8  i: u8  roles { kind = response  id = i } }',
     "role 'id' must name an integer of at most 64 bits; 't' is 128 bits"),
    ('frame f when kind == 1 { kind: u8  i: u8  t: u128  roles { kind = request  id = i } }\n'
     ' keepalive f(id) { i = id  t = 1 }',
     "'t' is a 128-bit integer: data only, a built frame has it 0"),
])
def test_where_they_cannot_be_declared(source: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        compile_source(f'protocol p "x-p" {{\n {source}\n}}\n', "p.proto-dsl")
    assert message in str(caught.value)
