"""Fixtures of the protodsl.host tests: the echo plugin, compiled once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from protodsl.host import MosnHost
from tests.host.support import MIRROR_PLUGIN, build_echo, contract_module, wat_module


@pytest.fixture(scope="session")
def echo_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_echo(tmp_path_factory.mktemp("plugins") / "echo.wasm")


@pytest.fixture
def host(echo_wasm: Path) -> MosnHost:
    return MosnHost.from_file(echo_wasm)


@pytest.fixture
def mirror() -> MosnHost:
    """A host running support.MIRROR_PLUGIN."""
    return MosnHost.from_file(wat_module(MIRROR_PLUGIN))


@pytest.fixture
def contract_host() -> MosnHost:
    """A host running support.CONTRACT_PLUGIN, metered so that its endless loop ends."""
    return MosnHost.from_file(
        contract_module(), plugin_config={"k": "v"}, fuel=True, fuel_limit=10**6
    )
