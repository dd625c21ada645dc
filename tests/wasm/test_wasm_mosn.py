"""The plugin as a real MOSN v1.6.1 runs it (docs/mosn-abi.md, "Verified against
MOSN"), driven through protodsl.host.streams, MOSN's stream layer: the start-up
line, flags MOSN can read (bit 0 always, oneway 0x80), hijack under the id the
request has now (before and after MOSN forwarded it) and never failing, oneway
and garbage hijacks that answer nothing, retries of a sent request, many
commands in flight each on its context, the status mappings MOSN's native
codecs use, built frames that keep their own timeout or status, and the
generated MOSN config."""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from protodsl.codegen.wasm import backend
from protodsl.codegen.wasm.backend import runtime_header

from protodsl.codecs import build_wasm, load_python
from protodsl.host import (
    FLAG_HEARTBEAT,
    FLAG_REQUEST,
    FLAG_RESPONSE,
    LogLevel,
    LogRecord,
    MosnHost,
    streams,
)
from protodsl.host.streams import Connection, Decoded
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file, compile_source
from protodsl.testing.outcomes import python_flag
from tests.helpers import SPECS, load_vectors
from tests.wasm.bolt_wire import Bolt, parse, with_id

DETACHED_MAX = 1024 // 4  # PD_SLOTS / 4: sent requests the plugin keeps for a retry
DUBBO_BODY = b"\x30\x36" + b"MOSN answered the call itself: see the response status"


def decoded(host: MosnHost, wire: bytes) -> Decoded:
    """`wire` decoded by MOSN on a new connection: one frame, on its own context."""
    (frame,) = Connection(host).feed(wire)
    return frame


def wire_of(result: streams.EncodeResult) -> bytes:
    assert result.status == 0 and result.frame is not None, result.status
    return result.frame.frame


class Spec:
    """A spec of specs/, its Python codec and its plugin (built once, cached)."""

    def __init__(self, name: str) -> None:
        self.protocol: Protocol = compile_file(SPECS / f"{name}.proto-dsl")
        self.codec: ModuleType = load_python(self.protocol)
        self.wasm: Path = build_wasm(self.protocol)

    def host(self) -> MosnHost:
        host = MosnHost.from_file(self.wasm)
        host.clear_logs()
        return host


@pytest.fixture(scope="module")
def dubbo() -> Spec:
    return Spec("dubbo")


@pytest.fixture(scope="module")
def boltv2() -> Spec:
    return Spec("boltv2")


def dubbo_frame(flag: int, request_id: int, body: bytes, status: int = 0) -> bytes:
    return struct.pack(">HBBQI", 0xDABB, flag, status, request_id, len(body)) + body


# ---------------------------------------------------------------- start-up


def test_start_up_logs_one_info_line(bolt_wasm: Path, dubbo: Spec) -> None:
    """MOSN starts a plugin only as the codec of its name: the line shows it did."""
    assert MosnHost.from_file(bolt_wasm).logs == [
        LogRecord(int(LogLevel.INFO), 'bolt: protodsl plugin started, codec of "x-bolt"')]
    assert MosnHost.from_file(dubbo.wasm).logs == [
        LogRecord(int(LogLevel.INFO), 'dubbo: protodsl plugin started, codec of "x-dubbo"')]


# ---------------------------------------------------------------- flags


def test_every_bolt_flag_has_the_low_bits(host: MosnHost, bolt: ModuleType,
                                          frames: dict[str, bytes]) -> None:
    """Without them MOSN's header reader runs into the flag and id (and panics for
    some ids); the emulator would raise MosnFailure before this assert."""
    upstream = [bytes.fromhex(v["hex"]) for v in load_vectors("bolt-upstream.json")["frames"]
                if v["version"] == 1]
    for wire in [*frames.values(), *upstream]:
        flag = decoded(host, wire).command.flag
        assert flag & 0x1F == 0x1F and flag >> 6 != 3, (wire[:10].hex(), flag)
        assert flag == python_flag(bolt, bolt.decode(wire).frame)
    assert decoded(host, frames["request_basic"]).command.flag == 0x5F
    assert decoded(host, frames["response_ok"]).command.flag == 0x1F
    assert decoded(host, frames["heartbeat_request"]).command.flag == 0x7F
    assert decoded(host, frames["heartbeat_response"]).command.flag == 0x3F


