"""Fixtures of the Wireshark suite: tshark (and luacheck, the Lua linter) from
Debian's packages, installed when missing as a clean CI machine needs; a skip
only when there is no apt-get to install them with."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

PACKAGES = {"tshark": "tshark", "luacheck": "lua-check"}


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    sudo = [] if os.geteuid() == 0 or shutil.which("sudo") is None else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run([*sudo, "apt-get", *args], capture_output=True, text=True, env=env,
                          timeout=900, check=False)


def _installed(binary: str) -> str:
    found = shutil.which(binary)
    if found is not None:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip(f"{binary} is missing and there is no apt-get to install "
                    f"{PACKAGES[binary]} with")
    result = _apt_get("install", "-y", PACKAGES[binary])
    if result.returncode != 0:  # a fresh machine has no package lists yet
        _apt_get("update")
        result = _apt_get("install", "-y", PACKAGES[binary])
    assert result.returncode == 0, f"apt-get install {PACKAGES[binary]} failed:\n{result.stderr}"
    found = shutil.which(binary)
    assert found is not None, f"{binary} still missing after apt-get install"
    return found


@pytest.fixture(scope="session")
def tshark() -> str:
    return _installed("tshark")


@pytest.fixture(scope="session")
def luacheck() -> str:
    return _installed("luacheck")
