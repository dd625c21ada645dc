"""The Java peers (tests/e2e/peers/*): a server that runs until it is stopped and
reports events as JSON lines, and a client that runs one scenario and prints
one JSON line with its result."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.e2e import builds
from tests.e2e.processes import stop

MAIN = {"bolt": "protodsl.e2e.bolt.Main", "dubbo": "protodsl.e2e.dubbo.Main"}


def _command(peer: str, args: list[str]) -> list[str]:
    _, classpath = builds.java_peer(peer)
    return ["java", "-cp", classpath, MAIN[peer], *args]


class Server:
    """A Java server on `port`; `events` collects the JSON lines it prints."""

    def __init__(self, peer: str, args: list[str], log: Path) -> None:
        self.log_path = log
        self._log = open(log, "wb")
        self.process = subprocess.Popen(_command(peer, args), stdout=subprocess.PIPE,
                                        stderr=self._log)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.wait_for("ready", 60)
        self.port = int(ready["port"])

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                continue

    def wait_for(self, event: str, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise RuntimeError(f"no {event!r} event from the Java server "
                                   f"(exit {self.process.poll()}):\n{self.stderr()}")
            try:
                item = self.events.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            self._seen.append(item)
            if item.get("event") == event:
                return item

    def drain(self) -> list[dict[str, Any]]:
        """Every event so far."""
        while True:
            try:
                self._seen.append(self.events.get_nowait())
            except queue.Empty:
                return list(self._seen)

    def count(self, event: str) -> int:
        return sum(1 for e in self.drain() if e.get("event") == event)

    def stderr(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        stop(self.process)
        self._log.close()


def run_client(peer: str, args: list[str], timeout: float = 300) -> dict[str, Any]:
    """Run one client scenario; its last JSON line is the result."""
    proc = subprocess.run(_command(peer, args), capture_output=True, text=True,
                          timeout=timeout, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(args)}: exit {proc.returncode}\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result
