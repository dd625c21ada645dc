"""Paths and loaders the tests share."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
VECTORS = Path(__file__).resolve().parent / "vectors"


def load_vectors(name: str) -> Any:
    return json.loads((VECTORS / name).read_text("utf-8"))


def spec_files() -> list[Path]:
    """Every .proto-dsl file of the repository (specs, test specs, error specs)."""
    return sorted(p for p in ROOT.glob("**/*.proto-dsl")
                  if ".venv" not in p.parts and "node_modules" not in p.parts)


def parses(path: Path) -> bool:
    """Whether the file is a spec the grammar reads (error specs may not be)."""
    from protodsl.diagnostics import SpecError
    from protodsl.fmt import tokens

    try:
        tokens(path.read_text("utf-8"))
    except (SpecError, UnicodeDecodeError):
        return False
    return True


GUIDE = ("README.md", "docs/walkthrough.md", "docs/targets.md", "docs/testing.md")
"""The pages whose commands and Python examples the README tests run (the two
docs pages with specs of their own have their runner, tests/docs)."""


def guide_text() -> str:
    """The README and the guide pages in docs/, one text."""
    return "\n".join((ROOT / page).read_text("utf-8") for page in GUIDE)


def run_cli(argv: list[str], stdin: bytes | None = None) -> tuple[int, bytes, str]:
    """`protodsl` main(argv) in this process (no interpreter to start), with
    stdin holding `stdin`: exit status, the bytes written to stdout, stderr."""
    from protodsl.cli import main

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = out, err
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        out.flush()
        sys.stdout, sys.stderr, sys.stdin = saved
    buffer = out.buffer
    assert isinstance(buffer, io.BytesIO)
    return code, buffer.getvalue(), err.getvalue()
