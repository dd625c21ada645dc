"""A protocol's real peers behind three MOSNs: one with the generated plugin, one
with MOSN's native codec for the same protocol (the control), and one with the
spec's generated Go codec compiled into MOSN (tests/e2e/mosngo)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tests.e2e.mesh import Mesh
from tests.e2e.mosn import Config, native
from tests.e2e.peers import Server, run_client


@dataclass(frozen=True)
class Case:
    """A spec, the Java peers that speak it and MOSN's native codec for it."""

    spec: str
    peer: str  # tests/e2e/peers/<peer>
    native: str  # MOSN's built-in codec name
    server_role: str
    client_role: str
    args: tuple[str, ...] = ()  # protocol options of both peers


CASES = {
    "bolt": Case("bolt", "bolt", "bolt", "server", "client"),
    "boltv2": Case("boltv2", "bolt", "boltv2", "server", "client", ("--protocol", "2", "--crc")),
    "dubbo": Case("dubbo", "dubbo", "dubbo", "provider", "consumer"),
}


@dataclass
class Setup:
    case: Case
    codec: ModuleType
    server: Server
    meshes: dict[str, Mesh] = field(default_factory=dict)  # KINDS

    def client(self, mesh: str, scenario: str, *options: str,
               port: int | None = None) -> dict[str, Any]:
        """Run one scenario of the Java client through `mesh` (or to `port`)."""
        target = port if port is not None else self.meshes[mesh].entry
        return run_client(self.case.peer, [self.case.client_role, "--target",
                                           f"127.0.0.1:{target}", *self.case.args, scenario,
                                           *options])

    def oneway(self, mesh: str, count: int) -> dict[str, Any]:
        """Send `count` oneway calls through `mesh`: the server gets every one, the
        client no answer."""
        before = self.server.count("oneway")
        result = self.client(mesh, "oneway", "--count", str(count))
        assert result["ok"] and result["stray_responses"] == 0, result
        deadline = time.monotonic() + 10
        while self.server.count("oneway") < before + count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert self.server.count("oneway") == before + count
        return result


# The meshes: the Wasm plugin, MOSN's built-in codec, the generated Go codec.
KINDS = ("plugin", "native", "go")


def mesh_config(kind: str, config: Config, case: Case) -> Config:
    """The plugin's config (as `protodsl gen --target wasm` wrote it) for mesh
    `kind`: as it is; with MOSN's built-in codec instead; or with the generated
    Go codec (mosngo), which the listeners name by the spec's MOSN name exactly
    as they name a built-in codec."""
    if kind == "plugin":
        return config
    if kind == "native":
        return native(config, case.native)
    return native(config, config["third_part_codec"]["codecs"][0]["config"]["protocol"])


def plugin_started(mesh: Mesh, spec: str) -> None:
    """MOSN loaded the plugin and started it as the codec of its protocol: MOSN
    logs `load wasm codec succeed` even when it skips a plugin, the plugin's own
    line comes only when MOSN starts it as a codec."""
    log = mesh.mosn.log()
    assert "load wasm codec succeed" in log, log[-3000:]
    assert f'{spec}: protodsl plugin started, codec of "x-{spec}"' in log, log[-3000:]


def check_mosn(mesh: Mesh) -> None:
    """MOSN is up and never panicked (it logs the panics it recovers from)."""
    log = mesh.mosn.log()
    assert mesh.mosn.alive, log[-3000:]
    assert "panic" not in log.lower(), log[-5000:]


def with_route(config: Config, **route: Any) -> Config:
    """`config` whose routes carry more route options (timeout, retry_policy ...)."""
    out = copy.deepcopy(config)
    for router in out["servers"][0]["routers"]:
        for host in router["virtual_hosts"]:
            for rule in host["routers"]:
                rule["route"].update(route)
    return out
