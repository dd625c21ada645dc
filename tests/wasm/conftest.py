"""Fixtures of the Wasm backend tests: bolt built once per session, a fresh
host emulator per test (the module is compiled once and cached by the host)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from protodsl.codegen.wasm import backend

from protodsl.host import MosnHost
from protodsl.ir import Protocol
from tests.helpers import load_vectors


def write_and_build(out: Path, protocol: Protocol) -> Path:
    """What `protodsl gen --target wasm` does: write the generated files, then build."""
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in backend.generate(protocol, out).items():
        (out / rel).write_text(text, encoding="utf-8")
    return backend.build(out, protocol)


@pytest.fixture(scope="session")
def bolt_dir(tmp_path_factory: pytest.TempPathFactory, bolt_protocol: Protocol) -> Path:
    out = tmp_path_factory.mktemp("bolt-wasm")
    write_and_build(out, bolt_protocol)
    return out


@pytest.fixture(scope="session")
def bolt_wasm(bolt_dir: Path) -> Path:
    return bolt_dir / "bolt.wasm"


@pytest.fixture
def host(bolt_wasm: Path) -> MosnHost:
    """A fresh bolt host whose log starts empty: the plugin's start-up line is
    checked in test_wasm_mosn.py, the tests here see only what their calls log."""
    host = MosnHost.from_file(bolt_wasm)
    host.clear_logs()
    return host


@pytest.fixture(scope="session")
def v1() -> Any:
    return load_vectors("bolt-v1.json")


@pytest.fixture(scope="session")
def frames(v1: Any) -> dict[str, bytes]:
    """The positive bolt v1 vectors by name."""
    return {f["name"]: bytes.fromhex(f["hex"]) for f in v1["frames"]}
