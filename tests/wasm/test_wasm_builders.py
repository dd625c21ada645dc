"""Frames the plugin builds itself: MOSN's keepalive, the reply to a heartbeat
request, and hijack responses mapped from HTTP-like codes, each asked for and
encoded as MOSN does (protodsl.host.streams)."""

from __future__ import annotations

import pytest

from protodsl.host import FLAG_RESPONSE, MosnHost, emulator, streams
from protodsl.host.streams import Connection, Decoded
from tests.wasm.bolt_wire import Bolt, parse

# MOSN's native bolt codec (Mapping in pkg/protocol/xprotocol/bolt), which the
# spec follows: anything not listed is UNKNOWN (3).
HIJACK_STATUS = {200: 0, 404: 6, 502: 6, 503: 4, 504: 7, 403: 2, 0: 9, 3: 0x12,
                 500: 3, 509: 3, -1: 3}


def decoded(host: MosnHost, wire: bytes) -> Decoded:
    """`wire` decoded by MOSN on a new connection: one frame, on its own context."""
    (frame,) = Connection(host).feed(wire)
    return frame


def _frame(result: streams.EncodeResult) -> Bolt:
    assert result.status == 0 and result.frame is not None, result.status
    return parse(result.frame.frame)


def test_keepalive_builds_a_heartbeat_request(host: MosnHost) -> None:
    result = streams.keepalive(host, 4242)  # MOSN encodes it with timeout 3000
    assert result.frame is not None
    assert (result.frame.flag, result.frame.id) == (0x7F, 4242)
    frame = parse(result.frame.frame)
    assert (frame.type, frame.cmd_code, frame.request_id, frame.timeout_or_status) == (
        1, 0, 4242, -1)
    assert (frame.version, frame.codec, frame.klass, frame.headers, frame.content) == (
        1, 1, b"", [], b"")
    assert result.frame.frame == bytes.fromhex(
        "01 01 0000 01 00001092 01 ffffffff 0000 0000 00000000")


def test_keepalive_id_0_is_mosn_probe(host: MosnHost) -> None:
    """MOSN asks for keepalive id 0 to learn whether the protocol has one."""
    assert streams.keepalive(host, 0).status == 0
    assert host.contexts == frozenset()


def test_reply_keepalive_answers_the_heartbeat(host: MosnHost, frames: dict[str, bytes]) -> None:
    ping = decoded(host, frames["heartbeat_request"])
    assert ping.command.flag == 0x7F
    frame = _frame(streams.reply_keepalive(host, ping))
    assert (frame.type, frame.cmd_code, frame.request_id, frame.timeout_or_status) == (0, 0, 11, 0)
    assert frame.encode() == frames["heartbeat_response"]


def test_reply_keepalive_without_a_heartbeat_is_an_error(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    request = decoded(host, frames["request_basic"])
    assert host.reply_keepalive(request.ctx) == 10
    assert "no heartbeat request decoded" in host.logs[-1].message


def test_heartbeats_are_answered_per_context(host: MosnHost, frames: dict[str, bytes]) -> None:
    """Two pings on one connection, each on its context, answered in reverse order."""
    ping = bytearray(frames["heartbeat_request"])
    ping[5:9] = (99).to_bytes(4, "big")
    a, b = Connection(host).feed(frames["heartbeat_request"] + bytes(ping))
    assert a.ctx != b.ctx
    assert _frame(streams.reply_keepalive(host, b)).request_id == 99
    assert _frame(streams.reply_keepalive(host, a)).request_id == 11


@pytest.mark.parametrize("code,status", sorted(HIJACK_STATUS.items()))
def test_hijack_maps_codes_as_mosn_native_bolt_codec(
    host: MosnHost, frames: dict[str, bytes], code: int, status: int
) -> None:
    request = decoded(host, frames["request_many_headers"])
    result = streams.hijack(host, request, code)  # MOSN encodes it with status 0
    assert result.frame is not None and result.frame.timeout_or_status == status
    frame = _frame(result)
    assert (frame.type, frame.cmd_code, frame.request_id, frame.timeout_or_status) == (
        0, 2, 2147483647, status)
    assert frame.codec == 1 and frame.klass == b"" and frame.headers == []


def test_hijack_keeps_the_request_codec(host: MosnHost, frames: dict[str, bytes]) -> None:
    request = bytearray(frames["request_basic"])
    request[9] = 11  # protobuf
    assert _frame(streams.hijack(host, decoded(host, bytes(request)), 503)).codec == 11


def _hijack_raw(host: MosnHost, raw: bytes, command_id: int = 1) -> streams.EncodeResult:
    """A hijack of `raw` on a new context, and the encode MOSN makes next."""
    ctx = host.new_context()
    assert host.hijack(ctx, 503, raw, 0x40, command_id, 3000) == 0  # never fails
    result = host.encode(ctx, [], FLAG_RESPONSE, command_id, command_id, 0, b"")
    host.delete_context(ctx)
    return result


@pytest.mark.parametrize("name", ["truncated_header", "unknown_cmd_type",
                                  "header_key_length_past_section"])
def test_hijack_of_a_bad_request_answers_nothing(host: MosnHost, v1: dict, name: str) -> None:
    raw = {m["name"]: bytes.fromhex(m["hex"]) for m in v1["malformed_or_partial"]}[name]
    result = _hijack_raw(host, raw)
    assert result.status == 0 and result.frame is not None and result.frame.frame == b""
    assert host.logs and host.logs[-1].level in (3, 4)  # why: the frame's fault, or "hijack"


def test_hijack_of_a_response_answers_nothing(host: MosnHost, frames: dict[str, bytes]) -> None:
    result = _hijack_raw(host, frames["response_ok"])
    assert result.frame is not None and result.frame.frame == b""
    assert "not a request frame" in host.logs[-1].message


@pytest.mark.parametrize("buf", [b"", b"\x00\x00\x00\x00\x40", b"\x00\x00\x00\x09" + bytes(30),
                                 b"\x00\x00\x00\x00" + bytes(21) + b"\x00\x00\x01\x00"],
                         ids=range(4))
def test_malformed_hijack_buffers_are_logged_not_failed(
    host: MosnHost, monkeypatch: pytest.MonkeyPatch, buf: bytes
) -> None:
    """MOSN never sends these; the plugin still returns 0 (MOSN would hang on
    anything else), logs, and has nothing to encode."""
    monkeypatch.setattr(emulator, "pack_hijack_request", lambda *args: buf)
    ctx = host.new_context()
    assert host.hijack(ctx, 503, b"") == 0
    assert host.logs and host.logs[-1].level in (3, 4)
    assert host.encode(ctx, [], FLAG_RESPONSE, 0, 0, 0, b"").status == 10
