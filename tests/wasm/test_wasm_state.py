"""Connection state through the plugin (docs/mosn-abi.md, "Connection state"):
one state per MOSN context, read by `when` and `if`, written by `set` after a
frame decodes or encodes; a new context is in a new connection's state; a frame
that reads an unset member is status 10 with the Python codec's words; a deleted
context's state is gone. And the warning that MOSN, which gives every frame a
context of its own, carries no state from frame to frame."""

from __future__ import annotations

import struct
from pathlib import Path
from types import ModuleType

import pytest
from protodsl.codegen.wasm import backend

from protodsl.host import FLAG_REQUEST, MosnHost, streams
from protodsl.host.streams import Connection, Decoded
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file, compile_source
from tests.wasm.conftest import write_and_build

SPEC = Path(__file__).parent / "specs" / "state_version.proto-dsl"
MALFORMED = 10


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> Path:
    return write_and_build(tmp_path_factory.mktemp("state"), protocol)


@pytest.fixture
def host(plugin: Path) -> MosnHost:
    host = MosnHost.from_file(plugin)
    host.clear_logs()
    return host


def request(id_: int, version: int, body: bytes = b"", ext: int | None = None) -> bytes:
    extra = b"" if ext is None else struct.pack(">H", ext)
    return struct.pack(">BIB", 1, id_, version) + extra + struct.pack(">H", len(body)) + body


def response(id_: int, body: bytes = b"", ext: int | None = None) -> bytes:
    extra = b"" if ext is None else struct.pack(">H", ext)
    return struct.pack(">BI", 2, id_) + extra + struct.pack(">H", len(body)) + body


def hello(id_: int, session: int) -> bytes:
    return struct.pack(">BII", 3, id_, session)


def ping(id_: int, token: int) -> bytes:
    return struct.pack(">BII", 4, id_, token)


def logged(host: MosnHost, protocol: Protocol) -> str:
    return "; ".join(r.message.removeprefix(f"{protocol.name}: ") for r in host.logs)


def test_one_context_carries_the_state(host: MosnHost, codec: ModuleType) -> None:
    """As `protodsl decode --engine wasm` decodes a stream: a request announcing
    version 2, then frames with `ext`, on one context; the Python codec threads
    its state through the same stream alike."""
    stream = [request(1, 2, b"ab"), response(1, b"xyz", ext=0xBEEF),
              request(2, 3, b"c", ext=0x0102)]
    ctx = host.new_context()
    state = codec.State()
    for wire in stream:
        result = host.decode(ctx, wire + b"\xff")  # a byte of the next frame: not consumed
        assert result.status == 0 and result.command is not None, logged(host, codec)
        python = codec.decode(wire + b"\xff", state)
        assert result.command.drain_len == python.consumed == len(wire)
        assert result.command.id == python.frame.id
        assert result.command.payload == python.frame.body
        state = python.state
    assert state == codec.State(version=3, session=None)


def test_a_new_context_is_in_a_new_connections_state(host: MosnHost) -> None:
    """The state stays with its context: a response decodes without `ext` on
    another one (version 1), its two bytes are the length there."""
    first = host.new_context()
    assert host.decode(first, request(1, 2)).status == 0
    other = host.new_context()
    result = host.decode(other, response(5, b"ok"))
    assert result.command is not None and result.command.payload == b"ok"
    # MOSN's own path: a context per frame, so the request's version is lost.
    frames = Connection(host).feed(request(3, 2) + response(3, b"ok"))
    assert [f.command.payload for f in frames] == [b"", b"ok"]
    assert [f.command.drain_len for f in frames] == [8, 9]


