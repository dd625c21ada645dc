"""Debian packages a suite needs, installed when missing, as a clean CI machine
needs: one apt-get at a time, since pytest -n runs each worker's fixtures at
once and dpkg holds one lock (a second apt-get would fail on it)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

LOCK = Path(tempfile.gettempdir()) / "protodsl-apt-get.lock"


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    sudo = [] if os.geteuid() == 0 or shutil.which("sudo") is None else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # DPkg::Lock::Timeout: wait for a dpkg lock taken by anything else on the machine
    return subprocess.run([*sudo, "apt-get", "-o", "DPkg::Lock::Timeout=600", *args],
                          capture_output=True, text=True, env=env, timeout=900, check=False)


def apt_install(packages: Sequence[str], what: str) -> None:
    """Installs `packages` (what they are for: `what`); a skip only when there is
    no apt-get to install them with, a failure when apt-get fails."""
    if shutil.which("apt-get") is None:
        pytest.skip(f"{what} missing ({', '.join(packages)}) and no apt-get to install them")
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = _apt_get("install", "-y", *packages)
        if result.returncode != 0:  # a fresh machine has no package lists yet
            _apt_get("update")
            result = _apt_get("install", "-y", *packages)
    assert result.returncode == 0, f"apt-get install {list(packages)} failed:\n{result.stderr}"