def test_bolt_oneway_is_0x9F(host: MosnHost, frames: dict[str, bytes]) -> None:
    oneway = decoded(host, frames["oneway"])
    assert oneway.command.flag == 0x9F  # MOSN refuses 0xC0, the ABI's oneway
    assert oneway.command.kind == "oneway" and oneway.command.mosn_flag == FLAG_REQUEST
    # MOSN passes it back as a two-way request (0x40): it still goes out oneway.
    assert wire_of(streams.send(host, oneway, 77)) == with_id(frames["oneway"], 77)


def test_dubbo_flags(dubbo: Spec) -> None:
    host = dubbo.host()
    for vector in load_vectors("dubbo.json")["frames"]:
        wire = bytes.fromhex(vector["hex"])
        flag = decoded(host, wire).command.flag
        assert flag & 0x1F == 0x1F
        assert flag == python_flag(dubbo.codec, dubbo.codec.decode(wire).frame)
    assert decoded(host, dubbo_frame(0xC2, 5, b"N")).command.flag == 0x5F  # two-way call
    assert decoded(host, dubbo_frame(0x82, 5, b"N")).command.flag == 0x9F  # two_way = 0
    assert decoded(host, dubbo_frame(0xE2, 5, b"N")).command.flag == 0x7F  # heartbeat


def test_boltv2_flags(boltv2: Spec) -> None:
    host = boltv2.host()
    for vector in load_vectors("bolt-upstream.json")["frames"]:
        if vector["version"] == 2:
            wire = bytes.fromhex(vector["hex"])
            flag = decoded(host, wire).command.flag
            assert flag == 0x1F == python_flag(boltv2.codec, boltv2.codec.decode(wire).frame)


def test_the_largest_bolt_response_with_headers_reads_right_in_mosn(host: MosnHost) -> None:
    """bolt's max_frame (16 MiB) keeps a response's DecodeData far shorter than the
    key length MOSN's header reader takes from the flag 0x1F and the id."""
    headers = [(b"k", b"v")]
    payload = (16 << 20) - 20 - 10  # the header, the header map: the frame is 16 MiB
    wire = Bolt(0, 2, 7, headers=headers, content=bytes(payload)).encode()
    assert len(wire) == 16 << 20
    status, frame = streams.decode_one(host, wire)
    assert status == 0 and frame is not None and frame.command.headers == headers


BIG_BOLT = (SPECS / "bolt.proto-dsl").read_text("utf-8").replace(
    'protocol bolt "x-bolt"', 'protocol bigbolt "x-bigbolt"').replace(
    "max_frame 16MiB", "max_frame 32MiB")


@pytest.mark.parametrize("payload", [16_777_199, 16_777_203], ids=["panic", "bogus header"])
def test_a_response_over_16_mib_with_headers_reads_right_in_mosn(
    payload: int, tmp_path: Path
) -> None:
    """bolt with max_frame 32 MiB: a response of one header and `payload` zero
    bytes. With only bit 0 of the flag set, MOSN panicked or read a bogus header
    here; with the low five bits set its reader stops at the flag."""
    host = MosnHost.from_file(build_wasm(compile_source(BIG_BOLT), tmp_path))
    wire = Bolt(0, 2, 7, headers=[(b"k", b"v")], content=bytes(payload)).encode()
    status, frame = streams.decode_one(host, wire)
    assert status == 0 and frame is not None and frame.command.headers == [(b"k", b"v")]


# ---------------------------------------------------------------- hijack


