"""Paths and loaders the tests share."""

from __future__ import annotations

import json
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
