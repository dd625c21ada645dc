"""Frames the plugin builds itself: MOSN's keepalive, the reply to a heartbeat
request, and hijack responses mapped from HTTP-like codes."""

from __future__ import annotations

import pytest

from protodsl.host import MosnHost, emulator
from tests.wasm.bolt_wire import Bolt, parse

HIJACK_STATUS = {200: 0, 404: 6, 502: 0x10, 503: 4, 0: 9, 3: 0x12, 504: 7, 403: 3, -1: 3}


def _encode_pending(host: MosnHost, ctx: int, command_id: int, flag: int, tos: int) -> Bolt:
    result = host.encode(ctx, [], flag, command_id, command_id, tos, b"")
    assert result.status == 0 and result.frame is not None
    return parse(result.frame.frame)


def test_keepalive_builds_a_heartbeat_request(host: MosnHost) -> None:
    ctx = host.new_context()
    assert host.keepalive(ctx, 4242) == 0
    result = host.encode(ctx, [], 0x60, 4242, 4242, 0xFFFFFFFF, b"")
    assert result.frame is not None
    assert (result.frame.flag, result.frame.id) == (0x60, 4242)
    frame = parse(result.frame.frame)
    assert (frame.type, frame.cmd_code, frame.request_id, frame.timeout_or_status) == (
        1, 0, 4242, -1)
    assert (frame.version, frame.codec, frame.klass, frame.headers, frame.content) == (
        1, 1, b"", [], b"")
    assert result.frame.frame == bytes.fromhex(
        "01 01 0000 01 00001092 01 ffffffff 0000 0000 00000000")


def test_reply_keepalive_answers_the_last_heartbeat(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    assert host.decode(ctx, frames["heartbeat_request"]).status == 0
    assert host.reply_keepalive(ctx) == 0
    frame = _encode_pending(host, ctx, 11, 0x20, 0)
    assert (frame.type, frame.cmd_code, frame.request_id, frame.timeout_or_status) == (0, 0, 11, 0)
    encoded = frame.encode()
    assert encoded == frames["heartbeat_response"]


def test_reply_keepalive_without_a_heartbeat_is_an_error(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_basic"])
    assert host.reply_keepalive(ctx) == 10
    assert "no heartbeat request decoded" in host.logs[-1].message


def test_heartbeats_are_tracked_per_context(host: MosnHost, frames: dict[str, bytes]) -> None:
    a, b = host.new_context(), host.new_context()
    ping = bytearray(frames["heartbeat_request"])
    host.decode(a, bytes(ping))
    ping[5:9] = (99).to_bytes(4, "big")
    host.decode(b, bytes(ping))
    assert host.reply_keepalive(a) == 0 and host.reply_keepalive(b) == 0
    assert _encode_pending(host, a, 11, 0x20, 0).request_id == 11
    assert _encode_pending(host, b, 99, 0x20, 0).request_id == 99


@pytest.mark.parametrize("code,status", sorted(HIJACK_STATUS.items()))
def test_hijack_maps_codes_to_bolt_statuses(
    host: MosnHost, frames: dict[str, bytes], code: int, status: int
) -> None:
    ctx = host.new_context()
    request = frames["request_many_headers"]
    assert host.hijack(ctx, code, request, 0x40, 2147483647, 3000) == 0
    frame = _encode_pending(host, ctx, 2147483647, 0x00, status)
    assert (frame.type, frame.cmd_code, frame.request_id, frame.timeout_or_status) == (
        0, 2, 2147483647, status)
    assert frame.codec == 1 and frame.klass == b"" and frame.headers == []


def test_hijack_keeps_the_request_codec(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    request = bytearray(frames["request_basic"])
    request[9] = 11  # protobuf
    assert host.hijack(ctx, 503, bytes(request), 0x40, 1, 3000) == 0
    assert _encode_pending(host, ctx, 1, 0, 4).codec == 11


@pytest.mark.parametrize("name", ["truncated_header", "unknown_cmd_type"])
def test_hijack_of_a_bad_request_is_an_error(host: MosnHost, v1: dict, name: str) -> None:
    raw = {m["name"]: bytes.fromhex(m["hex"]) for m in v1["malformed_or_partial"]}[name]
    assert host.hijack(host.new_context(), 503, raw) == 10


def test_hijack_of_a_response_is_an_error(host: MosnHost, frames: dict[str, bytes]) -> None:
    assert host.hijack(host.new_context(), 503, frames["response_ok"]) == 10
    assert "not a request frame" in host.logs[-1].message


@pytest.mark.parametrize("buf", [b"", b"\x00\x00\x00\x00\x40", b"\x00\x00\x00\x09" + bytes(30),
                                 b"\x00\x00\x00\x00" + bytes(21) + b"\x00\x00\x01\x00"])
def test_malformed_hijack_buffers_are_refused(
    host: MosnHost, monkeypatch: pytest.MonkeyPatch, buf: bytes
) -> None:
    monkeypatch.setattr(emulator, "pack_hijack_request", lambda *args: buf)
    assert host.hijack(host.new_context(), 503, b"") == 10
