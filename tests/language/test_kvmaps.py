"""Header maps with a key length and a value length of their own widths and
byte orders, and constant bytes between key and value: the Python codec (both
engines) and the plugin read, report and write them alike, and refuse the same
malformed sections with the same words."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.passes.pipeline import compile_source

SPEC = Path(__file__).parent / "specs" / "kvmaps.proto-dsl"


def _call(codec: ModuleType) -> object:
    return codec.Call(id=3, headers=[(b"service", b"pay")], attrs=[(b"k", b"v")], body=b"!")


def test_the_wire_format(codec: ModuleType) -> None:
    data = codec.encode(_call(codec))
    headers = b"\x07service" + b"\x01" + b"\x00\x03pay"
    attrs = b"\x01\x00k" + b": " + b"\x01v"
    assert data == (b"\x01\x00\x00\x00\x03" + len(headers).to_bytes(2, "big")
                    + len(attrs).to_bytes(2, "big") + (1).to_bytes(4, "big")
                    + headers + attrs + b"!")
    assert codec.reference_encode(_call(codec)) == data
    assert codec.decode(data).frame == _call(codec)
    # a null value (all ones, little-endian u8: 0xff) drops its pair
    attrs = b"\x01\x00k: \xff" + b"\x01\x00j: \x01w"
    nulled = data[:7] + len(attrs).to_bytes(2, "big") + data[9:27] + attrs + b"!"
    for decode in (codec.decode, codec.reference_decode):
        assert decode(nulled).frame.attrs == [(b"j", b"w")]


def test_the_plugin_reports_and_writes_them(codec: ModuleType, wasm: Path) -> None:
    data = codec.encode(_call(codec))
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(data)
    assert decoded.command.headers == [(b"service", b"pay")]
    edited = [(b"service", b"pay"), (b"zone", b"x" * 300)]
    result = streams.send(host, decoded, 3, headers=edited)
    assert result.status == 0 and result.frame is not None, host.logs[-1:]
    want = codec.decode(data).frame
    want.headers = edited
    assert result.frame.frame == codec.encode(want)
    # a key too long for its u8 length: refused, never cut
    (decoded,) = streams.Connection(host).feed(data)
    result = streams.send(host, decoded, 3, headers=[(b"k" * 256, b"v")])
    assert result.status == 10
    assert "header too long for the map's length prefix: 256" in host.logs[-1].message


@pytest.mark.parametrize(("where", "replace", "message"), [
    (21, b"\x02", "call.headers at offset 21: no 01 between key and value"),
    (13, b"\x20", "call.headers at offset 13: key length 32 runs past the section"),
    (30, b":;", "call.attrs at offset 30: no 3a20 between key and value"),
])
def test_malformed_maps_read_alike(
    codec: ModuleType, wasm: Path, where: int, replace: bytes, message: str
) -> None:
    data = bytearray(codec.encode(_call(codec)))
    data[where:where + len(replace)] = replace
    for decode in (codec.decode, codec.reference_decode):
        with pytest.raises(codec.MalformedSection) as caught:
            decode(bytes(data))
        assert str(caught.value) == message
    host = MosnHost.from_file(wasm)
    status, _ = streams.decode_one(host, bytes(data))
    assert status == 10
    assert message in host.logs[-1].message


@pytest.mark.parametrize(("args", "message"), [
    ("u8, u16, u32", "kvmap takes a key and a value length type; 'u32' is a third one"),
    ("u8, between=1", "write the bytes between key and value in hex"),
    ("u8, between=0x123", "write the bytes between key and value in hex"),
    ("u8, sep=0x01", "unknown argument 'sep' for kvmap"),
])
def test_what_a_kvmap_cannot_be(args: str, message: str) -> None:
    source = f"""protocol p "x-p" {{
  frame f when kind == 1 {{
    kind: u8
    n:    u16 = len(m)
    m:    kvmap({args})[n]
  }}
}}
"""
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    assert message in str(caught.value)
