"""Soak a spec's Wasm plugin in the MOSN host emulator with hostile input.

    python fuzz/wasm_soak.py SPEC CALLS [--seed N] [--examples N]

Builds the plugin (zig, cached), loads it in protodsl.host.MosnHost and makes
CALLS ABI calls with mutated and random input, in the pattern a real MOSN v1.6
calls them (protodsl.host.streams, docs/mosn-abi.md): each decode on a context
of its own (valid frames, frames drawn from strategies.mutations, frames with
random byte, length-field and cut/append mutations, concatenations, random
bytes); a decoded command encoded once on its context with the flag MOSN
passes back (0x40|heartbeat for any request, 0|heartbeat for a response),
maybe later and out of order (headers added or dropped, payloads replaced, ids
re-numbered, timeouts and statuses random), its context deleted after a
successful encode only (MOSN leaves the contexts of failed decodes and
encodes and of frames never encoded; it deletes a decoded heartbeat
response's at once); retries of sent requests under their previous id on a
new context; hijack (any bytes as the request, any code) with the request's
id now, on its context or, once sent, on a new one, then the encode of the
answer; keepalive (any id; 0 is MOSN's probe) on a new context;
reply_keepalive after a decoded heartbeat request.

It checks that nothing traps or makes MOSN fail (PluginTrap, HostError and its
MosnFailure), that every status is one the call may return ({0, 10, 99} for
decode; hijack always 0; 2 only for a builder the spec lacks; reply_keepalive
0 after a heartbeat request), and that memory pages do not change after a
warm-up that runs every seed input and the largest calls once. Prints one
summary line; exits 1 on any finding, with the first inputs that caused it.
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
from protodsl.host import (
    FLAG_HEARTBEAT,
    FLAG_REQUEST,
    FLAG_RESPONSE,
    HostError,
    MosnHost,
    PluginTrap,
)
from protodsl.host.streams import KEEPALIVE_TIMEOUT, Decoded
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


PENDING_MAX = 64  # commands decoded and not yet encoded (MOSN's streams in flight)
SENT_MAX = 64  # sent requests remembered here for a retry or a late hijack


class Soak:
    """One host, the checks on every call, and MOSN's streams in flight."""

    def __init__(self, spec: Path, protocol: Protocol, seed: int, examples: int) -> None:
        codec = load_python(protocol)
        self.has = {b.kind for b in protocol.builders}
        self.wasm = build_wasm(protocol)
        self.rng = random.Random(seed)
        self.inputs = Inputs(protocol, codec, self.rng, examples)
        self.result = SoakResult(spec.name)
        self.fresh_host()

    def fresh_host(self) -> None:
        self.host = MosnHost.from_file(self.wasm)
        self.pending: list[Decoded] = []  # decoded, each on its own context, not encoded
        self.sent: list[tuple[Decoded, int]] = []  # sent requests and the id they went as

    def allowed(self, call: str) -> set[int]:
        if call == "decode":
            return {0, 10, 99}
        if call == "hijack":
            return {0}  # MOSN never unlocks the instance after anything else
        builder = {"keepalive": "keepalive", "reply_keepalive": "keepalive_reply",
                   "hijack": "hijack"}.get(call)
        if builder is not None and builder not in self.has:
            return {2}
        return {0, 10}

    def record(self, call: str, status: int, data: bytes, allowed: set[int] | None = None
               ) -> int:
        r = self.result
        r.calls += 1
        r.by_call[call] += 1
        r.statuses[status] += 1
        if status not in (allowed or self.allowed(call)) and len(r.bad_statuses) < 20:
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
        self.fresh_host()
        return None

    def delete(self, ctx: int) -> bool:
        """MOSN's proxy_on_delete after an encode, or when a stream goes; False if
        it trapped (the host was replaced)."""
        host = self.host

        def delete() -> bool:
            host.delete_context(ctx)
            return True

        return bool(self.guarded("delete", b"", delete))

    def done(self, ctx: int, status: int) -> bool:
        """MOSN deletes a context after a successful encode and leaves it after a
        failed one; False if the deletion trapped (the host was replaced)."""
        return self.delete(ctx) if status == 0 else True

    def new_context(self) -> int | None:
        return self.guarded("context_create", b"", self.host.new_context)

    def send(self, frame: Decoded, data: bytes, big: bool = False) -> None:
        """Encode a decoded command on its context, maybe changed, then delete it."""
        rng, cmd = self.rng, frame.command
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
        replaced = cmd.id if rng.random() < 0.3 else rng.choice(
            (rng.getrandbits(32), rng.getrandbits(64), 0))
        tos = cmd.timeout_or_status if rng.random() < 0.7 else rng.getrandbits(32)
        out = self.guarded("encode", data, self.host.encode, frame.ctx, headers, cmd.mosn_flag,
                           replaced, cmd.id, tos, payload)
        if out is None:
            return
        self.record("encode", out.status, data)
        if not self.done(frame.ctx, out.status):
            return
        if out.status == 0 and cmd.is_request:
            self.sent.append((frame, replaced))
            del self.sent[:-SENT_MAX]

    def resend(self) -> None:
        """MOSN's retry of a sent request: on a new context, the previous id as the
        command id (10 once the plugin forgot it: at most PD_SLOTS/4 are kept)."""
        rng = self.rng
        index = rng.randrange(len(self.sent))
        frame, previous = self.sent[index]
        ctx = self.new_context()
        if ctx is None:
            return
        cmd = frame.command
        new_id = rng.getrandbits(32)
        out = self.guarded("encode", frame.wire, self.host.encode, ctx, cmd.headers,
                           cmd.mosn_flag, new_id, previous, cmd.timeout_or_status, cmd.payload)
        if out is None:
            return
        self.record("encode", out.status, frame.wire)
        if self.done(ctx, out.status) and out.status == 0:
            self.sent[index] = (frame, new_id)

    def hijack(self, frame: Decoded | None, raw: bytes, code: int) -> None:
        """MOSN answers a request itself: the raw bytes it decoded (any bytes here),
        the request's id now; on the request's context before it was sent, on a
        new one after. The encode of the answer follows under that id."""
        rng = self.rng
        if frame is not None:
            ctx, current, flag = frame.ctx, frame.command.id, frame.command.mosn_flag
            tos = frame.command.timeout_or_status
        elif self.sent and rng.random() < 0.5:
            sent, current = rng.choice(self.sent)
            ctx = self.new_context()
            flag, tos = sent.command.mosn_flag, sent.command.timeout_or_status
            if rng.random() < 0.5:
                raw = sent.wire
        else:
            ctx, current, flag, tos = self.new_context(), rng.getrandbits(32), FLAG_REQUEST, 3000
        if ctx is None:
            return
        st_ = self.guarded("hijack", raw, self.host.hijack, ctx, code, raw, flag, current, tos)
        if st_ is None:
            return
        self.record("hijack", st_, raw)
        if st_ == 0:
            back = frame.command.id if frame is not None else rng.getrandbits(32)
            out = self.guarded("encode", raw, self.host.encode, ctx, [], FLAG_RESPONSE, back,
                               current, 0, b"")
            if out is not None:
                self.record("encode", out.status, raw)
                self.done(ctx, out.status)

    def keepalive(self) -> None:
        """MOSN's heartbeat to an idle upstream, on a new context; id 0 is its probe."""
        rng = self.rng
        cid = rng.choice((rng.getrandbits(32), rng.getrandbits(64), 0))
        signed = cid - (1 << 64) if cid >> 63 else cid  # MOSN passes an int64
        ctx = self.new_context()
        if ctx is None:
            return
        st_ = self.guarded("keepalive", b"", self.host.keepalive, ctx, signed)
        if st_ is None:
            return
        self.record("keepalive", st_, cid.to_bytes(8, "big"))
        if st_ == 0 and cid == 0:
            self.delete(ctx)  # the probe: nothing is encoded
        elif st_ == 0:
            out = self.guarded("encode", b"", self.host.encode, ctx, [],
                               FLAG_REQUEST | FLAG_HEARTBEAT, cid, cid, KEEPALIVE_TIMEOUT, b"")
            if out is not None:
                self.record("encode", out.status, b"")
                self.done(ctx, out.status)

    def reply_keepalive(self, ping: Decoded) -> None:
        """MOSN answers a decoded heartbeat request on its context, then encodes the
        answer (even when building it failed) and deletes the context."""
        st_ = self.guarded("reply_keepalive", ping.wire, self.host.reply_keepalive, ping.ctx)
        if st_ is None:
            return
        self.record("reply_keepalive", st_, ping.wire,
                    {2} if "keepalive_reply" not in self.has else {0})
        cmd = ping.command
        out = self.guarded("encode", ping.wire, self.host.encode, ping.ctx, [],
                           FLAG_RESPONSE | FLAG_HEARTBEAT, cmd.id, cmd.id, 0, b"")
        if out is not None:
            self.record("encode", out.status, ping.wire)
            self.done(ping.ctx, out.status)

    def step(self, data: bytes | None = None, big: bool = False) -> None:
        """A decode of hostile bytes on a new context, then what MOSN might do next."""
        rng = self.rng
        data = self.inputs.next() if data is None else data
        ctx = self.new_context()
        if ctx is None:
            return
        res = self.guarded("decode", data, self.host.decode, ctx, data)
        if res is None:
            return
        self.record("decode", res.status, data)
        frame = None
        if res.command is not None:
            frame = Decoded(ctx, res.command, data[:res.command.drain_len])
        roll = rng.random()
        if frame is None:
            pass  # need more (no more bytes come here) or malformed: the context stays
        elif not frame.command.is_request and frame.command.heartbeat:
            self.delete(ctx)  # MOSN's keepalive takes a heartbeat response at once
        elif frame.command.is_request and frame.command.heartbeat and (big or roll < 0.5):
            self.reply_keepalive(frame)
        elif frame.command.is_request and (big or roll < 0.12):
            self.hijack(frame, frame.wire if rng.random() < 0.7 else data, rng.choice(CODES))
        elif big or roll < 0.6:
            self.send(frame, data, big)
        elif roll < 0.9:
            self.pending.append(frame)  # encoded later, out of order
        # else: the stream went before an encode; MOSN leaves the context
        roll = rng.random()
        if self.pending and (roll < 0.3 or len(self.pending) > PENDING_MAX):
            self.send(self.pending.pop(rng.randrange(len(self.pending))), data)
        elif roll < 0.4 and self.sent:
            self.resend()
        elif roll < 0.5:
            frame_bytes = data if rng.random() < 0.7 else self.inputs.next()
            self.hijack(None, frame_bytes, rng.choice(CODES))
        elif roll < 0.57:
            self.keepalive()
        self.host.clear_logs()

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
