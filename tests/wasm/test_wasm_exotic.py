"""IR features bolt does not use, end to end through the plugin: bit members
(constant and enum), little-endian and per-field byte order, u24, i64/u64, padded
and variable text, one- and two-byte map prefixes with nulls, fixed bytes, an
open enum, sizes computed from several fields, fields after the variable part; and
the differential properties against the Python codec on more shapes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from protodsl.codecs import load_python
from protodsl.host import MosnHost, streams
from protodsl.host.streams import Connection, Decoded
from protodsl.passes.pipeline import compile_file
from protodsl.testing.properties import Sides, applicable
from protodsl.testing.runner import run_property
from tests.wasm.conftest import write_and_build

SPEC = Path(__file__).parent / "specs" / "exotic.proto-dsl"


@pytest.fixture(scope="module")
def exotic_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_and_build(tmp_path_factory.mktemp("exotic"), compile_file(SPEC))


@pytest.fixture
def ex(exotic_wasm: Path) -> MosnHost:
    return MosnHost.from_file(exotic_wasm)


def kv8(pairs: list[tuple[bytes | None, bytes | None]]) -> bytes:
    out = b""
    for part in (p for pair in pairs for p in pair):
        out += b"\xff" if part is None else bytes([len(part)]) + part
    return out


def ask(seq: int = 0x123456, *, kind: int = 1, deadline: int = -2, stamp: int = 9,
        name: bytes = b"ab      ", meta: bytes = b"", tag: bytes = b"t\xc3\xa9",
        body: bytes = b"body", crc: int = 0xDEADBEEF, version: int = 2) -> bytes:
    head = (b"\xca\xfe" + bytes([(version << 5) | kind]) + seq.to_bytes(3, "little")
            + struct.pack("<qQ", deadline, stamp) + name
            + struct.pack("<BI", len(meta), len(body)) + struct.pack(">H", len(tag)))
    return head + meta + tag + body + struct.pack(">I", crc)


def answer(seq: int = 7, *, code: int = -3, extra: bytes = b"\x01\x02\x03\x04",
           meta: bytes = b"", body: bytes = b"", z: int = 0, total: int | None = None) -> bytes:
    total = len(meta) + len(body) + 1 if total is None else total
    return (b"\xca\xfe" + bytes([(2 << 5) | 2]) + seq.to_bytes(3, "little")
            + struct.pack("<h", code) + extra + struct.pack("<IH", total, len(body))
            + meta + body + bytes([z]))


def decoded(host: MosnHost, wire: bytes) -> Decoded:
    """`wire` decoded by MOSN on a new connection: one frame, on its own context."""
    (frame,) = Connection(host).feed(wire)
    return frame


def test_request_roles(ex: MosnHost) -> None:
    meta = kv8([(b"k", b"v"), (None, b"x"), (b"y", None), (b"e", b"")])
    cmd = ex.decode(ex.new_context(), ask(meta=meta)).command
    assert cmd is not None
    assert (cmd.flag, cmd.id, cmd.timeout_or_status) == (0x5F, 0x123456, 0xFFFFFFFE)
    assert cmd.headers == [(b"k", b"v"), (b"e", b"")]
    assert cmd.payload == b"body"
    assert cmd.drain_len == len(ask(meta=meta))


def test_oneway_and_heartbeat_predicates(ex: MosnHost) -> None:
    quiet, ping = Connection(ex).feed(ask(kind=3) + ask(stamp=0, body=b""))
    assert quiet.command.flag == 0x9F and ping.command.flag == 0x7F


def test_roundtrip_keeps_every_remembered_field(ex: MosnHost) -> None:
    wire = ask(meta=kv8([(b"k", b"v")]), name=b"abcdefgh", tag=b"")
    out = streams.send(ex, decoded(ex, wire), 0xABCDEF)
    assert out.frame is not None
    assert out.frame.frame == ask(0xABCDEF, meta=kv8([(b"k", b"v")]), name=b"abcdefgh", tag=b"")


def test_padding_is_stripped_and_restored(ex: MosnHost) -> None:
    request = decoded(ex, ask(name=b"ab      "))
    out = streams.send(ex, request, request.command.id, headers=[(b"n", b"1")], payload=b"",
                       timeout_or_status=5)
    assert out.frame is not None
    assert out.frame.frame == ask(meta=kv8([(b"n", b"1")]), deadline=5, body=b"")


def test_map_values_too_long_for_a_one_byte_prefix(ex: MosnHost) -> None:
    request = decoded(ex, ask())
    ctx, cmd = request.ctx, request.command
    assert ex.encode(ctx, [(b"k", bytes(255))], cmd.mosn_flag, 1, cmd.id, 0, b"").status == 10
    assert "too long for the map's length prefix: 255" in ex.logs[-1].message
    assert ex.encode(ctx, [(b"k", bytes(254))], cmd.mosn_flag, 1, cmd.id, 0, b"").status == 10
    assert "ask.meta_len: does not fit u8: 257" in ex.logs[-1].message
    assert ex.encode(ctx, [(b"k", bytes(252))], cmd.mosn_flag, 1, cmd.id, 0, b"").status == 0


@pytest.mark.parametrize("wire,field", [
    (ask(version=3), "ask.version at offset 2"),
    (ask(tag=b"\xc3"), "ask.tag"),
    (ask(tag=b"\xed\xa0\x80"), "ask.tag"),  # a surrogate is not UTF-8
    (ask(name=b"\xff       "), "ask.name at offset 22"),
    (ask(meta=b"\x05ab"), "ask.meta"),
    (answer(z=1), "answer.z"),
    (answer(total=0), "answer.meta at offset 18: negative size -1"),
    (b"\xca\xfe\x45" + bytes(40), "no frame variant matches"),
])
def test_malformed(ex: MosnHost, wire: bytes, field: str) -> None:
    assert ex.decode(ex.new_context(), wire).status == 10
    assert field in ex.logs[-1].message


def test_prefixes_need_more(ex: MosnHost) -> None:
    ctx = ex.new_context()
    for wire in (ask(meta=kv8([(b"k", b"v")])), answer(meta=b"\x01\x00a\x00\x00", body=b"b")):
        for cut in range(len(wire)):
            assert ex.decode(ctx, wire[:cut]).status == 99, cut
        assert ex.decode(ctx, wire).status == 0


def test_fixed_text_is_checked_once_the_header_is_whole(ex: MosnHost) -> None:
    """As the Python codec: a short header is need-more unless a value check fails."""
    bad_name = ask(name=b"\xff       ")
    ctx = ex.new_context()
    assert ex.decode(ctx, bad_name[:36]).status == 99
    assert ex.decode(ctx, bad_name[:37]).status == 10


def test_response_with_open_enum_and_trailer(ex: MosnHost) -> None:
    meta = b"\x01\x00a\x02\x00bc"  # u16le prefixes
    response = decoded(ex, answer(code=-3, meta=meta, body=b"xyz"))
    cmd = response.command
    assert (cmd.flag, cmd.id, cmd.timeout_or_status) == (0x1F, 7, 0xFFFFFFFD)
    assert (cmd.headers, cmd.payload) == ([(b"a", b"bc")], b"xyz")
    out = streams.send(ex, response, 8, headers=cmd.headers + [(b"d", b"")], payload=b"",
                       timeout_or_status=0x7FFF)
    assert out.frame is not None
    assert out.frame.frame == answer(8, code=0x7FFF, meta=meta + b"\x01\x00d\x00\x00")


def test_builders(ex: MosnHost) -> None:
    """As MOSN asks for them: built frames keep their own deadline and code
    whatever MOSN passes (3000 for a keepalive, 0 for a reply or hijack)."""
    ping = streams.keepalive(ex, 0x010203)
    assert ping.frame is not None
    assert ping.frame.frame == ask(0x010203, deadline=-1, stamp=0, name=b" " * 8, tag=b"",
                                   body=b"", crc=0)
    assert ping.frame.flag == 0x7F
    pong = streams.reply_keepalive(ex, decoded(ex, ping.frame.frame))
    assert pong.frame is not None
    assert pong.frame.frame == answer(0x010203, code=0, extra=bytes(4))
    for code, status in ((200, 0), (404, 4), (500, 1)):
        made = streams.hijack(ex, decoded(ex, ask(seq=5)), code)
        assert made.frame is not None
        assert made.frame.frame == answer(5, code=status, extra=bytes(4))
    silent = streams.hijack(ex, decoded(ex, ask(seq=6, kind=3)), 404)  # oneway: no answer
    assert silent.frame is not None and silent.frame.frame == b""


SHAPES = Path(__file__).parent / "specs" / "shapes.proto-dsl"


def test_shapes_agree_with_the_python_codec(tmp_path: Path) -> None:
    """The Wasm-side differential properties of `protodsl test` on more shapes."""
    protocol = compile_file(SHAPES)
    sides = Sides(protocol, load_python(protocol), write_and_build(tmp_path, protocol))
    failed = []
    for prop in applicable(protocol, wasm=True):
        if prop.engine == "wasm":
            result = run_property(prop, sides, examples=40, seed=7)
            if not result.passed:
                failed.append(f"{prop.name}: {result.error} on {result.counterexample!r}")
    assert failed == []
