"""What tells a stream's bytes apart before any decoding: the constants each
frame has at fixed offsets of its header. MOSN's protocol matcher (the Go
codec's MatchBytes) and Wireshark's heuristic dissector both read them; a frame
without one cannot be recognised by its bytes."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.ir.model import BitsField, IntField, IntType
from protodsl.plan.model import FramePlan, MustEqual


@dataclass(frozen=True)
class Marker:
    """A constant a matcher compares: the container at `offset`, shifted and masked."""

    name: str
    offset: int
    container: IntType
    shift: int
    mask: int | None
    value: int


def markers(fp: FramePlan) -> tuple[Marker, ...]:
    """The frame's constants at fixed header offsets, always on the wire, by offset."""
    out = []
    for r in fp.decode.header:
        if r.offset is None or r.present is not None:
            continue
        for v in r.values:
            for c in v.checks:
                if isinstance(c, MustEqual):
                    assert isinstance(r.element, IntField | BitsField)
                    out.append(Marker(v.name, r.offset, r.element.type, v.shift, v.mask,
                                      c.value))
    return tuple(sorted(out, key=lambda m: m.offset))
