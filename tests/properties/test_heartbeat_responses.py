"""A response that is always a heartbeat (its `when` pins what `heartbeat` reads)
never goes through MOSN's edits: MOSN consumes it, and encodes one only as its
keepalive_reply. "encode with edits" leaves such a frame out and says so, where
it used to fail it as untested at any number of examples; a response that may
not be a heartbeat is still one it must reach."""

from __future__ import annotations

import io
from pathlib import Path

from protodsl.ir import Protocol
from protodsl.testing.properties import PROPERTIES, always_heartbeat
from protodsl.testing.runner import run_cli
from tests.helpers import ROOT

SPEC = ROOT / "tests/properties/specs/heartbeat_response.proto-dsl"
EDITS = next(p for p in PROPERTIES if p.name == "wasm vs python: encode with edits")


def test_only_the_pinned_heartbeat_response_is_left_out(protocol: Protocol) -> None:
    assert [f.name for f in protocol.frames if always_heartbeat(f)] == ["pong"]
    # `reply` is a heartbeat only with code 0xFF, `ping` is a request MOSN edits
    assert EDITS.requires(protocol) == ("frame call", "frame reply", "frame ping")
    assert EDITS.not_applicable(protocol) == {
        "frame pong": "a heartbeat response: MOSN consumes it, never encodes it"}


def test_the_report_says_not_applicable_and_passes(protocol: Protocol, wasm: Path) -> None:
    out = io.StringIO()
    code = run_cli(protocol, str(SPEC), 40, 7, str(wasm), out)
    report = out.getvalue()
    assert code == 0, report
    lines = report.splitlines()
    row = lines.index(next(line for line in lines
                           if line.startswith("wasm vs python: encode with edits")))
    assert lines[row].endswith("  ok")
    assert "pong" not in lines[row + 1] and "reply" in lines[row + 1]
    assert lines[row + 2] == ("    not applicable: pong (a heartbeat response: MOSN consumes "
                              "it, never encodes it)")
    assert "Untested" not in report