def test_a_frame_that_reads_an_unset_member_is_malformed(
        host: MosnHost, codec: ModuleType, protocol: Protocol) -> None:
    """A ping reads the session, which no hello set yet: status 10, never a
    trap, and the log line is the Python codec's StateUnset message."""
    wire = ping(1, 7)
    with pytest.raises(codec.StateUnset) as raised:
        codec.decode(wire)
    ctx = host.new_context()
    assert host.decode(ctx, wire).status == MALFORMED
    assert logged(host, protocol) == str(raised.value)
    assert logged(host, protocol) == ("state.session: state 'session' is read by frame 'ping' "
                                      "but was never set (no earlier frame set it)")
    # Even before the whole frame is there: the state decides, not the bytes.
    assert host.decode(host.new_context(), wire[:5]).status == MALFORMED
    # After a hello on the same context the ping decodes, and folds its token in.
    assert host.decode(ctx, hello(2, 0x10)).status == 0
    assert host.decode(ctx, wire).status == 0
    after = codec.decode(wire, codec.decode(hello(2, 0x10)).state).state
    assert after.session == 0x17


def test_a_when_that_reads_an_unset_member_fails_as_that_frame_is_tried(
        host: MosnHost, codec: ModuleType, protocol: Protocol) -> None:
    """`bye` is chosen by `kind == 7 and state.session != 0`: before any hello a
    bye is malformed in both engines, in the same words; other frames decode as
    ever (the member is read only when the decoder tries `bye`); in session 0 no
    frame claims a bye."""
    bye = struct.pack(">BI", 7, 9)
    with pytest.raises(codec.StateUnset) as raised:
        codec.decode(bye)
    assert str(raised.value) == ("state.session: state 'session' is read by frame 'bye' but "
                                 "was never set (no earlier frame set it)")
    ctx = host.new_context()
    assert host.decode(ctx, bye).status == MALFORMED
    assert logged(host, protocol) == str(raised.value)
    assert host.decode(host.new_context(), request(1, 1)).status == 0
    zero = codec.decode(hello(2, 0)).state
    with pytest.raises(codec.UnknownVariant):
        codec.decode(bye, zero)
    ctx = host.new_context()
    assert host.decode(ctx, hello(2, 0)).status == 0
    assert host.decode(ctx, bye).status == MALFORMED
    ctx = host.new_context()
    assert host.decode(ctx, hello(2, 5)).status == 0
    assert host.decode(ctx, bye).status == 0
    assert codec.decode(bye, codec.decode(hello(2, 5)).state).frame == codec.Bye(id=9)


def test_encode_is_laid_out_by_the_decode_state_and_sets_the_context(
        host: MosnHost, codec: ModuleType) -> None:
    """A request decoded in version 1 and announcing 2 is encoded as the Python
    codec encodes it in version 1 (no `ext`), on its own context as in MOSN; an
    encode on another context (a retry) puts that one in version 2, so a
    response with `ext` decodes there."""
    (sent,) = Connection(host).feed(request(9, 2, b"body"))
    frame = codec.Request(id=100, version=2, ext=0, body=b"body")
    result = streams.send(host, sent, 100)
    assert result.frame is not None and result.frame.frame == codec.encode(frame)
    # A retry: MOSN encodes the request again on a new context.
    retry = host.new_context()
    again = host.encode(retry, [], FLAG_REQUEST, 101, 100, 0, b"body")
    assert again.frame is not None and again.frame.frame == codec.encode(
        codec.Request(id=101, version=2, ext=0, body=b"body"))
    assert codec.next_state(frame) == codec.State(version=2, session=None)
    reply = host.decode(retry, response(101, b"r", ext=1))
    assert reply.command is not None and reply.command.payload == b"r"
    assert reply.command.drain_len == len(response(101, b"r", ext=1))


def test_a_command_is_encoded_in_the_state_it_was_decoded_in(
        host: MosnHost, codec: ModuleType) -> None:
    """A ping decoded after a hello on its context is encoded in that state
    (session set): in a new connection's state it could not be."""
    ctx = host.new_context()
    assert host.decode(ctx, hello(1, 5)).status == 0
    decoded = host.decode(ctx, ping(2, 6))
    assert decoded.command is not None
    result = streams.send(host, Decoded(ctx, decoded.command, ping(2, 6)), 20)
    assert result.frame is not None and result.frame.frame == ping(20, 6)
    with pytest.raises(codec.StateUnset):
        codec.encode(codec.Ping(id=20, token=6))


