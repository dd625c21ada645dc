"""Prepare a native fuzz run of a spec's generated C: write the plugin source
(the same files `protodsl gen --target wasm` writes) and a seed corpus.

    python fuzz/prepare.py SPEC OUTDIR [--examples N]

OUTDIR/src gets <name>.c and protodsl_rt.h; OUTDIR/seeds gets one file per
seed, named by its SHA-1 as libFuzzer names corpus files. A seed is a selector
byte (see fuzz/harness.c) followed by wire bytes: the shared vectors of
tests/vectors whose file name (up to a '-') starts the protocol's name, frames and
mutated frames drawn from protodsl.testing.strategies, a few concatenations,
and the inputs that trap MOSN's own TinyGo bolt plugin. Prints the protocol's
name (the stem of the generated .c) on its last line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protodsl.codegen.wasm import backend

from protodsl.codecs import load_python
from protodsl.diagnostics import SpecError
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
# Selector bytes each seed is written with (see fuzz/harness.c): plain (sent,
# then hijacked with 200); header added, payload and id changed (hijacked after
# forwarding with 503); the same and a retry (hijack code 3); and hijacked
# before forwarding, with 64-bit ids (code 501).
SELECTORS = (0x00, 0x5D, 0x9C, 0xFE)
# Inputs that trap MOSN's TinyGo bolt plugin (bolt v1 framing): a header key
# length past its section, and a content length of 0xffffffff.
TINYGO_TRAPS = (
    "0101000101000000010100000bb80000000800000000ffffff0061626364",
    "010100010100000001010000000000000000ffffffff",
)


def vector_frames(protocol: Protocol) -> Iterator[bytes]:
    """Every hex string of the shared vectors meant for this protocol."""

    def walk(node: Any) -> Iterator[bytes]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "hex" and isinstance(value, str):
                    yield bytes.fromhex(value)
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for path in sorted(VECTORS.glob("*.json")):
        if protocol.name.startswith(path.stem.split("-")[0]):
            yield from walk(json.loads(path.read_text("utf-8")))


def drawn(strategy: st.SearchStrategy[bytes], count: int) -> list[bytes]:
    """`count` examples of a strategy, the same ones on every run."""
    out: list[bytes] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: bytes) -> None:
        out.append(value)

    collect()
    return out


def seeds(protocol: Protocol, examples: int) -> list[bytes]:
    """Wire inputs for the corpus, without selector bytes."""
    codec = load_python(protocol)
    frames = list(vector_frames(protocol))
    frames += drawn(pst.encodings(protocol, codec), examples)
    frames += drawn(pst.mutations(protocol, codec), examples)
    frames += drawn(st.lists(pst.encodings(protocol, codec), min_size=2, max_size=3).map(
        b"".join), max(1, examples // 10))
    if protocol.name == "bolt":
        frames += [bytes.fromhex(h) for h in TINYGO_TRAPS]
    return frames


def write_corpus(out: Path, frames: list[bytes]) -> int:
    """Write each frame once per selector; returns the number of files."""
    out.mkdir(parents=True, exist_ok=True)
    names = set()
    for frame in frames:
        for sel in SELECTORS:
            data = bytes([sel]) + frame
            name = hashlib.sha1(data).hexdigest()
            (out / name).write_bytes(data)
            names.add(name)
    return len(names)


def write_sources(protocol: Protocol, out: Path) -> None:
    """The generated plugin files (C, runtime header) as the Wasm build sees them."""
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in backend.generate(protocol).items():
        if rel.endswith((".c", ".h")):
            (out / rel).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--examples", type=int, default=150,
                        help="frames and mutations drawn from the strategies (default 150)")
    args = parser.parse_args(argv)
    try:
        protocol = compile_file(args.spec)
        write_sources(protocol, args.outdir / "src")
    except SpecError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    count = write_corpus(args.outdir / "seeds", seeds(protocol, args.examples))
    print(f"prepare: {protocol.name}: {count} seed files", file=sys.stderr)
    print(protocol.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
