"""mypy --strict over the package as it is installed.

pyproject.toml maps two top-level folders into the package (`codegen/` ->
`protodsl.codegen`, `grammars/` -> `protodsl.grammars`), which mypy cannot
follow in the source tree. So the test type-checks a mirror of the installed
layout made of symlinks, with the repository's mypy configuration, and writes
nothing into the repository (the cache lives in tmp_path too)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

# Top-level folders that setuptools' package-dir maps into the package.
MAPPED = {"codegen": ROOT / "codegen", "grammars": ROOT / "grammars"}


def _mirror(tmp_path: Path) -> Path:
    """tmp_path/mirror/protodsl: a symlink to every entry of protodsl/, plus the
    mapped folders under their installed names."""
    mirror = tmp_path / "mirror"
    package = mirror / "protodsl"
    package.mkdir(parents=True)
    for entry in sorted((ROOT / "protodsl").iterdir()):
        if entry.name == "__pycache__":
            continue
        assert entry.name not in MAPPED, f"protodsl/{entry.name} would shadow a mapped folder"
        (package / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    for name, target in MAPPED.items():
        (package / name).symlink_to(target, target_is_directory=True)
    return mirror


def test_mypy_strict_passes(tmp_path: Path) -> None:
    # Not a skip: the `test` extra installs mypy, so its absence is a broken setup.
    assert importlib.util.find_spec("mypy") is not None, (
        "mypy is not importable; install the `test` extra (pip install -e '.[test]')")
    mirror = _mirror(tmp_path)
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict",
            "--config-file", str(ROOT / "pyproject.toml"),
            "--cache-dir", str(tmp_path / "mypy-cache"),
            "-p", "protodsl",
        ],
        cwd=mirror,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"mypy --strict failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
