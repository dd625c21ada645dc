"""Runs the properties with Hypothesis and reports them: a table, and for a
failure the shrunk counterexample, what each side said, and the seed."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from protodsl.codecs import build_wasm, load_python
from protodsl.ir import Protocol
from protodsl.testing.annotate import annotate
from protodsl.testing.properties import Mismatch, Property, Sides, applicable, wasm_ready

DEFAULT_EXAMPLES = 200


@dataclass
class Result:
    name: str
    examples: int
    seconds: float
    error: BaseException | None = None
    counterexample: Any = None

    @property
    def passed(self) -> bool:
        return self.error is None


def run_property(prop: Property, sides: Sides, examples: int, seed: int | None) -> Result:
    count = 0
    last: list[Any] = [None]

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is None,
              report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(prop.strategy(sides.protocol, sides.codec))
    def check(example: Any) -> None:
        nonlocal count
        count += 1
        last[0] = example
        prop.check(sides, example)

    test = hypothesis_seed(seed)(check) if seed is not None else check
    start = time.perf_counter()
    try:
        test()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, never raised
        sides.reset()
        return Result(prop.name, count, time.perf_counter() - start, exc, last[0])
    return Result(prop.name, count, time.perf_counter() - start)


def run_all(protocol: Protocol, wasm: Path | None, examples: int, seed: int | None
            ) -> tuple[Sides, list[Result]]:
    sides = Sides(protocol, load_python(protocol), wasm)
    properties = applicable(protocol, wasm is not None)
    results = [run_property(p, sides, examples, seed) for p in properties]
    return sides, results


def report(sides: Sides, results: list[Result], spec: str, seed: int | None, out: TextIO) -> None:
    width = max(len(r.name) for r in results)
    out.write(f"{'property':<{width}}  {'examples':>8}  result\n")
    for r in results:
        out.write(f"{r.name:<{width}}  {r.examples:>8}  {'ok' if r.passed else 'FAILED'}\n")
    total = sum(r.examples for r in results)
    seconds = sum(r.seconds for r in results)
    rate = total / seconds if seconds else 0.0
    failed = [r for r in results if not r.passed]
    out.write(f"\n{len(results) - len(failed)} passed, {len(failed)} failed; {total} examples "
              f"in {seconds:.1f} s ({rate:,.0f} examples/s)\n")
    for r in failed:
        out.write(f"\nFAILED {r.name}\n")
        out.write(_describe_failure(sides, r))
        if seed is not None:
            out.write(f"replay: protodsl test {spec} --seed {seed}\n")


def _describe_failure(sides: Sides, r: Result) -> str:
    lines = [f"  {type(r.error).__name__}: {r.error}"]
    data = r.error.data if isinstance(r.error, Mismatch) else None
    example = r.counterexample
    if data is None:
        data = _bytes_of(sides, example)
    lines.append(f"  counterexample: {example!r}"[:2000])
    if data is not None:
        lines.append("  bytes, field by field:")
        lines.extend("    " + line for line in annotate(sides.protocol, sides.codec,
                                                           data).splitlines())
    return "\n".join(lines) + "\n"


def _bytes_of(sides: Sides, example: Any) -> bytes | None:
    if isinstance(example, bytes):
        return example
    if isinstance(example, tuple) and example and isinstance(example[0], bytes):
        wire, cut = example
        return wire[:cut] if isinstance(cut, int) else wire
    frame = getattr(example, "frame", example)
    try:
        data: bytes = sides.codec.encode(frame)
        return data
    except Exception:  # noqa: BLE001 - not a frame: nothing to annotate
        return None


def run_cli(protocol: Protocol, spec: str, examples: int | None, seed: int | None,
            wasm: str | None, out: TextIO = sys.stdout) -> int:
    """`protodsl test`: exit 0 when every property holds, 1 otherwise."""
    if wasm is not None:
        plugin: Path | None = Path(wasm)
        if not plugin.is_file():
            out.write(f"protodsl: error: no such plugin: {wasm}\n")
            return 1
    elif wasm_ready(protocol):
        plugin = build_wasm(protocol)
    else:
        plugin = None
        out.write("(the Wasm target refuses this spec (see `protodsl gen --target wasm`): "
                  "testing the Python codec only)\n")
    if seed is None:
        seed = random.randrange(1 << 32)
    sides, results = run_all(protocol, plugin, examples or DEFAULT_EXAMPLES, seed)
    report(sides, results, spec, seed, out)
    return 0 if all(r.passed for r in results) else 1
