"""Outputs written in place around the payload (zero-copy), and the copying
path they fall back to: both give the same buffers, the payload of an in-place
output is never copied, and the fallback is taken whenever there is no room."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from protodsl.codegen.wasm import backend

from protodsl.codecs import load_python
from protodsl.host import MosnHost, streams
from protodsl.host.streams import Connection
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file
from protodsl.testing.properties import Sides, applicable
from protodsl.testing.runner import run_property
from tests.helpers import SPECS
from tests.wasm.bolt_wire import with_id

HERE = Path(__file__).parent
CONTENT = 4096


def build_copying(out: Path, protocol: Protocol) -> Path:
    """The plugin built with -DPD_IN_PLACE=0: every output gets its own buffer."""
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in backend.generate(protocol).items():
        (out / rel).write_text(text, encoding="utf-8")
    wasm = out / f"{protocol.name}_copying.wasm"
    command = backend.compile_command(out / f"{protocol.name}.c", wasm,
                                      ("-DPD_IN_PLACE=0", "-Wall", "-Wextra", "-Werror"))
    subprocess.run(command, cwd=out, check=True, capture_output=True)
    return wasm


@pytest.fixture(scope="module")
def copying_wasm(tmp_path_factory: pytest.TempPathFactory, bolt_protocol: Protocol) -> Path:
    return build_copying(tmp_path_factory.mktemp("bolt-copying"), bolt_protocol)


def with_content(protocol: Protocol, wire: bytes, content: bytes, class_: bytes | None = None
                 ) -> bytes:
    """The bolt frame `wire` with another content (and class name)."""
    codec = load_python(protocol)
    frame = codec.decode(wire).frame
    frame.content = content
    if class_ is not None:
        frame.class_ = class_
    return bytes(codec.encode(frame))


def round_trip(host: MosnHost, wire: bytes, new_id: int = 4242) -> tuple[object, object]:
    """(decoded command, encoded frame) of one decode and its encode with a new id."""
    (frame,) = Connection(host).feed(wire)
    out = streams.send(host, frame, new_id)
    assert out.ok and out.frame is not None, (out.status, host.logs)
    return frame.command, out.frame


def extra_fuel(wasm: Path, small: bytes, big: bytes) -> tuple[int, int]:
    """Extra fuel of decode and of encode for `big` over `small`, in steady state."""
    fuel = []
    for wire in (small, big):
        host = MosnHost(wasm, fuel=True)
        for _ in range(2):
            round_trip(host, wire)
        ctx = host.new_context()
        cmd = host.decode(ctx, wire).command
        decode = host.last_fuel or 0
        assert cmd is not None
        host.encode(ctx, cmd.headers, cmd.mosn_flag, 7, cmd.id, cmd.timeout_or_status,
                    cmd.payload)
        fuel.append((decode, host.last_fuel or 0))
        host.delete_context(ctx)
    return fuel[1][0] - fuel[0][0], fuel[1][1] - fuel[0][1]


def test_in_place_and_copying_give_the_same_buffers(
    bolt_wasm: Path, copying_wasm: Path, frames: dict[str, bytes], bolt_protocol: Protocol
) -> None:
    wires = [wire for name, wire in frames.items() if name != "heartbeat_response"]  # not sent
    base = frames["request_many_headers"]
    wires += [with_content(bolt_protocol, base, bytes(range(256)) * 16),
              with_content(bolt_protocol, base, b"", class_=b""),
              with_content(bolt_protocol, base, b"x", class_=b"c" * 3000)]
    in_place, copying = MosnHost.from_file(bolt_wasm), MosnHost.from_file(copying_wasm)
    in_place.clear_logs()  # the start-up line
    copying.clear_logs()
    for wire in wires:
        assert round_trip(in_place, wire) == round_trip(copying, wire)
    assert in_place.logs == copying.logs == []


def test_the_payload_is_not_copied(bolt_wasm: Path, copying_wasm: Path,
                                   frames: dict[str, bytes], bolt_protocol: Protocol) -> None:
    """This wasmtime meters memory.copy per byte: a copied payload shows in the fuel."""
    small = frames["request_many_headers"]
    big = with_content(bolt_protocol, small, bytes(i & 0xFF for i in range(CONTENT)))
    added = len(big) - len(small)
    decode, encode = extra_fuel(bolt_wasm, small, big)
    assert decode < added // 4 and encode < added // 4, (decode, encode)
    decode, encode = extra_fuel(copying_wasm, small, big)
    assert decode >= added and encode >= added, (decode, encode)


def test_encode_copies_when_the_room_in_front_is_too_small(
    bolt_wasm: Path, frames: dict[str, bytes], bolt_protocol: Protocol
) -> None:
    """A remembered class name far longer than the host's encode buffer: the
    frame cannot be written in front of the payload, the copying path is taken."""
    wire = with_content(bolt_protocol, frames["request_many_headers"], b"x" * CONTENT,
                        class_=b"c" * 30_000)  # class_len is an i16
    host = MosnHost(bolt_wasm, fuel=True)
    (request,) = Connection(host).feed(wire)
    cmd = request.command
    out = host.encode(request.ctx, cmd.headers, cmd.mosn_flag, 4242, cmd.id,
                      cmd.timeout_or_status, cmd.payload)
    assert out.frame is not None and out.frame.frame == with_id(wire, 4242)
    assert host.last_fuel is not None and host.last_fuel > CONTENT + 30_000


@pytest.mark.parametrize("spec", [
    SPECS / "bolt.proto-dsl",
    HERE / "specs" / "shapes.proto-dsl",
    HERE / "specs" / "exotic.proto-dsl",
    SPECS / "boltv2.proto-dsl",
    SPECS / "dubbo.proto-dsl",
    HERE / "specs" / "conditional.proto-dsl",
], ids=lambda p: p.stem)
def test_the_copying_path_agrees_with_the_python_codec(spec: Path, tmp_path: Path) -> None:
    """The Wasm-side differential properties of `protodsl test`, on the copying path."""
    protocol = compile_file(spec)
    sides = Sides(protocol, load_python(protocol), build_copying(tmp_path, protocol))
    failed = []
    for prop in applicable(protocol, wasm=True):
        if prop.engine == "wasm":
            result = run_property(prop, sides, examples=40, seed=7)
            if not result.passed:
                failed.append(f"{prop.name}: {result.error} on {result.counterexample!r}")
    assert failed == []


def test_encode_is_in_place_only_when_the_payload_ends_the_frame(tmp_path: Path) -> None:
    """exotic's ask frame has a CRC after its body, shapes' ask ends with it."""
    exotic = backend.generate(compile_file(HERE / "specs" / "exotic.proto-dsl"))["exotic.c"]
    shapes = backend.generate(compile_file(HERE / "specs" / "shapes.proto-dsl"))["shapes.c"]

    def emit(source: str, name: str) -> str:
        start = source.index(f"static int emit_{name}(")
        return source[start:source.index("\n}\n", start)]

    assert "pd_out_before" not in emit(exotic, "ask")
    assert "pd_out_before" not in emit(exotic, "answer")  # a constant byte ends it
    assert "pd_out_before(room, fr->f_body, n)" in emit(shapes, "ask")
    assert "pd_move_end(out + (n - ((pd_u64)fr->f_tag.len + (pd_u64)fr->f_body.len))" in emit(
        shapes, "ask")
