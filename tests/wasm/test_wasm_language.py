"""Conditional fields, checksums and literal bytes in builders, end to end
through the plugin: bolt v2's real CRC frames, dubbo's heartbeat frames and
real frames, and specs/conditional.proto-dsl, whose fields after the header
(conditional, or after a conditional one) are read before the sizes that use
them. The Python codec is the reference for every status and byte."""

from __future__ import annotations

import hashlib
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from protodsl.codegen.wasm import backend

from protodsl.codecs import load_python
from protodsl.host import FLAG_HEARTBEAT, FLAG_REQUEST, FLAG_RESPONSE, MosnHost, streams
from protodsl.host.streams import Connection, Decoded
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file, compile_source
from protodsl.testing.outcomes import MALFORMED, NEED_MORE, python_decode, wasm_decode
from tests.helpers import SPECS, load_vectors
from tests.wasm.conftest import write_and_build

CONDITIONAL = Path(__file__).parent / "specs" / "conditional.proto-dsl"
LANGUAGE_SPECS = [SPECS / "boltv2.proto-dsl", SPECS / "dubbo.proto-dsl", CONDITIONAL]
BOLT_V2 = [pytest.param(v, id=v["name"]) for v in load_vectors("bolt-upstream.json")["frames"]
           if v["version"] == 2]
DUBBO = [pytest.param(v, id=v["name"]) for v in load_vectors("dubbo.json")["frames"]]
BOLT_V2_HEADER = 22  # bytes of a bolt v2 response header; the class name follows


@dataclass(frozen=True)
class Built:
    """A spec, its Python codec and its plugin."""

    protocol: Protocol
    codec: ModuleType
    wasm: Path

    def host(self) -> MosnHost:
        return MosnHost.from_file(self.wasm)

    def frame(self, variant: str, **values: Any) -> Any:
        """A Python frame of `variant`, fields given by their spec names."""
        index = [f.name for f in self.protocol.frames].index(variant)
        attrs = self.codec.ATTRS[variant]
        return self.codec.FRAMES[index](**{attrs[k]: v for k, v in values.items()})


def _build(factory: pytest.TempPathFactory, path: Path) -> Built:
    protocol = compile_file(path)
    return Built(protocol, load_python(protocol), write_and_build(factory.mktemp(path.stem),
                                                                   protocol))


@pytest.fixture(scope="module")
def boltv2(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory, SPECS / "boltv2.proto-dsl")


@pytest.fixture(scope="module")
def dubbo(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory, SPECS / "dubbo.proto-dsl")


@pytest.fixture(scope="module")
def cond(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory, CONDITIONAL)


def agree(built: Built, host: MosnHost, data: bytes) -> tuple[Any, ...]:
    """Decode on a new connection: the plugin's outcome, which must be Python's."""
    python = python_decode(built.codec, data)
    wasm = wasm_decode(host, data)
    assert wasm == python, data.hex()
    return wasm


def decoded(host: MosnHost, wire: bytes) -> Decoded:
    """`wire` decoded by MOSN on a new connection: one frame, on its own context."""
    (frame,) = Connection(host).feed(wire)
    return frame


def round_trip(host: MosnHost, data: bytes) -> bytes:
    """Decode, then send on what MOSN hands back unchanged: the frame's bytes."""
    frame = decoded(host, data)
    out = streams.send(host, frame, frame.command.id)
    assert out.status == 0 and out.frame is not None, out.status
    return out.frame.frame


# ---- the target ------------------------------------------------------------------------


def test_the_wasm_target_takes_conditions_checksums_and_literals() -> None:
    for path in LANGUAGE_SPECS:
        errors = [d.message for d in backend.check_target(compile_file(path))
                  if d.severity == "error"]
        assert errors == [], (path.name, errors)


def test_lists_of_records_are_taken(tmp_path: Path) -> None:
    """Once refused by the target; now a list is part of the frame, kept and
    written again (tests/wasm/test_wasm_lists_varints.py has the details)."""
    protocol = compile_source(
        'protocol p "x-p" {\n'
        '  record R { a: u8 }\n'
        '  frame q when t == 1 { t: u8  id: u32  n: u8 = len(rs)  rs: list(R)[n]\n'
        '    roles { kind = request  id = id } }\n'
        '  frame r when t == 2 { t: u8  id: u32  roles { kind = response  id = id } }\n'
        '}\n')
    assert backend.check_target(protocol) == []
    host = MosnHost.from_file(write_and_build(tmp_path, protocol))
    wire = bytes.fromhex("01 00000005 03 0a0b0c")
    assert round_trip(host, wire) == wire


