"""Hostile clients through a real MOSN running the plugin: a few hundred
connections send damaged frames (mutations of real frames recorded from the
Java peers, truncations, huge lengths, noise) while a well-behaved client
runs a load on another connection. MOSN must close every connection that sent
a malformed frame, keep waiting on a partial one, never panic or restart, and
the well-behaved client must see no error."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import pytest

from tests.e2e.setups import Setup, check_mosn

pytestmark = pytest.mark.slow

INPUTS = 240


def hostile_inputs(seeds: list[bytes], rng: random.Random) -> list[bytes]:
    """Damaged versions of real frames, like a mutation fuzzer's first round."""
    out: list[bytes] = []
    while len(out) < INPUTS:
        wire = bytearray(rng.choice(seeds))
        how = rng.randrange(6)
        if how == 0:  # flipped bits
            for _ in range(rng.randint(1, 4)):
                wire[rng.randrange(len(wire))] ^= 1 << rng.randrange(8)
        elif how == 1:  # a header byte overwritten with an edge value
            wire[rng.randrange(min(len(wire), 24))] = rng.choice((0, 1, 0x7F, 0x80, 0xFF))
        elif how == 2:  # a run of 0xff: lengths of 2^32 - 1
            at = rng.randrange(min(len(wire), 24))
            wire[at:at + 4] = b"\xff\xff\xff\xff"
        elif how == 3:  # cut short
            del wire[rng.randrange(1, len(wire)):]
        elif how == 4:  # a good frame, then noise
            wire += rng.randbytes(rng.randint(1, 64))
        else:  # noise
            wire = bytearray(rng.randbytes(rng.randint(1, 128)))
        out.append(bytes(wire))
    return out


def expectation(codec: ModuleType, data: bytes) -> str:
    """What the spec says of `data`: "malformed", "need_more" or "frames"."""
    try:
        _, rest = codec.decode_all(data)
    except codec.ProtocolError:
        return "malformed"
    return "need_more" if rest else "frames"


def poke(port: int, data: bytes) -> bool:
    """Send `data` on a new connection: True if MOSN closed it within 3 s."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
            s.settimeout(3)
            while s.recv(1 << 16):
                pass
        except TimeoutError:
            return False
        except OSError:  # reset: closed
            pass
        return True


@pytest.mark.parametrize("spec", ["bolt", "boltv2", "dubbo"])
def test_hostile_clients_are_cut_off_and_nobody_else_notices(
        setups: Callable[[str], Setup], spec: str) -> None:
    setup = setups(spec)
    mesh = setup.meshes["plugin"]
    assert setup.client("plugin", "sync")["ok"]
    seeds = [setup.codec.encode(f) for f in mesh.frames(setup.codec, "client", "upstream")]
    inputs = hostile_inputs(seeds, random.Random(spec))
    expected = [expectation(setup.codec, data) for data in inputs]
    assert expected.count("malformed") > INPUTS // 3 and "need_more" in expected
    with ThreadPoolExecutor(1) as background:
        load = background.submit(setup.client, "plugin", "load", "--count", "20000",
                                 "--concurrency", "16")
        with ThreadPoolExecutor(16) as pool:
            closed = list(pool.map(lambda data: poke(mesh.direct, data), inputs))
        result = load.result()
    assert result["ok"] and result["errors"] == 0 and result["wrong"] == 0, json.dumps(result)
    for data, want, was_closed in zip(inputs, expected, closed, strict=True):
        if want == "malformed":
            assert was_closed, f"MOSN kept a connection that sent malformed {data.hex()}"
        elif want == "need_more":
            assert not was_closed, f"MOSN closed a connection waiting on {data.hex()}"
    check_mosn(mesh)
