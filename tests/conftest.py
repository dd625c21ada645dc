"""Shared fixtures and Hypothesis profiles.

The default profile is quick and still exercises every spec; set
PROTODSL_LONG=1 for the long one (many more examples, no deadline)."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from protodsl.codecs import load_python
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
