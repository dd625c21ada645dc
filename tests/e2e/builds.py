"""The real parts the end-to-end tests run, built from source and cached.

MOSN is built from the Go module proxy (tests/e2e/mosnd: MOSN's own start
sequence, its built-in codecs and the wasmer engine); the Java peers with Maven
from Maven Central (tests/e2e/peers/*). Each build lands in the cache
(PROTODSL_E2E_CACHE, default ~/.cache/protodsl/e2e) under a key made of its
sources and toolchain, so a second run reuses it and a changed source rebuilds;
Go's and Maven's own caches keep the downloads. A file lock makes concurrent
test workers wait for one build instead of racing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).parent
MOSND_SOURCE = HERE / "mosnd"
PEERS = HERE / "peers"


class BuildFailed(RuntimeError):
    """A build of a real part failed: the message carries its output."""


def cache_dir() -> Path:
    root = Path(os.environ.get("PROTODSL_E2E_CACHE", Path.home() / ".cache/protodsl/e2e"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _digest(files: list[Path], extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    for f in sorted(files):
        h.update(str(f.relative_to(HERE)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _sources(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and "target" not in p.parts]


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)
    if proc.returncode != 0:
        raise BuildFailed(f"{' '.join(command)} failed in {cwd} (exit {proc.returncode}):\n"
                          f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


def _version(command: list[str]) -> str:
    """What a tool says of its version (java prints it on stderr)."""
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    return proc.stdout + proc.stderr


@contextmanager
def _locked(name: str) -> Iterator[None]:
    with open(cache_dir() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def mosnd() -> Path:
    """The MOSN binary: `CGO_ENABLED=1 go build -tags wasmer` of tests/e2e/mosnd,
    with libwasmer.so beside it (and an rpath of $ORIGIN), so it runs after the
    module cache is gone."""
    key = _digest(_sources(MOSND_SOURCE), _version(["go", "version"]))
    dest = cache_dir() / f"mosnd-{key}"
    binary = dest / "mosnd"
    with _locked("mosnd"):
        if binary.is_file():
            return binary
        work = cache_dir() / f"mosnd-{key}.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        _run(["go", "build", "-tags", "wasmer", "-ldflags=-extldflags=-Wl,-rpath,$ORIGIN",
              "-o", str(work / "mosnd"), "."], MOSND_SOURCE, {"CGO_ENABLED": "1"})
        wasmer = _run(["go", "list", "-m", "-f", "{{.Dir}}", "github.com/wasmerio/wasmer-go"],
                      MOSND_SOURCE).strip()
        shutil.copy(Path(wasmer) / "wasmer/packaged/lib/linux-amd64/libwasmer.so", work)
        work.rename(dest)
    return binary


def mosn_module_file(path: str) -> Path:
    """A file of the mosn.io/mosn module MOSN is built from (its TinyGo bolt
    plugin, etc/wasm/bolt-go.wasm, say), from the Go module cache."""
    root = _run(["go", "list", "-m", "-f", "{{.Dir}}", "mosn.io/mosn"], MOSND_SOURCE).strip()
    return Path(root) / path


def java_peer(name: str) -> tuple[Path, str]:
    """The Java peers of tests/e2e/peers/<name>, built with Maven in the cache:
    their directory and the class path to run them with."""
    source = PEERS / name
    key = _digest(_sources(source), _version(["java", "-version"]) + _version(["mvn", "-v"]))
    dest = cache_dir() / f"{name}-{key}"
    with _locked(name):
        if not (dest / "target" / "classes").is_dir():
            work = cache_dir() / f"{name}-{key}.partial"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(source, work, ignore=shutil.ignore_patterns("target"))
            _run(["mvn", "-q", "-B", "-DskipTests", "package", "dependency:copy-dependencies"],
                 work)
            work.rename(dest)
    classpath = f"{dest / 'target' / 'classes'}:{dest / 'target' / 'dependency'}/*"
    return dest, classpath
