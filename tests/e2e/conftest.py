"""Fixtures of the end-to-end suite: a MOSN built from source, plugins and
configs made by the CLI exactly as a user makes them, the Python codecs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from tests.e2e import builds
from tests.e2e.mesh import Mesh
from tests.e2e.mosn import Config, free_port
from tests.e2e.peers import Server
from tests.e2e.setups import CASES, KINDS, Setup, mesh_config, plugin_started
from tests.helpers import SPECS


@dataclass(frozen=True)
class Plugin:
    """What `protodsl gen SPEC --target wasm -o DIR` wrote."""

    dir: Path
    wasm: Path
    config: Config


@pytest.fixture(scope="session")
def mosnd() -> Path:
    return builds.mosnd()


@pytest.fixture(scope="session")
def binary(mosnd: Path) -> Callable[[str], Path]:
    """binary(kind): the MOSN a mesh runs; the generated Go codecs' is built on
    first use."""
    built: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind != "go":
            return mosnd
        if "go" not in built:
            built["go"] = builds.mosngo()
        return built["go"]
    return get


@pytest.fixture(scope="session")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Plugin]:
    made: dict[str, Plugin] = {}

    def make(spec: str) -> Plugin:
        if spec not in made:
            out = tmp_path_factory.mktemp(f"{spec}-plugin")
            subprocess.run([sys.executable, "-m", "protodsl.cli", "gen",
                            str(SPECS / f"{spec}.proto-dsl"), "--target", "wasm", "-o", str(out)],
                           check=True, capture_output=True)
            made[spec] = Plugin(out, out / f"{spec}.wasm",
                                json.loads((out / "mosn_config.json").read_text()))
        return made[spec]
    return make


@pytest.fixture(scope="session")
def codec() -> Callable[[str], ModuleType]:
    loaded: dict[str, ModuleType] = {}

    def load(spec: str) -> ModuleType:
        if spec not in loaded:
            loaded[spec] = load_python(compile_file(SPECS / f"{spec}.proto-dsl"))
        return loaded[spec]
    return load


@pytest.fixture(scope="module")
def setups(tmp_path_factory: pytest.TempPathFactory, binary: Callable[[str], Path],
           plugin: Callable[[str], Plugin],
           codec: Callable[[str], ModuleType]) -> Iterator[Callable[[str], Setup]]:
    """setups(spec): its Java server behind a MOSN with the plugin, a MOSN with
    the native codec and a MOSN with the generated Go codec, started on first
    use and stopped with the module."""
    started: dict[str, Setup] = {}

    def get(spec: str) -> Setup:
        if spec not in started:
            case = CASES[spec]
            tmp = tmp_path_factory.mktemp(spec)
            server = Server(case.peer, [case.server_role, "--port", str(free_port()),
                                        *case.args], tmp / "server.log")
            setup = started[spec] = Setup(case, codec(spec), server)
            config = plugin(spec).config
            for kind in KINDS:
                setup.meshes[kind] = Mesh(binary(kind), mesh_config(kind, config, case),
                                          tmp / f"mosn-{kind}", server.port)
            plugin_started(setup.meshes["plugin"], spec)
        return started[spec]

    yield get
    for setup in started.values():
        for mesh in setup.meshes.values():
            mesh.close()
        setup.server.stop()
