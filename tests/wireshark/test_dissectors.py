"""Every spec's Wireshark dissector, run by the real tshark over captures of TCP
streams: every field it shows equals the Python codec's decode of the same
bytes, frame for frame, however the frames are cut into segments; the Info
column names each frame and its roles; a frame the codec refuses is expert
info of the same kind; hostile bytes never raise a Lua error. One tshark run
(two: the tree and the Info column) per spec and capture."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from protodsl.codegen.wireshark import backend

from protodsl.codecs import load_python
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file, compile_source
from tests.helpers import SPECS
from tests.wireshark.corpus import bad_streams, good_streams, invalid_text
from tests.wireshark.dissect import (
    LUA_ERRORS,
    Broken,
    Dissected,
    Outcome,
    compare_stream,
    python_outcomes,
    run_tshark,
)
from tests.wireshark.pcap import Stream, write_pcap

SPEC_FILES = sorted(p.stem for p in SPECS.glob("*.proto-dsl"))
# Wireshark's own names, which the generated dissectors use too (luacheck's globals).
WIRESHARK_GLOBALS = ("Proto", "ProtoField", "ProtoExpert", "Field", "Pref", "DissectorTable",
                     "base", "expert", "DESEGMENT_ONE_MORE_SEGMENT", "bit32")


@dataclass
class Run:
    protocol: Protocol
    script: Path
    streams: list[Stream]
    good: int  # the first `good` streams hold only well-formed frames
    dissected: Dissected


@cache
def _protocol(spec: str) -> Protocol:
    return compile_file(SPECS / f"{spec}.proto-dsl")


def _script(protocol: Protocol, where: Path, text: str | None = None) -> Path:
    (name, generated), = backend.generate(protocol).items()
    path = where / name
    path.write_text(text if text is not None else generated, encoding="utf-8")
    return path


_RUNS: dict[str, Run] = {}


@pytest.fixture
def run(request: pytest.FixtureRequest, tshark: str, tmp_path_factory: pytest.TempPathFactory
        ) -> Run:
    """The spec's dissector over one capture of every stream, dissected once."""
    spec: str = request.param
    if spec not in _RUNS:
        protocol = _protocol(spec)
        where = tmp_path_factory.mktemp(spec)
        good = good_streams(protocol)
        streams = good + bad_streams(protocol)
        write_pcap(where / "streams.pcap", streams)
        script = _script(protocol, where)
        _RUNS[spec] = Run(protocol, script, streams, len(good),
                          run_tshark(tshark, script, where / "streams.pcap", protocol))
    return _RUNS[spec]


def _expected(run: Run) -> list[list[Outcome]]:
    codec = load_python(run.protocol)
    return [python_outcomes(run.protocol, codec, s) for s in run.streams]


@pytest.mark.parametrize("run", SPEC_FILES, indirect=True)
def test_every_field_equals_the_python_decode(run: Run) -> None:
    codec = load_python(run.protocol)
    expected = _expected(run)
    for i in range(run.good):
        assert expected[i], f"stream {i} has no frames"
        compare_stream(run.protocol, codec, run.dissected.frames.get(i, []), expected[i],
                       f"good stream {i}")


@pytest.mark.parametrize("run", SPEC_FILES, indirect=True)
def test_refused_frames_are_expert_info_and_hostile_bytes_no_lua_error(run: Run) -> None:
    assert not LUA_ERRORS.search(run.dissected.output), LUA_ERRORS.findall(
        run.dissected.output)[:3]
    codec = load_python(run.protocol)
    expected = _expected(run)
    refused: set[str] = set()
    for i in range(run.good, len(run.streams)):
        compare_stream(run.protocol, codec, run.dissected.frames.get(i, []), expected[i],
                       f"stream {i} ({run.streams[i].segments[0][1][:24].hex()}...)")
        refused |= {o.expert for o in expected[i] if isinstance(o, Broken)}
    assert refused, "no stream the codec refuses: the malformed cases test nothing"
    if invalid_text(run.protocol):
        assert "invalid_text" in refused


