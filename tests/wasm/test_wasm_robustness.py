"""Hostile input never traps, and memory does not grow with the number of calls."""

from __future__ import annotations

import random

import pytest

from protodsl.host import HostError, MosnHost, PluginTrap
from tests.wasm.bolt_wire import with_id


def test_mutated_frames_never_trap(host: MosnHost, frames: dict[str, bytes]) -> None:
    rng = random.Random(7)
    ctx = host.new_context()
    seeds = [f for f in frames.values() if len(f) < 1000]
    statuses = set()
    for _ in range(1500):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data))
            data[pos] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data) + 1)]
        result = host.decode(ctx, bytes(data))
        statuses.add(result.status)
        if result.ok and result.command is not None:
            cmd = result.command
            out = host.encode(ctx, cmd.headers, cmd.flag, rng.randrange(1 << 32), cmd.id,
                              cmd.timeout_or_status, cmd.payload)
            assert out.status in (0, 10)
    assert statuses == {0, 10, 99}


def test_random_bytes_never_trap(host: MosnHost) -> None:
    rng = random.Random(11)
    ctx = host.new_context()
    for n in range(600):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        if n % 2:
            data = b"\x01" + data  # get past the proto check more often
        assert host.decode(ctx, data).status in (0, 10, 99)
        assert host.hijack(ctx, rng.choice([200, 503, -7]), data) in (0, 10)


def test_huge_argument_copies_fail_cleanly(host: MosnHost) -> None:
    """malloc refuses buffers far past max_frame; the host reports it, the plugin lives on."""
    ctx = host.new_context()
    with pytest.raises(HostError, match="malloc") as info:
        host.decode(ctx, bytes(200 << 20))
    assert not isinstance(info.value, PluginTrap)
    assert host.memory_pages < 100
    assert host.decode(ctx, b"\x01").status == 99


def test_memory_stays_flat_over_100k_calls(host: MosnHost, frames: dict[str, bytes]) -> None:
    """50,000 decodes and 50,000 encodes, over many contexts and ids, with frames
    never encoded (left for eviction) among them."""
    contexts = [host.new_context() for _ in range(8)]
    basic = frames["request_many_headers"]
    big = frames["response_big_content"]
    pages = None
    for i in range(50_000):
        ctx = contexts[i % len(contexts)]
        data = with_id(big if i % 97 == 0 else basic, i & 0xFFFF)
        cmd = host.decode(ctx, data).command
        assert cmd is not None
        if i % 5 == 4:
            host.decode(ctx, with_id(basic, 0x10000 + i))  # never encoded
        out = host.encode(ctx, cmd.headers, cmd.flag, i, cmd.id, cmd.timeout_or_status,
                          cmd.payload)
        assert out.status == 0
        if i == 2_000:
            pages = host.memory_pages
    assert host.memory_pages == pages
    assert host.logs == []
