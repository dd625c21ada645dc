"""Fixtures of the real-peer suite: the Debian packages of the peers (installed
when missing, as a clean CI machine needs), a mosquitto broker (with a small
enhanced-authentication plugin, built here, so that it sends AUTH) and an
nghttpd server on free loopback ports, and the recordings of every scripted
session, made once per test run."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.apt import apt_install
from tests.peers import sessions
from tests.peers.h2_server import h2_server
from tests.recorder import Recording

# Binary -> the Debian package that ships it.
PACKAGES = {"mosquitto": "mosquitto", "mosquitto_pub": "mosquitto-clients",
            "mosquitto_sub": "mosquitto-clients", "nghttpd": "nghttp2-server",
            "nghttp": "nghttp2-client"}
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")  # mosquitto lives here, often off a user's PATH
# Header -> the Debian package that ships it: what the auth plugin is built against.
HEADERS = {"mosquitto_plugin.h": "mosquitto-dev", "mosquitto.h": "libmosquitto-dev"}
AUTH_PLUGIN = Path(__file__).parent / "mosquitto_auth" / "challenge_auth.c"


def find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found is None:
        found = shutil.which(name, path=os.pathsep.join(SBIN))
    return found


@pytest.fixture(scope="session")
def tools() -> sessions.Tools:
    """The peers' binaries, apt-get installed if missing; a skip only when
    there is no apt-get to install them with."""
    missing = sorted({PACKAGES[b] for b in PACKAGES if find_tool(b) is None}
                     | {HEADERS[h] for h in HEADERS if not (Path("/usr/include") / h).exists()})
    if missing:
        apt_install(missing, "peers")
    paths = {b: find_tool(b) for b in PACKAGES}
    absent = [b for b, p in paths.items() if p is None]
    assert not absent, f"still missing after apt-get install: {absent}"
    return sessions.Tools(**{b: p for b, p in paths.items() if p is not None})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"not listening on {port} after 10 s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(argv: list[str], port: int, log: Path) -> Iterator[int]:
    """Starts a server, waits until it listens, yields its port, stops it."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        _wait_listening(port, process, log)
        yield port
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def mosquitto_port(tools: sessions.Tools, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[int]:
    """A mosquitto broker on loopback: anonymous, no persistence, and the
    enhanced-authentication plugin for the method "protodsl" (other clients
    never meet it). Run as root, it stays root: the plugin is in a private
    temporary folder."""
    tmp = tmp_path_factory.mktemp("mosquitto")
    plugin = tmp / "challenge_auth.so"
    built = subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o",
                            str(plugin), str(AUTH_PLUGIN)], capture_output=True, text=True)
    assert built.returncode == 0, f"the auth plugin did not build:\n{built.stderr}"
    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    f"plugin {plugin}\nuser {pwd.getpwuid(os.geteuid()).pw_name}\n"
                    "log_dest stderr\nlog_type error\nlog_type warning\n")
    yield from _serve([tools.mosquitto, "-c", str(conf)], port, tmp / "mosquitto.log")


@pytest.fixture(scope="session")
def nghttpd_port(tools: sessions.Tools, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[int]:
    """nghttpd over h2c, serving a page with assets (one pushed) and a file
    large enough for split DATA frames and WINDOW_UPDATE; uploads are echoed."""
    docs = tmp_path_factory.mktemp("htdocs")
    sessions.write_htdocs(docs)
    port = free_port()
    yield from _serve([tools.nghttpd, "--no-tls", "-a", "127.0.0.1", "-d", str(docs),
                       "--echo-upload", "-p", f"/index.html={sessions.PUSHED}", str(port)],
                      port, docs.parent / f"nghttpd-{port}.log")


def _record_all(scripts: dict[str, sessions.Script], target: int, tools: sessions.Tools,
                tmp: Path) -> dict[str, Recording]:
    """Runs every session at once (each on its own recorder): the suite's wall
    time is the slowest session's, not the sum."""
    try:
        with ThreadPoolExecutor(len(scripts)) as pool:
            futures = {name: pool.submit(sessions.record, name, script, target, tools, tmp)
                       for name, script in scripts.items()}
            return {name: f.result() for name, f in futures.items()}
    finally:
        sessions.reap()


@pytest.fixture(scope="session")
def mqtt_recordings(mosquitto_port: int, tools: sessions.Tools,
                    tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    return _record_all(sessions.MQTT, mosquitto_port, tools, tmp_path_factory.mktemp("mqtt"))


@pytest.fixture(scope="session")
def h2_recordings(nghttpd_port: int, tools: sessions.Tools,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    return _record_all(sessions.HTTP2, nghttpd_port, tools, tmp_path_factory.mktemp("h2"))


@pytest.fixture(scope="session")
def h2_big_recording(tools: sessions.Tools, tmp_path_factory: pytest.TempPathFactory
                     ) -> Recording:
    """The h2 library on both ends, with frames past 16 KiB each way."""
    with h2_server(sessions.BIG_FRAME_SETTING, sessions.BIG_BODY) as port:
        return sessions.record("h2-big-frames", sessions.h2_big_frames, port, tools,
                               tmp_path_factory.mktemp("h2-big"))