@pytest.mark.parametrize("path", LANGUAGE_SPECS, ids=lambda p: p.stem)
def test_generated_c_is_strict_clean_and_deterministic(path: Path, tmp_path: Path) -> None:
    files = backend.generate(compile_file(path))
    assert backend.generate(compile_file(path)) == files
    name = compile_file(path).name
    for rel, text in files.items():
        (tmp_path / rel).write_text(text, encoding="utf-8")
    command = backend.compile_command(tmp_path / f"{name}.c", tmp_path / "strict.wasm",
                                      ("-Wall", "-Wextra", "-Werror"))
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_only_protocols_with_a_checksum_carry_the_crc_table(tmp_path: Path) -> None:
    bolt = backend.generate(compile_file(SPECS / "bolt.proto-dsl"))["bolt.c"]
    boltv2 = backend.generate(compile_file(SPECS / "boltv2.proto-dsl"))["boltv2.c"]
    assert "pd_crc32" not in bolt and "pd_crc32" in boltv2


# ---- bolt v2: a conditional CRC32 after the content ---------------------------------------


@pytest.mark.parametrize("vector", BOLT_V2)
def test_boltv2_crc_frames_decode_to_their_roles(boltv2: Built, vector: dict[str, Any]) -> None:
    """sofa-bolt-node's v2 frames: the CRC checked, the roles as recorded there."""
    data = bytes.fromhex(vector["hex"])
    expect = vector["decoded"]
    assert zlib.crc32(data[:-4]) == int(expect["crc32_hex"], 16)  # the vector's own CRC
    host = boltv2.host()
    cmd = decoded(host, data).command
    assert cmd.flag == 0x1F  # a response, not a heartbeat (and the low bits)
    assert (cmd.id, cmd.timeout_or_status, cmd.drain_len) == (
        expect["request_id"], expect["status"], len(data))
    assert cmd.headers == [tuple(p) for p in expect["headers"]]
    assert len(cmd.payload) == expect["content_len"]
    assert hashlib.sha256(cmd.payload).hexdigest() == expect["content_sha256"]
    agree(boltv2, host, data)


