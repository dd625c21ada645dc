"""The mosn-go target's MOSN layer (`<name>_mosn.go`, MOSN's api.XProtocolCodec):
for every spec with roles the Wasm target builds (but those the mosn-go target
refuses by name), the package is gofmt-clean, vet-clean and builds with the
go.mod and go.sum it ships (-mod=readonly), and a Go test driving it through
mosn.io/api agrees with the Python codec on every vector frame and frames the
property strategies make of each frame: its roles, the bytes after MOSN's edits
(a new id, a header set, deleted and added, a new payload), keepalive, reply
and hijack frames, partial and malformed input in MOSN's buffers, the matcher
and the header map."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from protodsl.codegen.mosn_go import backend, xprotocol
from protodsl.codegen.mosn_go.toolchain import run_go

from protodsl.codecs import load_python
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_source
from tests.mosn_go.test_every_wasm_spec import WASM_SPECS
from tests.mosn_go.test_mosn_go import GO, _generate, _vectors, made_frames, with_go_test

pytestmark = [pytest.mark.slow, pytest.mark.skipif(GO is None, reason="needs Go")]

# Every spec the Wasm target builds whose frames MOSN can carry (it has roles).
MOSN_SPECS = {path.stem: path for path, protocol in WASM_SPECS
              if xprotocol.has_roles(protocol)}
HIJACK_CODES = (0, 3, 200, 403, 404, 413, 502, 503, 504, 509, 999)


def _go(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """go, with the module files as generated: a missing go.sum line fails."""
    return run_go(args, cwd, env={"GOFLAGS": "-mod=readonly"})


def _hex(codec: ModuleType, frame: Any) -> str:
    try:
        return str(codec.encode(frame).hex())
    except codec.ProtocolError:
        return "-"


def _id_mask(protocol: Protocol) -> int:
    widths = []
    for f in protocol.frames:
        if f.roles is None:
            continue
        if f.roles.id_view is not None:
            widths.append(8 * f.roles.id_view.width)
            continue
        node = f.value(f.roles.id)
        assert node is not None
        widths.append(8 * node.type.width if hasattr(node, "type") else node.width)
    return (1 << min(widths)) - 1


def _examples(protocol: Protocol, codec: ModuleType, spec: str) -> list[tuple[str, bytes]]:
    """The spec's vectors, and frames of each frame the property strategies make."""
    made = [(f"{f.name}#{i}", data) for f in protocol.frames
            for i, data in enumerate(made_frames(protocol, codec, f.name))]
    return _vectors(spec) + made


