"""An id that is part of a 16-byte UUID: the Python codec (both engines) and the
plugin report the view as MOSN's command id, a new id goes into that part and
the UUID's other bytes stay, so a response echoing the UUID maps back; builders
put their id in the view; misuse is a spec error."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.codecs import build_wasm, load_python
from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.passes.pipeline import compile_source

SPEC = Path(__file__).parent / "specs" / "uuid_ids.proto-dsl"
UUID = bytes.fromhex("00112233445566778899aabbccddeeff")


def test_decode_reports_the_view_in_every_engine(codec: ModuleType, wasm: Path) -> None:
    data = codec.encode(codec.Call(request_id=UUID, timeout=30, body=b"hi"))
    for decode in (codec.decode, codec.reference_decode):
        assert codec.command_id(decode(data).frame) == 0x8899AABBCCDDEEFF
    (decoded,) = streams.Connection(MosnHost.from_file(wasm)).feed(data)
    assert decoded.command.id == 0x8899AABBCCDDEEFF


def test_a_new_id_keeps_the_other_bytes(codec: ModuleType) -> None:
    frame = codec.Call(request_id=UUID, timeout=30, body=b"hi")
    edited = codec.with_roles(frame, id=7)
    assert edited.request_id == UUID[:8] + (7).to_bytes(8, "big")
    assert codec.command_id(edited) == 7


def test_a_response_echoing_the_uuid_maps_back(codec: ModuleType, wasm: Path) -> None:
    """MOSN sends the request upstream as id 5; the server echoes the UUID it
    got; the response goes downstream under the request's first id."""
    host = MosnHost.from_file(wasm)
    request = codec.encode(codec.Call(request_id=UUID, timeout=30, body=b"hi"))
    (decoded,) = streams.Connection(host).feed(request)
    upstream = streams.send(host, decoded, 5)
    assert upstream.status == 0 and upstream.frame is not None, host.logs[-1:]
    sent = codec.decode(upstream.frame.frame).frame
    assert sent.request_id == UUID[:8] + (5).to_bytes(8, "big")
    answer = codec.encode(codec.Answer(request_id=sent.request_id, status=0, body=b"ok"))
    (back,) = streams.Connection(host).feed(answer)
    assert back.command.id == 5
    downstream = streams.send(host, back, decoded.command.id)
    assert downstream.status == 0 and downstream.frame is not None, host.logs[-1:]
    assert codec.decode(downstream.frame.frame).frame.request_id == UUID
    assert downstream.frame.frame == codec.encode(codec.with_roles(
        codec.decode(answer).frame, id=decoded.command.id))


def test_builders_put_their_id_in_the_view(codec: ModuleType, wasm: Path) -> None:
    ping = codec.keepalive(42)
    assert ping.request_id == bytes(15) + b"\x2a"
    assert codec.command_id(codec.keepalive_reply(ping)) == 42
    host = MosnHost.from_file(wasm)
    result = streams.keepalive(host, 42)
    assert result.frame is not None and result.frame.frame == codec.encode(ping)
    request = codec.Call(request_id=UUID, timeout=30, body=b"hi")
    (decoded,) = streams.Connection(host).feed(codec.encode(request))
    answer = streams.hijack(host, decoded, 503)
    assert answer.frame is not None
    assert answer.frame.frame == codec.encode(codec.hijack(request, 503))
    assert codec.hijack(request, 503).request_id == UUID  # the whole UUID, echoed


def test_cut_inside_the_id_needs_more(codec: ModuleType, wasm: Path) -> None:
    data = codec.encode(codec.Call(request_id=UUID, timeout=30, body=b""))
    for cut in (3, 10, 17):
        assert isinstance(codec.decode(data[:cut]), codec.NeedMore)
        status, _ = streams.decode_one(MosnHost.from_file(wasm), data[:cut])
        assert status == 99


