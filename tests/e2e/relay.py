"""A recording TCP relay on loopback: put between two real parts, it passes every
byte on and keeps a copy of each connection's two directions, so a test can
decode every frame that crossed a hop with the spec's Python codec."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


@dataclass
class Recording:
    """The bytes of one relayed connection: towards the target and back."""

    upstream: bytearray = field(default_factory=bytearray)  # client -> target
    downstream: bytearray = field(default_factory=bytearray)  # target -> client
    lock: threading.Lock = field(default_factory=threading.Lock)


class Relay:
    """Listens on a free loopback port and relays each connection to `target_port`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.recordings: list[Recording] = []
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
            record = Recording()
            self.recordings.append(record)
            self._sockets += [client, target]
            for src, dst, buf in ((client, target, record.upstream),
                                  (target, client, record.downstream)):
                threading.Thread(target=self._pump, args=(src, dst, buf, record.lock),
                                 daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, buf: bytearray,
              lock: threading.Lock) -> None:
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
            with lock:
                buf += data
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self._closed = True
        self._server.close()
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass
