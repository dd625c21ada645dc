"""What a user installing protodsl relies on: generating the Python codec needs no
Wasm or Go toolchain, `--version` is the installed distribution's, and the
license the metadata names ships with the source."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from protodsl.cli import main
from tests.helpers import ROOT, SPECS

# Modules only the Wasm build (ziglang), the MOSN host emulator (wasmtime) and the
# mosn-go target use: `gen --target python` imports none of them.
TOOLCHAINS = ("ziglang", "wasmtime", "protodsl.codegen.wasm", "protodsl.codegen.mosn_go",
              "protodsl.host")

_PROBE = """
import json, sys
from protodsl.cli import main
status = main(sys.argv[1:])
print(json.dumps([status, sorted(sys.modules)]))
"""


@pytest.mark.parametrize("command", [
    ["gen", "--target", "python", "-o", "OUT"],
    ["decode", "--hex", "01010000010000000b01ffffffff0000000000000000"],
])
def test_the_python_codec_imports_no_toolchain(tmp_path: Path, command: list[str]) -> None:
    """In a fresh interpreter, since this one has imported everything already."""
    argv = [str(tmp_path) if a == "OUT" else a for a in command]
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv, str(SPECS / "bolt.proto-dsl")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    status, modules = json.loads(result.stdout.splitlines()[-1])
    assert status == 0
    assert command[0] != "gen" or (tmp_path / "bolt.py").is_file()
    imported = [m for m in modules if any(m == t or m.startswith(t + ".") for t in TOOLCHAINS)]
    assert imported == [], f"{command[0]} imported {imported}"


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert version("protodsl") == pyproject["project"]["version"]
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"protodsl {pyproject['project']['version']}\n"


def test_the_license_file_is_the_one_the_metadata_names() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert pyproject["project"]["license"] == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
