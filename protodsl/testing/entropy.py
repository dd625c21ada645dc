"""Choices read from one byte string, so that an example costs one Hypothesis draw.

A Hypothesis draw costs tens of microseconds here and a bolt frame built field by
field needs about thirty of them; a frame read from one drawn byte string costs
one. Like libFuzzer's FuzzedDataProvider, reads past the end give zeros, so every
byte string is a valid choice sequence, and Hypothesis shrinking the bytes toward
zero shrinks what they choose (smaller values, shorter fields, the first option).
Integers and sizes keep Hypothesis's habit of trying the edges: a few selector
values stand for bounds and for the values around byte widths."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from hypothesis import reject
from hypothesis import strategies as st

T = TypeVar("T")

# Selector bytes at or above this pick an edge value instead of a uniform one.
_EDGE_FROM = 0xD0
_EDGES = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0xFFFFFF,
          0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
# Sizes: mostly short (0-15), sometimes anything up to the limit, sometimes an edge.
_SHORT_BELOW, _ANY_BELOW = 0xC0, 0xF0
# Variable-size content repeats this many drawn bytes, so long fields stay cheap.
MAX_DRAWN_RUN = 16
# Characters for text: every UTF-8 width, and NUL.
_WIDE_CHARS = "\x00é\u07ff\u0800€中\uffff\U00010000😀\U0010ffff"


class Entropy:
    """A cursor over drawn bytes; each method consumes a few of them."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        pos = self.pos
        self.pos = pos + 1
        return self.data[pos] if pos < len(self.data) else 0

    def raw(self, n: int) -> bytes:
        """Exactly n drawn bytes, zeros past the end."""
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk + bytes(n - len(chunk))

    def unsigned(self, n: int) -> int:
        return int.from_bytes(self.raw(n), "big")

    def integer(self, lo: int, hi: int) -> int:
        """In [lo, hi]: usually uniform (shrinking toward 0, or lo when 0 is out of
        range), sometimes a bound or a value next to a byte-width edge."""
        selector = self.byte()
        if selector >= _EDGE_FROM:
            edges = _edges(lo, hi)
            return edges[(selector - _EDGE_FROM) % len(edges)]
        span = hi - lo + 1
        r = self.unsigned((span.bit_length() + 7) // 8)
        if lo < 0 <= hi:  # zigzag: 0, -1, 1, -2, ... so small draws stay near zero
            value = -(r >> 1) - 1 if r & 1 else r >> 1
            if lo <= value <= hi:
                return value
        return lo + r % span

    def choice(self, options: Sequence[T]) -> T:
        return options[self.byte() % len(options)]

    def chance(self, numerator: int, denominator: int = 256) -> bool:
        return self.byte() * denominator < numerator * 256

    def size(self, limit: int) -> int:
        """A length in [0, limit]: mostly short, sometimes anything, sometimes an edge."""
        selector = self.byte()
        if selector < _SHORT_BELOW:
            return selector % (min(limit, 15) + 1)
        if selector < _ANY_BELOW:
            return self.unsigned(3) % (limit + 1)
        edges = [e for e in (limit, limit - 1, 0xFF, 0x100, 0xFFFF, 0x10000) if 0 <= e <= limit]
        return edges[selector % len(edges)]

    def blob(self, n: int) -> bytes:
        """n bytes: up to MAX_DRAWN_RUN drawn ones, repeated to length."""
        run = self.raw(min(n, MAX_DRAWN_RUN))
        if len(run) == n:
            return run
        return (run * (n // len(run) + 1))[:n]

    def text(self, max_bytes: int) -> str:
        """A string whose UTF-8 form fits max_bytes: ASCII (controls included) and
        characters of every UTF-8 width, repeated to length like `blob`."""
        n = self.size(max_bytes)
        unit = "".join(chr(b) if b < 0x80 else _WIDE_CHARS[b % len(_WIDE_CHARS)]
                       for b in self.raw(min(n, MAX_DRAWN_RUN)))
        if not unit:
            return ""
        text = unit * (n // len(unit.encode()) + 1)
        while len(text.encode()) > n:
            text = text[:-1]
        return text

    def rest(self) -> bytes:
        """The bytes not read yet."""
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk


def _edges(lo: int, hi: int) -> tuple[int, ...]:
    return _EDGE_CACHE.get((lo, hi)) or _EDGE_CACHE.setdefault((lo, hi), tuple(dict.fromkeys(
        v for v in (lo, hi, lo + 1, hi - 1, *_EDGES, *(-e for e in _EDGES)) if lo <= v <= hi)))


_EDGE_CACHE: dict[tuple[int, int], tuple[int, ...]] = {}


def from_entropy(make: Callable[[Entropy], T | None], size: int = 64) -> st.SearchStrategy[T]:
    """Examples made from one drawn byte string of `size` bytes; `make` returns None to
    reject one (a frame its variant's `when` does not choose, say), which Hypothesis
    then discards like a failed `assume`. The size is fixed because Hypothesis draws a
    fixed-size string in one step but a variable one a byte at a time (64 bytes cost
    about what one integer does; 24 to 1,024 bytes cost 25% more per example); its
    shrinker still lowers the bytes toward zero, the simplest choices."""
    def build(data: bytes) -> T:
        made = make(Entropy(data))
        if made is None:
            reject()
        return made

    return st.binary(min_size=size, max_size=size).map(build)
