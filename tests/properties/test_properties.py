"""Every spec in specs/ through every property that applies to it, with the
quick Hypothesis profile by default (PROTODSL_LONG=1 for the long one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from protodsl.codecs import build_wasm, load_python
from protodsl.passes.pipeline import compile_file
from protodsl.testing.properties import Sides, applicable, wasm_ready
from protodsl.testing.runner import run_property
from tests.helpers import ROOT, SPECS

# The product's specs, and the test specs written to reach corners of the language.
SPEC_FILES = sorted(SPECS.glob("*.proto-dsl")) + sorted(
    (ROOT / "tests").glob("*/specs/*.proto-dsl"))


def _cases() -> list[object]:
    cases = []
    for path in SPEC_FILES:
        protocol = compile_file(path)
        for prop in applicable(protocol, wasm=wasm_ready(protocol)):
            cases.append(pytest.param(path, prop, id=f"{path.parent.parent.name}/{path.stem}: "
                                                     f"{prop.name}"))
    return cases


_SIDES: dict[Path, Sides] = {}


def _sides(path: Path) -> Sides:
    if path not in _SIDES:
        protocol = compile_file(path)
        wasm = build_wasm(protocol) if wasm_ready(protocol) else None
        _SIDES[path] = Sides(protocol, load_python(protocol), wasm)
    return _SIDES[path]


@pytest.mark.parametrize(("path", "prop"), _cases())
def test_property(path: Path, prop: object) -> None:
    sides = _sides(path)
    # A property fails when no example reached some frame: with many variants (MQTT's
    # 14 packet types) the quick profile's examples are too few to draw each one, so
    # ask for about ten a frame at least.
    examples = max(settings.default.max_examples, 10 * len(sides.protocol.frames))
    result = run_property(prop, sides, examples, seed=None)  # type: ignore[arg-type]
    assert result.passed, result.details
    assert result.examples > 0
