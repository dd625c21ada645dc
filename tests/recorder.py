"""A recording TCP relay on loopback: put between two real parts, it passes every
byte on and keeps each connection's chunks in the order it read them, both
directions, so a test can decode every frame that crossed a hop (tests/e2e's
MOSN hops, tests/peers' MQTT and HTTP/2 sessions).

Order matters because connection state flows across directions: MQTT v5's
protocol level, announced in the client's CONNECT, decides the layout of the
server's CONNACK. A chunk is recorded before it is forwarded, so a reply can
never be recorded ahead of the bytes it answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Direction = Literal["c2s", "s2c"]
DIRECTIONS: tuple[Direction, Direction] = ("c2s", "s2c")


@dataclass
class Connection:
    """One relayed TCP connection: its chunks in the order the relay read them."""

    chunks: list[tuple[Direction, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Set by each pump when its direction reaches end of stream.
    ended: dict[str, threading.Event] = field(
        default_factory=lambda: {d: threading.Event() for d in DIRECTIONS},
        repr=False, compare=False)

    def data(self, direction: Direction) -> bytes:
        """All bytes of one direction, joined: for framers that ignore order."""
        with self.lock:
            return b"".join(c for d, c in self.chunks if d == direction)

    def snapshot(self) -> list[tuple[Direction, bytes]]:
        with self.lock:
            return list(self.chunks)

    @property
    def closed(self) -> bool:
        return all(e.is_set() for e in self.ended.values())


@dataclass
class Recording:
    """What a session produced: its name and its connections, in accept order."""

    name: str
    connections: list[Connection] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "connections": [
            {"chunks": [[d, c.hex()] for d, c in conn.snapshot()]}
            for conn in self.connections]}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Recording:
        conns = []
        for c in obj["connections"]:
            conn = Connection()
            for d, h in c["chunks"]:
                assert d in DIRECTIONS, d
                conn.chunks.append((d, bytes.fromhex(h)))
            for e in conn.ended.values():
                e.set()
            conns.append(conn)
        return cls(obj["name"], conns)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path) -> Recording:
        return cls.from_json(json.loads(path.read_text("utf-8")))


class Recorder:
    """Listens on a free loopback port and relays each connection to
    `target_port`, recording both directions in order. One recorder a session,
    so a recording is exactly the session's connections."""

    def __init__(self, target_port: int, name: str) -> None:
        self.target_port = target_port
        self.recording = Recording(name)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                target = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            target.settimeout(None)
            for s in (client, target):  # small writes stay small chunks: finer order
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection()
            self.recording.connections.append(conn)
            self._sockets += [client, target]
            for src, dst, direction in ((client, target, "c2s"), (target, client, "s2c")):
                threading.Thread(target=self._pump, args=(src, dst, conn, direction),
                                 daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, conn: Connection,
              direction: Direction) -> None:
        try:
            while True:
                try:
                    data = src.recv(1 << 16)
                except OSError:
                    data = b""
                if not data:
                    for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
                        try:
                            s.shutdown(how)
                        except OSError:
                            pass
                    return
                with conn.lock:  # recorded before forwarded: the order is causal
                    conn.chunks.append((direction, data))
                try:
                    dst.sendall(data)
                except OSError:
                    return
        finally:
            conn.ended[direction].set()

    def wait_until(self, predicate: Callable[[Recording], bool], timeout: float = 10.0) -> None:
        """Polls the recording until `predicate` holds (e.g. a SUBACK came back)."""
        deadline = time.monotonic() + timeout
        while not predicate(self.recording):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.recording.name}: condition not met in {timeout} s")
            time.sleep(0.01)

    def wait_closed(self, count: int | None = None, timeout: float = 10.0) -> None:
        """Waits until `count` connections (default: all so far) ended both ways."""
        def done(r: Recording) -> bool:
            enough = count is None or len(r.connections) >= count
            return enough and all(c.closed for c in r.connections)
        self.wait_until(done, timeout)

    def close(self) -> Recording:
        self._closed = True
        self._server.close()
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass
        return self.recording
