"""Lists of records, varints and `len(rest)` framing through the plugin, on
frames made by hand: what MOSN sees of them, the bytes a re-encode writes, need
more on every prefix, and hostile frames refused with status 10 and the very
text of the Python codec's ProtocolError."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from protodsl.codegen.wasm import backend

from protodsl.codecs import load_python
from protodsl.host import MosnHost, streams
from protodsl.host.streams import Connection, Decoded
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file, compile_source
from protodsl.testing.outcomes import python_decode, wasm_decode
from tests.helpers import SPECS
from tests.wasm.conftest import write_and_build

HERE = Path(__file__).parent / "specs"


@pytest.fixture(scope="module")
def lists() -> Protocol:
    return compile_file(HERE / "lists.proto-dsl")


@pytest.fixture(scope="module")
def rest() -> Protocol:
    return compile_file(HERE / "rest.proto-dsl")


@pytest.fixture(scope="module")
def lists_wasm(lists: Protocol, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_and_build(tmp_path_factory.mktemp("lists"), lists)


@pytest.fixture(scope="module")
def rest_wasm(rest: Protocol, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_and_build(tmp_path_factory.mktemp("rest"), rest)


# ---- frames of lists.proto-dsl


def pair(key: int, value: int, marker: int = 0x7E) -> bytes:
    return struct.pack(">BHi", marker, key, value)


def tag(name: bytes, data: bytes, flags: int = 0, version: int = 1,
        name_len: int | None = None, data_len: int | None = None) -> bytes:
    return (bytes([version, len(name) if name_len is None else name_len]) + name
            + struct.pack("<H", len(data) if data_len is None else data_len)
            + bytes([flags]) + data)


def call(pairs: bytes = b"", tags: bytes = b"", body: bytes = b"", *, id: int = 7,
         timeout: int = 3000) -> bytes:
    return (struct.pack(">BIIHHI", 1, id, timeout, len(pairs), len(tags), len(body))
            + pairs + tags + body)


def done(meta: bytes = b"", tags: bytes = b"", body: bytes = b"", *, id: int = 7,
         status: int = 0) -> bytes:
    return (struct.pack(">BIHHHI", 2, id, status, len(meta), len(tags), len(body))
            + meta + tags + body)


PAIRS = pair(1, -2) + pair(0xFFFF, 0x7FFFFFFF)
TAGS = tag(b"caf\xc3\xa9", b"\x00\x01", flags=3) + tag(b"", b"") + tag(b"k", bytes(300))


# ---- frames of rest.proto-dsl


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def filters(*entries: tuple[bytes, int]) -> bytes:
    return b"".join(struct.pack(">H", len(f)) + f + bytes([q]) for f, q in entries)


def publish(payload: bytes = b"hello", *, packet_id: int = 9, topic: bytes = b"a/b",
            expiry: bytes = b"\x00", props: bytes = b"", chosen: bytes = b"",
            trace: bytes | None = None, remaining: bytes | None = None) -> bytes:
    body = (struct.pack(">HH", packet_id, len(topic)) + topic + expiry + varint(len(props))
            + props + struct.pack(">H", len(chosen)) + chosen + (trace or b"") + payload)
    flags = 0x08 if trace is not None else 0
    return bytes([0x30 | flags]) + (varint(len(body)) if remaining is None else remaining) + body


def puback(packet_id: int = 9, code: int = 0, *, version: bytes = varint(300),
           remaining: bytes | None = None, extra: bytes = b"") -> bytes:
    body = struct.pack(">H", packet_id) + version + bytes([code]) + extra
    return b"\x40" + (varint(len(body)) if remaining is None else remaining) + body


def kv8(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(bytes([len(k)]) + k + bytes([len(v)]) + v for k, v in pairs)


FILTERS = filters((b"a/#", 1), (b"", 0), (b"x/\xc3\xa9", 2))


def decoded(host: MosnHost, wire: bytes) -> Decoded:
    (frame,) = Connection(host).feed(wire)
    return frame


def python_message(codec: ModuleType, data: bytes) -> str:
    with pytest.raises(codec.ProtocolError) as caught:
        codec.decode(data)
    return str(caught.value)


def wasm_message(host: MosnHost, protocol: Protocol, data: bytes) -> str:
    host.clear_logs()
    assert host.decode(host.new_context(), data).status == 10
    return "; ".join(r.message.removeprefix(f"{protocol.name}: ") for r in host.logs)


# ---- every construct is a plugin now


def test_the_wasm_target_refuses_only_a_missing_role(lists: Protocol, rest: Protocol) -> None:
    assert backend.check_target(lists) == backend.check_target(rest) == []
    for spec in ("mqtt", "http2-frame"):  # lists, varints, len(rest), but no roles
        problems = backend.check_target(compile_file(SPECS / f"{spec}.proto-dsl"))
        assert [p.message for p in problems if p.severity == "error"] == [
            f"protocol '{problems[0].message.split(chr(39))[1]}' cannot be a MOSN plugin: no "
            f"frame has roles; MOSN needs the roles kind and id on a request and a response "
            f"frame"]


@pytest.mark.parametrize("spec", ["lists", "rest"])
def test_generated_c_compiles_without_warnings(spec: str, tmp_path: Path) -> None:
    protocol = compile_file(HERE / f"{spec}.proto-dsl")
    write_and_build(tmp_path, protocol)
    strict = backend.compile_command(tmp_path / f"{spec}.c", tmp_path / "strict.wasm",
                                     ("-Wall", "-Wextra", "-Werror"))
    result = subprocess.run(strict, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


# ---- lists of records


def test_lists_decode_as_python_does(lists: Protocol, lists_wasm: Path) -> None:
    codec = load_python(lists)
    host = MosnHost.from_file(lists_wasm)
    wire = call(PAIRS, TAGS, b"payload")
    frame = codec.decode(wire).frame
    assert [(p.key, p.value) for p in frame.pairs] == [(1, -2), (0xFFFF, 0x7FFFFFFF)]
    assert [(t.name, t.data, t.flags) for t in frame.tags] == [
        ("café", b"\x00\x01", 3), ("", b"", 0), ("k", bytes(300), 0)]
    cmd = decoded(host, wire).command
    assert (cmd.flag, cmd.id, cmd.timeout_or_status, cmd.payload, cmd.drain_len) == (
        0x5F, 7, 3000, b"payload", len(wire))
    assert wasm_decode(host, wire) == python_decode(codec, wire)


def test_lists_are_kept_and_written_again(lists: Protocol, lists_wasm: Path) -> None:
    codec = load_python(lists)
    host = MosnHost.from_file(lists_wasm)
    wire = call(PAIRS, TAGS, b"payload")
    out = streams.send(host, decoded(host, wire), 0x01020304, timeout_or_status=5,
                       payload=b"new")
    assert out.frame is not None
    assert out.frame.frame == call(PAIRS, TAGS, b"new", id=0x01020304, timeout=5)
    changed = codec.with_roles(codec.decode(wire).frame, id=0x01020304, timeout_or_status=5,
                               payload=b"new")
    assert out.frame.frame == codec.encode(changed)
    response = done(b"\x00\x01k\x00\x01v", TAGS, b"ok", status=3)
    out = streams.send(host, decoded(host, response), 8, headers=[(b"h", b"")],
                       timeout_or_status=4)
    assert out.frame is not None
    assert out.frame.frame == done(b"\x00\x01h\x00\x00", TAGS, b"ok", id=8, status=4)


def test_hijack_answers_with_an_empty_list(lists: Protocol, lists_wasm: Path) -> None:
    host = MosnHost.from_file(lists_wasm)
    made = streams.hijack(host, decoded(host, call(PAIRS, TAGS, id=5)), 404)
    assert made.frame is not None and made.frame.frame == done(id=5, status=4)


HOSTILE_LISTS = [
    (call(PAIRS[:-2]), "call.pairs at offset 17: 12 bytes are not whole Pair records of 7 "
                       "bytes"),
    (call(pair(1, 2) + pair(3, 4, marker=0x7F)), "call.marker at offset 24: expected 0x7E, "
                                                 "got 0x7F"),
    (call(tags=tag(b"ab", b"") + tag(b"x", b"", version=2)),
     "call.version at offset 24: expected 1, got 2"),
    (call(tags=tag(b"ab", b"", name_len=3)), "call.tags at offset 17: a Tag entry runs past "
                                             "its section"),
    (call(tags=tag(b"ab", b"xy") + tag(b"", b"z", data_len=2)),
     "call.tags at offset 26: a Tag entry runs past its section"),
    (call(tags=tag(b"ab", b"") + b"\x01"), "call.tags at offset 24: a Tag entry runs past its "
                                           "section"),
    (call(tags=tag(b"a\xff", b"")), "call.name at offset 19: not UTF-8 at byte 1"),
    (done(b"\x00\x05k", TAGS), "done.meta at offset 15: key length 5 runs past the section"),
]


@pytest.mark.parametrize("wire,message", HOSTILE_LISTS, ids=[m for _, m in HOSTILE_LISTS])
def test_hostile_lists(lists: Protocol, lists_wasm: Path, wire: bytes, message: str) -> None:
    codec = load_python(lists)
    host = MosnHost.from_file(lists_wasm)
    assert python_message(codec, wire) == message
    assert wasm_message(host, lists, wire) == message


def test_list_prefixes_need_more(lists: Protocol, lists_wasm: Path) -> None:
    host = MosnHost.from_file(lists_wasm)
    ctx = host.new_context()
    for wire in (call(PAIRS, TAGS, b"p"), done(b"\x00\x01k\x00\x00", TAGS)):
        for cut in range(len(wire)):
            assert host.decode(ctx, wire[:cut]).status == 99, cut
        assert host.decode(ctx, wire).status == 0


# ---- varints and len(rest)


def test_rest_frames_decode_as_python_does(rest: Protocol, rest_wasm: Path) -> None:
    codec = load_python(rest)
    host = MosnHost.from_file(rest_wasm)
    props = kv8([(b"k", b"v"), (b"", b"e")])
    wire = publish(b"x" * 200, expiry=varint(0x1FFFFF), props=props, chosen=FILTERS,
                   trace=b"abcd")
    assert wire[1:3] == varint(len(wire) - 3)  # two bytes of remaining length
    frame = codec.decode(wire).frame
    assert (frame.expiry, frame.trace, frame.remaining) == (0x1FFFFF, b"abcd", len(wire) - 3)
    assert [(f.filter, f.qos) for f in frame.filters] == [("a/#", 1), ("", 0), ("x/é", 2)]
    cmd = decoded(host, wire).command
    assert (cmd.flag, cmd.id, cmd.headers, cmd.payload, cmd.drain_len) == (
        0x5F, 9, [(b"k", b"v"), (b"", b"e")], b"x" * 200, len(wire))
    assert wasm_decode(host, wire) == python_decode(codec, wire)
    answer = puback(9, 3)
    assert codec.decode(answer).frame.version == 300
    assert wasm_decode(host, answer) == python_decode(codec, answer)


def test_rest_frames_are_written_again(rest: Protocol, rest_wasm: Path) -> None:
    codec = load_python(rest)
    host = MosnHost.from_file(rest_wasm)
    wire = publish(b"hello", expiry=varint(300), props=kv8([(b"k", b"v")]), chosen=FILTERS)
    again = streams.send(host, decoded(host, wire), 9)
    assert again.frame is not None and again.frame.frame == wire
    # A payload that takes the remaining length to three bytes, new headers.
    out = streams.send(host, decoded(host, wire), 0xABCD, headers=[(b"h", b"1" * 9)],
                       payload=bytes(20000))
    assert out.frame is not None
    want = publish(bytes(20000), packet_id=0xABCD, expiry=varint(300),
                   props=kv8([(b"h", b"1" * 9)]), chosen=FILTERS)
    assert out.frame.frame == want and want[1:4] == varint(len(want) - 4)
    changed = codec.with_roles(codec.decode(wire).frame, id=0xABCD,
                               headers=[(b"h", b"1" * 9)], payload=bytes(20000))
    assert out.frame.frame == codec.encode(changed)
    answer = streams.send(host, decoded(host, puback(9, 3)), 10, timeout_or_status=200)
    assert answer.frame is not None and answer.frame.frame == puback(10, 200)


def test_rest_encode_refuses_what_python_refuses(rest: Protocol, rest_wasm: Path) -> None:
    """A header map too long for a varint(2) length, a frame past max_frame."""
    codec = load_python(rest)
    host = MosnHost.from_file(rest_wasm)
    wire = publish()
    frame = codec.decode(wire).frame
    for headers, payload in (([(b"k", bytes(250))] * 66, b""), ([], bytes(65530))):
        with pytest.raises(codec.EncodeError):
            codec.encode(codec.with_roles(frame, headers=headers, payload=payload))
        out = streams.send(host, decoded(host, wire), 9, headers=headers, payload=payload)
        assert out.status == 10 and out.frame is None


def test_keepalive_is_a_rest_frame(rest: Protocol, rest_wasm: Path) -> None:
    codec = load_python(rest)
    host = MosnHost.from_file(rest_wasm)
    ping = streams.keepalive(host, 0x0102)
    assert ping.frame is not None and ping.frame.frame == codec.encode(codec.keepalive(0x0102))


HOSTILE_REST = [
    (b"\x30\x80\x80\x80\x80\x01", "publish.remaining at offset 1: longer than 4 bytes"),
    (b"\x30\x85\x00" + bytes(5), "publish.remaining at offset 1: not in its shortest form"),
    (b"\x30" + varint(70000), "publish at offset 0: frame of 70004 bytes exceeds max_frame "
                              "65536"),
    (publish(expiry=b"\xff\xff\xff"), "publish.expiry at offset 9: longer than 3 bytes"),
    (publish(expiry=b"\x80\x00"), "publish.expiry at offset 9: not in its shortest form"),
    (publish(b"", topic=b"", expiry=b"\x80\x80", remaining=b"\x06"),
     "publish.expiry at offset 6: runs past the frame's end at 8"),
    (publish(b"", topic=b"", remaining=b"\x05"),
     "publish.props_len at offset 7: runs past the frame's end at 7"),
    (publish(b"", chosen=filters((b"ab", 0)), remaining=b"\x0f"),
     "publish.filters at offset 13: runs past the frame's end at 17"),
    (publish(chosen=filters((b"ab", 0))[:-1] + b"\x00\x00"),
     "publish.filters at offset 18: a Filter entry runs past its section"),
    (publish(props=b"\x01k\x05v"), "publish.props at offset 13: value length 5 runs past the "
                                   "section"),
    (publish(b"", trace=b"ab"), "publish.trace at offset 13: runs past the frame's end at 15"),
    (puback(extra=b"\x00\x00"), "puback at offset 7: 2 bytes left over after the last field"),
    (puback(version=b"\xac\x82\x00"), "puback.version at offset 4: longer than 2 bytes"),
    (puback(version=varint(301)), "puback.version at offset 4: expected 300, got 301"),
    (puback(remaining=b"\x03"), "puback.version at offset 4: runs past the frame's end at 5"),
    (puback(remaining=b"\x01"), "puback.packet_id at offset 2: runs past the frame's end at 3"),
]


@pytest.mark.parametrize("wire,message", HOSTILE_REST, ids=[m for _, m in HOSTILE_REST])
def test_hostile_rest_frames(rest: Protocol, rest_wasm: Path, wire: bytes, message: str) -> None:
    codec = load_python(rest)
    host = MosnHost.from_file(rest_wasm)
    assert python_message(codec, wire) == message
    assert wasm_message(host, rest, wire) == message


def test_rest_prefixes_need_more(rest: Protocol, rest_wasm: Path) -> None:
    """Until the remaining length is whole, and then until the frame is."""
    host = MosnHost.from_file(rest_wasm)
    ctx = host.new_context()
    for wire in (publish(bytes(300), props=kv8([(b"k", b"v")]), chosen=FILTERS,
                         trace=b"abcd"), puback()):
        for cut in range(len(wire)):
            assert host.decode(ctx, wire[:cut]).status == 99, cut
        assert host.decode(ctx, wire).status == 0
    assert host.decode(ctx, b"\x30\x80\x80\x80").status == 99  # the varint goes on
    assert host.decode(ctx, b"\x30\x80\x80\x80\x80").status == 10


# ---- computed record members are computed anew

ODD = """protocol odd "x-odd" {
  record Half {
    n: u8 = len(x) * 2
    x: bytes[n / 2]
  }
  record Triple {
    m: u8 = len(y) * 3
    y: bytes[m]
  }
  frame q when t == 1 {
    t:  u8
    id: u32
    hs: u16 = len(halves)
    ts: u16 = len(triples)
    halves:  list(Half)[hs]
    triples: list(Triple)[ts]
    roles {
      kind = request
      id = id
    }
  }
  frame r when t == 2 {
    t:  u8
    id: u32
    roles {
      kind = response
      id = id
    }
  }
}
"""


def test_record_members_are_computed_on_encode_as_python_does(tmp_path: Path) -> None:
    """A decoded length the encoder computes otherwise (5 reads two bytes, two
    bytes write 4); one it cannot hold, or that disagrees with its member, is
    refused by both codecs."""
    protocol = compile_source(ODD, "odd.proto-dsl")
    codec = load_python(protocol)
    host = MosnHost.from_file(write_and_build(tmp_path, protocol))
    wire = bytes.fromhex("01 00000005 0005 0000 05aabb 03cc")
    again = bytes.fromhex("01 00000005 0005 0000 04aabb 02cc")
    assert codec.encode(codec.decode(wire).frame) == again
    out = streams.send(host, decoded(host, wire), 5)
    assert out.frame is not None and out.frame.frame == again
    for triples, refused in (("00", ""), ("0a" + "00" * 10, "y length disagrees with its size: 10"),
                             ("64" + "00" * 100, "m does not fit u8: 300")):
        wire = bytes.fromhex(f"01 00000005 0000 {len(triples) // 2:04x} {triples}")
        frame = codec.decode(wire).frame
        out = streams.send(host, decoded(host, wire), 5)
        if not refused:
            assert out.frame is not None and out.frame.frame == codec.encode(frame) == wire
            continue
        with pytest.raises(codec.EncodeError):
            codec.encode(frame)
        assert out.status == 10
        assert host.logs[-1].message == f"odd: encode: q.triples: {refused}"


# ---- counts of records, a size an integer of the header declares

LANGUAGE = HERE.parent.parent / "language" / "specs"


def test_counts_and_declared_sizes_are_refused_as_python_refuses_them(tmp_path: Path) -> None:
    counts = compile_file(LANGUAGE / "counts.proto-dsl")
    sizes = compile_file(LANGUAGE / "sizes.proto-dsl")
    cases = [
        # tag_count 2, one Tag read (key "a", value "")
        (counts, bytes.fromhex("01 00000005 02 0005 0001 00") + bytes.fromhex("0161010000"),
         "call.tag_count at offset 5: counts 2 records, but 1 were read"),
        # both 3, one Tag and one Pair
        (counts, bytes.fromhex("01 00000005 01 0005 0003 04") + bytes.fromhex("0161010000")
         + bytes(4), "call.both at offset 8: counts 3 records, but 2 were read"),
        # total 2: shorter than the header after it
        (sizes, bytes.fromhex("dab0 00000002 01 00000005 0000") + bytes(8),
         "call.service at offset 13: runs past the frame's end at 8"),
        (sizes, bytes.fromhex("dab0 0000fffb 01 00000005 0000") + bytes(8),
         "call at offset 0: frame of 65537 bytes exceeds max_frame 65536"),
    ]
    for protocol, wire, message in cases:
        codec = load_python(protocol)
        host = MosnHost.from_file(write_and_build(tmp_path / protocol.name, protocol))
        assert python_message(codec, wire) == message
        assert wasm_message(host, protocol, wire) == message
