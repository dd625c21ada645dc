"""MOSN's own TinyGo bolt plugin (etc/wasm/bolt-go.wasm in the mosn.io/mosn module
MOSN is built from) loads in the emulator, and `protodsl test --wasm` reports
how it differs from the bolt spec instead of failing to start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from protodsl.host import MosnFailure, MosnHost, streams
from tests.e2e import builds
from tests.helpers import SPECS

pytestmark = pytest.mark.slow


def test_protodsl_test_reports_the_tinygo_plugins_real_differences() -> None:
    plugin = builds.mosn_module_file("etc/wasm/bolt-go.wasm")
    proc = subprocess.run(
        [sys.executable, "-m", "protodsl.cli", "test", str(SPECS / "bolt.proto-dsl"),
         "--wasm", str(plugin), "--examples", "60", "--seed", "1", "-j", "1"],
        capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    table = {line.split("  ")[0]: line.split()[-1] for line in proc.stdout.splitlines()
             if line.startswith(("python:", "wasm vs python:"))}
    assert len(table) == 9, out
    assert all(v == "ok" for k, v in table.items() if k.startswith("python:")), out
    assert table["wasm vs python: decode"] == "FAILED", out
    assert table["wasm vs python: prefixes need more"] == "ok", out  # it runs, and agrees here
    assert "does not export" not in out and "Traceback" not in out, out


def test_the_tinygo_plugin_reports_oneway_as_mosn_refuses_it() -> None:
    """A bolt oneway request: the TinyGo plugin reports flag 0xC1, kind 3, which
    MOSN refuses ("unknown protocol flag type") by closing the connection."""
    host = MosnHost.from_file(builds.mosn_module_file("etc/wasm/bolt-go.wasm"))
    oneway = bytes.fromhex("01020001010000000701" "00000bb8" "0000" "0000" "00000000")
    with pytest.raises(MosnFailure, match="kind 3"):
        streams.Connection(host).feed(oneway)
