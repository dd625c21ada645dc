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
