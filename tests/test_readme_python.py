"""The Python examples of the README and the guide pages in docs/ (the bolt
walk-through) run as written against the generated bolt codec
and plugin (in a directory laid out as the quick start leaves it), and every
statement marked `# -> EXPECTED` evaluates to what it shows."""

from __future__ import annotations

import ast
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from protodsl.codegen.python.backend import generate

from protodsl.codecs import build_wasm
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS, guide_text

README = guide_text()  # README.md and the guide pages in docs/
EXPECT = re.compile(r"#\s*->\s*(?P<want>.+)$")


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README, re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bolt.py importable and build/bolt/bolt.wasm, as `protodsl gen` writes them."""
    root = tmp_path_factory.mktemp("readme")
    protocol = compile_file(SPECS / "bolt.proto-dsl")
    for rel, text in generate(protocol, root).items():
        (root / rel).write_text(text, "utf-8")
    (root / "build" / "bolt").mkdir(parents=True)
    shutil.copy(build_wasm(protocol, root / "cache"), root / "build" / "bolt" / "bolt.wasm")
    return root


def test_the_readme_shows_the_codec_and_the_host() -> None:
    blocks = python_blocks()
    assert any("bolt.encode(" in b for b in blocks)
    assert any("MosnHost.from_file" in b for b in blocks)


@pytest.mark.parametrize("block", python_blocks())
def test_python_example_runs(block: str, quick_start: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(quick_start)
    monkeypatch.syspath_prepend(str(quick_start))
    monkeypatch.delitem(sys.modules, "bolt", raising=False)
    lines = block.splitlines()
    scope: dict[str, Any] = {}
    checked = 0
    for statement in ast.parse(block).body:
        where = f"README python: {lines[statement.lineno - 1].strip()}"
        marked = EXPECT.search(lines[(statement.end_lineno or statement.lineno) - 1])
        if marked is None or not isinstance(statement, ast.Expr):
            exec(compile(ast.Module([statement], []), where, "exec"), scope)  # noqa: S102
            continue
        got = eval(compile(ast.Expression(statement.value), where, "eval"), scope)  # noqa: S307
        want = eval(marked["want"], scope)  # noqa: S307
        assert got == want, f"{where}: gave {got!r}, the README shows {want!r}"
        checked += 1
    assert checked, "each example shows at least one result"
