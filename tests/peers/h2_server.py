"""An HTTP/2 server over plain TCP on the h2 library, a peer we did not write,
for what nghttpd cannot be asked to send: frames larger than 16 KiB, which a
side may send once the other has announced a larger SETTINGS_MAX_FRAME_SIZE
(RFC 9113 section 4.2). It announces `max_frame_size` and answers every
request with `body`, in one DATA frame."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import h2.config
import h2.connection
import h2.events
from h2.settings import SettingCodes

HOST = "127.0.0.1"


def _serve_one(sock: socket.socket, max_frame_size: int, body: bytes) -> None:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    with sock:
        conn.initiate_connection()
        conn.update_settings({SettingCodes.MAX_FRAME_SIZE: max_frame_size})
        sock.sendall(conn.data_to_send())
        while data := sock.recv(1 << 16):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length,
                                                   event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    conn.send_headers(event.stream_id, [(":status", "200")])
                    conn.send_data(event.stream_id, body, end_stream=True)
            sock.sendall(conn.data_to_send())


@contextmanager
def h2_server(max_frame_size: int, body: bytes) -> Iterator[int]:
    """Serves on a loopback port (yielded) until the block ends."""
    listener = socket.create_server((HOST, 0))
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve_one, args=(sock, max_frame_size, body),
                             daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(timeout=5)
