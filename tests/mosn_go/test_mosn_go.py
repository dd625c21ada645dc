"""The mosn-go target: the generated Go package builds, is gofmt-clean and vet-clean,
and agrees with the Python codec on every vector, every strict prefix of one and
every one-byte corruption of one (the frame and its fields, need-more and how many
bytes, the error text), and encodes each frame to the bytes the Python codec does.
Its fuzz tests (one per frame) run on seeds of each frame (vectors, made frames),
then one frame per spec is fuzzed for 25,000 executions (about 2 s), a different one each day
(PROTODSL_LONG: every frame, 250,000)."""

from __future__ import annotations

import datetime
import json
import os
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from protodsl.codegen.mosn_go import backend
from protodsl.codegen.mosn_go.naming import go_names
from protodsl.codegen.mosn_go.toolchain import go_binary, run_go

from protodsl.codecs import load_python
from protodsl.diagnostics import SpecError
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst
from protodsl.testing.entropy import Entropy
from protodsl.testing.go_engine import frame_name, go_fields
from tests.helpers import SPECS, load_vectors

GO = go_binary()
LONG = bool(os.environ.get("PROTODSL_LONG"))
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(GO is None, reason="needs Go")]


def _vectors(spec: str) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    if spec == "bolt":
        v1 = load_vectors("bolt-v1.json")
        out += [(v["name"], bytes.fromhex(v["hex"])) for v in v1["frames"]]
        out += [(v["name"], bytes.fromhex(v["hex"])) for v in v1["malformed_or_partial"]]
        first, second = (bytes.fromhex(v["hex"]) for v in v1["frames"][:2])
        out.append(("two_frames", first + second))
    if spec in ("bolt", "boltv2"):
        version = 1 if spec == "bolt" else 2
        out += [(v["name"], bytes.fromhex(v["hex"]))
                for v in load_vectors("bolt-upstream.json")["frames"]
                if v["version"] == version]
    if spec in ("dubbo", "memcached"):
        out += [(v["name"], bytes.fromhex(v["hex"]))
                for v in load_vectors(f"{spec}.json")["frames"]]
    return out


def _case(protocol: Protocol, codec: ModuleType, name: str, data: bytes) -> dict[str, Any]:
    case: dict[str, Any] = {"name": name, "hex": data.hex()}
    try:
        result = codec.decode(data)
    except codec.ProtocolError as exc:
        return {**case, "kind": "error", "message": str(exc)}
    if isinstance(result, codec.NeedMore):
        return {**case, "kind": "need_more", "need": -1 if result.need is None else result.need}
    try:
        encoded = codec.encode(result.frame).hex()
    except codec.ProtocolError:
        encoded = "-"
    return {**case, "kind": "frame", "frame": frame_name(protocol, codec, result.frame),
            "consumed": result.consumed, "fields": go_fields(protocol, codec, result.frame),
            "encoded": encoded}


def cases(protocol: Protocol, spec: str) -> list[dict[str, Any]]:
    codec = load_python(protocol)
    out = []
    for name, data in _vectors(spec):
        out.append(_case(protocol, codec, name, data))
        for n in range(len(data)):  # every strict prefix
            out.append(_case(protocol, codec, f"{name}[:{n}]", data[:n]))
        for i in range(min(len(data), 40)):  # the header and what follows it, corrupted
            for flip in (0x01, 0x80, 0xFF):
                bad = bytearray(data)
                bad[i] ^= flip
                out.append(_case(protocol, codec, f"{name}^{i}:{flip:#x}", bytes(bad)))
    return out


GoRunner = Callable[[list[str], Path], subprocess.CompletedProcess[str]]


