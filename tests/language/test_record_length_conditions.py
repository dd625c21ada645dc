"""A record member's condition may read a computed member, as a frame field's
may, when that member is not computed from the field the condition guards (the
compiler refuses that: tests/errors/condition_reads_its_own_length*). An entry
does not carry its computed members, so the JSON view and the property tester
compute them as encode does before they evaluate a condition."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from hypothesis import given, settings

from protodsl.cli import main
from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst
from tests.helpers import ROOT

SPEC = ROOT / "tests/language/specs/record_length_conditions.proto-dsl"
PROTOCOL = compile_file(SPEC)
CODEC = load_python(PROTOCOL)

# request 7: an entry (kind 1, "ab", flags 9), then one with an empty name and no flags
WIRE = bytes.fromhex("0100000007" "0007" "01" "02" "6162" "09" "03" "00")


def test_both_readings_agree(codec: ModuleType) -> None:
    e = codec.Entry
    want = codec.Request(rid=7, entries=[e(kind=1, name="ab", flags=9), e(kind=3, name="")])
    for decode in (codec.decode, codec.reference_decode):
        assert decode(WIRE)[:2] == (want, len(WIRE))
    assert codec.encode(want) == codec.reference_encode(want) == WIRE


def test_json_shows_flags_only_where_the_name_is_not_empty(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(SPEC), "--hex", WIRE.hex()]) == 0
    line = capsys.readouterr().out
    assert json.loads(line)["fields"]["entries"] == [
        {"kind": 1, "name": "ab", "flags": 9}, {"kind": 3, "name": ""}]
    assert main(["encode", str(SPEC), line]) == 0
    assert capsys.readouterr().out.strip() == WIRE.hex()


@settings(max_examples=50, deadline=None)
@given(pst.frames(PROTOCOL, CODEC))
def test_generated_entries_round_trip(frame: object) -> None:
    wire = CODEC.encode(frame)
    assert CODEC.reference_encode(frame) == wire
    assert CODEC.decode(wire)[:2] == (frame, len(wire)) == CODEC.reference_decode(wire)[:2]
