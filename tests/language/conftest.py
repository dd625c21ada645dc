"""Each test module here exercises one spec, its `SPEC`: the compiled protocol,
its Python codec and its plugin, built once per module."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.codecs import build_wasm, load_python
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file


@pytest.fixture(scope="module")
def protocol(request: pytest.FixtureRequest) -> Protocol:
    spec: Path = request.module.SPEC
    return compile_file(spec)


@pytest.fixture(scope="module")
def codec(protocol: Protocol) -> ModuleType:
    return load_python(protocol)


@pytest.fixture(scope="module")
def wasm(protocol: Protocol, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wasm(protocol, tmp_path_factory.mktemp(protocol.name))