def _go(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_go(args, cwd)


def _seeds(protocol: Protocol, spec: str) -> dict[str, list[bytes]]:
    """Each frame's vectors (a vector that is no frame goes to every frame), and
    for a frame without any, frames the property strategies make from fixed bytes."""
    codec = load_python(protocol)
    seeds: dict[str, list[bytes]] = {f.name: [] for f in protocol.frames}
    for _, data in _vectors(spec):
        try:
            result = codec.decode(data)
            owners = ([frame_name(protocol, codec, result.frame)]
                      if not isinstance(result, codec.NeedMore) else list(seeds))
        except codec.ProtocolError:
            owners = list(seeds)
        for name in owners:
            seeds[name].append(data)
    for name, found in seeds.items():
        found += made_frames(protocol, codec, name)
    return seeds


def made_frames(protocol: Protocol, codec: ModuleType, name: str, n: int = 3) -> list[bytes]:
    """The first `n` frames `name` the property strategies make from fixed bytes."""
    make = pst.frame_maker(protocol, codec, name)
    made = (make(Entropy(random.Random(i).randbytes(1024))) for i in range(200))
    return [codec.encode(f) for f in made if f is not None][:n]


def _seed_fuzzing(protocol: Protocol, spec: str, out: Path) -> None:
    """The seeds as `go test`'s corpus files, by fuzz test."""
    for name, seeds in _seeds(protocol, spec).items():
        corpus = out / "testdata" / "fuzz" / go_names(protocol).fuzz(name)
        corpus.mkdir(parents=True)
        for i, data in enumerate(seeds):
            literal = "".join(f"\\x{b:02x}" for b in data)
            (corpus / f"seed{i}").write_text(f'go test fuzz v1\n[]byte("{literal}")\n')


def _fuzzed_today(protocol: Protocol) -> list[str]:
    if LONG:
        return [f.name for f in protocol.frames]
    return [protocol.frames[datetime.date.today().toordinal() % len(protocol.frames)].name]


def _generate(path: Path, out: Path) -> Protocol:
    protocol = compile_file(path)
    out.mkdir(parents=True)
    for rel, text in backend.generate(protocol, out).items():
        (out / rel).write_text(text, encoding="utf-8")
    return protocol


def with_go_test(protocol: Protocol, out: Path, template: str, data: str,
                 cases: list[Any], go: GoRunner | None = None) -> None:
    """The generated package in `out`, checked gofmt-clean, given the Go test
    `template` (tests/mosn_go/*.go.in) and its cases as testdata/`data`, then
    vetted (by `go`, by default this module's)."""
    gofmt = shutil.which("gofmt") or str(Path(str(GO)).parent / "gofmt")
    listed = subprocess.run([gofmt, "-l", "."], cwd=out, capture_output=True, text=True,
                            check=False)
    assert listed.returncode == 0 and listed.stdout == "", listed.stdout + listed.stderr
    test_go = (HERE / template).read_text("utf-8")
    (out / template.removesuffix(".in")).write_text(
        test_go.replace("package PACKAGE", f"package {protocol.name}", 1), encoding="utf-8")
    (out / "testdata").mkdir()
    (out / "testdata" / data).write_text(json.dumps(cases), encoding="utf-8")
    vet = (go or _go)(["vet", "./..."], out)
    assert vet.returncode == 0, vet.stdout + vet.stderr


@pytest.mark.parametrize("spec", ["bolt", "boltv2", "dubbo", "memcached"])
def test_generated_package_agrees_with_python(spec: str, tmp_path: Path) -> None:
    out = tmp_path / spec
    protocol = _generate(SPECS / f"{spec}.proto-dsl", out)
    all_cases = cases(protocol, spec)
    assert {c["kind"] for c in all_cases} == {"frame", "need_more", "error"}
    with_go_test(protocol, out, "vectors_test.go.in", "cases.json", all_cases)
    run = _go(["test", "-count=1", "-run", "TestVectors", "."], out)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    _seed_fuzzing(protocol, spec, out)
    seeds = _go(["test", "-count=1", "-run", "^FuzzDecode", "-v", "."], out)
    assert seeds.returncode == 0, seeds.stdout[-5000:] + seeds.stderr[-2000:]
    for f in protocol.frames:  # each ran on seeds of its own frame
        assert f"--- PASS: {go_names(protocol).fuzz(f.name)}/seed" in seeds.stdout, seeds.stdout
    for frame in _fuzzed_today(protocol):
        # a count of executions (about 2 s, or 20 s long), not a time: when a time
        # runs out in the middle of a call, Go's fuzzer itself fails ("context
        # deadline exceeded"), a flake of the toolchain, not of the codec
        fuzz = _go(["test", "-run", "^$", "-fuzz", f"^{go_names(protocol).fuzz(frame)}$",
                    f"-fuzztime={'250000x' if LONG else '25000x'}", "."], out)
        assert fuzz.returncode == 0, fuzz.stdout[-5000:] + fuzz.stderr[-2000:]


def test_generation_is_deterministic() -> None:
    protocol = compile_file(SPECS / "boltv2.proto-dsl")
    assert backend.generate(protocol) == backend.generate(protocol)


@pytest.mark.parametrize(("spec", "construct"), [
    ("specs/mqtt", "'reason_code' is read while the frame has bytes left (more())"),
    ("specs/http2-frame", "a max_frame limit the state sets"),
    ("specs/http2-frame", "state member 'max_frame_size' is kept per side"),
    ("specs/http2-frame", "frame 'settings' sets state from last() over a list"),
    ("tests/language/specs/per_side_limit", "state member 'accepts' is kept per side"),
])
def test_unsupported_specs_are_refused_by_name(spec: str, construct: str) -> None:
    protocol = compile_file(ROOT / f"{spec}.proto-dsl")
    with pytest.raises(SpecError) as info:
        backend.generate(protocol)
    assert construct in str(info.value)
    assert "mosn-go target does not generate yet" in str(info.value)
