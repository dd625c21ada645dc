"""The frames' `when` conditions are analysed value by value: a frame no input
reaches, and an input two frames claim, are errors naming both frames; `otherwise`
takes what the frames before it leave; `check --verbose` lists what no frame
claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from protodsl.cli import main
from protodsl.codecs import build_wasm, load_python
from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.passes.pipeline import compile_source

KIND = """
  enum Kind: u8 {
    request  = 0
    response = 1
  }
"""


def frame(name: str, when: str, field: str = "kind: Kind") -> str:
    head = f"frame {name} otherwise" if when == "otherwise" else f"frame {name} when {when}"
    return f"  {head} {{\n    {field}\n    id: u32\n  }}\n"


def errors(source: str) -> list[tuple[str, tuple[tuple[int, str], ...]]]:
    with pytest.raises(SpecError) as caught:
        compile_source(source, "spec")
    return [(f"{d.span.line}:{d.span.col}: {d.message}",
             tuple((s.line, what) for s, what in d.related)) for d in caught.value.diagnostics]


def test_a_frame_whose_condition_an_earlier_frame_takes_is_unreachable() -> None:
    source = ('protocol p "x-p" {' + KIND + frame("request", "kind == request")
              + frame("again", "kind == request") + frame("response", "kind == response") + "}")
    assert errors(source) == [(
        "10:20: frame 'again' is never chosen: frame 'request' claims every input it does",
        ((6, "'request' claims it first"),),
    )]


def test_two_frames_claiming_the_same_value_is_an_error_with_a_witness() -> None:
    source = ('protocol p "x-p" {\n' + frame("ping", "op == 1", "op: u8")
              + frame("call", "op in {1, 2}", "op: u8") + "}")
    [(message, related)] = errors(source)
    assert message == ("6:19: frames 'ping' and 'call' both claim op = 1: a decoder takes the "
                       "first, 'ping'")
    assert related == ((2, "'ping' claims it first"),)


def test_a_wide_discriminator_is_sampled_at_the_values_conditions_name() -> None:
    source = ('protocol p "x-p" {\n' + frame("a", "magic == 0xCAFEBABE", "magic: u32")
              + frame("b", "magic >= 0xCAFEBABE", "magic: u32") + "}")
    [(message, _)] = errors(source)
    assert "both claim magic = 3405691582" in message


def test_otherwise_takes_the_rest_and_must_come_last(tmp_path: Path) -> None:
    source = ('protocol p "x-p" {\n' + frame("ping", "op == 1", "op: u8")
              + frame("other", "otherwise", "op: u8") + "}")
    codec = load_python(compile_source(source, "spec"))
    assert type(codec.decode(bytes([1, 0, 0, 0, 7])).frame).__name__ == "Ping"
    assert type(codec.decode(bytes([9, 0, 0, 0, 7])).frame).__name__ == "Other"
    early = ('protocol p "x-p" {\n' + frame("other", "otherwise", "op: u8")
             + frame("ping", "op == 1", "op: u8") + "}")
    assert [m for m, _ in errors(early)][0].endswith(
        "frame 'other' is `otherwise`, every input no earlier frame claims: it must be the "
        "last frame")


def test_an_otherwise_frame_left_nothing_is_unreachable() -> None:
    source = ('protocol p "x-p" {' + KIND + frame("request", "kind == request")
              + frame("response", "kind == response") + frame("other", "otherwise") + "}")
    assert [m for m, _ in errors(source)] == [
        "14:9: frame 'other' is never chosen: the frames before it claim every input"]


def test_check_verbose_lists_what_no_frame_claims(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--verbose", "specs/memcached.proto-dsl"]) == 0
    out = capsys.readouterr().out
    assert "no frame claims (decodes as malformed): magic = 0..127; magic = 130..255" in out


def test_an_encoder_never_writes_a_frame_its_own_condition_refuses(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A request frame set to type=response used to encode, and decode as a
    response followed by garbage."""
    bolt = load_python(compile_source(Path("specs/bolt.proto-dsl").read_text(), "bolt"))
    frame = bolt.Request(type=bolt.CmdType.response, cmd_code=bolt.CmdCode.rpc_request,
                         version=1, request_id=3, codec=1, timeout=0, class_=b"", headers=[],
                         content=b"")
    for encode in (bolt.encode, bolt.reference_encode):
        with pytest.raises(bolt.EncodeError) as caught:
            encode(frame)
        assert caught.value.field == "type"
        assert ("frame 'request' needs `type in {request, oneway}`, but it has type = "
                in str(caught.value))
    assert main(["encode", "specs/bolt.proto-dsl",
                 '{"frame":"request","fields":{"type":"response","cmd_code":"rpc_request",'
                 '"request_id":3}}']) == 1
    assert "frame 'request' needs `type in {request, oneway}`" in capsys.readouterr().err


STATUS_CHOOSES = """protocol answers "x-answers" {
  frame call when kind == 1 {
    kind:   u8
    status: u8
    id:     u32
    roles { kind = request  id = id }
  }
  frame ok when kind == 0 and status == 0 {
    kind:   u8
    status: u8
    id:     u32
    roles { kind = response  id = id  status = status }
  }
  frame failed when kind == 0 and status != 0 {
    kind:   u8
    status: u8
    id:     u32
    roles { kind = response  id = id  status = status }
  }
}
"""


def test_the_plugin_refuses_an_edit_that_makes_a_frame_another(tmp_path: Path) -> None:
    """MOSN passes a status on encode; here the status chooses the variant, so a
    status of 5 on an `ok` frame is a command the plugin cannot encode as itself."""
    wasm = build_wasm(compile_source(STATUS_CHOOSES, "answers"), tmp_path)
    host = MosnHost.from_file(wasm)
    ok = bytes([0, 0, 0, 0, 0, 9])
    [frame] = streams.Connection(host).feed(ok)
    assert streams.send(host, frame, 9, timeout_or_status=0).frame is not None
    [frame] = streams.Connection(host).feed(ok)
    assert streams.send(host, frame, 9, timeout_or_status=5).status == 10
    assert "ok.kind: does not hold the frame condition `kind == 0 and status == 0`" in \
        host.logs[-1].message
