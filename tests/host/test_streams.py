"""Tests for protodsl.host.streams: MOSN's stream layer over the emulator.

Each test drives the echo plugin (tests/host/plugins/echo_plugin.c) through one
thing a proxy does with a frame and checks, from the plugin's own logs, which
calls MOSN makes, on which context, with which ids. Where MOSN does so (paths
relative to mosn.io/mosn@v1.6.1/pkg):
  stream/xprotocol/conn.go   Dispatch (a stream context per frame), handleRequest
  stream/xprotocol/stream.go AppendHeaders (hijack), endStream (SetRequestId, Encode)
  stream/xprotocol/keepalive.go sendKeepAlive
  protocol/xprotocol/wasm/    decode.go, encode.go (clean() -> proxy_on_delete),
                              command.go (SetRequestId), hijacker.go, keepalive.go
Where the stream layer still differs from MOSN: test_mosn_differences.py.
"""

from __future__ import annotations

import pytest

from protodsl.host import FLAG_REQUEST, MosnHost, Status
from protodsl.host.abi import pack_hijack_request
from protodsl.host.emulator import EncodeResult
from protodsl.host.streams import (
    KEEPALIVE_TIMEOUT,
    Connection,
    decode_one,
    hijack,
    keepalive,
    reply_keepalive,
    resend,
    send,
)
from tests.host.support import calls, echo_frame, messages

CONTEXT_CALLS = ("on_context_create", "on_delete")
REQUEST = echo_frame(FLAG_REQUEST, 5, 1500, [(b"service", b"svc")], b"req")


def test_each_frame_decodes_on_a_context_of_its_own(host: MosnHost) -> None:
    # conn.go Dispatch: a stream context per frame (ctxManager.Next() after each),
    # and decode.go decodeCommand creates a wasm context for a stream context
    # that has none (OnProxyCreate -> proxy_on_context_create(ctx, root)).
    host.clear_logs()
    connection = Connection(host)
    response = echo_frame(0x00, 6, 0, [], b"resp")
    frames = connection.feed(REQUEST + response)
    assert [(f.ctx, f.command.id, f.wire) for f in frames] == [(1, 5, REQUEST), (2, 6, response)]
    assert calls(host, *CONTEXT_CALLS) == ["on_context_create 1 1", "on_context_create 2 1"]
    assert host.contexts == {1, 2}
    assert (connection.unread, connection.closed_with) == (b"", None)


def test_a_partial_frame_keeps_its_context_for_the_next_feed(host: MosnHost) -> None:
    # conn.go Dispatch returns on "need more data" without ctxManager.Next(): the
    # next bytes are decoded on the same stream context, so on the same wasm
    # context (bufferByContext(ctx).wasmCtx).
    host.clear_logs()
    connection = Connection(host)
    second = echo_frame(FLAG_REQUEST, 6, 0, [], b"x" * 30)
    assert [f.ctx for f in connection.feed(REQUEST + second[:10])] == [1]
    assert connection.unread == second[:10]
    assert connection.feed(second[10:20]) == []
    assert connection.unread == second[:20]
    [frame] = connection.feed(second[20:])
    assert (frame.ctx, frame.command.id, frame.wire) == (2, 6, second)
    assert calls(host, *CONTEXT_CALLS) == ["on_context_create 1 1", "on_context_create 2 1"]
    assert host.contexts == {1, 2}
    # Only the first and the last offer decoded something (the second needed more).
    assert messages(host).count("decode id=6") == 1


def test_a_failed_decode_closes_the_connection(host: MosnHost) -> None:
    # exports.go: a status other than 0 and 99 is an error; conn.go handleError
    # closes the connection (api.LocalClose).
    connection = Connection(host)
    malformed = b"\x00\x00\x00\x05" + b"\x00" * 20  # total_len shorter than the fixed header
    frames = connection.feed(REQUEST + malformed)
    assert [f.command.id for f in frames] == [5]
    assert connection.closed_with == Status.INTERNAL_FAILURE
    with pytest.raises(ValueError, match="closed"):
        connection.feed(REQUEST)


