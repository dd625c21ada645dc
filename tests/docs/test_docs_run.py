"""The docs are run, not trusted: every spec block of docs/language.md and
docs/tutorial.md compiles (a `protodsl-error` block must not) and is laid out
as `protodsl fmt` lays it out, every `$ ...`
command of a console block runs in a folder holding the spec blocks above it,
and what it prints must be what the page shows, timings aside. The grammar
block is grammars/protodsl.lark verbatim.

`PROTODSL_REGEN=1` rewrites the shown outputs from what the commands print (read
the diff before committing it)."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from protodsl.diagnostics import SpecError
from protodsl.fmt import format_source
from protodsl.passes.pipeline import compile_file
from tests.helpers import ROOT, run_cli

DOCS = ("language.md", "tutorial.md")
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```\n", re.M | re.S)
REGEN = os.environ.get("PROTODSL_REGEN") == "1"
SHELL = re.compile(r"[|&;<>$`'\"\\]")  # what only a shell reads
TIMING = re.compile(r"in \d+(\.\d+)? s \(\d+ examples/s")  # `protodsl test`'s last line


@dataclass
class Block:
    info: str
    body: str
    start: int  # offsets of the body in the page
    end: int


def blocks(page: str) -> list[Block]:
    return [Block(m["info"].strip(), m["body"], m.start("body"), m.end("body"))
            for m in FENCE.finditer(page)]


def _run(command: str, cwd: Path) -> str:
    """One `$` line in the page's folder; stdout and stderr together, as a
    terminal shows them. A plain `protodsl` command runs in this process, as the
    README's do (tests.helpers.run_cli); any other line (a pipeline, grep) through
    bash, with this Python's `protodsl` first on PATH."""
    words = shlex.split(command)
    if words[0] == "protodsl" and not SHELL.search(command):
        with contextlib.chdir(cwd):
            _, out, err = run_cli(words[1:])
        return out.decode() + err
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "NO_COLOR": "1", "COLUMNS": "100"}
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    return done.stdout + done.stderr


def _console(body: str, cwd: Path) -> str:
    """The block as it should read: each command followed by what it prints."""
    out = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append(line + "\n" + _run(line[2:], cwd))
    return "".join(out)


def _page_path(name: str) -> Path:
    return ROOT / "docs" / name


@pytest.mark.parametrize("name", DOCS)
def test_every_example_runs_as_shown(name: str, tmp_path: Path) -> None:
    path = _page_path(name)
    page = path.read_text("utf-8")
    grammar = (ROOT / "grammars" / "protodsl.lark").read_text("utf-8")
    edits: list[tuple[Block, str]] = []
    mismatches: list[str] = []
    for block in blocks(page):
        lang, _, file = block.info.partition(" ")
        if lang in ("protodsl", "protodsl-error"):
            assert file, f"{name}: a spec block needs a file name after the language"
            spec = tmp_path / file
            spec.write_text(block.body, "utf-8")
            if lang == "protodsl":
                compile_file(spec)  # raises SpecError with the diagnostics
                if format_source(block.body) != block.body:
                    edits.append((block, format_source(block.body)))
                    mismatches.append(f"{file} is not laid out as `protodsl fmt` does")
            else:
                with pytest.raises(SpecError):
                    compile_file(spec)
        elif lang == "console":
            shown = _console(block.body, tmp_path)
            if TIMING.sub("", shown) != TIMING.sub("", block.body):
                edits.append((block, shown))
                mismatches.append(f"--- shown\n{block.body}--- printed\n{shown}")
        elif lang == "lark" and block.body != grammar:
            edits.append((block, grammar))
            mismatches.append("the grammar block is not grammars/protodsl.lark")
    if REGEN and edits:
        for block, text in sorted(edits, key=lambda e: e[0].start, reverse=True):
            page = page[:block.start] + text + page[block.end:]
        path.write_text(page, "utf-8")
        return
    assert not mismatches, f"{name}: run with PROTODSL_REGEN=1 to update\n" + "\n".join(
        mismatches)


@pytest.mark.parametrize("name", DOCS)
def test_the_page_has_examples(name: str) -> None:
    """A page whose fences stopped matching would pass the test above vacuously."""
    found = {b.info.partition(" ")[0] for b in blocks(_page_path(name).read_text("utf-8"))}
    assert {"protodsl", "console"} <= found, found
