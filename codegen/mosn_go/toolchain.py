"""The Go toolchain as protodsl runs it: found on PATH, local (no toolchain
download), modules resolved from go.mod as it stands (`-mod=mod`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class GoMissing(RuntimeError):
    """No `go` on PATH."""


def go_binary() -> str | None:
    return shutil.which("go")


def run_go(args: list[str], cwd: Path, timeout: float = 600,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`go ARGS` in `cwd`; its output captured, its exit status left to the caller."""
    go = go_binary()
    if go is None:
        raise GoMissing("the mosn-go target needs Go (`go` on PATH)")
    full = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", **(env or {})}
    return subprocess.run([go, *args], cwd=cwd, capture_output=True, text=True, env=full,
                          timeout=timeout, check=False)