def test_decode_one_reports_the_first_frame_or_the_status(host: MosnHost) -> None:
    status, frame = decode_one(host, REQUEST + b"more")
    assert status == Status.OK and frame is not None
    assert (frame.command.id, frame.wire) == (5, REQUEST)
    assert decode_one(host, REQUEST[:7]) == (Status.NEED_MORE_DATA, None)
    assert decode_one(host, b"\x00\x00\x00\x05" + b"\x00" * 20) == (Status.INTERNAL_FAILURE, None)


def test_send_upstream_encodes_under_the_new_id_then_deletes_the_context(host: MosnHost) -> None:
    # stream.go endStream: frame.SetRequestId(stream id) (command.go: RpcId = Id,
    # Id = new); encode.go encodeRequest on the request's own context, then
    # request.clean() -> proxy_on_delete. exports.go writes flag 0x40, replaced
    # id = the new id, command id = RpcId, the timeout.
    [frame] = Connection(host).feed(REQUEST)
    host.clear_logs()
    result = send(host, frame, 77)
    assert result.frame is not None
    assert result.frame.frame == echo_frame(FLAG_REQUEST, 77, 1500, [(b"service", b"svc")], b"req")
    assert messages(host) == [
        "encode ctx=1 flag=64 replaced=77 command=5 tos=1500",
        "on_delete 1 0",
    ]
    assert host.contexts == frozenset()


def test_send_downstream_answers_under_the_request_id(host: MosnHost) -> None:
    # A response decoded upstream under MOSN's id 77 goes back under the
    # client's id 5: replaced id 5, command id 77, flag 0, the status.
    [frame] = Connection(host).feed(echo_frame(0x00, 77, 404, [], b"resp"))
    host.clear_logs()
    result = send(host, frame, 5)
    assert result.frame is not None
    assert result.frame.frame == echo_frame(0x00, 5, 404, [], b"resp")
    assert messages(host) == ["encode ctx=1 flag=0 replaced=5 command=77 tos=404", "on_delete 1 0"]


def test_send_makes_a_oneway_request_two_way(host: MosnHost) -> None:
    # decode.go decodeWasmRequest never makes a oneway request of kind 2 (it
    # tests flag & 0xC0 == 0xC0), so MOSN encodes it with 0x40.
    [frame] = Connection(host).feed(echo_frame(0x80, 5, 0, [], b"fire and forget"))
    assert frame.command.is_oneway and frame.command.mosn_flag == FLAG_REQUEST
    result = send(host, frame, 8)
    assert result.frame is not None
    assert result.frame.frame == echo_frame(FLAG_REQUEST, 8, 0, [], b"fire and forget")


def test_send_passes_headers_and_payload_changed_by_mosn(host: MosnHost) -> None:
    [frame] = Connection(host).feed(REQUEST)
    headers = [(b"service", b"svc"), (b"x-mosn", b"1")]
    result = send(host, frame, 9, headers=headers, payload=b"changed", timeout_or_status=10)
    assert result.frame is not None
    assert result.frame.frame == echo_frame(FLAG_REQUEST, 9, 10, headers, b"changed")


def test_resend_encodes_on_a_new_context_with_the_previous_id(host: MosnHost) -> None:
    # After the first encode, request.ctx is nil (encode.go); the retry's encode
    # runs on a new context (OnProxyCreate), and SetRequestId makes the previous
    # attempt's id the command id.
    [frame] = Connection(host).feed(REQUEST)
    send(host, frame, 77)
    host.clear_logs()
    result = resend(host, frame, 77, 78)
    assert result.frame is not None
    assert result.frame.frame == echo_frame(FLAG_REQUEST, 78, 1500, [(b"service", b"svc")], b"req")
    assert messages(host) == [
        "on_context_create 2 1",
        "encode ctx=2 flag=64 replaced=78 command=77 tos=1500",
        "on_delete 2 0",
    ]


