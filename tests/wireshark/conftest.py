"""Fixtures of the Wireshark suite: tshark (and luacheck, the Lua linter) from
Debian's packages, installed when missing as a clean CI machine needs; a skip
only when there is no apt-get to install them with."""

from __future__ import annotations

import shutil

import pytest

from tests.apt import apt_install

PACKAGES = {"tshark": "tshark", "luacheck": "lua-check"}


def _installed(binary: str) -> str:
    found = shutil.which(binary)
    if found is not None:
        return found
    apt_install([PACKAGES[binary]], binary)
    found = shutil.which(binary)
    assert found is not None, f"{binary} still missing after apt-get install"
    return found


@pytest.fixture(scope="session")
def tshark() -> str:
    return _installed("tshark")


@pytest.fixture(scope="session")
def luacheck() -> str:
    return _installed("luacheck")
