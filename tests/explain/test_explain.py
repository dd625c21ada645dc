"""`protodsl explain` and `decode --offsets`.

The dump of every frame of every vector file is compared with a golden file,
tests/explain/golden/<vector file>.txt (colour off). After a deliberate change to
the dump, rewrite them with `PROTODSL_REGEN=1 pytest tests/explain` and review
the diff."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from protodsl.cli import main
from protodsl.codecs import load_python
from protodsl.explain import Layout
from protodsl.explain.command import colour
from protodsl.explain.layout import varint_width
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies
from tests.helpers import SPECS, VECTORS, load_vectors

GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = bool(os.environ.get("PROTODSL_REGEN"))
BOLT = str(SPECS / "bolt.proto-dsl")
MQTT = str(SPECS / "mqtt.proto-dsl")
V1 = {f["name"]: f["hex"] for f in load_vectors("bolt-v1.json")["frames"]
      + load_vectors("bolt-v1.json")["malformed_or_partial"]}


def run(argv: list[str]) -> tuple[int, str, str]:
    """main(argv) in this process: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def spec_of(vector_file: str, frame: dict[str, Any]) -> str:
    """The spec a vector frame is a frame of (bolt-upstream.json holds bolt v2 too)."""
    if vector_file == "bolt-upstream.json":
        return "boltv2" if frame.get("version") == 2 else "bolt"
    return {"bolt-v1.json": "bolt", "dubbo.json": "dubbo", "memcached.json": "memcached",
            "mqtt.json": "mqtt"}[vector_file]


def vector_frames() -> list[tuple[str, str, str, list[str]]]:
    """(vector file, frame name, hex, [spec path, state options...]) per frame,
    the whole ones first, then the malformed or partial ones."""
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        vectors = load_vectors(path.name)
        state = [f"--state={k}={v}" for k, v in vectors.get("state", {}).items()]
        for frame in vectors["frames"] + vectors.get("malformed_or_partial", []):
            out.append((path.name, frame["name"], frame["hex"],
                        [str(SPECS / f"{spec_of(path.name, frame)}.proto-dsl"), *state]))
    return out


FRAMES = vector_frames()
WHOLE = [f for f in FRAMES
         if f[1] in {w["name"] for w in load_vectors(f[0])["frames"]}]


@pytest.mark.parametrize("vector_file", sorted(p.name for p in VECTORS.glob("*.json")))
def test_every_vector_frame_explained_as_the_golden_file_shows(vector_file: str) -> None:
    parts = []
    for file, name, hex_, args in FRAMES:
        if file != vector_file:
            continue
        code, out, err = run(["explain", *args, "--color", "never", "--hex", hex_])
        assert "layout:" not in out, out  # the walk agrees with the codec
        parts.append(f"## {name} ({Path(args[0]).stem}{''.join(' ' + a for a in args[1:])})"
                     f"  exit {code}\n{out}{err}")
    text = "\n".join(parts)
    golden = GOLDEN / vector_file.replace(".json", ".txt")
    if REGEN:
        golden.write_text(text, "utf-8")
    assert golden.exists(), f"no {golden.name}: run with PROTODSL_REGEN=1 to write it"
    assert text == golden.read_text("utf-8")


def test_a_frame_shows_each_field_its_value_and_its_doc() -> None:
    code, out, _ = run(["explain", BOLT, "--color", "never", "--hex", V1["request_basic"]])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("bolt request at offset 0  An RPC request")
    assert lines[1].split() == ["0000", "01", "proto", "=", "1", "///", "protocol", "code:",
                                "bolt", "v1"]
    assert lines[2].split() == ["0001", "01", "type", "=", "1", "(request)"]
    entry = next(line for line in lines if '"service" =' in line)
    assert entry.startswith("0042  00 00 00 07 73 65 ... (47)    ")  # indented under headers
    assert lines[-1] == "=> consumed 122 bytes"


def test_several_frames_one_after_another_then_need_more() -> None:
    data = V1["request_basic"] + V1["response_ok"] + V1["truncated_header"]
    code, out, _ = run(["explain", BOLT, "--hex", data])
    assert code == 0
    titles = [line for line in out.splitlines() if line.startswith("bolt ")]
    assert titles == ["bolt request at offset 0  An RPC request; a oneway request has no "
                      "response.", "bolt response at offset 122  The answer to a request, "
                      "with its status.", "bolt request at offset 204  An RPC request; a "
                      "oneway request has no response."]
    assert out.count("=> consumed") == 2
    assert out.rstrip().endswith("=> need more: have 15 bytes, the frame is 22 bytes (7 more)")
    assert "\n00d6  00 00 0b b8" in out  # offsets count in the input: 204 + 10


def test_need_more_of_unknown_size() -> None:
    code, out, _ = run(["explain", MQTT, "--state", "level=4", "--hex", "30"])
    assert code == 0
    assert out.splitlines()[-1] == "=> need more: have 1 bytes, how many more is not known yet"
    assert "  type " in out  # the header byte is there: the frame it starts is shown


def test_malformed_names_the_error_field_and_offset_and_marks_the_line() -> None:
    bad = "02" + V1["request_basic"][2:]  # proto 2: bolt v1 wants 1
    code, out, _ = run(["explain", BOLT, "--color", "never", "--hex", V1["request_basic"] + bad])
    assert code == 1
    second = out.split("\n\n")[1].splitlines()
    marked = [" ".join(line.split()) for line in second if "<--" in line]
    assert marked == ["007a 02 proto = 2 <-- ConstantMismatch: expected 1, got 2"]
    assert second[-1] == ("=> malformed: ConstantMismatch in request.proto at frame offset 0 "
                          "(stream offset 122): expected 1, got 2")