def test_hijack_before_forwarding_uses_the_request_context_and_id(host: MosnHost) -> None:
    # stream.go AppendHeaders -> buildHijackResp -> hijacker.go hijack on
    # req.ctx (the decode context) with the request's id twice
    # (exports.go ProxyHijackBufferBytes), then a blank response
    # (NewWasmResponseWithId: no headers, no payload, status 0) encoded under
    # the request's id and deleted.
    [frame] = Connection(host).feed(REQUEST)
    host.clear_logs()
    result = hijack(host, frame, 503)
    assert messages(host) == [
        "hijack " + pack_hijack_request(FLAG_REQUEST, 5, 1500, REQUEST).hex(),
        "encode ctx=1 flag=0 replaced=5 command=5 tos=0",
        "on_delete 1 0",
    ]
    assert result.frame is not None
    assert result.frame.frame == echo_frame(0x00, 5, 503, [], b"hijacked")
    assert host.contexts == frozenset()


def test_hijack_after_forwarding_uses_a_new_context_and_mosn_id(host: MosnHost) -> None:
    # Once the request went upstream as 77, its context is gone (request.ctx is
    # nil): hijacker.go makes a new one, the buffer carries the request's id now
    # (77) twice with the raw frame as decoded (id 5), and the answer goes back
    # under 5 with command id 77.
    [frame] = Connection(host).feed(REQUEST)
    send(host, frame, 77)
    host.clear_logs()
    result = hijack(host, frame, 504, forwarded_as=77)
    assert messages(host) == [
        "on_context_create 2 1",
        "hijack " + pack_hijack_request(FLAG_REQUEST, 77, 1500, REQUEST).hex(),
        "encode ctx=2 flag=0 replaced=5 command=77 tos=0",
        "on_delete 2 0",
    ]
    assert result.frame is not None
    assert result.frame.frame == echo_frame(0x00, 5, 504, [], b"hijacked")


def test_keepalive_probe_with_id_0_encodes_nothing(host: MosnHost) -> None:
    # keepalive.go keepaliveRequest: `if requestId == 0 { req.clean() }`.
    host.clear_logs()
    assert keepalive(host, 0) == EncodeResult(Status.OK, None)
    assert messages(host) == ["on_context_create 1 1", "keepalive id=0", "on_delete 1 0"]
    assert host.contexts == frozenset()


def test_keepalive_builds_and_encodes_a_heartbeat(host: MosnHost) -> None:
    # keepalive.go: a request NewWasmRequestWithId(id) (api.go: timeout 3000)
    # with HeartBeatFlag, on a new context; stream/xprotocol/keepalive.go sends
    # it on a stream whose id is id, so replaced id = command id = id; the
    # encode writes 0x40 | 0x20.
    host.clear_logs()
    result = keepalive(host, 9)
    assert KEEPALIVE_TIMEOUT == 3000
    assert messages(host) == [
        "on_context_create 1 1",
        "keepalive id=9",
        "encode ctx=1 flag=96 replaced=9 command=9 tos=3000",
        "on_delete 1 0",
    ]
    assert result.frame is not None
    assert result.frame.frame == echo_frame(0x60, 9, 0, [], b"ping")


def test_reply_keepalive_answers_on_the_ping_context(host: MosnHost) -> None:
    # conn.go handleRequest: a heartbeat request is answered at once:
    # keepalive.go keepaliveResponse on the ping's context (proxy_reply_keepalive
    # _buffer_bytes(ctx, 0, 0)), then Encode of a blank response under the ping's
    # id with HeartBeatFlag, then clean().
    [ping] = Connection(host).feed(echo_frame(0x60, 9001, 0, [], b""))
    host.clear_logs()
    result = reply_keepalive(host, ping)
    assert messages(host) == [
        "reply_keepalive ptr=0 len=0",
        "encode ctx=1 flag=32 replaced=9001 command=9001 tos=0",
        "on_delete 1 0",
    ]
    assert result.frame is not None
    assert result.frame.frame == echo_frame(0x20, 9001, 0, [], b"pong")


def test_reply_keepalive_encodes_even_when_building_failed(host: MosnHost) -> None:
    # keepalive.go keepaliveResponse only logs the plugin's error and returns the
    # blank response all the same; here the plugin fails (not a heartbeat).
    [frame] = Connection(host).feed(REQUEST)
    assert host.reply_keepalive(frame.ctx) == Status.INTERNAL_FAILURE
    result = reply_keepalive(host, frame)
    assert result.frame is not None
    assert result.frame.frame == echo_frame(0x20, 5, 0, [], b"")
    assert host.contexts == frozenset()