@pytest.mark.parametrize("vector", BOLT_V2)
def test_boltv2_crc_frames_encode_byte_for_byte(boltv2: Built, vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    assert round_trip(boltv2.host(), data) == data


@pytest.mark.parametrize("vector", BOLT_V2)
def test_a_flipped_bit_in_the_covered_bytes_is_malformed(
    boltv2: Built, vector: dict[str, Any]
) -> None:
    data = bytes.fromhex(vector["hex"])
    class_len = int.from_bytes(data[14:16], "big")
    host = boltv2.host()
    for position in (6, BOLT_V2_HEADER, BOLT_V2_HEADER + class_len, len(data) - 5,
                     len(data) - 1):
        broken = bytearray(data)
        broken[position] ^= 0x10
        assert agree(boltv2, host, bytes(broken)) == MALFORMED, position
        assert "response.crc" in host.logs[-1].message and "crc32" in host.logs[-1].message


def test_every_strict_prefix_of_a_crc_frame_needs_more(boltv2: Built) -> None:
    data = bytes.fromhex(BOLT_V2[0].values[0]["hex"])
    host = boltv2.host()
    ctx = host.new_context()
    for cut in range(len(data)):
        assert host.decode(ctx, data[:cut]).status == 99, cut


def test_encode_computes_the_crc_of_the_edited_frame(boltv2: Built) -> None:
    data = bytes.fromhex(BOLT_V2[0].values[0]["hex"])
    codec = boltv2.codec
    headers = [(b"service", b"com.example.Echo:1.0")]
    host = boltv2.host()
    out = streams.send(host, decoded(host, data), 4242, headers=headers, payload=b"new content",
                       timeout_or_status=6)
    assert out.frame is not None
    frame = out.frame.frame
    expected = codec.encode(codec.with_roles(codec.decode(data).frame, id=4242,
                                             timeout_or_status=6, headers=headers,
                                             payload=b"new content"))
    assert frame == expected
    assert int.from_bytes(frame[-4:], "big") == zlib.crc32(frame[:-4])


@pytest.mark.parametrize(("ver1", "switch"), [(2, 0), (1, 1), (2, 3), (2, 0xFE)])
def test_the_crc_is_there_only_for_ver1_2_and_switch_bit_0(
    boltv2: Built, ver1: int, switch: int
) -> None:
    codec = boltv2.codec
    frame = codec.decode(bytes.fromhex(BOLT_V2[0].values[0]["hex"])).frame
    frame.ver1, frame.switch = ver1, switch
    data = codec.encode(frame)
    crc = ver1 == 2 and switch & 1 == 1
    assert len(data) == BOLT_V2_HEADER + len(frame.class_) + len(frame.content) + 4 * crc
    host = boltv2.host()
    assert agree(boltv2, host, data)[0] == "frame"
    assert round_trip(host, data) == data


def test_built_boltv2_frames_carry_their_crc(boltv2: Built) -> None:
    """A hijack answer to a request with the CRC switch on has a CRC too."""
    codec = boltv2.codec
    request = boltv2.frame("request", ver1=2, type=1, cmd_code=1, request_id=9, switch=1,
                           timeout=3000, content=b"ask")
    data = codec.encode(request)
    host = boltv2.host()
    out = streams.hijack(host, decoded(host, data), 404)
    assert out.frame is not None
    assert out.frame.frame == codec.encode(codec.hijack(request, 404))
    assert int.from_bytes(out.frame.frame[-4:], "big") == zlib.crc32(out.frame.frame[:-4])


# ---- dubbo: literal bodies of built heartbeats -------------------------------------------


def dubbo_ping(request_id: int) -> bytes:
    """A dubbo heartbeat request: flag 0xe2 (request, two-way, event, hessian2), body "N"."""
    return bytes.fromhex("dabbe200") + request_id.to_bytes(8, "big") + bytes.fromhex(
        "00000001 4e")


@pytest.mark.parametrize("payload", [b"", b"NN"], ids=["no payload, as MOSN", "NN"])
def test_dubbo_keepalive_reply_is_flag_0x22_status_20_body_nn(
    dubbo: Built, payload: bytes
) -> None:
    host = dubbo.host()
    ping = decoded(host, dubbo_ping(77))
    assert ping.command.flag == 0x7F  # request, heartbeat, the low bits
    assert host.reply_keepalive(ping.ctx) == 0
    out = host.encode(ping.ctx, [], FLAG_RESPONSE | FLAG_HEARTBEAT, 77, 77, 0, payload)
    assert out.frame is not None and (out.frame.flag, out.frame.id) == (0x3F, 77)
    assert out.frame.frame == bytes.fromhex("dabb2214" "000000000000004d" "00000002" "4e4e")


def test_dubbo_keepalive_is_a_heartbeat_request_with_body_n(dubbo: Built) -> None:
    out = streams.keepalive(dubbo.host(), 5)
    assert out.frame is not None and (out.frame.flag, out.frame.id) == (0x7F, 5)
    assert out.frame.frame == dubbo_ping(5) == dubbo.codec.encode(dubbo.codec.keepalive(5))


def test_a_payload_mosn_passes_replaces_the_literal(dubbo: Built) -> None:
    host = dubbo.host()
    ctx = host.new_context()
    assert host.keepalive(ctx, 5) == 0
    out = host.encode(ctx, [], FLAG_REQUEST | FLAG_HEARTBEAT, 5, 5, streams.KEEPALIVE_TIMEOUT,
                      b"xyz")
    assert out.frame is not None and out.frame.frame[12:] == b"\x00\x00\x00\x03xyz"


def test_a_decoded_frame_takes_an_empty_payload(dubbo: Built) -> None:
    """Only built frames keep a literal: a decoded heartbeat re-encoded with no
    payload has none."""
    host = dubbo.host()
    out = streams.send(host, decoded(host, dubbo_ping(8)), 8, payload=b"")
    assert out.frame is not None and out.frame.frame == dubbo_ping(8)[:12] + bytes(4)


@pytest.mark.parametrize("vector", DUBBO)
def test_dubbo_real_frames(dubbo: Built, vector: dict[str, Any]) -> None:
    """Frames from the Rust and Node.js dubbo codecs' tests: the roles the
    Python codec gives, the id recorded there, and the same bytes again."""
    data = bytes.fromhex(vector["hex"])
    host = dubbo.host()
    outcome = agree(dubbo, host, data)
    assert outcome[0] == "frame"
    roles = outcome[1]
    assert roles.id == vector["expect"]["id"] and roles.drain_len == len(data)
    assert (roles.flag & 0x40 == 0x40) == (vector["expect"]["kind"] == "request")
    assert round_trip(host, data) == data


# ---- fields after the header, read before the sizes ---------------------------------------


def call(built: Built, *, padded: int = 0, priority: int = 0, traced: int = 0,
         **values: Any) -> Any:
    """A `call` of the conditional spec; what its flags leave off is 0 or empty."""
    fields = dict(kind=1, padded=padded, priority=priority, traced=traced, id=0x01020304,
                  deadline=-7, body=b"body")
    if padded:
        fields["padding"] = b"\x00" * 3
    if priority:
        fields.update(exclusive=1, depends_on=0x1234567, weight=200)
    if traced:
        fields.update(tag=b"tg", trace=[(b"k", b"v"), (b"trace", b"")])
    fields.update(values)
    return built.frame("call", **fields)


FLAGS = [(p, q, t) for p in (0, 1) for q in (0, 1) for t in (0, 1)]


@pytest.mark.parametrize(("padded", "priority", "traced"), FLAGS)
def test_calls_decode_encode_and_need_more_like_python(
    cond: Built, padded: int, priority: int, traced: int
) -> None:
    data = cond.codec.encode(call(cond, padded=padded, priority=priority, traced=traced))
    host = cond.host()
    outcome = agree(cond, host, data)
    assert outcome[0] == "frame" and outcome[1].payload == b"body"
    assert outcome[1].timeout_or_status == 0xFFFFFFF9
    assert round_trip(host, data) == data
    for cut in range(len(data)):  # the buffer ends inside every field, each in turn
        assert agree(cond, host, data[:cut]) == NEED_MORE, cut


def test_absent_fields_take_no_bytes(cond: Built) -> None:
    plain = cond.codec.encode(call(cond))
    full = cond.codec.encode(call(cond, padded=1, priority=1, traced=1))
    trace = (2 + 1 + 2 + 1) + (2 + 5 + 2 + 0)  # two u16 length-prefixed pairs
    assert len(full) - len(plain) == (1 + 3) + (4 + 1) + (4 + 1 + trace)
    assert plain[:8] == bytes.fromhex("01 00 01020304 0004")


def test_a_little_endian_crc_from_the_second_field(cond: Built) -> None:
    data = cond.codec.encode(call(cond, padded=1))
    assert int.from_bytes(data[-4:], "little") == zlib.crc32(data[2:-4])
    host = cond.host()
    for position in (0, 1, 2, len(data) - 5, len(data) - 1):
        broken = bytearray(data)
        broken[position] ^= 0x01
        outcome = agree(cond, host, bytes(broken))
        assert outcome == MALFORMED or position < 2, position


def test_a_negative_body_size_is_malformed(cond: Built) -> None:
    """length says 3 but priority takes 5 of them: the body would be -2 bytes."""
    data = bytearray(cond.codec.encode(call(cond, priority=1, body=b"")))
    data[6:8] = (3).to_bytes(2, "big")
    host = cond.host()
    assert agree(cond, host, bytes(data)) == MALFORMED
    assert "negative size" in host.logs[-1].message


@pytest.mark.parametrize(("traced", "checked"), [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_replies_with_a_trailing_int_and_a_conditional_crc(
    cond: Built, traced: int, checked: int
) -> None:
    reply = cond.frame("reply", kind=3, traced=traced, checked=checked, id=5, status=1,
                       note="é", extra=0xBEEF if traced else 0, body=b"answer")
    data = cond.codec.encode(reply)
    assert len(data) == 13 + 2 + 2 * traced + 6 + 4 * checked
    host = cond.host()
    assert agree(cond, host, data)[0] == "frame"
    assert round_trip(host, data) == data
    if checked:
        broken = data[:-5] + bytes([data[-5] ^ 0x80]) + data[-4:]
        assert agree(cond, host, broken) == MALFORMED


def test_built_frames_carry_literals_and_checksums(cond: Built) -> None:
    codec = cond.codec
    host = cond.host()
    out = streams.keepalive(host, 11)  # body "ping", the payload literal
    assert out.frame is not None and out.frame.frame == codec.encode(codec.keepalive(11))
    assert out.frame.frame[-8:-4] == b"ping"
    ping = codec.decode(out.frame.frame).frame
    out = streams.reply_keepalive(host, decoded(host, out.frame.frame))
    # note "pong", a kept field; a CRC
    assert out.frame is not None and out.frame.frame == codec.encode(codec.keepalive_reply(ping))
    assert b"pong" in out.frame.frame
    assert int.from_bytes(out.frame.frame[-4:], "big") == zlib.crc32(out.frame.frame[:-4])
    request = call(cond, traced=1)
    out = streams.hijack(host, decoded(host, codec.encode(request)), 404)
    assert out.frame is not None and out.frame.frame == codec.encode(codec.hijack(request, 404))
    assert b"hijacked" in out.frame.frame
