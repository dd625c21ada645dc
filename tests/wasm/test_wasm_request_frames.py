"""A protocol whose heartbeat request has its own frame: the builders' request
parameter is any request frame, in the Python codec and in the plugin, and a
builder may read only what every request frame has."""

from __future__ import annotations

from pathlib import Path

import pytest

from protodsl.codecs import build_wasm, load_python
from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.host.streams import Connection
from protodsl.passes.pipeline import compile_file, compile_source

SPEC = Path(__file__).parent / "specs" / "two_requests.proto-dsl"
PING = bytes.fromhex("01 0000002a 40")
CALL = bytes.fromhex("02 00000007 05 00000002 6869")


@pytest.fixture(scope="module")
def wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wasm(compile_file(SPEC), tmp_path_factory.mktemp("two-requests"))


@pytest.fixture
def host(wasm: Path) -> MosnHost:
    return MosnHost.from_file(wasm)


def test_python_builders_take_either_request_frame() -> None:
    codec = load_python(compile_file(SPEC))
    ping = codec.decode(PING).frame
    call = codec.decode(CALL).frame
    assert codec.is_heartbeat(ping) and not codec.is_heartbeat(call)
    assert codec.encode(codec.keepalive_reply(ping)) == bytes.fromhex("04 0000002a 00 00000000")
    assert codec.encode(codec.hijack(call, 503)) == bytes.fromhex("03 00000007 09 00000000")
    assert codec.encode(codec.hijack(ping, 200)) == bytes.fromhex("03 0000002a 00 00000000")


def test_plugin_answers_a_heartbeat_of_its_own_frame(host: MosnHost) -> None:
    (ping,) = Connection(host).feed(PING)
    result = streams.reply_keepalive(host, ping)
    assert result.status == 0 and result.frame is not None
    assert result.frame.frame == bytes.fromhex("04 0000002a 00 00000000")


def test_plugin_hijacks_a_call(host: MosnHost) -> None:
    (call,) = Connection(host).feed(CALL)
    result = streams.hijack(host, call, 503)
    assert result.status == 0 and result.frame is not None
    assert result.frame.frame == bytes.fromhex("03 00000007 09 00000000")


def test_a_builder_reads_only_what_every_request_frame_has() -> None:
    source = SPEC.read_text("utf-8").replace("seq    = req.seq\n    status = 0",
                                             "seq    = req.method\n    status = 0")
    with pytest.raises(SpecError) as caught:
        compile_source(source, "two.proto-dsl")
    text = str(caught.value)
    assert "frame 'ping' has no integer field 'method'" in text
    assert "'req' is any request frame (ping, call): each must have the field" in text


def test_keepalive_fills_what_it_does_not_set_from_the_spec_defaults(host: MosnHost) -> None:
    """`ttl: u8 default 64`: the builder leaves it, both codecs write 64."""
    codec = load_python(compile_file(SPEC))
    assert codec.encode(codec.keepalive(42)) == PING
    result = streams.keepalive(host, 42)
    assert result.frame is not None and result.frame.frame == PING
