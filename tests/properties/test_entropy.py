"""The entropy reader behind the strategies: values stay in range, the all-zero
string is the simplest example, edges are reachable, and the frames it makes
cover what the properties need (every variant, long fields, edge values)."""

from __future__ import annotations

import random
from collections import Counter
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable

from protodsl.codecs import load_python
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst
from protodsl.testing.entropy import Entropy, from_entropy
from protodsl.testing.scenarios import scenarios
from tests.helpers import SPECS

RANGES = [(0, 0), (0, 1), (0, 255), (-128, 127), (0, 0xFFFF), (-(1 << 31), (1 << 31) - 1),
          (0, 0xFFFFFFFF), (0, (1 << 64) - 1), (5, 9), (-9, -5), (300, 70000)]


@given(st.binary(max_size=64), st.sampled_from(RANGES))
def test_integers_stay_in_range(data: bytes, bounds: tuple[int, int]) -> None:
    e = Entropy(data)
    for _ in range(8):
        assert bounds[0] <= e.integer(*bounds) <= bounds[1]


@given(st.binary(max_size=64), st.integers(0, 70000))
def test_sizes_blobs_and_text_stay_in_limits(data: bytes, limit: int) -> None:
    e = Entropy(data)
    n = e.size(limit)
    assert 0 <= n <= limit
    assert len(e.blob(n)) == n
    assert len(e.text(limit).encode()) <= limit


def test_reads_past_the_end_are_zeros_and_zeros_are_the_simplest_choices() -> None:
    e = Entropy(b"")
    assert e.byte() == 0 and e.raw(3) == bytes(3) and e.unsigned(4) == 0
    assert e.integer(0, 0xFFFFFFFF) == 0
    assert e.integer(-(1 << 31), (1 << 31) - 1) == 0  # signed values shrink toward zero
    assert e.integer(5, 9) == 5
    assert e.size(300) == 0 and e.text(40) == "" and e.choice("abc") == "a"


def test_edges_are_reachable() -> None:
    seen: set[int] = set()
    for selector in range(256):
        seen.add(Entropy(bytes([selector])).integer(0, 0xFFFFFFFF))
        seen.add(Entropy(bytes([selector])).integer(-(1 << 31), (1 << 31) - 1))
    assert {0, 1, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
            -(1 << 31), -1} <= seen
    sizes = {Entropy(bytes([s, 0xFF, 0xFF, 0xFF])).size(300) for s in range(256)}
    assert {0, 15, 255, 256, 299, 300} <= sizes


def test_text_covers_every_utf8_width() -> None:
    widths = Counter(len(ch.encode()) for s in range(256)
                     for ch in Entropy(bytes([15]) + bytes(range(s, 256))).text(60))
    assert set(widths) == {1, 2, 3, 4}


def test_a_maker_returning_none_rejects_the_example() -> None:
    @given(from_entropy(lambda e: None))
    def never(_: object) -> None:
        raise AssertionError("a rejected example reached the test")

    with pytest.raises((FailedHealthCheck, Unsatisfiable)):
        never()


def _made(protocol: Protocol, codec: ModuleType, n: int = 3000) -> list[object]:
    make = pst.frame_maker(protocol, codec)
    rng = random.Random(0)
    made = [make(Entropy(rng.randbytes(rng.randrange(8, 120)))) for _ in range(n)]
    return [f for f in made if f is not None]


@pytest.mark.parametrize("spec", sorted(p.name for p in SPECS.glob("*.proto-dsl")))
def test_frames_reach_every_variant_and_encode(spec: str) -> None:
    """In each connection state worth trying (one for a stateless spec), frames
    of every variant the state can reach, rarely rejected; every variant in some
    state."""
    protocol = compile_file(SPECS / spec)
    plain = load_python(protocol)
    kinds: Counter[type] = Counter()
    for scenario in scenarios(protocol):
        codec = scenario.bind(plain)
        reachable = [f for f in protocol.frames if scenario.reaches(f)]
        made = _made(protocol, codec)
        share = len(reachable) / len(protocol.frames)
        assert len(made) > 0.9 * 3000 * share, f"the maker rejects too often: {scenario.label}"
        found = Counter(type(f) for f in made)
        assert set(found) == {plain.FRAMES[protocol.frames.index(f)] for f in reachable}, found
        kinds += found
        for f in made[:300]:
            assert codec.decode(codec.encode(f)).frame == f
    assert set(kinds) == set(plain.FRAMES), kinds


def test_bolt_frames_reach_long_fields_and_edge_ids(bolt_protocol: Protocol,
                                                    bolt: ModuleType) -> None:
    made = _made(bolt_protocol, bolt)
    contents = [len(bolt.payload(f)) for f in made]
    ids = {bolt.command_id(f) for f in made}
    headers = [len(bolt.headers(f)) for f in made]
    assert max(contents) > 255 and min(contents) == 0
    assert {0, 0xFFFFFFFF} <= ids
    assert max(headers) >= 5 and 0 in headers
