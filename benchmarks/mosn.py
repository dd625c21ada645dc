"""The same bolt load through a real MOSN with five codecs, in one run.

    python benchmarks/mosn.py [--count 20000] [--concurrency 16] [--rounds 3]
                              [--doc docs/benchmarks.md]

Codecs: MOSN's native bolt codec (the reference), MOSN's TinyGo bolt plugin
(etc/wasm/bolt-go.wasm of the mosn.io/mosn module), benchmarks/abi_only.c (a
bolt plugin that only does the ABI's copying: the floor of the Wasm path), the
plugin `protodsl gen specs/bolt.proto-dsl --target wasm` writes, and the Go
codec `--target mosn-go` writes, compiled into MOSN (tests/e2e/mosngo). Each
gets a MOSN of its own (built as tests/e2e builds it), the same Java bolt server
and client (tests/e2e/peers/bolt), client -> MOSN -> MOSN -> server with nothing
in between. Rounds go through the five in turn, after a warm-up load each. MOSN
CPU is the MOSN process's user + system time over a load (/proc/PID/stat), per
request answered; each figure is the median of the rounds. Prints a Markdown
table, with ratios to the native codec.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from docsection import replace_section  # noqa: E402
from protodsl.codegen.wasm.backend import compile_command  # noqa: E402

from tests.e2e import builds  # noqa: E402
from tests.e2e.mosn import Mosn, Ports, free_port, native, pointed  # noqa: E402
from tests.e2e.peers import Server, run_client  # noqa: E402

CODECS = ("native bolt codec", "MOSN's TinyGo plugin", "ABI-only plugin", "protodsl plugin",
          "protodsl Go codec")
GO_CODEC = CODECS[4]  # runs in the MOSN with the generated Go codecs compiled in
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def configs(work: Path) -> dict[str, dict[str, Any]]:
    """Each codec's MOSN config: the generated one, with another plugin or none."""
    gen = work / "bolt"
    subprocess.run([sys.executable, "-m", "protodsl.cli", "gen", str(ROOT / "specs/bolt.proto-dsl"),
                    "--target", "wasm", "-o", str(gen)], check=True, capture_output=True)
    config = json.loads((gen / "mosn_config.json").read_text())
    abi_only = work / "abi_only.wasm"
    subprocess.run(compile_command(ROOT / "benchmarks/abi_only.c", abi_only), check=True)

    def with_plugin(path: Path) -> dict[str, Any]:
        out = json.loads(json.dumps(config))
        out["wasm_global_plugins"][0]["vm_config"]["path"] = str(path)
        return out

    return {
        CODECS[0]: native(config, "bolt"),
        CODECS[1]: with_plugin(builds.mosn_module_file("etc/wasm/bolt-go.wasm")),
        CODECS[2]: with_plugin(abi_only),
        CODECS[3]: config,
        GO_CODEC: native(config, "x-bolt"),
    }


def measure(mosn: Mosn, count: int, concurrency: int) -> dict[str, float]:
    before = cpu_seconds(mosn.process.pid)
    result = run_client("bolt", ["client", "--target", f"127.0.0.1:{mosn.client_port}",
                                 "load", "--count", str(count), "--concurrency",
                                 str(concurrency)], timeout=900)
    cpu = cpu_seconds(mosn.process.pid) - before
    if not result["ok"]:
        raise RuntimeError(f"the load failed: {json.dumps(result)}")
    return {"rps": result["rps"], "p50": result["p50_us"], "p99": result["p99_us"],
            "cpu": cpu / result["answered"] * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--doc", type=Path, help="also write the table into this markdown file")
    args = parser.parse_args()
    mosnd, mosngo = builds.mosnd(), builds.mosngo()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = Server("bolt", ["server", "--port", str(free_port())], work / "server.log")
        mosns = {name: Mosn(mosngo if name == GO_CODEC else mosnd,
                            pointed(config, Ports.pick(server.port)), work / f"mosn{i}")
                 for i, (name, config) in enumerate(configs(work).items())}
        try:
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in CODECS}
            for mosn in mosns.values():
                measure(mosn, args.count // 10, args.concurrency)  # warm-up
            for _ in range(args.rounds):
                for name, mosn in mosns.items():
                    runs[name].append(measure(mosn, args.count, args.concurrency))
        finally:
            for mosn in mosns.values():
                mosn.stop()
            server.stop()
    median = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
              for name, rs in runs.items()}
    base = median[CODECS[0]]
    lines = [
        f"{args.count} bolt requests, {args.concurrency} in flight, one client connection, "
        f"median of {args.rounds} rounds",
        "",
        "| codec | requests/s | p50 | p99 | MOSN CPU per request | CPU vs native |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in CODECS:
        m = median[name]
        lines.append(f"| {name} | {m['rps']:,.0f} | {m['p50'] / 1000:.2f} ms "
                     f"| {m['p99'] / 1000:.2f} ms | {m['cpu']:.0f} us "
                     f"| {m['cpu'] / base['cpu']:.2f}x |")
    print("\n".join(lines))
    if args.doc is not None:
        command = " ".join(["python benchmarks/mosn.py", *sys.argv[1:]])
        head = [
            "## Through a real MOSN (issues 11 and 15)",
            "",
            "The same bolt load through MOSN v1.6.1 (built as tests/e2e builds it) with five "
            "codecs: MOSN's native bolt codec, its TinyGo bolt plugin, an ABI-only plugin "
            "(benchmarks/abi_only.c: the floor of the Wasm path), the generated plugin and the "
            "generated Go codec (`--target mosn-go`, compiled into MOSN: tests/e2e/mosngo); "
            "Java bolt 1.6.12 client and server (tests/e2e/peers/bolt), client -> MOSN -> MOSN "
            "-> server. MOSN CPU is the MOSN process's user + system time over a load, per "
            "request answered. Produced by `benchmarks/mosn.py`.",
            "",
            f"Command: `{command}` (at commit {revision()}); machine: {os.cpu_count()} CPUs, "
            f"load average at the end {os.getloadavg()[0]:.2f}.",
            "",
        ]
        replace_section(args.doc, "mosn.py", "\n".join(head + lines))
        print(f"wrote {args.doc}")
    return 0


def revision() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=False).stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
