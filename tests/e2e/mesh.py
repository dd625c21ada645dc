"""Two MOSN hops between a real client and a real server, recorded on every hop:

    client -> relay -> MOSN client listener -> relay -> MOSN server listener -> relay -> server

with one MOSN process serving both listeners, as in MOSN's own examples. Every
byte that crosses a hop is kept, so a test can decode every frame of every
connection with the spec's Python codec."""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.e2e.mosn import Config, Mosn, Ports, free_port, pointed
from tests.recorder import Connection, Recorder

# A hop's directions as the suite names them: towards the server, and back.
_DIRECTION = {"upstream": "c2s", "downstream": "s2c"}


class Mesh:
    """`relay_server=False` lets MOSN connect to `upstream` itself (a relay would
    accept the connection even when no server is there)."""

    def __init__(self, mosnd: Path, config: Config, workdir: Path, upstream: int,
                 relay_server: bool = True) -> None:
        server_listener = free_port()
        self.relays = {"mesh": Recorder(server_listener, "mesh")}
        if relay_server:
            self.relays["server"] = Recorder(upstream, "server")
            upstream = self.relays["server"].port
        ports = Ports(free_port(), server_listener, upstream, free_port(),
                      mesh=self.relays["mesh"].port)
        self.mosn = Mosn(mosnd, pointed(config, ports), workdir)
        self.relays["client"] = Recorder(ports.client, "client")
        self.entry = self.relays["client"].port
        self.direct = ports.client  # MOSN's client listener, without the relay

    def recordings(self, hop: str) -> list[Connection]:
        return self.relays[hop].recording.connections

    def frames(self, codec: ModuleType, hop: str, direction: str) -> list[Any]:
        """Every frame the hop carried in one direction ("upstream": towards the
        server), over all its connections, decoded with the Python codec."""
        out: list[Any] = []
        for record in self.recordings(hop):
            frames, _ = codec.decode_all(record.data(_DIRECTION[direction]))
            out += frames
        return out

    def check_every_frame(self, codec: ModuleType) -> int:
        """Every byte on every hop, both ways, decodes into whole frames; returns
        how many. A frame still on its way gets a moment to arrive."""
        count = 0
        for hop in self.relays:
            for record in self.recordings(hop):
                for direction in ("upstream", "downstream"):
                    for _ in range(20):
                        data = record.data(_DIRECTION[direction])
                        frames, rest = codec.decode_all(data)
                        if not rest:
                            break
                        time.sleep(0.1)
                    assert not rest, (f"{hop} hop, {direction}: {len(rest)} bytes after "
                                      f"{len(frames)} frames do not decode: {rest[:64].hex()}")
                    count += len(frames)
        return count

    def close(self) -> None:
        for relay in self.relays.values():
            relay.close()
        self.mosn.stop()