NARROW = """protocol p "x-p" {
  frame call when kind == 1 {
    kind: u8
    rid:  bytes[16]
    roles { kind = request  id = u32le(rid[12..16]) }
  }
  frame answer when kind == 2 {
    kind: u8
    rid:  bytes[16]
    roles { kind = response  id = u32le(rid[12..16]) }
  }
}
"""


def test_a_little_endian_view_refuses_an_id_it_cannot_hold(tmp_path: Path) -> None:
    protocol = compile_source(NARROW, "p.proto-dsl")
    codec = load_python(protocol)
    uuid = bytes(range(16))
    assert codec.command_id(codec.Call(rid=uuid)) == 0x0F0E0D0C
    with pytest.raises(codec.EncodeError) as caught:
        codec.with_roles(codec.Call(rid=uuid), id=1 << 32)
    assert str(caught.value) == "call.rid: id does not fit 4 bytes: 4294967296"
    host = MosnHost.from_file(build_wasm(protocol, tmp_path))
    (decoded,) = streams.Connection(host).feed(codec.encode(codec.Call(rid=uuid)))
    assert decoded.command.id == 0x0F0E0D0C
    assert streams.send(host, decoded, 1 << 32).status == 10
    assert str(caught.value) in host.logs[-1].message
    (decoded,) = streams.Connection(host).feed(codec.encode(codec.Call(rid=uuid)))
    result = streams.send(host, decoded, 0x01020304)
    assert result.frame is not None
    assert codec.decode(result.frame.frame).frame.rid == uuid[:12] + b"\x04\x03\x02\x01"


@pytest.mark.parametrize(("field", "role", "message"), [
    ("rid: bytes[n]", "rid[0..8]", "3:34: the id role reads part of a bytes field of fixed size"),
    ("rid: text[16]", "rid[0..8]", "3:34: the id role reads part of a bytes field; 'rid' is not"),
    ("rid: bytes[16] if n == 1", "rid[0..8]", "3:34: the id role reads part of a field always"),
    ("rid: bytes[16]", "rid[8..17]", "3:34: bytes 8..17 are not inside 'rid' (bytes[16])"),
    ("rid: bytes[16]", "rid[4..4]", "3:34: bytes 4..4 are not inside 'rid'"),
    ("rid: bytes[16]", "rid[0..16]", "3:34: the id role reads at most 8 bytes"),
    ("rid: bytes[16]", "u32(rid[8..16])", "3:34: 'u32' around the id's view must be an "
     "unsigned integer type of its width, 8 bytes (u64le or u64be)"),
    ("rid: bytes[16]", "i64(rid[8..16])", "3:34: 'i64' around the id's view must be"),
    ("rid: bytes[16]", "uid[8..16]", "3:34: unknown field 'uid'"),
    ("rid: bytes[16]", "n[0..1]", "3:34: the id role reads part of a bytes field; 'n' is not"),
])
def test_what_an_id_view_cannot_be(field: str, role: str, message: str) -> None:
    source = f"""protocol p "x-p" {{
  frame call when n == 1 {{ n: u8  {field}
    roles {{ kind = request  id = {role} }}
  }}
}}
"""
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    at, text = message.split(": ", 1)
    assert f"p.proto-dsl:{at}: error: {text}" in str(caught.value)


def test_only_the_id_reads_part_of_a_field() -> None:
    source = """protocol p "x-p" {
  frame call when n == 1 { n: u8  rid: bytes[16]
    roles { kind = request  id = rid[8..16]  timeout = rid[0..4] }
  }
}
"""
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    assert "3:56: error: role 'timeout' cannot read part of a field; only the id role may" in str(
        caught.value)


@pytest.mark.parametrize(("assignment", "message"), [
    ('request_id = x"00"', "40:46: error: 'request_id' holds the frame's id: give it an integer"),
    ("request_id = req.nothing", "40:46: error: frame 'call' has no integer field 'nothing'"),
])
def test_what_a_builder_gives_the_id_field(assignment: str, message: str) -> None:
    source = SPEC.read_text().replace("request_id = req.request_id  status = 0", assignment)
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    assert f"p.proto-dsl:{message}" in str(caught.value)
