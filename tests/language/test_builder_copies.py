"""Builders that copy text and bytes from the request they answer, and matches
that choose literals: the plugin, asked as MOSN asks (protodsl.host.streams),
builds byte for byte what the Python codec's builders build, refuses what its
encoder refuses with the same words, and keeps a heartbeat's bytes for a reply
that comes in a later call."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.passes.pipeline import compile_file, compile_source

SPEC = Path(__file__).parent / "specs" / "builder_copies.proto-dsl"
ERRORS = Path(__file__).parent.parent / "errors"


@pytest.fixture
def host(wasm: Path) -> MosnHost:
    return MosnHost.from_file(wasm)


def _built(host: MosnHost, result: streams.EncodeResult) -> bytes:
    assert result.status == 0 and result.frame is not None, host.logs[-1:]
    return result.frame.frame


@pytest.mark.parametrize(("code", "msg", "marker"), [
    (404, "E404", b"no"), (503, "E503", b"no"), (200, "", b"ok"), (500, "E500", b"no"),
    (-1, "E500", b"no"),
])
@pytest.mark.parametrize("forwarded_as", [None, 77])
def test_hijack_copies_the_request_and_maps_the_code(
    codec: ModuleType, host: MosnHost, code: int, msg: str, marker: bytes,
    forwarded_as: int | None,
) -> None:
    call = codec.Call(seq=7, tran_code="TX01", token=b"\x00tok\xff", body=b"hello")
    (request,) = streams.Connection(host).feed(codec.encode(call))
    wire = _built(host, streams.hijack(host, request, code, forwarded_as=forwarded_as))
    expected = codec.hijack(call, code)
    assert wire == codec.encode(expected)
    reply = codec.decode(wire).frame
    assert (reply.tran_code, reply.msg, reply.token, reply.marker) == (
        "TX01", msg, b"\x00tok\xff", marker)
    assert wire[12:20] == b"TX01    "  # the padded text, padded again


def test_keepalive_reply_copies_the_heartbeat(codec: ModuleType, host: MosnHost) -> None:
    ping = codec.Ping(seq=9, tran_code="PING", token=b"t" * 200)
    (decoded,) = streams.Connection(host).feed(codec.encode(ping))
    wire = _built(host, streams.reply_keepalive(host, decoded))
    assert wire == codec.encode(codec.keepalive_reply(ping))
    assert codec.decode(wire).frame.token == b"t" * 200


def test_a_reply_reads_its_heartbeat_after_other_calls(
    codec: ModuleType, host: MosnHost
) -> None:
    """The reply comes in a later call: the heartbeat's input is gone, other frames
    have been decoded (and hijacked) since, over the same memory."""
    first = codec.Ping(seq=1, tran_code="FIRST", token=b"one-token")
    (ping,) = streams.Connection(host).feed(codec.encode(first))
    other = codec.Ping(seq=2, tran_code="OTHER", token=b"two-token")
    (pong,) = streams.Connection(host).feed(codec.encode(other))
    call = codec.Call(seq=3, tran_code="CALL", token=b"three-tok", body=b"x" * 64)
    (request,) = streams.Connection(host).feed(codec.encode(call))
    _built(host, streams.hijack(host, request, 404))
    assert _built(host, streams.reply_keepalive(host, ping)) == codec.encode(
        codec.keepalive_reply(first))
    assert _built(host, streams.reply_keepalive(host, pong)) == codec.encode(
        codec.keepalive_reply(other))


def test_a_copy_too_long_for_its_field_is_refused_alike(
    codec: ModuleType, host: MosnHost
) -> None:
    """The request's token fits its u16 length; the reply's has a u8 one. Each
    engine's encoder refuses the built frame as it refuses any such frame (the
    two word an encode error each their own way)."""
    call = codec.Call(seq=7, tran_code="T", token=b"k" * 300)
    with pytest.raises(codec.EncodeError, match="^token_len: 300 does not fit 0..255$"):
        codec.encode(codec.hijack(call, 404))
    (request,) = streams.Connection(host).feed(codec.encode(call))
    assert streams.hijack(host, request, 404).status == 10
    assert host.logs[-1].message.endswith("encode: reply.token_len: does not fit u8: 300")
    ping = codec.Ping(seq=8, token=b"p" * 256)
    with pytest.raises(codec.EncodeError, match="^token_len: 256 does not fit 0..255$"):
        codec.encode(codec.keepalive_reply(ping))
    (decoded,) = streams.Connection(host).feed(codec.encode(ping))
    assert streams.reply_keepalive(host, decoded).status == 10
    assert host.logs[-1].message.endswith("encode: reply.token_len: does not fit u8: 256")


def test_a_heartbeat_field_too_long_to_keep_is_refused_not_cut(
    codec: ModuleType, host: MosnHost
) -> None:
    """A heartbeat slot keeps PD_HB_BYTES (1024) of copied bytes for the reply."""
    ping = codec.Ping(seq=5, tran_code="BIG", token=b"b" * 2000)
    (decoded,) = streams.Connection(host).feed(codec.encode(ping))
    assert host.reply_keepalive(decoded.ctx) == 10
    assert host.logs[-1].message.endswith(
        "reply_keepalive: ping.token: too long to keep for the reply, bytes: 2000")
    # the next heartbeat on a context is kept afresh
    small = codec.Ping(seq=6, tran_code="OK", token=b"s")
    (decoded,) = streams.Connection(host).feed(codec.encode(small))
    assert _built(host, streams.reply_keepalive(host, decoded)) == codec.encode(
        codec.keepalive_reply(small))


@pytest.mark.parametrize("golden", [
    "builder_copies_text_into_bytes", "builder_copies_field_a_request_lacks",
    "builder_match_arm_of_wrong_kind", "builder_integer_match_with_literal_arm",
    "builder_text_literal_not_utf8",
])
def test_misuse_is_a_spec_error(golden: str) -> None:
    """The golden files hold the messages (tests/test_errors.py checks them)."""
    path = ERRORS / f"{golden}.proto-dsl"
    head = path.read_text().splitlines()[0].removeprefix("// error: ")
    with pytest.raises(SpecError) as caught:
        compile_file(path)
    line, col, message = head.split(":", 2)
    assert f"{path}:{line}:{col}: error:{message}" in str(caught.value)


_BASE = """protocol p "x-p" {
  frame call when kind == 1 {
    kind: u8
    id:   u32
    n:    u8 = len(body)
    tag:  text[2]
    body: bytes[n]
    roles {
      kind    = request
      id      = id
      payload = body
    }
  }
  frame reply when kind == 2 {
    kind: u8
    id:   u32
    n:    u8 = len(body)
    tag:  bytes[2]
    body: bytes[n]
    roles {
      kind    = response
      id      = id
      payload = body
    }
  }
  hijack reply(req, code) {
    kind = 2
    id   = req.id
    BODY
  }
}
"""


@pytest.mark.parametrize(("body", "where", "message"), [
    ("body = req.body", "29:5",
     "'body' is the payload of frame 'reply': a builder gives it a literal only"),
    ("tag = req.id", "29:11",
     "frame 'call' has no bytes or text field 'id' ('id' is an integer)"),
    ("tag = code", "29:11", "'tag' is bytes; give it a literal (x\"4e 4e\" or \"text\"), "
     "a field of the request (req.field), or a match choosing literals"),
    ("tag = req.tag", "29:11", "'req.tag' is text in frame 'call'; 'tag' is bytes"),
])
def test_what_a_builder_cannot_copy(body: str, where: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        compile_source(_BASE.replace("BODY", body), "p.proto-dsl")
    assert f"p.proto-dsl:{where}: error: {message}" in str(caught.value)
