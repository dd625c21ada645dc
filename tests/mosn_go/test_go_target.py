"""`protodsl test --target mosn-go`: the differential properties pass on the Go
codec of bolt and dubbo, and fail, naming the right property, on a Go codec
sabotaged in one place (each case rebuilds the driver from edited source). The
generated fuzz tests fail on an Encode that loses bytes. The driver shows a
frame in the spec's names, as the Python codec's decode JSON does."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from protodsl.codegen.mosn_go import driver
from protodsl.codegen.mosn_go.naming import go_names
from protodsl.codegen.mosn_go.toolchain import go_binary, run_go

from protodsl.cli import main
from protodsl.codecs import load_python
from protodsl.ir import Protocol
from protodsl.ir.model import BytesField, KvMapField
from protodsl.jsonview import frame_json, show_bytes
from protodsl.passes.pipeline import compile_file
from protodsl.testing.go_engine import GoDriver
from protodsl.testing.runner import report, run_all
from tests.helpers import SPECS
from tests.mosn_go.test_mosn_go import _seed_fuzzing, made_frames

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(go_binary() is None, reason="needs Go")]

GO_PROPERTIES = ("go vs python: decode", "go vs python: prefixes need more",
                 "go vs python: chunked streams", "go vs python: hostile bytes",
                 "go vs python: encode, values refused", "go: decode(encode(f)) == f")


# Specs of the constructs the Go codec prints (records, padding, len(rest), prefix
# fields, varints, maps of mixed byte orders, 128-bit integers, members whose Go
# names clash, package-level names that clash), with fewer examples. (tagged-rpc,
# uuid_ids, exotic and shapes wait for MOSN's layer: see test_every_wasm_spec.)
MORE = ["tests/language/specs/kvmaps", "tests/language/specs/sizes",
        "tests/language/specs/padded", "tests/plan/specs/corners", "tests/wasm/specs/lists",
        "tests/wasm/specs/rest", "tests/wasm/specs/fixed_checksum",
        "tests/wasm/specs/conditional", "tests/language/specs/wide_ints",
        "tests/wasm/specs/hostile", "tests/specs/hostile_names"]


@pytest.mark.parametrize(("spec", "examples"), [
    *((str(SPECS / f"{s}.proto-dsl"), 40) for s in ("bolt", "dubbo")),
    *((str(ROOT / f"{s}.proto-dsl"), 15) for s in MORE),
])
def test_the_go_codec_agrees(spec: str, examples: int,
                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["test", spec, "--target", "mosn-go",
                 "--examples", str(examples), "--seed", "1", "-j", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line for line in out.splitlines() if line.endswith("  ok")]
    assert [r for r in rows if r.startswith(GO_PROPERTIES)] and len(rows) == 9, out
    for prop in GO_PROPERTIES:
        assert any(r.startswith(prop) for r in rows), (prop, out)


def test_go_target_and_a_plugin_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(SPECS / "bolt.proto-dsl"), "--target", "mosn-go",
                 "--wasm", "x.wasm"]) == 1
    assert "--wasm tests a plugin" in capsys.readouterr().err


SABOTAGE = {  # in bolt.go: (old, new, the property that must fail, how)
    "decode reads the timeout little-endian": (
        "vTimeout := int64(int32(binary.BigEndian.Uint32(buf[10:])))",
        "vTimeout := int64(int32(binary.LittleEndian.Uint32(buf[10:])))",
        "go vs python: decode", "Mismatch: decode outcomes differ"),
    "need-more asks for a byte too many": (
        "return nil, 0, needMore(end, int(size))",
        "return nil, 0, needMore(end, int(size)+1)",
        "go vs python: prefixes need more", "Mismatch: decode outcomes differ"),
    "encode's refusal names no values": (
        "needs `type in {request, oneway}`, but it has \"+\"type = \"+dec(vType))",
        "needs `type in {request, oneway}`\")",
        "go vs python: encode, values refused", "Mismatch: encode outcomes differ"),
    "encode drops the content": (
        "\tout = append(out, f.Content...)\n",
        "",
        "go: decode(encode(f)) == f", "Mismatch: encoded frames differ"),
    "decode panics on a long frame": (
        "func decodeRequest(buf []byte) (*Request, int, error) {\n",
        "func decodeRequest(buf []byte) (*Request, int, error) {\n"
        "\tif len(buf) > 100 {\n\t\tpanic(\"sabotage\")\n\t}\n",
        "go vs python: decode", "GoPanicked: the Go codec panicked: sabotage"),
}


def _sabotaged(protocol: Protocol, tmp: Path, old: str, new: str) -> dict[str, str]:
    files = driver.files(protocol)
    source = files[f"{protocol.name}.go"]
    assert old in source, "the generated Go changed: update this sabotage"
    files[f"{protocol.name}.go"] = source.replace(old, new, 1)
    for rel, text in files.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
    return files


@pytest.mark.parametrize("case", list(SABOTAGE))
def test_a_sabotaged_go_codec_is_caught(case: str, tmp_path: Path,
                                        bolt_protocol: Protocol) -> None:
    old, new, prop, why = SABOTAGE[case]
    _sabotaged(bolt_protocol, tmp_path, old, new)
    run = run_all(bolt_protocol, None, 60, 7, go=driver.build(tmp_path, bolt_protocol))
    out = io.StringIO()
    report(run, "specs/bolt.proto-dsl", 7, out, replay=" --target mosn-go")
    text = out.getvalue()
    assert f"FAILED {prop}\n" in text, text
    assert text[text.index(f"FAILED {prop}\n"):].split("\n")[1].strip().startswith(why), text
    assert "replay: protodsl test specs/bolt.proto-dsl --target mosn-go --seed 7" in text
    failed = {r.name for r in run.results if not r.passed}
    assert failed <= {prop, *GO_PROPERTIES}  # the Python codec's own properties still hold


def test_the_fuzz_tests_catch_an_encode_that_loses_bytes(tmp_path: Path,
                                                         bolt_protocol: Protocol) -> None:
    _sabotaged(bolt_protocol, tmp_path, *SABOTAGE["encode drops the content"][:2])
    _seed_fuzzing(bolt_protocol, "bolt", tmp_path)
    fuzz = go_names(bolt_protocol).fuzz("request")
    run = run_go(["test", "-count=1", "-run", f"^{fuzz}$", "."], tmp_path)
    assert run.returncode != 0, run.stdout
    assert "decode(encode(f)) != f" in run.stdout, run.stdout


def test_the_driver_shows_frames_in_the_specs_names(tmp_path: Path) -> None:
    """Each member by its spec name (`ID` and `id`, not Go's Id and Id_), each enum
    value by its member's name, every value as the Python codec's decode JSON
    has it (bytes there as text or hex, base64 in encoding/json's)."""
    protocol = compile_file(ROOT / "tests/specs/hostile_names.proto-dsl")
    codec = load_python(protocol)
    for rel, text in driver.files(protocol).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    go = GoDriver(driver.build(tmp_path, protocol))
    seen: set[str] = set()
    try:
        for frame in protocol.frames:
            for wire in made_frames(protocol, codec, frame.name):
                outcome = go.decode(wire)
                assert outcome[0] == "frame", outcome
                fields = outcome[1].fields
                seen.update(fields)
                python = frame_json(codec, protocol, codec.decode(wire).frame, len(wire))
                assert set(fields) <= set(python["fields"]), (fields, python)
                shown = {k: _as_python(frame.element(k), v) for k, v in fields.items()}
                assert shown == {k: python["fields"][k] for k in fields}, (shown, python)
                assert go.encode(frame.name, fields) == ("bytes", wire.hex())
    finally:
        go.close()
    assert {"ID", "id", "type", "return", "Return", "None"} <= seen


def _as_python(element: Any, value: Any) -> Any:
    """A value of the driver's JSON as the Python codec's decode JSON shows it."""
    if isinstance(element, BytesField):
        return show_bytes(base64.b64decode(value))
    if isinstance(element, KvMapField):
        return [[show_bytes(base64.b64decode(kv[k])) for k in ("Key", "Value")]
                for kv in value]
    return value
