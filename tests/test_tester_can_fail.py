"""`protodsl test --wasm` must catch a broken plugin: each case sabotages the
generated C, rebuilds it, and expects the right property to fail with a
counterexample (and a trap to be a reported failure, not a crash). A property
whose examples never reached a frame, builder or hijack code fails too."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from protodsl.codegen.wasm import backend

from protodsl.ir import Protocol
from protodsl.testing.runner import run_cli
from tests.helpers import SPECS

SABOTAGE = {
    "drop a length recomputation": (
        "    fr->f_header_len = (pd_i64)fr->f_headers.len; /* len(headers) */\n",
        "",
        "wasm vs python: encode with edits",
        "Mismatch: encoded frames differ",
    ),
    "swap the bytes of one field write": (
        "    p = pd_put_be(p, end, 2, (pd_u64)fr->f_header_len);",
        "    p = pd_put_be(p, end, 2, (pd_u64)(((fr->f_header_len & 0xff) << 8) | "
        "((fr->f_header_len >> 8) & 0xff)));",
        "wasm vs python: encode with edits",
        "Mismatch: encoded frames differ",
    ),
    "trap on long input": (
        "    pd_enter();\n    st = pd_decode(buf, len, &fr, &variant, &size);",
        "    pd_enter();\n    if (len > 100) __builtin_trap();\n"
        "    st = pd_decode(buf, len, &fr, &variant, &size);",
        "wasm vs python: decode",
        "WasmTrapped: decode trapped",
    ),
    "keepalive fails for any id but MOSN's probe (0)": (
        "    build_keepalive(fr, id);\n",
        "    if (id != 0)\n        return pd_leave(PD_MALFORMED);\n    build_keepalive(fr, id);\n",
        "wasm vs python: keepalive, reply, hijack",
        "Mismatch: keepalive frames differ",
    ),
    "reply with the wrong id": (
        "    fr->f_request_id = p_req->f_request_id;\n    fr->f_codec = 1;\n",
        "    fr->f_request_id = p_req->f_request_id + 1;\n    fr->f_codec = 1;\n",
        "wasm vs python: keepalive, reply, hijack",
        "Mismatch: keepalive_reply frames differ",
    ),
    "hijack traps": (
        "        build_hijack(fr, &req, (pd_i64)code);\n",
        "        __builtin_trap();\n",
        "wasm vs python: keepalive, reply, hijack",
        "WasmTrapped: the plugin trapped in proxy_hijack_buffer_bytes",
    ),
    "hijack with the wrong status for one code": (
        "p_code == 504 ? 7 /* Status.TIMEOUT */",
        "p_code == 504 ? 8 /* Status.CLIENT_SEND_ERROR */",
        "wasm vs python: keepalive, reply, hijack",
        "Mismatch: hijack frames differ",
    ),
}


def _table(report: str) -> list[str]:
    """The per-property lines of a report (the summary line carries timings)."""
    return [line for line in report.splitlines() if line.endswith(("  ok", "  FAILED"))]


@pytest.mark.parametrize("case", list(SABOTAGE))
def test_sabotaged_plugin_is_caught(case: str, tmp_path: Path, bolt_protocol: Protocol) -> None:
    old, new, prop, why = SABOTAGE[case]
    files = backend.generate(bolt_protocol)
    source = files["bolt.c"]
    assert old in source, "the generated C changed: update this sabotage"
    files["bolt.c"] = source.replace(old, new, 1)
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    plugin = backend.build(tmp_path, bolt_protocol)
    out = io.StringIO()
    code = run_cli(bolt_protocol, "specs/bolt.proto-dsl", 60, 7, str(plugin), out)
    report = out.getvalue()
    assert code == 1, report
    assert f"FAILED {prop}\n" in report, report
    # caught by what the sabotage breaks, not by anything else going wrong
    assert report[report.index(f"FAILED {prop}\n"):].split("\n")[1].strip().startswith(why), report
    assert "counterexample:" in report and "replay: protodsl test" in report
    if "trap" in case:
        assert "trapped" in report
    if case == "swap the bytes of one field write":  # the same verdict from worker processes
        parallel = io.StringIO()
        assert run_cli(bolt_protocol, "specs/bolt.proto-dsl", 60, 7, str(plugin), parallel,
                       jobs=2) == 1
        assert _table(parallel.getvalue()) == _table(report)
        assert report[report.index("\nFAILED"):] == parallel.getvalue()[
            parallel.getvalue().index("\nFAILED"):]
        assert "2 processes" in parallel.getvalue()


def test_the_unsabotaged_plugin_passes(tmp_path: Path, bolt_protocol: Protocol) -> None:
    files = backend.generate(bolt_protocol)
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    plugin = str(backend.build(tmp_path, bolt_protocol))
    out, parallel = io.StringIO(), io.StringIO()
    assert run_cli(bolt_protocol, str(SPECS / "bolt.proto-dsl"), 60, 7, plugin, out) == 0, \
        out.getvalue()
    assert run_cli(bolt_protocol, str(SPECS / "bolt.proto-dsl"), 60, 7, plugin, parallel,
                   jobs=2) == 0, parallel.getvalue()
    assert _table(parallel.getvalue()) == _table(out.getvalue())
    assert len(_table(out.getvalue())) == 9


def test_what_no_example_reached_fails_by_name(tmp_path: Path, bolt_protocol: Protocol) -> None:
    """Three examples cannot reach every hijack code: the property fails naming
    them, and the table shows what each property's examples reached."""
    files = backend.generate(bolt_protocol)
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    plugin = str(backend.build(tmp_path, bolt_protocol))
    out = io.StringIO()
    assert run_cli(bolt_protocol, "specs/bolt.proto-dsl", 3, 7, plugin, out) == 1
    report = out.getvalue()
    failed = report[report.index("FAILED wasm vs python: keepalive, reply, hijack\n"):]
    assert failed.split("\n")[1].strip().startswith("Untested: no example reached ")
    assert "hijack code " in failed.split("\n")[1]
    table = report.splitlines()
    row = table.index(next(line for line in table if line.startswith("wasm vs python: decode")))
    assert re.fullmatch(r"    request \d+, response \d+", table[row + 1])