def test_hijack_before_forwarding(host: MosnHost, frames: dict[str, bytes]) -> None:
    """No route: MOSN answers on the request's context, under its own id."""
    request = decoded(host, with_id(frames["request_basic"], 41))
    answer = parse(wire_of(streams.hijack(host, request, 404)))
    assert (answer.type, answer.request_id, answer.timeout_or_status) == (0, 41, 6)


def test_hijack_after_forwarding(host: MosnHost, frames: dict[str, bytes]) -> None:
    """Upstream timeout: MOSN sent the request as 9001 and deleted its context;
    it hijacks on a new context with 9001 as the id (the raw frame still says
    41) and encodes the answer under 9001, downstream as 41.

    The old plugin kept the hijack response under the raw frame's id (41): the
    encode, which asks for 9001, found nothing under it on that context, nor
    anywhere else (the sent request was forgotten after its encode), and
    returned 10 (in MOSN the client got no answer). So `wire_of` fails here for
    that plugin; 9001 != 41 is what makes the difference visible."""
    request = decoded(host, with_id(frames["request_basic"], 41))
    assert wire_of(streams.send(host, request, 9001)) == with_id(frames["request_basic"], 9001)
    answer = parse(wire_of(streams.hijack(host, request, 504, forwarded_as=9001)))
    assert (answer.type, answer.cmd_code, answer.request_id, answer.timeout_or_status) == (
        0, 2, 41, 7)


def test_dubbo_hijack_after_forwarding_with_a_64_bit_id(dubbo: Spec) -> None:
    host = dubbo.host()
    request = decoded(host, dubbo_frame(0xC2, 0x0102030405060708, b"call"))
    assert streams.send(host, request, 0xFFFFFFFF00000001).status == 0
    answer = wire_of(streams.hijack(host, request, 503, forwarded_as=0xFFFFFFFF00000001))
    assert answer == dubbo_frame(0x02, 0x0102030405060708, DUBBO_BODY, status=40)


