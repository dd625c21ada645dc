"""specs/tagged-rpc.proto-dsl through the MOSN emulator as MOSN runs it: the tags
are the headers MOSN routes on, the UUID survives MOSN's id replacement both
ways, and heartbeats and hijacks echo the caller's UUID and transaction code."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from protodsl.host import MosnHost, streams
from tests.helpers import SPECS

SPEC = SPECS / "tagged-rpc.proto-dsl"
UUID = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
TAGS = [(b"zone", b"gz01"), (b"tenant", b"t1")]
DERIVED = [(b"service", b"com.pay.Order:1.0"), (b"method", b"create")]


def _call(codec: ModuleType, **fields: object) -> object:
    return codec.Request(**{
        "request_id": UUID, "timeout": 3000, "service": "com.pay.Order",
        "method": "create", "svc_version": "1.0", "tran_code": "T0001",
        "tags": [codec.Tag(key=k.decode(), value=v) for k, v in TAGS], "body": b"{}",
        **fields})


def test_mosn_routes_on_the_tags_and_the_uuid_maps_back(codec: ModuleType, wasm: Path) -> None:
    client, server = MosnHost.from_file(wasm), MosnHost.from_file(wasm)
    wire = codec.encode(_call(codec))
    (downstream,) = streams.Connection(client).feed(wire)
    assert downstream.command.headers == [*TAGS, *DERIVED]
    assert downstream.command.id == int.from_bytes(UUID[8:], "big")
    # MOSN adds a routing header, renames the method (written back) and the service
    # (derived from two fields: ignored), and sends the call upstream under id 77
    edited = [*TAGS, (b"cell", b"a"), (b"service", b"other"), (b"method", b"cancel")]
    sent = streams.send(client, downstream, 77, headers=edited)
    assert sent.status == 0 and sent.frame is not None
    upstream = codec.decode(sent.frame.frame).frame
    assert upstream.request_id == UUID[:8] + (77).to_bytes(8, "big")
    assert [(t.key.encode(), t.value) for t in upstream.tags] == [*TAGS, (b"cell", b"a")]
    assert upstream.tag_count == 3
    assert (upstream.method, upstream.service, upstream.svc_version) == (
        "cancel", "com.pay.Order", "1.0")
    # the server answers, echoing the UUID it got; MOSN maps it back to the caller
    answer = codec.encode(codec.Response(request_id=upstream.request_id, status=codec.Status.OK,
                                         tran_code="T0001", message="", tags=[], body=b"ok"))
    (back,) = streams.Connection(server).feed(answer)
    assert back.command.id == 77
    out = streams.send(server, back, downstream.command.id)
    assert out.status == 0 and out.frame is not None
    assert codec.decode(out.frame.frame).frame.request_id == UUID


def test_heartbeats_and_hijacks_echo_the_caller(codec: ModuleType, wasm: Path) -> None:
    host = MosnHost.from_file(wasm)
    ping = codec.encode(_call(codec, heartbeat=1, tags=[], body=b""))
    (decoded,) = streams.Connection(host).feed(ping)
    pong = streams.reply_keepalive(host, decoded)
    assert pong.status == 0 and pong.frame is not None
    reply = codec.decode(pong.frame.frame).frame
    assert (reply.request_id, reply.tran_code, reply.heartbeat) == (UUID, "T0001", 1)
    assert pong.frame.frame == codec.encode(codec.keepalive_reply(codec.decode(ping).frame))
    (call,) = streams.Connection(host).feed(codec.encode(_call(codec)))
    answer = streams.hijack(host, call, 504, forwarded_as=91)
    assert answer.frame is not None
    timeout = codec.decode(answer.frame.frame).frame
    assert (timeout.request_id, timeout.status, timeout.message) == (
        UUID, codec.Status.TIMEOUT, "E504 timeout")
