"""Running a real MOSN for a test: the config `protodsl gen` wrote, pointed at
this run's ports, in a working directory of its own (MOSN keeps a reconfig.sock
beside its config, and a second MOSN started there would take over the first)."""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.processes import stop

Config = dict[str, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Ports:
    """client listener -> (mesh hop) -> server listener -> upstream server."""

    client: int
    server: int
    upstream: int
    admin: int
    mesh: int | None = None  # where the client side sends: the server listener, or a relay

    @staticmethod
    def pick(upstream: int | None = None) -> Ports:
        return Ports(free_port(), free_port(), upstream or free_port(), free_port())


def pointed(config: Config, ports: Ports) -> Config:
    """`config` (as `protodsl gen` wrote it) with this run's addresses."""
    out = copy.deepcopy(config)
    server = out["servers"][0]
    for listener in server["listeners"]:
        port = ports.client if listener["name"] == "clientListener" else ports.server
        listener["address"] = f"127.0.0.1:{port}"
    for cluster in out["cluster_manager"]["clusters"]:
        port = ports.upstream if cluster["name"] == "serverCluster" else (
            ports.mesh or ports.server)
        cluster["hosts"] = [{"address": f"127.0.0.1:{port}"}]
    out["admin"]["address"]["socket_address"]["port_value"] = ports.admin
    return out


def native(config: Config, protocol: str) -> Config:
    """The same proxy with a codec compiled into MOSN instead of the plugin: MOSN's
    built-in `protocol`, or a generated Go codec registered under that name."""
    out = copy.deepcopy(config)
    for listener in out["servers"][0]["listeners"]:
        for chain in listener["filter_chains"]:
            for f in chain["filters"]:
                f["config"]["extend_config"]["sub_protocol"] = protocol
    del out["wasm_global_plugins"], out["third_part_codec"]
    return out


class Mosn:
    """One MOSN process; its log (MOSN's stdout) is kept in its directory."""

    def __init__(self, binary: Path, config: Config, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = config
        (workdir / "config.json").write_text(json.dumps(config, indent=1))
        self.log_path = workdir / "mosn.log"
        client = next(listener["address"] for listener in config["servers"][0]["listeners"]
                      if listener["name"] == "clientListener")
        self.client_port = int(client.rsplit(":", 1)[1])
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(binary), "start", "-c", "config.json"], cwd=workdir,
                stdout=log, stderr=subprocess.STDOUT,
            )
        self._wait_listening()

    def _wait_listening(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"MOSN exited with {self.process.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.client_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"MOSN did not listen on {self.client_port}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop(self.process)
