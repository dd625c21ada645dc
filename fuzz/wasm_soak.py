"""Soak a spec's Wasm plugin in the MOSN host emulator with hostile input.

    python fuzz/wasm_soak.py SPEC CALLS [--seed N] [--examples N]

Builds the plugin (zig, cached), loads it in protodsl.host.MosnHost and makes
CALLS ABI calls with mutated and random input: decode (valid frames, frames
drawn from strategies.mutations, frames with random byte, length-field and
cut/append mutations, concatenations, random bytes), encode of what decoded
(headers added or dropped, payloads replaced, ids re-numbered, timeouts and
statuses random), hijack (any bytes, any code), keepalive (any id),
reply_keepalive and context deletion, over several contexts.

It checks that nothing traps or breaks the ABI (PluginTrap, HostError), that
every status is one the call may return ({0, 10, 99}; 2 only for a builder the
spec lacks), and that memory pages do not change after a warm-up that runs
every seed input and the largest calls once. Prints one summary line; exits 1
on any finding, with the first inputs that caused it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protodsl.codecs import build_wasm, load_python
from protodsl.host import HostError, MosnHost, PluginTrap
from protodsl.ir import Protocol
from protodsl.ir.model import IntField
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst

CODES = (200, 400, 403, 404, 413, 500, 501, 502, 503, 504, 509, 0, 3, -1, 2**31 - 1, -(2**31))
EXTREMES = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**64 - 1)


@dataclass
class SoakResult:
    """What a soak run saw."""

    spec: str
    calls: int = 0
    by_call: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    traps: list[str] = field(default_factory=list)
    host_errors: list[str] = field(default_factory=list)
    bad_statuses: list[str] = field(default_factory=list)
    pages_after_warmup: int = 0
    pages_at_end: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (not self.traps and not self.host_errors and not self.bad_statuses
                and self.pages_at_end == self.pages_after_warmup)

    def summary(self) -> str:
        calls = ", ".join(f"{k} {v}" for k, v in sorted(self.by_call.items()))
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (f"wasm_soak: {self.spec}: {self.calls} calls ({calls}) in {self.seconds:.0f} s; "
                f"statuses {{{statuses}}}; traps {len(self.traps)}, host errors "
                f"{len(self.host_errors)}, unexpected statuses {len(self.bad_statuses)}; "
                f"memory pages {self.pages_after_warmup} after warm-up, "
                f"{self.pages_at_end} at the end")


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


class Inputs:
    """Cheap hostile inputs from a pool of valid and mutated frames."""

    def __init__(self, protocol: Protocol, codec: Any, rng: random.Random, examples: int) -> None:
        self.rng = rng
        self.valid = drawn(pst.encodings(protocol, codec), examples)
        self.pool = self.valid + drawn(pst.mutations(protocol, codec), examples)
        self.order = protocol.byte_order
        self.lengths = sorted({
            (v.offset, v.type.width)
            for f in protocol.frames for v in f.values()
            if isinstance(v, IntField) and v.offset is not None and not v.constant
        })
        self.cap = max(len(w) for w in self.pool) + 64

    def mutate(self, wire: bytes) -> bytes:
        rng = self.rng
        data = bytearray(wire)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(5)
            if op == 0 and data:
                data[rng.randrange(len(data))] = rng.choice((0, 0xFF, 0x7F, 0x80,
                                                             rng.randrange(256)))
            elif op == 1 and data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif op == 2:
                usable = [(o, w) for o, w in self.lengths if o + w <= len(data)]
                if usable:
                    offset, width = rng.choice(usable)
                    value = rng.choice(EXTREMES) if rng.random() < 0.7 else rng.getrandbits(64)
                    data[offset:offset + width] = (value % (1 << 8 * width)).to_bytes(
                        width, self.order)
            elif op == 3:
                del data[rng.randrange(len(data) + 1):]
            else:
                data += rng.randbytes(rng.randint(1, 8))
        return bytes(data)

    def next(self) -> bytes:
        rng = self.rng
        kind = rng.random()
        if kind < 0.2:
            data = rng.choice(self.valid)
        elif kind < 0.4:
            data = rng.choice(self.pool)
        elif kind < 0.8:
            data = self.mutate(rng.choice(self.pool))
        elif kind < 0.9:
            data = b"".join(rng.choice(self.pool) for _ in range(rng.randint(2, 3)))
        else:
            prefix = rng.choice(self.valid)[:rng.randrange(4)]
            data = prefix + rng.randbytes(rng.randrange(64))
        return data[:self.cap]


class Soak:
    """One host, several contexts, and the checks on every call."""

    def __init__(self, spec: Path, protocol: Protocol, seed: int, examples: int) -> None:
        codec = load_python(protocol)
        self.has = {b.kind for b in protocol.builders}
        self.wasm = build_wasm(protocol)
        self.rng = random.Random(seed)
        self.inputs = Inputs(protocol, codec, self.rng, examples)
        self.result = SoakResult(spec.name)
        self.host = MosnHost.from_file(self.wasm)
        self.contexts = [self.host.new_context() for _ in range(4)]

    def allowed(self, call: str) -> set[int]:
        if call == "decode":
            return {0, 10, 99}
        builder = {"keepalive": "keepalive", "reply_keepalive": "keepalive_reply",
                   "hijack": "hijack"}.get(call)
        if builder is not None and builder not in self.has:
            return {2}
        return {0, 10}

    def record(self, call: str, status: int, data: bytes) -> int:
        r = self.result
        r.calls += 1
        r.by_call[call] += 1
        r.statuses[status] += 1
        if status not in self.allowed(call) and len(r.bad_statuses) < 20:
            r.bad_statuses.append(f"{call} returned {status} for {data.hex()}")
        return status

    def guarded(self, call: str, data: bytes, fn: Any, *args: Any) -> Any:
        """Run one ABI call; a trap or host error is recorded and the host replaced."""
        try:
            return fn(*args)
        except PluginTrap as exc:
            self.result.traps.append(f"{call}: {exc} input {data.hex()}")
        except HostError as exc:
            self.result.host_errors.append(f"{call}: {exc} input {data.hex()}")
        self.result.calls += 1
        self.host = MosnHost.from_file(self.wasm)
        self.contexts = [self.host.new_context() for _ in range(4)]
        return None

    def step(self, data: bytes | None = None, big: bool = False) -> None:
        """A decode of hostile bytes, then what MOSN might do next."""
        rng, host = self.rng, self.host
        ctx = rng.choice(self.contexts)
        data = self.inputs.next() if data is None else data
        res = self.guarded("decode", data, host.decode, ctx, data)
        if res is None:
            return
        self.record("decode", res.status, data)
        cmd = res.command
        if cmd is not None and (big or rng.random() < 0.8):
            headers = list(cmd.headers)
            payload = cmd.payload
            if big or rng.random() < 0.2:
                headers.append((b"x-soak", rng.randbytes(rng.randrange(40))))
            if rng.random() < 0.1:
                headers = []
            if big:
                payload = data
            elif rng.random() < 0.2:
                payload = rng.randbytes(rng.randrange(300))
            replaced = cmd.id if rng.random() < 0.5 else rng.choice(
                (rng.getrandbits(32), rng.getrandbits(64), 0))
            tos = cmd.timeout_or_status if rng.random() < 0.7 else rng.getrandbits(32)
            out = self.guarded("encode", data, host.encode, ctx, headers, cmd.flag, replaced,
                               cmd.id, tos, payload)
            if out is not None:
                self.record("encode", out.status, data)
        roll = rng.random()
        if big or roll < 0.15:
            code = rng.choice(CODES)
            frame = data if rng.random() < 0.7 else self.inputs.next()
            st_ = self.guarded("hijack", frame, host.hijack, ctx, code, frame,
                               0x40, cmd.id if cmd else 0, 3000)
            if st_ is not None:
                self.record("hijack", st_, frame)
                if st_ == 0 and cmd is not None:
                    out = self.guarded("encode", frame, host.encode, ctx, [], 0, cmd.id, cmd.id,
                                       rng.getrandbits(16), b"")
                    if out is not None:
                        self.record("encode", out.status, frame)
        elif roll < 0.22:
            cid = rng.choice((rng.getrandbits(32), rng.getrandbits(64), 0))
            signed = cid - (1 << 64) if cid >> 63 else cid  # MOSN passes an int64
            st_ = self.guarded("keepalive", b"", host.keepalive, ctx, signed)
            if st_ is not None:
                self.record("keepalive", st_, cid.to_bytes(8, "big"))
                if st_ == 0:
                    out = self.guarded("encode", b"", host.encode, ctx, [], 0x60, cid, cid, 0,
                                       b"")
                    if out is not None:
                        self.record("encode", out.status, b"")
        elif roll < 0.27:
            st_ = self.guarded("reply_keepalive", b"", host.reply_keepalive, ctx)
            if st_ is not None:
                self.record("reply_keepalive", st_, b"")
        elif roll < 0.28:
            self.host.complete_context(ctx)
            self.contexts[self.contexts.index(ctx)] = self.host.new_context()
        host.clear_logs()

    def run(self, calls: int) -> SoakResult:
        r = self.result
        start = time.monotonic()
        # Warm-up: every seed once, and the largest inputs with the largest outputs.
        largest = sorted(self.inputs.pool, key=len)[-3:]
        for data in self.inputs.pool:
            self.step(data)
        for data in largest:
            padded = (data * (self.inputs.cap // max(1, len(data)) + 1))[:self.inputs.cap]
            for _ in range(3):
                self.step(data, big=True)
                self.step(padded, big=True)
        r.pages_after_warmup = self.host.memory_pages
        while r.calls < calls:
            self.step()
        r.pages_at_end = self.host.memory_pages
        r.seconds = time.monotonic() - start
        return r


def soak(spec: Path, calls: int, seed: int = 0, examples: int = 200) -> SoakResult:
    """Run `calls` ABI calls against the spec's plugin; see the module doc."""
    return Soak(spec, compile_file(spec), seed, examples).run(calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("calls", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=200,
                        help="frames and mutations drawn from the strategies (default 200)")
    args = parser.parse_args(argv)
    result = soak(args.spec, args.calls, args.seed, args.examples)
    print(result.summary())
    for line in (result.traps + result.host_errors + result.bad_statuses)[:20]:
        print("  " + line)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
