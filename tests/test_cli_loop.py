"""decode | encode gives back the input, byte for byte, for every stream of
tests/vectors: each file's frames back to back (with a partial frame after them
where the file has one), and each frame on its own; through main() and through
a real shell pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from protodsl.cli import main
from tests.helpers import SPECS, VECTORS, load_vectors


def _spec_of(vector_file: str, frame: dict[str, object]) -> str:
    if vector_file == "bolt-upstream.json":
        return "boltv2" if frame.get("version") == 2 else "bolt"
    return {"bolt-v1.json": "bolt", "dubbo.json": "dubbo", "memcached.json": "memcached",
            "mqtt.json": "mqtt"}[vector_file]


def _streams() -> list[tuple[str, str, bytes, list[str]]]:
    """(name, spec, bytes, the connection state's options) for every stream the
    vectors make: a file's `state` is the connection its frames are decoded on."""
    out: list[tuple[str, str, bytes, list[str]]] = []
    for path in sorted(VECTORS.glob("*.json")):
        vectors = load_vectors(path.name)
        state = [f"--state={k}={v}" for k, v in vectors.get("state", {}).items()]
        by_spec: dict[str, list[bytes]] = {}
        for frame in vectors["frames"]:
            spec = _spec_of(path.name, frame)
            data = bytes.fromhex(frame["hex"])
            by_spec.setdefault(spec, []).append(data)
            out.append((f"{path.stem}:{frame['name']}", spec, data, state))
        partial = [bytes.fromhex(m["hex"]) for m in vectors.get("malformed_or_partial", [])
                   if m["expect"].get("result") == "need_more"]
        for spec, frames in by_spec.items():
            out.append((f"{path.stem}:all-{spec}", spec, b"".join(frames), state))
            for i, tail in enumerate(partial):
                out.append((f"{path.stem}:all-{spec}+partial{i}", spec,
                            b"".join(frames) + tail, state))
    return out


STREAMS = _streams()


def test_every_vector_file_gives_streams() -> None:
    files = {name.split(":")[0] for name, _, _, _ in STREAMS}
    assert files == {p.stem for p in VECTORS.glob("*.json")}
    assert len(STREAMS) >= 35


def _run(argv: list[str], stdin: bytes) -> tuple[int, bytes, str]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = out, err
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        code = main(argv)
    finally:
        out.flush()
        sys.stdout, sys.stderr, sys.stdin = saved
    buffer = out.buffer
    assert isinstance(buffer, io.BytesIO)
    return code, buffer.getvalue(), err.getvalue()


@pytest.mark.parametrize(("name", "spec", "data", "state"), STREAMS,
                         ids=[s[0] for s in STREAMS])
def test_decode_then_encode_gives_the_input_back(name: str, spec: str, data: bytes,
                                                 state: list[str]) -> None:
    path = str(SPECS / f"{spec}.proto-dsl")
    code, lines, err = _run(["decode", path, *state, "-"], data)
    assert code == 0, err
    code, raw, err = _run(["encode", path, *state, "--raw", "-"], lines)
    assert code == 0, err
    assert raw == data
    code, hexes, err = _run(["encode", path, *state, "-"], lines)
    assert code == 0, err
    assert bytes.fromhex(hexes.decode()) == data  # hex: a line per frame, as xxd -r -p reads


@pytest.mark.parametrize("vector_file", sorted(p.name for p in VECTORS.glob("*.json")))
def test_through_a_shell_pipe(vector_file: str, tmp_path: Path) -> None:
    """`protodsl decode SPEC FILE | protodsl encode SPEC --raw - | cmp - FILE` for
    the longest stream each vector file makes, with the installed script."""
    stem = vector_file.removesuffix(".json")
    name, spec, data, state = max((s for s in STREAMS if s[0].startswith(stem + ":all-")),
                                  key=lambda s: len(s[2]))
    path = tmp_path / "stream.bin"
    path.write_bytes(data)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    spec_path = SPECS / f"{spec}.proto-dsl"
    result = subprocess.run(
        ["sh", "-c", f'set -e; protodsl decode "{spec_path}" {" ".join(state)} "{path}" '
                     f'| protodsl encode "{spec_path}" {" ".join(state)} --raw - '
                     f'| cmp - "{path}"'],
        env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{name}: {result.stderr}"
