"""Encode through the host emulator, as MOSN calls it (protodsl.host.streams):
remembered fields survive, the id, headers and payload MOSN passes are applied,
lengths are recomputed; commands are kept per (context, id, kind), a sent
request stays under its new id for a retry, everything else goes once encoded."""

from __future__ import annotations

import struct

import pytest

from protodsl.host import (
    FLAG_HEARTBEAT,
    FLAG_REQUEST,
    FLAG_RESPONSE,
    MosnHost,
    Status,
    emulator,
    streams,
)
from protodsl.host.abi import encode_header_map
from protodsl.host.streams import Connection, Decoded, decode_one
from tests.wasm.bolt_wire import parse, with_id


def decoded(host: MosnHost, wire: bytes) -> Decoded:
    """`wire` decoded by MOSN on a new connection: one frame, on its own context."""
    (frame,) = Connection(host).feed(wire)
    return frame


def _roundtrip(host: MosnHost, data: bytes, new_id: int) -> bytes:
    result = streams.send(host, decoded(host, data), new_id)
    assert result.status == Status.OK and result.frame is not None
    return result.frame.frame


def test_unchanged_encode_gives_the_frame_with_only_the_id_replaced(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    for name, data in frames.items():
        if name == "heartbeat_response":
            continue  # MOSN takes it itself: see the next test
        out = _roundtrip(host, data, 0x01020304)
        assert out == with_id(data, 0x01020304), name


def test_a_decoded_heartbeat_response_is_deleted_at_once(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    """MOSN's keepalive consumes it and deletes its context right after the
    decode: the plugin forgets it, nothing of it is left for an encode."""
    (pong,) = Connection(host).feed(frames["heartbeat_response"])
    assert pong.command.flag == 0x3F and pong.ctx not in host.contexts
    ctx = host.new_context()
    assert host.encode(ctx, [], FLAG_RESPONSE | FLAG_HEARTBEAT, 11, 11, 0, b"").status == 10


def test_encode_reports_flag_id_and_timeout(host: MosnHost, frames: dict[str, bytes]) -> None:
    result = streams.send(host, decoded(host, frames["request_timeout_minus_one"]), 77)
    assert result.frame is not None
    assert (result.frame.flag, result.frame.id, result.frame.timeout_or_status) == (
        0x5F, 77, 0xFFFFFFFF)
    assert parse(result.frame.frame).timeout_or_status == -1


def test_header_and_payload_edits_recompute_lengths(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    original = parse(frames["request_many_headers"])
    request = decoded(host, frames["request_many_headers"])
    headers = [(k, b"changed" if k == b"service" else v) for k, v in request.command.headers
               if k != b"empty"]
    headers.append((b"added", b"\x00\xffbinary"))
    payload = b"a different payload" * 3
    result = streams.send(host, request, 9, headers=headers, payload=payload,
                          timeout_or_status=1500)
    assert result.status == 0 and result.frame is not None
    edited = parse(result.frame.frame)
    assert edited.headers == headers
    assert edited.content == payload
    assert edited.klass == original.klass
    assert (edited.request_id, edited.timeout_or_status, edited.codec) == (9, 1500, 1)
    status, again = decode_one(host, result.frame.frame)
    assert status == 0 and again is not None
    assert again.command.headers == headers and again.command.payload == payload


def test_all_headers_removed(host: MosnHost, frames: dict[str, bytes]) -> None:
    result = streams.send(host, decoded(host, frames["request_basic"]), 1, headers=[],
                          payload=b"", timeout_or_status=3000)
    assert result.frame is not None
    edited = parse(result.frame.frame)
    assert edited.headers == [] and edited.content == b""
    assert struct.unpack_from(">HHI", result.frame.frame, 14) == (len(edited.klass), 0, 0)


def test_a_retry_finds_the_request_not_a_response_with_its_id(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    """The lookup off the encode's context is by kind: a request forwarded as 1,
    then a response with id 1 decoded on another connection; MOSN retries the
    request under 1 on a new context and must get the request."""
    request = decoded(host, frames["request_basic"])
    assert streams.send(host, request, 1).status == 0
    response = decoded(host, frames["response_ok"])
    assert response.command.id == 1
    retry = streams.resend(host, request, previous_id=1, new_id=5)
    assert retry.frame is not None and retry.frame.frame == with_id(frames["request_basic"], 5)
    answer = streams.send(host, response, 6)
    assert answer.frame is not None and answer.frame.frame == with_id(frames["response_ok"], 6)


def test_unknown_or_already_encoded_command_is_an_error(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    assert host.encode(ctx, [], FLAG_REQUEST, 1, 12345, 0, b"").status == 10
    assert "nothing remembered under id 12345" in host.logs[-1].message
    host.delete_context(ctx)
    response = decoded(host, frames["response_ok"])
    cmd = response.command
    args = (cmd.headers, cmd.mosn_flag, 7, cmd.id, cmd.timeout_or_status, cmd.payload)
    assert host.encode(response.ctx, *args).status == 0
    assert host.encode(response.ctx, *args).status == 10  # a response is encoded once


def test_an_encoded_request_stays_only_under_its_new_id(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    request = decoded(host, frames["request_basic"])
    cmd = request.command
    assert streams.send(host, request, 7).status == 0
    ctx = host.new_context()
    again = (cmd.headers, cmd.mosn_flag)
    assert host.encode(ctx, *again, 8, cmd.id, 3000, cmd.payload).status == 10  # not under 1
    out = host.encode(ctx, *again, 8, 7, 3000, cmd.payload)  # under 7: MOSN's retry
    assert out.frame is not None and out.frame.frame == with_id(frames["request_basic"], 8)


def test_the_oldest_command_of_a_context_is_evicted_past_64(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    """The plugin's bound per context (PD_PER_CTX). MOSN v1.6 decodes every frame
    on a context of its own; a host that kept one per connection would meet it."""
    ctx = host.new_context()
    basic = frames["request_basic"]
    for i in range(70):
        assert host.decode(ctx, with_id(basic, 1000 + i)).status == 0
    outcomes = [host.encode(ctx, [], FLAG_REQUEST, i, 1000 + i, 3000, b"").status
                for i in range(70)]
    assert outcomes == [10] * 6 + [0] * 64


def test_deleting_a_context_forgets_its_commands(host: MosnHost, frames: dict[str, bytes]) -> None:
    """When a context is deleted before its request was sent, nothing of the
    request is left, on that context or any other."""
    status, frame = decode_one(host, frames["request_basic"])
    assert status == 0 and frame is not None and frame.ctx in host.contexts
    host.delete_context(frame.ctx)
    other = host.new_context()
    assert host.encode(other, [], FLAG_REQUEST, 1, 1, 3000, b"").status == 10


def test_a_redecoded_id_replaces_the_remembered_command(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_basic"])
    host.decode(ctx, frames["response_ok"])  # also id 1
    result = host.encode(ctx, [], FLAG_RESPONSE, 1, 1, 0, b"x")
    assert result.frame is not None and parse(result.frame.frame).type == 0
    assert host.encode(ctx, [], FLAG_RESPONSE, 1, 1, 0, b"x").status == 10
    assert host.encode(ctx, [], FLAG_REQUEST, 1, 1, 0, b"x").status == 10  # replaced


def test_values_that_do_not_fit_are_refused(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    cmd = host.decode(ctx, frames["response_ok"]).command
    assert cmd is not None
    assert host.encode(ctx, [], 0, 1, 1, 0x10000, b"").status == 10  # status is u16
    assert host.encode(ctx, [], 0, 1, 1, 0x13, b"").status == 10  # not a Status
    assert "response.status" in host.logs[-1].message
    assert host.encode(ctx, [], 0, 1, 1, 0x12, b"").status == 0


def test_replaced_ids_wider_than_the_field_are_refused(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    """As the Python codec refuses them (MOSN could not match the response anyway)."""
    ctx = host.new_context()
    cmd = host.decode(ctx, frames["request_basic"]).command
    assert cmd is not None
    assert host.encode(ctx, cmd.headers, cmd.mosn_flag, 1 << 32, 1, 3000, cmd.payload).status == 10
    assert "request.request_id: does not fit u32: 4294967296" in host.logs[-1].message
    result = host.encode(ctx, cmd.headers, cmd.mosn_flag, (1 << 32) - 1, 1, 3000, cmd.payload)
    assert result.frame is not None and result.frame.id == (1 << 32) - 1


def test_oversized_payload_is_refused(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_basic"])
    assert host.encode(ctx, [], FLAG_REQUEST, 1, 1, 3000, bytes(16 << 20)).status == 10
    assert "max_frame" in host.logs[-1].message


def test_header_values_too_long_for_the_length_field_are_refused(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_basic"])
    assert host.encode(ctx, [(b"k", bytes(70000))], FLAG_REQUEST, 1, 1, 3000, b"").status == 10
    assert "request.header_len: does not fit i16: 70009" in host.logs[-1].message


def _raw_encode(host: MosnHost, ctx: int, buf: bytes, monkeypatch: pytest.MonkeyPatch) -> int:
    """Call proxy_encode_buffer_bytes with an arbitrary buffer, as a broken host might."""
    monkeypatch.setattr(emulator, "pack_encode_request", lambda *args: buf)
    return host.encode(ctx, [], 0, 0, 0, 0, b"").status


@pytest.mark.parametrize("buf", [
    b"",
    b"\x00\x00",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x08" + b"\x00\x00\x00\x05abc",
    b"\x00\x00\x00\x00" + bytes(20),
    b"\x00\x00\x00\x00" + bytes(25) + b"\x00\x00\x00\x05ab",
    b"\x00\x00\x00\x00" + bytes(25) + b"\x00\x00\x00\x01ab",
    b"\x00\x00\x00\x04" + b"\xff\xff\xff\xff" + bytes(29),
], ids=range(8))
def test_malformed_encode_buffers_are_refused(
    host: MosnHost, frames: dict[str, bytes], buf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_no_class_no_header_no_content"])
    assert _raw_encode(host, ctx, buf, monkeypatch) == 10
    assert host.logs[-1].level in (3, 4)


def test_well_formed_raw_encode_buffer(
    host: MosnHost, frames: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_no_class_no_header_no_content"])
    headers = encode_header_map([(b"a", b"b")])
    buf = (len(headers).to_bytes(4, "big") + headers + b"\x40" + (5).to_bytes(8, "big")
           + (5).to_bytes(8, "big") + (1).to_bytes(4, "big") + (0).to_bytes(4, "big"))
    assert _raw_encode(host, ctx, buf, monkeypatch) == 0
