"""Hostile input never traps, and memory does not grow with the number of calls."""

from __future__ import annotations

import random

import pytest

from protodsl.host import FLAG_REQUEST, FLAG_RESPONSE, HostError, MosnHost, PluginTrap, streams
from protodsl.host.streams import Connection
from tests.wasm.bolt_wire import with_id


def test_mutated_frames_never_trap(host: MosnHost, frames: dict[str, bytes]) -> None:
    """Each input on a context of its own, encoded if it decoded, as MOSN does;
    the emulator raises if the plugin reports anything MOSN would fail on."""
    rng = random.Random(7)
    seeds = [f for f in frames.values() if len(f) < 1000]
    statuses = set()
    for _ in range(1500):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data))
            data[pos] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data) + 1)]
        ctx = host.new_context()
        result = host.decode(ctx, bytes(data))
        statuses.add(result.status)
        cmd = result.command
        if cmd is not None and not cmd.is_request and cmd.heartbeat:
            host.delete_context(ctx)  # MOSN's keepalive takes it, nothing encodes it
        elif cmd is not None:
            out = host.encode(ctx, cmd.headers, cmd.mosn_flag, rng.randrange(1 << 32), cmd.id,
                              cmd.timeout_or_status, cmd.payload)
            assert out.status in (0, 10)
            if out.ok:
                host.delete_context(ctx)  # MOSN leaves the others
    assert statuses == {0, 10, 99}


def test_random_bytes_never_trap(host: MosnHost) -> None:
    """Random bytes decoded, and hijacked as if they were a request: hijack always
    returns 0 and MOSN's encode after it gets an answer or nothing to write."""
    rng = random.Random(11)
    for n in range(600):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        if n % 2:
            data = b"\x01" + data  # get past the proto check more often
        assert streams.decode_one(host, data)[0] in (0, 10, 99)
        ctx = host.new_context()
        assert host.hijack(ctx, rng.choice([200, 503, -7]), data, FLAG_REQUEST, n, 0) == 0
        assert host.encode(ctx, [], FLAG_RESPONSE, n, n, 0, b"").status == 0
        host.delete_context(ctx)


def test_huge_argument_copies_fail_cleanly(host: MosnHost) -> None:
    """malloc refuses buffers far past max_frame; the host reports it, the plugin lives on."""
    ctx = host.new_context()
    with pytest.raises(HostError, match="malloc") as info:
        host.decode(ctx, bytes(200 << 20))
    assert not isinstance(info.value, PluginTrap)
    assert host.memory_pages < 100
    assert host.decode(ctx, b"\x01").status == 99


def test_memory_stays_flat_over_100k_calls(host: MosnHost, frames: dict[str, bytes]) -> None:
    """About 100,000 calls as MOSN makes them: each frame decoded on its own
    context, sent on with a new id (the request then stays for a retry), its
    context deleted; every 5th also a frame never encoded whose context is never
    deleted (left for eviction), every 7th a retry, every 11th a hijack."""
    basic = frames["request_many_headers"]
    big = frames["response_big_content"]
    pages = None
    for i in range(25_000):
        data = with_id(big if i % 97 == 0 else basic, i & 0xFFFF)
        (frame,) = Connection(host).feed(data)
        out = streams.send(host, frame, i)
        assert out.status == 0
        if i % 5 == 4:
            assert Connection(host).feed(with_id(basic, 0x10000 + i))  # never encoded
        if i % 7 == 6 and frame.command.is_request:
            assert streams.resend(host, frame, i, i + 1_000_000).status == 0
        if i % 11 == 10 and frame.command.is_request:
            (request,) = Connection(host).feed(data)
            assert streams.hijack(host, request, 503).status == 0
        if i == 2_000:
            pages = host.memory_pages
    assert host.memory_pages == pages
    assert host.logs == []
