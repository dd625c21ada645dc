"""The generated Python is code a user keeps in their tree: it passes their
linters. Every spec that compiles is generated into one folder and checked with
ruff (its default rules, and the project's selection) and with mypy --strict,
all modules in one mypy run. Attribute names are the spec's wherever Python
allows: `id` and `type` stay `id` and `type`."""

from __future__ import annotations

import keyword
import subprocess
import sys
from pathlib import Path

import pytest
from protodsl.codegen.python.backend import generate
from protodsl.codegen.python.naming import attribute

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from tests.helpers import ROOT

SPECS = sorted([*ROOT.glob("specs/*.proto-dsl"), *ROOT.glob("tests/specs/*.proto-dsl"),
                *ROOT.glob("tests/*/specs/*.proto-dsl")])

# The rule sets a user plausibly runs: ruff's defaults, and this project's own.
RUFF_CONFIGS = {
    "defaults": [],
    "project": ["--select", "E,F,W,I,UP,B", "--line-length", "100"],
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One module per spec, each under its own name (no two specs share one)."""
    out = tmp_path_factory.mktemp("generated")
    paths = []
    for spec in SPECS:
        for name, text in generate(compile_file(spec)).items():
            path = out / name
            assert not path.exists(), f"two specs generate {name}"
            path.write_text(text, "utf-8")
            paths.append(path)
    return paths


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("config", sorted(RUFF_CONFIGS))
def test_ruff_finds_nothing(generated: list[Path], config: str) -> None:
    result = _run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache",
                   "--target-version", "py311", "--output-format", "concise",
                   *RUFF_CONFIGS[config], *(p.name for p in generated)], generated[0].parent)
    assert result.returncode == 0, f"ruff ({config}):\n{result.stdout}{result.stderr}"


def test_mypy_strict_finds_nothing(generated: list[Path], tmp_path: Path) -> None:
    config = tmp_path / "mypy.ini"  # none of this repository's configuration
    config.write_text("[mypy]\n", "utf-8")
    result = _run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                   "--cache-dir", str(tmp_path / "mypy-cache"), "--config-file", str(config),
                   *(p.name for p in generated)], generated[0].parent)
    assert result.returncode == 0, f"mypy --strict:\n{result.stdout}{result.stderr}"


def test_field_names_stay_attribute_names() -> None:
    """bolt's `type`, http2's setting `id`: the spec's names. hostile_names: a
    keyword gets an underscore, a builtin keeps its name (`int`, `self`)."""
    bolt = load_python(compile_file(ROOT / "specs/bolt.proto-dsl"))
    assert bolt.Request(cmd_code=bolt.CmdCode.heartbeat).type == bolt.CmdType.request
    http2 = load_python(compile_file(ROOT / "specs/http2-frame.proto-dsl"))
    assert http2.Setting(id=3, value=100).id == 3
    hostile = load_python(compile_file(ROOT / "tests/specs/hostile_names.proto-dsl"))
    request = hostile.Class(int=7, id=1, ID=2, None_=b"ab", dict=[(b"k", b"v")])
    assert (request.type, request.int, request.id, request.ID) == (hostile.type_.None_, 7, 1, 2)
    assert (request.self, request.map) == (2, 6)  # computed: len(None), len(dict)
    assert hostile.ATTRS["class"]["None"] == "None_"
    assert hostile.ATTRS["class"]["self"] == "self"
    decoded = hostile.decode(hostile.encode(request))
    assert decoded.frame == request


@pytest.mark.parametrize("name", ["id", "type", "map", "dict", "self", "int", "match", "case",
                                  "None", "class", "True"])
def test_only_keywords_are_renamed(name: str) -> None:
    assert attribute(name) == (name + "_" if keyword.iskeyword(name) else name)