def test_hijack_of_a_bolt_oneway_request_writes_nothing(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    oneway = decoded(host, frames["oneway"])
    result = streams.hijack(host, oneway, 503)
    assert result.status == 0 and result.frame is not None and result.frame.frame == b""
    assert host.logs == []  # nothing wrong: a oneway request gets no answer
    # ... and after it went upstream
    oneway = decoded(host, frames["oneway"])
    assert streams.send(host, oneway, 5).status == 0
    assert wire_of(streams.hijack(host, oneway, 504, forwarded_as=5)) == b""


def test_hijack_of_a_dubbo_oneway_request_writes_nothing(dubbo: Spec) -> None:
    host = dubbo.host()
    oneway = decoded(host, dubbo_frame(0x82, 12, b"fire and forget"))
    assert wire_of(streams.hijack(host, oneway, 504)) == b""


@pytest.mark.parametrize("garbage", [b"", b"\x01", b"\x07" * 30, bytes(range(256))],
                         ids=["empty", "short", "bad type", "bytes"])
def test_hijack_of_garbage_returns_0_and_writes_nothing(host: MosnHost, garbage: bytes) -> None:
    ctx = host.new_context()
    assert host.hijack(ctx, 503, garbage, FLAG_REQUEST, 3, 0) == 0  # else MOSN hangs
    result = host.encode(ctx, [], FLAG_RESPONSE, 3, 3, 0, b"")
    assert result.status == 0 and result.frame is not None and result.frame.frame == b""
    assert host.logs and host.logs[-1].level in (LogLevel.WARN, LogLevel.ERROR)


NO_HIJACK = '''protocol tiny "x-tiny" {
  frame ask when t == 1 { t: u8  id: u32  roles { kind = request  id = id } }
  frame reply when t == 2 { t: u8  id: u32  roles { kind = response  id = id } }
  keepalive ask(id) { id = id }
}
'''


def test_a_spec_without_hijack_returns_0_and_writes_nothing(tmp_path: Path) -> None:
    host = MosnHost.from_file(build_wasm(compile_source(NO_HIJACK), tmp_path))
    assert host.logs[0].message == 'tiny: protodsl plugin started, codec of "x-tiny"'
    request = decoded(host, b"\x01\x00\x00\x00\x09")
    assert request.command.flag == 0x5F
    result = streams.hijack(host, request, 404)
    assert result.status == 0 and result.frame is not None and result.frame.frame == b""
    assert "the spec declares no hijack" in host.logs[-1].message
    assert wire_of(streams.send(host, decoded(host, b"\x01\x00\x00\x00\x09"), 3)) == (
        b"\x01\x00\x00\x00\x03")


# ---------------------------------------------------------------- status mappings


BOLT_MAPPING = {200: 0, 404: 6, 502: 6, 503: 4, 504: 7, 403: 2, 0: 9, 3: 0x12}
BOLTV2_MAPPING = {200: 0, 404: 6, 502: 6, 503: 4, 504: 7, 0: 9, 3: 0x12}
DUBBO_MAPPING = {200: 20, 403: 80, 404: 60, 502: 60, 503: 40, 504: 30, 509: 40}
UNLISTED = (500, 509, 400, 1, -1)


@pytest.mark.parametrize("code", [*BOLT_MAPPING, *UNLISTED])
def test_bolt_hijack_maps_like_mosn_native_codec(
    host: MosnHost, frames: dict[str, bytes], code: int
) -> None:
    status = BOLT_MAPPING.get(code, 3)  # UNKNOWN
    answer = parse(wire_of(streams.hijack(host, decoded(host, frames["request_basic"]), code)))
    assert (answer.type, answer.request_id, answer.timeout_or_status) == (0, 1, status)


@pytest.mark.parametrize("code", [*BOLTV2_MAPPING, 403, *UNLISTED])
def test_boltv2_hijack_maps_like_mosn_native_codec(boltv2: Spec, code: int) -> None:
    codec = boltv2.codec
    index = [f.name for f in boltv2.protocol.frames].index("request")
    attrs = codec.ATTRS["request"]
    values = dict(ver1=2, type=1, cmd_code=1, request_id=9, switch=1, timeout=3000,
                  content=b"ask")
    request = codec.FRAMES[index](**{attrs[k]: v for k, v in values.items()})
    host = boltv2.host()
    answer = wire_of(streams.hijack(host, decoded(host, codec.encode(request)), code))
    assert codec.status(codec.decode(answer).frame) == BOLTV2_MAPPING.get(code, 3)
    assert answer == codec.encode(codec.hijack(request, code))


@pytest.mark.parametrize("code", [*DUBBO_MAPPING, *UNLISTED])
def test_dubbo_hijack_status_flag_and_body(dubbo: Spec, code: int) -> None:
    """MOSN's native dubbo codec: flag 0x02 (a response, hessian2), the mapped
    status (SERVICE_ERROR, 70, when unlisted), a hessian2 string as the body."""
    host = dubbo.host()
    request = decoded(host, dubbo_frame(0xC6, 0x7F00000000000001, b"call"))  # fastjson
    answer = wire_of(streams.hijack(host, request, code))
    assert answer == dubbo_frame(0x02, 0x7F00000000000001, DUBBO_BODY,
                                 status=DUBBO_MAPPING.get(code, 70))
    assert len(DUBBO_BODY) - 2 == 0x036  # the hessian2 short string's length


# ---------------------------------------------------------------- built frames


@pytest.mark.parametrize("passed", [0, streams.KEEPALIVE_TIMEOUT, 12345, 0xFFFFFFFF])
def test_built_frames_keep_their_timeout_or_status(
    host: MosnHost, frames: dict[str, bytes], passed: int
) -> None:
    """MOSN encodes a keepalive with timeout 3000 and a reply or hijack with status
    0; whatever it passes, the frame keeps what its builder set."""
    ctx = host.new_context()
    assert host.keepalive(ctx, 8) == 0
    ping = host.encode(ctx, [], FLAG_REQUEST | FLAG_HEARTBEAT, 8, 8, passed, b"")
    assert parse(wire_of(ping)).timeout_or_status == -1
    host.delete_context(ctx)
    pong = decoded(host, frames["heartbeat_request"])
    assert host.reply_keepalive(pong.ctx) == 0
    reply = host.encode(pong.ctx, [], FLAG_RESPONSE | FLAG_HEARTBEAT, 11, 11, passed, b"")
    assert parse(wire_of(reply)).timeout_or_status == 0
    request = decoded(host, frames["request_basic"])
    host.hijack(request.ctx, 503, request.wire, FLAG_REQUEST, 1, 3000)
    answer = host.encode(request.ctx, [], FLAG_RESPONSE, 1, 1, passed, b"")
    assert parse(wire_of(answer)).timeout_or_status == 4


def test_bolt_keepalive_carries_timeout_minus_one(host: MosnHost) -> None:
    ping = parse(wire_of(streams.keepalive(host, 0x1234)))
    assert (ping.type, ping.cmd_code, ping.request_id, ping.timeout_or_status) == (
        1, 0, 0x1234, -1)


def test_dubbo_reply_keeps_its_literal_body_and_status(dubbo: Spec) -> None:
    host = dubbo.host()
    pong = wire_of(streams.reply_keepalive(host, decoded(host, dubbo_frame(0xE2, 9, b"N"))))
    assert pong == dubbo_frame(0x22, 9, b"NN", status=20)


# ---------------------------------------------------------------- retries


def test_a_retry_encodes_the_same_request_under_the_new_id(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    """MOSN retries after an upstream failure: the previous attempt's id is the
    command id, on a context of the new stream; the first context is gone."""
    wire = frames["request_many_headers"]
    request = decoded(host, wire)
    assert wire_of(streams.send(host, request, 501)) == with_id(wire, 501)
    assert request.ctx not in host.contexts
    assert wire_of(streams.resend(host, request, previous_id=501, new_id=502)) == with_id(wire, 502)
    assert wire_of(streams.resend(host, request, previous_id=502, new_id=503)) == with_id(wire, 503)
    assert streams.resend(host, request, previous_id=501, new_id=504).status == 10  # gone


def test_deleting_a_context_spares_the_requests_sent_from_it(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    sent, unsent = Connection(host).feed(frames["request_basic"]
                                         + with_id(frames["request_unicode_header"], 2))
    cmd = sent.command
    assert host.encode(sent.ctx, cmd.headers, cmd.mosn_flag, 70, cmd.id, 3000,
                       cmd.payload).status == 0
    host.delete_context(sent.ctx)
    host.delete_context(unsent.ctx)
    assert wire_of(streams.resend(host, sent, 70, 71)) == with_id(frames["request_basic"], 71)
    assert streams.resend(host, unsent, 2, 72).status == 10  # never sent: forgotten


def test_only_the_newest_sent_requests_are_kept_for_a_retry(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    """At most PD_SLOTS/4 (256) sent requests stay, the one sent longest ago goes
    first, and a retry sends it again: it is then the newest. The first retry here
    falls on the ring slot of the request itself (it was sent 256 sends ago): a
    plugin that forgot it there, then kept it, linked a freed entry into its
    chains (found by the native fuzzer as an endless loop)."""
    wire = frames["request_basic"]
    first = decoded(host, wire)
    assert streams.send(host, first, 1).status == 0
    others = [decoded(host, with_id(wire, 1000 + i)) for i in range(DETACHED_MAX - 1)]
    for i, other in enumerate(others):  # 256 kept with the first
        assert streams.send(host, other, 10_000 + i).status == 0
    assert wire_of(streams.resend(host, first, 1, 2)) == with_id(wire, 2)
    assert streams.send(host, decoded(host, wire), 20_000).status == 0  # the 257th
    assert streams.resend(host, others[0], 10_000, 5).status == 10  # sent longest ago
    assert "nothing remembered under id 10000" in host.logs[-1].message
    assert wire_of(streams.resend(host, first, 2, 3)) == with_id(wire, 3)  # the 258th
    assert streams.resend(host, others[1], 10_001, 6).status == 10  # now sent longest ago
    for i, other in enumerate(others[2:], 2):  # the chains hold: every retry finds its own
        assert wire_of(streams.resend(host, other, 10_000 + i, 30_000 + i)) == with_id(
            wire, 30_000 + i)


def test_a_retry_finds_its_request_when_upstream_ids_repeat(host: MosnHost) -> None:
    """MOSN numbers upstream requests per connection (GenerateRequestID in
    pkg/stream/xprotocol/conn.go): requests on two upstream connections can both
    go out as id 1. A retry of the first must go out with its own class name and
    codec, not the newest one's: the plugin tells them apart by their payloads."""
    first = Bolt(1, 1, 10, klass=b"com.example.First", content=b"first")
    second = Bolt(1, 1, 20, codec=11, klass=b"com.example.Second", content=b"second")
    a = decoded(host, first.encode())
    b = decoded(host, second.encode())
    assert streams.send(host, a, 1).status == 0  # upstream connection X: its first id
    assert streams.send(host, b, 1).status == 0  # upstream connection Y: its first id
    retried = parse(wire_of(streams.resend(host, a, previous_id=1, new_id=2)))
    assert (retried.klass, retried.codec, retried.content) == (b"com.example.First", 1, b"first")


# ---------------------------------------------------------------- in flight


def test_many_requests_in_flight_answered_out_of_order(host: MosnHost) -> None:
    """40 requests on one connection, each on its own context, sent upstream in a
    shuffled order; their responses come back on one upstream connection in
    another order and go downstream in a third. Each answer carries its own
    class name, which MOSN does not pass: the plugin must remember the right one."""
    rng = random.Random(5)
    count = 40
    requests = [Bolt(1, 1, 100 + i, klass=b"Req%d" % i, headers=[(b"service", b"s%d" % i)],
                     content=b"ask %d" % i) for i in range(count)]
    downstream = Connection(host).feed(b"".join(r.encode() for r in requests))
    assert len({frame.ctx for frame in downstream}) == count
    order = list(range(count))
    rng.shuffle(order)
    for i in order:
        sent = parse(wire_of(streams.send(host, downstream[i], 7000 + i)))
        assert (sent.request_id, sent.klass, sent.content) == (7000 + i, b"Req%d" % i,
                                                              b"ask %d" % i)
    rng.shuffle(order)
    answers = {i: Bolt(0, 2, 7000 + i, klass=b"Resp%d" % i, content=b"answer %d" % i)
               for i in order}
    upstream = Connection(host).feed(b"".join(answers[i].encode() for i in order))
    rng.shuffle(upstream)
    for frame in upstream:
        i = frame.command.id - 7000
        out = parse(wire_of(streams.send(host, frame, 100 + i)))
        assert (out.request_id, out.klass, out.content) == (100 + i, b"Resp%d" % i,
                                                           b"answer %d" % i)
    assert host.contexts == frozenset() and host.logs == []


# ---------------------------------------------------------------- MOSN config


def _config(files: dict[str, str]) -> Any:
    return json.loads(files["mosn_config.json"])


@pytest.mark.parametrize("name", ["bolt", "dubbo", "boltv2"])
def test_mosn_config_loopback_routes_and_names(name: str, tmp_path: Path) -> None:
    protocol = compile_file(SPECS / f"{name}.proto-dsl")
    config = _config(backend.generate(protocol, tmp_path / "out"))
    assert config["admin"]["address"]["socket_address"] == {
        "address": "127.0.0.1", "port_value": 34901}
    (server,) = config["servers"]
    listeners = server["listeners"]
    assert listeners and all(x["address"].startswith("127.0.0.1:") for x in listeners)
    routes = [route for router in server["routers"] for host in router["virtual_hosts"]
              for route in host["routers"]]
    assert len(routes) == len(listeners) and all(r["match"] == {} for r in routes)
    (plugin,) = config["wasm_global_plugins"]
    (codec,) = config["third_part_codec"]["codecs"]
    assert plugin["plugin_name"] == codec["config"]["from_wasm_plugin"] == f"wasm-{name}"
    subs = {x["filter_chains"][0]["filters"][0]["config"]["extend_config"]["sub_protocol"]
            for x in listeners}
    assert subs == {codec["config"]["protocol"]} == {protocol.mosn_name}
    assert protocol.mosn_name == f"x-{name}"  # not a name MOSN keeps its own codec for
    path = Path(plugin["vm_config"]["path"])
    assert path.is_absolute() and path == (tmp_path / "out").resolve() / f"{name}.wasm"


def test_mosn_config_without_an_out_dir_names_the_file(bolt_protocol: Protocol) -> None:
    (plugin,) = _config(backend.generate(bolt_protocol))["wasm_global_plugins"]
    assert plugin["vm_config"]["path"] == "bolt.wasm"


def test_gen_writes_an_absolute_plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`protodsl gen -o build` from one directory; MOSN started from another
    still finds the plugin."""
    from protodsl.cli import main

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    assert main(["gen", str(SPECS / "bolt.proto-dsl"), "--target", "wasm", "-o", "build"]) == 0, \
        capsys.readouterr().err
    config = json.loads((work / "build" / "mosn_config.json").read_text())
    path = Path(config["wasm_global_plugins"][0]["vm_config"]["path"])
    monkeypatch.chdir(elsewhere)
    assert path.is_absolute() and path.is_file()
    assert path == (work / "build" / "bolt.wasm").resolve()
    assert MosnHost.from_file(path).logs[0].message.endswith('codec of "x-bolt"')


MISREADS_TEST = r"""
#define PD_PROTOCOL "t"
#define PD_MOSN_NAME "t"
#define PD_MAX_FRAME 0xFFFFFFFFu
#include "protodsl_rt.h"
int proxy_log(int level, const pd_u8 *ptr, pd_u32 len) { (void)level; (void)ptr; return (int)len; }
int proxy_set_buffer_bytes(int type, pd_u32 start, pd_u32 max, const pd_u8 *ptr, pd_u32 len)
{ (void)type; (void)start; (void)max; (void)ptr; (void)len; return 0; }
int main(void)
{
    /* MOSN's header reader, at the flag: key length = flag << 24 | id's top 24
     * bits; it reads on when the map, 4 + that length and 4 fit in n - 4. */
    pd_u64 key = 0x1Fu << 24;
    return !(pd_mosn_misreads(10, 0x1F, 0, 10 + 8 + key) &&
             !pd_mosn_misreads(10, 0x1F, 0, 10 + 8 + key - 1) &&
             !pd_mosn_misreads(0, 0x1F, 0, 1u << 31) &&
             pd_mosn_misreads(10, 0x1F, (pd_u64)1 << 40, 10 + 8 + key + 1) &&
             !pd_mosn_misreads(10, 0x1F, (pd_u64)1 << 40, 10 + 8 + key));
}
"""


def test_the_plugin_knows_when_mosn_would_read_past_the_map(tmp_path: Path) -> None:
    """Past 0x1F000000 bytes a response's DecodeData would let MOSN's header reader
    run on into the flag and id; the plugin refuses such a frame (pd_mosn_misreads,
    checked here natively: a frame that size is too big for a test)."""
    (tmp_path / "protodsl_rt.h").write_text(runtime_header())
    (tmp_path / "t.c").write_text(MISREADS_TEST)
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-O1", "-o", str(tmp_path / "t"),
                    str(tmp_path / "t.c")], cwd=tmp_path, check=True)
    assert subprocess.run([str(tmp_path / "t")], check=False).returncode == 0
