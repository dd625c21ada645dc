"""Decode errors on the command line: one offset (in the input stream), said
once; constants as the spec wrote them; a frame-size error names the frame; the
Wasm engine prints the Python engine's words exactly (no C literal suffixes)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from protodsl.cli import main, malformed
from protodsl.codecs import build_wasm, load_python
from protodsl.host import MosnHost
from protodsl.ir import BitsField, IntField, Protocol
from protodsl.ir import expr as ir
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS, load_vectors

# A magic number written in hex, and a frame with a declared size.
TINY = """\
protocol tiny "x-tiny" {
  max_frame 1KiB

  frame req when kind == 1 {
    magic: u32 = MAGIC
    kind:  u8
    id:    u32
    roles { kind = request  id = id }
  }

  frame resp when kind == 2 {
    magic:    u32 = MAGIC
    kind:     u8
    id:       u32
    body_len: u32 = len(body)
    body:     bytes[body_len]
    roles { kind = response  id = id  payload = body }
  }
}
"""
REQ = "cafebabe010000000b"  # magic, kind 1, id 11
BAD_MAGIC = "deadbeef010000000c"


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.proto-dsl"
    path.write_text(TINY.replace("MAGIC", "0xCAFEBABE"))
    return str(path)


def errors(capsys: pytest.CaptureFixture[str], spec: str, data: str) -> dict[str, str]:
    """The stderr of decode --engine python and --engine wasm, which must fail."""
    out = {}
    for engine in ("python", "wasm"):
        assert main(["decode", spec, "--engine", engine, "--hex", data]) == 1, engine
        err = capsys.readouterr().err
        assert err.startswith("protodsl: error: ") and err.count("\n") == 1, err
        out[engine] = err.removeprefix("protodsl: error: ").rstrip("\n")
    return out


def test_a_bad_constant_says_its_offset_once_in_both_engines(
    tiny: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `malformed frame at stream offset 9: field 'magic' at stream offset 9:
    magic at offset 0: expected 3405691582, got 3735928559`, and from the plugin
    `... expected 3405691582LL, got ...`."""
    got = errors(capsys, tiny, REQ + BAD_MAGIC)
    assert got["python"] == got["wasm"]
    message = got["python"]
    assert message.startswith("malformed frame: req.magic at stream offset 9: expected ")
    assert message.count("offset") == 1 and "LL" not in message
    assert message.endswith("expected 0xCAFEBABE, got 0xDEADBEEF")