def _edited(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """MOSN's header edits TestMosnEdits makes, as mosn.io/pkg's header maps make
    them: Set the last pair's key (its first pair takes the value), Del the first
    pair's key when it is another (every pair of it goes), Add the last pair's
    key again (a derived header is MOSN's last pair of its key), Add a pair."""
    out = list(headers)
    if out:
        key = out[-1][0]
        at = next(i for i, (k, _) in enumerate(out) if k == key)
        out[at] = (key, b"mosn-set")
        if out[0][0] != key:
            out = [(k, v) for k, v in out if k != headers[0][0]]
        out.append((key, b"mosn-add"))
    return [*out, (b"x-protodsl", b"go")]


def mosn_cases(protocol: Protocol, spec: str) -> dict[str, Any]:
    """What the Python codec says of the vectors through MOSN's roles."""
    codec = load_python(protocol)
    mask = _id_mask(protocol)
    frames = []
    examples = _examples(protocol, codec, spec)
    builders = [k for k in ("keepalive", "keepalive_reply", "hijack") if hasattr(codec, k)]
    for name, data in examples:
        try:
            result = codec.decode(data)
        except codec.ProtocolError:
            continue
        if not isinstance(result, codec.Decoded):
            continue
        fr = result.frame
        kind = codec.kind(fr)
        headers = [(k, v) for k, v in codec.headers(fr)]
        new_id = codec.command_id(fr) ^ 0x55
        try:
            edited = codec.with_roles(fr, id=new_id, headers=_edited(headers), payload=b"mosn")
        except codec.ProtocolError:  # MOSN's headers do not fit the frame: encode refuses
            edited = None
        status, timeout = codec.status(fr), codec.timeout(fr)
        frames.append({
            "name": name, "hex": data.hex(), "consumed": result.consumed, "kind": kind,
            "id": codec.command_id(fr), "heartbeat": codec.is_heartbeat(fr),
            "timeout": timeout or 0, "status": status or 0,
            "headers": [[k.hex(), v.hex()] for k, v in headers],
            "payload": codec.payload(fr).hex(), "new_id": new_id,
            "edited": "-" if edited is None else _hex(codec, edited),
            "reply": (_hex(codec, codec.keepalive_reply(fr))
                      if kind != "response" and "keepalive_reply" in builders else ""),
            "hijack": ({str(c): _hex(codec, codec.hijack(fr, c)) for c in HIJACK_CODES}
                       if kind != "response" and "hijack" in builders else {}),
        })
    verdicts = [(data.hex(), _verdict(codec, data)) for data in _samples(examples)]
    return {
        "frames": frames,
        "keepalive": ({str(i & mask): _hex(codec, codec.keepalive(i & mask))
                       for i in (0, 1, 7, 0xFFFF_FFFF, 1 << 40)} if "keepalive" in builders
                      else {}),
        "keepalive_beats": "keepalive" in builders and codec.is_heartbeat(codec.keepalive(0)),
        "builders": builders,
        "accepts": [h for h, v in verdicts if v != "error"],
        "rejects": [h for h, v in verdicts if v == "error"],
        "need_more": [h for h, v in verdicts if v == "need_more"],
        # The real protocols (those with vectors) each start with constants MOSN
        # can tell them by; a test spec may have none, and then no matcher.
        "matcher": bool(_vectors(spec)),
        "steps": state_steps(codec, STREAMS[spec](codec)) if spec in STREAMS else [],
    }


def state_steps(codec: ModuleType, reads: list[tuple[int, bytes]]) -> list[dict[str, Any]]:
    """What the Python codec says of each (connection, bytes) read in turn, each
    connection in a state of its own: the frame decoded in it (its state then
    the one after), and encoded back in that state (the state moved past it,
    as a MOSN connection's is when it writes a frame), or the error's text."""
    states: dict[int, Any] = {}
    out: list[dict[str, Any]] = []
    for conn, data in reads:
        st = states.get(conn, codec.State())
        step: dict[str, Any] = {"conn": conn, "hex": data.hex()}
        try:
            result = codec.decode(data, st)
        except codec.ProtocolError as exc:
            out.append({**step, "error": str(exc)})
            continue
        fr, st = result.frame, result.state
        try:
            encoded = codec.encode(fr, st).hex()
            st = codec.next_state(fr, st)
        except codec.ProtocolError:
            encoded = "-"
        states[conn] = st
        out.append({**step, "consumed": result.consumed, "id": codec.command_id(fr),
                    "payload": codec.payload(fr).hex(), "encoded": encoded})
    return out


def _state_version(codec: ModuleType) -> list[tuple[int, bytes]]:
    """Connection 0 announces version 2, so its response has `ext`; connection 1,
    new, reads a response of version 1 (no `ext`: one state shared would read
    its body's first bytes as `ext`), then a ping before any hello: an unset
    member. Connection 2 opens a session that a ping folds into and a bye ends."""
    new = codec.State()
    v2 = codec.State(version=2)
    return [
        (0, codec.encode(codec.Request(id=1, version=2, body=b"v2"), new)),
        (0, codec.encode(codec.Response(id=1, ext=0xBEEF, body=b"with ext"), v2)),
        (1, codec.encode(codec.Response(id=2, body=b"no ext"), new)),
        (0, codec.encode(codec.Beat(id=3, ext=5), v2)),
        (1, codec.encode(codec.Ping(id=4, token=9), codec.State(session=0))),
        (2, codec.encode(codec.Hello(id=5, session=0x1234), new)),
        (2, codec.encode(codec.Ping(id=6, token=0x1234 ^ 1), codec.State(version=3, session=1))),
        (2, codec.encode(codec.Bye(id=7), codec.State(version=3, session=1))),
    ]


# The specs whose MOSN layer TestMosnState drives: the reads it makes, by connection.
STREAMS = {"state_version": _state_version}


def _samples(examples: list[tuple[str, bytes]]) -> list[bytes]:
    """Short inputs around each example's header, where a matcher and a decoder
    decide: every prefix up to 48 bytes, and the first 64 bytes with one of the
    first 24 corrupted."""
    out: list[bytes] = []
    for _, data in examples:
        out += [data[:n] for n in range(min(len(data), 48) + 1)]
        for i in range(min(len(data), 24)):
            for flip in (0x01, 0x80, 0xFF):
                bad = bytearray(data[:64])
                bad[i] ^= flip
                out.append(bytes(bad))
    return out


def _verdict(codec: ModuleType, data: bytes) -> str:
    try:
        result = codec.decode(data)
    except codec.ProtocolError:
        return "error"
    return "frame" if isinstance(result, codec.Decoded) else "need_more"


@pytest.mark.parametrize("spec", sorted(MOSN_SPECS))
def test_mosn_layer_builds_and_agrees_with_python(spec: str, tmp_path: Path) -> None:
    out = tmp_path / spec
    protocol = _generate(MOSN_SPECS[spec], out)
    assert (out / f"{protocol.name}_mosn.go").is_file() and (out / "go.sum").is_file()
    with_go_test(protocol, out, "mosn_test.go.in", "mosn.json", mosn_cases(protocol, spec), _go)
    run = _go(["test", "-count=1", "-run", "TestMosn", "."], out)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]


ROLELESS = """
protocol ping "x-ping" {
  frame ping when kind == 1 {
    kind: u8
    body_len: u16 = len(body)
    body: bytes[body_len]
  }
}
"""


def test_a_spec_without_roles_gets_the_plain_codec_only() -> None:
    files = backend.generate(compile_source(ROLELESS, "ping.proto-dsl"))
    assert sorted(files) == ["go.mod", "ping.go", "ping_fuzz_test.go", "runtime.go"]
    assert "require" not in files["go.mod"]


def test_a_name_the_mosn_layer_takes_is_suffixed(tmp_path: Path) -> None:
    spec = ROLELESS.replace("frame ping", "frame codec").replace("}\n}", """}
  frame answer when kind == 2 {
    kind: u8
    id: u32
    roles { kind = response  id = id }
  }
}""")
    spec = spec.replace("body: bytes[body_len]\n", "body: bytes[body_len]\n"
                        "    roles { kind = request  id = kind }\n")
    files = backend.generate(compile_source(spec, "ping.proto-dsl"))
    assert "type Codec_ struct {" in files["ping.go"]
    assert "type Codec struct{}" in files["ping_mosn.go"]
    assert "type MosnCodec_ struct {" in files["ping_mosn.go"]
    for rel, text in files.items():
        (tmp_path / rel).write_text(text, encoding="utf-8")
    vet = _go(["vet", "./..."], tmp_path)
    assert vet.returncode == 0, vet.stdout + vet.stderr


def test_every_spec_with_roles_is_covered() -> None:
    """hostile_names's names clash at the package level: its MOSN layer is tested too."""
    assert {"bolt", "dubbo", "hostile_names", "hostile"} <= set(MOSN_SPECS), sorted(MOSN_SPECS)
