"""Every spec in specs/ through every property that applies to it, with the
quick Hypothesis profile by default (PROTODSL_LONG=1 for the long one)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from protodsl.codecs import build_wasm, load_python
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file
from protodsl.testing.properties import Property, wasm_ready
from protodsl.testing.runner import case_name, cases, run_case
from protodsl.testing.scenarios import Scenario
from tests.helpers import ROOT, SPECS

# The product's specs, and the test specs written to reach corners of the language.
SPEC_FILES = sorted(SPECS.glob("*.proto-dsl")) + sorted(
    (ROOT / "tests").glob("*/specs/*.proto-dsl"))


def _cases() -> list[object]:
    out = []
    for path in SPEC_FILES:
        protocol = compile_file(path)
        for prop, scenario in cases(protocol, wasm=wasm_ready(protocol)):
            name = case_name(prop, scenario, protocol)
            out.append(pytest.param(path, prop, scenario,
                                    id=f"{path.parent.parent.name}/{path.stem}: {name}"))
    return out


_BUILT: dict[Path, tuple[Protocol, ModuleType, Path | None]] = {}


def _built(path: Path) -> tuple[Protocol, ModuleType, Path | None]:
    if path not in _BUILT:
        protocol = compile_file(path)
        wasm = build_wasm(protocol) if wasm_ready(protocol) else None
        _BUILT[path] = (protocol, load_python(protocol), wasm)
    return _BUILT[path]


@pytest.mark.parametrize(("path", "prop", "scenario"), _cases())
def test_property(path: Path, prop: Property, scenario: Scenario) -> None:
    protocol, codec, wasm = _built(path)
    # A property fails when no example reached some frame: with many variants (MQTT's
    # 14 packet types) the quick profile's examples are too few to draw each one, so
    # ask for about ten a frame at least.
    examples = max(settings.default.max_examples, 10 * len(protocol.frames))
    result = run_case(protocol, codec, wasm, prop, scenario, examples, seed=None)
    assert result.passed, result.details
    assert result.examples > 0