@pytest.mark.parametrize("run", SPEC_FILES, indirect=True)
def test_info_column_names_frames_and_roles(run: Run) -> None:
    for stream in range(run.good):
        info = run.dissected.info[stream]
        summaries = run.dissected.summaries[stream]
        assert info == [", ".join(s) for s in summaries]
    coalesced = run.dissected.summaries[1]
    assert len(coalesced) < len(run.dissected.summaries[0]) or len(coalesced[0]) == 1


@pytest.mark.parametrize("spec", SPEC_FILES)
def test_lua_is_lint_clean(spec: str, luacheck: str, tmp_path: Path) -> None:
    script = _script(_protocol(spec), tmp_path)
    result = subprocess.run(
        [luacheck, "--no-color", "--codes", "--std", "lua52", "--max-line-length", "120",
         "--no-unused-args",  # every frame decoder takes the same arguments
         "--globals", *WIRESHARK_GLOBALS, "--", str(script)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_state_is_remembered_per_frame_in_two_passes(tshark: str, tmp_path: Path) -> None:
    """tshark -2 dissects every packet again, in a second pass: the state before
    each frame is the one the first pass computed (MQTT 5 frames after a level-5
    CONNECT still show their properties)."""
    protocol = _protocol("mqtt")
    streams = good_streams(protocol)[:1]
    write_pcap(tmp_path / "mqtt.pcap", streams)
    script = _script(protocol, tmp_path)
    dissected = run_tshark(tshark, script, tmp_path / "mqtt.pcap", protocol, ("-2",))
    codec = load_python(protocol)
    compare_stream(protocol, codec, dissected.frames[0],
                   python_outcomes(protocol, codec, streams[0]), "two passes")


@pytest.mark.parametrize("spec", ["bolt", "dubbo", "memcached", "tagged-rpc"])
def test_the_heuristic_takes_a_stream_on_any_port(spec: str, tshark: str, tmp_path: Path
                                                  ) -> None:
    """With no port registered, a stream whose first segment is a whole frame is
    recognised by the constants of its header, and every frame after it shown."""
    protocol = _protocol(spec)
    streams = good_streams(protocol)[:1]
    write_pcap(tmp_path / "any-port.pcap", streams)
    script = _script(protocol, tmp_path)
    dissected = run_tshark(tshark, script, tmp_path / "any-port.pcap", protocol, port=0)
    codec = load_python(protocol)
    compare_stream(protocol, codec, dissected.frames[0],
                   python_outcomes(protocol, codec, streams[0]), "heuristic")


def test_a_broken_dissector_fails(tshark: str, tmp_path: Path) -> None:
    """The comparison can fail: bolt's dissector with request_id read one byte
    off shows values the codec does not decode."""
    protocol = _protocol("bolt")
    (_, text), = backend.generate(protocol).items()
    broken = text.replace('item(kids, F["request.request_id"], base + 5, 4',
                          'item(kids, F["request.request_id"], base + 6, 4')
    assert broken != text
    streams = good_streams(protocol)[:1]
    write_pcap(tmp_path / "bolt.pcap", streams)
    script = _script(protocol, tmp_path, broken)
    dissected = run_tshark(tshark, script, tmp_path / "bolt.pcap", protocol)
    codec = load_python(protocol)
    with pytest.raises(AssertionError, match="request_id"):
        compare_stream(protocol, codec, dissected.frames[0],
                       python_outcomes(protocol, codec, streams[0]), "broken")


def test_a_64_bit_value_an_expression_reads_is_a_diagnostic() -> None:
    """Lua 5.2's numbers are doubles: the target names what it cannot print
    rather than print a dissector that computes with rounded values."""
    protocol = compile_source("""
protocol wide "x-wide" {
  byte_order big
  max_frame 1MiB
  frame only when magic == 7 {
    magic: u8 = 7
    n:     u64 = len(body)
    body:  bytes[n]
  }
}
""")
    problems = backend.check_target(protocol)
    assert [p.message for p in problems] == [
        "the wireshark target cannot compute with 'n' of 'only': a 64-bit value does not "
        "fit Lua 5.2's numbers"]
    assert all(not backend.check_target(_protocol(spec)) for spec in SPEC_FILES)