def test_the_state_is_dropped_with_its_context(host: MosnHost) -> None:
    """proxy_on_delete frees a context's state: 64 contexts (PD_STATE_SLOTS) may
    keep one; with those of deleted contexts freed, a live one's stays, where
    without the drop the least recently written (the live one) is forgotten."""
    live = host.new_context()
    assert host.decode(live, request(1, 2)).status == 0
    for round_ in range(3):
        gone = [host.new_context() for _ in range(63)]
        for n, ctx in enumerate(gone):
            assert host.decode(ctx, request(1000 * round_ + n, 5)).status == 0
        for ctx in gone:
            host.delete_context(ctx)
    result = host.decode(live, response(1, b"x", ext=0xAAAA))
    assert result.command is not None and result.command.payload == b"x"


def test_a_context_past_the_table_starts_over(host: MosnHost) -> None:
    """More live contexts with a state than PD_STATE_SLOTS: the least recently
    written one's is forgotten, and it decodes in a new connection's state."""
    first = host.new_context()
    assert host.decode(first, request(1, 2)).status == 0
    for n in range(64):
        assert host.decode(host.new_context(), request(2 + n, 2)).status == 0
    result = host.decode(first, response(1, b"x"))  # no ext: version 1 again
    assert result.command is not None and result.command.payload == b"x"


def test_built_frames_use_the_state(host: MosnHost, codec: ModuleType) -> None:
    """A keepalive is built in its new context's state; a reply and a hijack
    answer in the state their request was decoded in."""
    beat_built = streams.keepalive(host, 7)
    assert beat_built.frame is not None
    assert beat_built.frame.frame == codec.encode(codec.keepalive(7))
    ctx = host.new_context()
    assert host.decode(ctx, request(1, 2)).status == 0  # this context is in version 2
    beat = struct.pack(">BIH", 5, 3, 0x0102)
    decoded = host.decode(ctx, beat)
    assert decoded.command is not None and decoded.command.drain_len == len(beat)
    reply = streams.reply_keepalive(host, Decoded(ctx, decoded.command, beat))
    v2 = codec.State(version=2, session=None)
    ping_frame = codec.decode(beat, v2).frame
    assert reply.frame is not None
    assert reply.frame.frame == codec.encode(codec.keepalive_reply(ping_frame), v2)
    other = host.new_context()
    assert host.decode(other, request(1, 2)).status == 0
    asked = host.decode(other, request(4, 9, b"q", ext=5))
    assert asked.command is not None
    answer = streams.hijack(host, Decoded(other, asked.command, request(4, 9, b"q", ext=5)),
                            404)
    req = codec.decode(request(4, 9, b"q", ext=5), v2).frame
    assert answer.frame is not None
    assert answer.frame.frame == codec.encode(codec.hijack(req, 404), v2)


def test_stateless_specs_generate_no_state(protocol: Protocol) -> None:
    """The state code is printed for a spec with a state block only."""
    bolt = compile_file(Path(__file__).parents[2] / "specs" / "bolt.proto-dsl")
    assert "pd_state" not in backend.generate(bolt)["bolt.c"]
    assert "struct pd_state {" in backend.generate(protocol)["state_version.c"]


def test_a_spec_that_sets_state_is_warned_about() -> None:
    text = SPEC.read_text("utf-8")
    problems = backend.check_target(compile_source(text, str(SPEC)))
    (warning,) = [p for p in problems if "new context per frame" in p.message]
    assert warning.severity == "warning"
    assert warning.message == (
        "MOSN gives a plugin a new context per frame (docs/mosn-abi.md): a state a frame "
        "sets does not reach the next frame through MOSN; frames decode in a new "
        "connection's state")
    assert "'request', 'hello', 'ping'" in (warning.note or "")
    # A state that no frame sets: no warning.
    quiet = text.replace("    set state.version = version\n", "").replace(
        "    set state.session = session\n", "").replace(
        "    set state.version = state.version | 2\n", "").replace(
        "    set state.session = state.session ^ token\n", "")
    assert not [p for p in backend.check_target(compile_source(quiet, str(SPEC)))
                if "new context per frame" in p.message]