@pytest.mark.parametrize(("written", "want", "got"), [
    ("0xCAFEBABE", "0xCAFEBABE", "0xDEADBEEF"),
    ("0xcafebabe", "0xcafebabe", "0xdeadbeef"),
    ("3405691582", "3405691582", "3735928559"),
])
def test_a_constant_shows_as_the_spec_writes_it(
    written: str, want: str, got: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tiny.proto-dsl"
    path.write_text(TINY.replace("MAGIC", written))
    messages = errors(capsys, str(path), BAD_MAGIC)
    assert messages["python"] == messages["wasm"] == (
        f"malformed frame: req.magic at stream offset 0: expected {want}, got {got}")


def _respelled(protocol: Protocol, spelling: str) -> Protocol:
    """`protocol` with every constant field's literal spelled `spelling`."""

    def fix(e: object) -> object:
        if isinstance(e, IntField) and isinstance(e.value, ir.Const) and e.constant:
            return dataclasses.replace(e, value=ir.Const(e.value.value, e.value.span, spelling))
        if isinstance(e, BitsField):
            return dataclasses.replace(e, members=tuple(
                dataclasses.replace(m, value=ir.Const(m.value.value, m.value.span, spelling))
                if isinstance(m.value, ir.Const) and m.constant else m for m in e.members))
        return e

    frames = tuple(dataclasses.replace(f, elements=tuple(fix(e) for e in f.elements))
                   for f in protocol.frames)
    return dataclasses.replace(protocol, frames=frames)  # type: ignore[arg-type]


@pytest.mark.parametrize(("spelling", "want", "got"), [
    ("0xCAFEBABE", "0xCAFEBABE", "0xDEADBEEF"),
    ("0xcafe_babe", "0xcafebabe", "0xdeadbeef"),
    ("0x00cafebabe", "0x00cafebabe", "0x00deadbeef"),
    ("0b11001010111111101011101010111110", "0b11001010111111101011101010111110",
     "0b11011110101011011011111011101111"),
])
def test_both_backends_print_a_spelled_constant_alike(
    spelling: str, want: str, got: str, tiny: str
) -> None:
    """What the backends do once the IR keeps a literal's spelling: the constant
    and the value read in its place, in the spec's radix, from both engines."""
    protocol = _respelled(compile_file(tiny), spelling)
    codec = load_python(protocol)
    data = bytes.fromhex(REQ + BAD_MAGIC)
    with pytest.raises(codec.ConstantMismatch) as info:
        codec.decode(data[9:])
    python = malformed(str(info.value), 9)
    host = MosnHost.from_file(build_wasm(protocol))
    host.clear_logs()
    assert host.decode(host.new_context(), data[9:]).status == 10
    (line,) = [r.message for r in host.logs]
    wasm = malformed(line.removeprefix("tiny: "), 9)
    assert python == wasm == (
        f"malformed frame: req.magic at stream offset 9: expected {want}, got {got}")


def test_a_frame_size_error_names_the_frame(tiny: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Was: `field 'resp' at stream offset 9: resp at offset 0: frame of ...`."""
    got = errors(capsys, tiny, REQ + "cafebabe020000000bffff0000")
    assert got["python"] == got["wasm"] == (
        "malformed frame: resp at stream offset 9: frame of 4294901773 bytes exceeds "
        "max_frame 1024")


BOLT = str(SPECS / "bolt.proto-dsl")
V1 = load_vectors("bolt-v1.json")
GOOD = {f["name"]: f["hex"] for f in V1["frames"]}
BAD = [(m["name"], m["hex"]) for m in V1["malformed_or_partial"]
       if m["expect"]["result"] == "error"]


@pytest.mark.parametrize(("name", "data", "message"), [
    *((name, data, None) for name, data in BAD),
    ("proto", "02" + GOOD["request_basic"][2:],
     "request.proto at stream offset 22: expected 1, got 2"),
    ("cmd_code", GOOD["request_basic"][:4] + "0007" + GOOD["request_basic"][8:],
     "request.cmd_code at stream offset 24: not a CmdCode: 7"),
    ("status", GOOD["response_ok"][:20] + "0013" + GOOD["response_ok"][24:],
     "response.status at stream offset 32: not a Status: 19"),
    ("variant", "0107000101", "no frame variant matches at stream offset 22: type=7"),
    ("negative", GOOD["heartbeat_request"][:36] + "ffffffff",
     "request.content at stream offset 44: negative size -1"),
])
def test_malformed_bolt_frames_read_the_same_from_both_engines(
    name: str, data: str, message: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = GOOD["heartbeat_request"] + data  # the bad frame starts at 22
    got = errors(capsys, BOLT, stream)
    assert got["python"] == got["wasm"], name
    assert got["python"].count(" offset ") == 1
    if message is not None:
        assert got["python"] == f"malformed frame: {message}"


def test_the_good_frames_before_an_error_are_printed(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    assert main(["decode", BOLT, "--hex", GOOD["oneway"] + "0107000101"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["kind"] == "oneway" and "stream offset 119" in err


def test_an_unmatched_discriminator_shows_as_the_first_frame_writes_it() -> None:
    """memcached's frames are told apart by `magic` (0x80, 0x81): an unknown magic
    reads as the spec writes it, from both engines."""
    protocol = _respelled(compile_file(SPECS / "memcached.proto-dsl"), "0x80")
    codec = load_python(protocol)
    data = bytes([0x82]) + bytes(23)
    with pytest.raises(codec.UnknownVariant) as info:
        codec.decode(data)
    host = MosnHost.from_file(build_wasm(protocol))
    host.clear_logs()
    assert host.decode(host.new_context(), data).status == 10
    (line,) = [r.message for r in host.logs]
    assert str(info.value) == line.removeprefix("memcached: ") == (
        "no frame variant matches at offset 0: magic=0x82")
