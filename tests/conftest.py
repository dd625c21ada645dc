"""Shared fixtures and Hypothesis profiles.

The default profile is quick and still exercises every spec; set
PROTODSL_LONG=1 for the long one (many more examples, no deadline). A test
module that exercises one spec names it `SPEC`: `protocol`, `codec` and `wasm`
are that spec compiled, its Python codec and its plugin, built once per module."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from protodsl.codecs import build_wasm, load_python
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS

settings.register_profile(
    "quick", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("long" if os.environ.get("PROTODSL_LONG") else "quick")


@pytest.fixture(scope="session")
def bolt_protocol() -> Protocol:
    return compile_file(SPECS / "bolt.proto-dsl")


@pytest.fixture(scope="session")
def bolt(bolt_protocol: Protocol) -> ModuleType:
    return load_python(bolt_protocol)


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