def test_malformed_past_the_header_marks_the_field_at_its_offset() -> None:
    code, out, _ = run(["explain", BOLT, "--color", "never", "--hex",
                        V1["header_key_length_past_section"]])
    assert code == 1
    marked = [line for line in out.splitlines() if "<--" in line]
    assert len(marked) == 1 and marked[0].startswith("0016  ff ff ff 00")
    assert "headers" in marked[0] and "MalformedSection" in marked[0]
    assert "in request.headers at frame offset 22" in out


def test_colour_always_never_and_auto() -> None:
    bad = "02" + V1["request_basic"][2:]
    code, coloured, _ = run(["explain", BOLT, "--color", "always", "--hex", bad])
    assert code == 1 and "\x1b[" in coloured
    assert "\x1b[1;31m0000  02" in coloured  # the failing line in red
    for choice in ("never", "auto"):  # auto: stdout here is no terminal
        _, plain, _ = run(["explain", BOLT, "--color", choice, "--hex", bad])
        assert "\x1b[" not in plain
        assert plain == coloured.replace("\x1b[0m", "").replace("\x1b[1;31m", "").replace(
            "\x1b[1;35m", "").replace("\x1b[2m", "").replace("\x1b[36m", "").replace(
            "\x1b[1m", "").replace("\x1b[32m", "")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_colours_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour("auto", _Terminal()) and not colour("auto", io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour("auto", _Terminal())
    assert colour("always", io.StringIO()) and not colour("never", _Terminal())


def test_state_threads_from_frame_to_frame() -> None:
    """MQTT 5: a CONNECT at level 5 makes the PUBLISH after it carry properties."""
    connect, publish = "100a00000502000a00000163", "320a00017400070201016869"
    code, out, _ = run(["explain", MQTT, "--color", "never", "--hex", connect + publish])
    assert code == 0
    second = " ".join(out.split("\n\n")[1].split())
    assert "properties_len = 2" in second and "id = 1 (payload_format_indicator)" in second
    code, out, _ = run(["explain", MQTT, "--state", "level=5", "--hex", publish])
    assert code == 0 and "properties_len = 2" in out
    code, out, _ = run(["explain", MQTT, "--state", "level=4", "--hex", publish])
    assert code == 0 and "properties_len" not in out  # 3.1.1: none


def test_a_spec_with_state_per_side_needs_side() -> None:
    spec = str(SPECS / "http2-frame.proto-dsl")
    settings = "000006040000000000000300000064"
    code, _, err = run(["explain", spec, "--hex", settings])
    assert code == 1 and "--side client or --side server" in err
    code, out, _ = run(["explain", spec, "--side", "client", "--hex", settings])
    assert code == 0 and "http2 settings at offset 0" in out and "=> consumed 15 bytes" in out


def _contiguous(entries: list[list[int]], start: int, end: int, where: str) -> None:
    """Spans that follow one another from `start` to `end`, bit members sharing theirs."""
    spans = sorted({(e[0], e[1]) for e in entries})
    at = start
    for off, length in spans:
        assert off == at, f"{where}: a field at {off}, the one before ends at {at}"
        at = off + length
    assert at == end, f"{where}: the fields end at {at}, not {end}"


@pytest.mark.parametrize(("file", "name", "hex_", "args"), WHOLE,
                         ids=[f"{f[0]}:{f[1]}" for f in WHOLE])
def test_offsets_add_up_for_every_vector_frame(file: str, name: str, hex_: str,
                                               args: list[str]) -> None:
    code, out, err = run(["decode", *args, "--offsets", "--hex", hex_])
    assert code == 0, err
    for line in out.splitlines():
        obj = json.loads(line)
        if "need_more" in obj:
            continue
        offsets = obj["offsets"]
        assert list(offsets) == list(obj["fields"])
        for key, value in obj["fields"].items():
            assert (value is None) == (offsets[key] is None), key
        top = [v for v in offsets.values() if v is not None]
        _contiguous(top, 0, obj["consumed"], name)
        for v in top:
            if len(v) == 3:  # a list's records or a map's pairs, inside it
                items = [list(m) for m in v[2]] if v[2] and isinstance(v[2][0], list) else [
                    [min(s[0] for s in r.values()), sum(s[1] for s in {
                        tuple(s) for s in r.values()})] for r in v[2]]
                _contiguous(items, v[0], v[0] + v[1], f"{name}: section at {v[0]}")


def test_varint_width_is_the_shortest_form() -> None:
    assert [varint_width(v) for v in (0, 1, 127, 128, 16383, 16384, 2**28 - 1, 2**28)] == [
        1, 1, 1, 2, 2, 3, 4, 5]


STATELESS = [p.stem for p in sorted(SPECS.glob("*.proto-dsl"))
             if not compile_file(str(p)).state]


@pytest.mark.parametrize("spec", STATELESS)
def test_spans_agree_with_the_codec_on_generated_frames(spec: str) -> None:
    """Beyond the vectors (tagged-rpc has none): every valid frame's walk ends
    where the codec's decode did, each bytes field as long as the codec read it."""
    protocol = compile_file(str(SPECS / f"{spec}.proto-dsl"))
    codec = load_python(protocol)
    layout = Layout(protocol, codec)

    @settings(max_examples=50, deadline=None)
    @given(strategies.encodings(protocol, codec))
    def walk(wire: bytes) -> None:
        result = codec.decode(wire)
        spans = layout.spans(result.frame, result.consumed, wire)
        assert spans[0].offset == 0 and spans[-1].end == result.consumed
        assert all(a.end == b.offset for a, b in zip(spans, spans[1:], strict=False))

    walk()
