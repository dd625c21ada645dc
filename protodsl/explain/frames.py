"""A stream of bytes as the codec decodes it, frame after frame: what each
frame is, where its fields lie, and how it ended (consumed, need-more or
malformed). The codec decides; this only records, with `layout` for spans."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from protodsl.codecs import state_env, state_of
from protodsl.explain.layout import Layout, LayoutMismatch, Span, header_spans
from protodsl.ir import Frame, Protocol
from protodsl.ir import expr as ir
from protodsl.plan import FramePlan


@dataclass(frozen=True)
class Consumed:
    size: int


@dataclass(frozen=True)
class NeedMore:
    """`have` bytes, `need` in all when the codec knows it."""

    have: int
    need: int | None


@dataclass(frozen=True)
class Malformed:
    """The codec's error: its class's name, where (`FRAME.FIELD`), the field,
    its offset from the frame's start (None when it has none) and its text."""

    error: str
    where: str
    field: str
    offset: int | None
    detail: str
    message: str


Outcome = Consumed | NeedMore | Malformed


@dataclass(frozen=True)
class FrameReport:
    """One frame at stream offset `start`: its spec frame when known, its spans
    (for a frame the codec did not decode, the header values that are there)."""

    start: int
    frame: Frame | None
    spans: tuple[Span, ...]
    outcome: Outcome
    data: bytes  # from the frame's start to the end of the input
    note: str | None = None  # the walk disagreed with the codec: a protodsl bug, shown


def explain_stream(protocol: Protocol, codec: ModuleType, data: bytes, state: Any = None,
                   layout: Layout | None = None) -> Iterator[FrameReport]:
    """Each frame in `data` until the input ends or a frame is malformed; the
    connection's `state` (default: a new connection's) threads from frame to frame."""
    layout = layout or Layout(protocol, codec)
    state = state_of(codec, state)
    offset = 0
    while offset < len(data):
        rest = data[offset:]
        try:
            result = codec.decode(rest, state)
        except codec.ProtocolError as exc:
            plan = _plan_named(layout, exc.frame)
            yield FrameReport(offset, plan.frame if plan else None,
                              header_spans(plan, rest) if plan else (),
                              Malformed(type(exc).__name__, exc.where, exc.field, exc.offset,
                                        exc.detail, str(exc)), rest)
            return
        if isinstance(result, codec.NeedMore):
            plan = _plan_of_prefix(layout, rest, state)
            yield FrameReport(offset, plan.frame if plan else None,
                              header_spans(plan, rest) if plan else (),
                              NeedMore(result.have, result.need), rest)
            return
        plan = layout.frame_plan(result.frame)
        try:
            spans, note = layout.spans(result.frame, result.consumed, rest, state), None
        except LayoutMismatch as exc:  # still show what is sure: the header
            spans, note = header_spans(plan, rest), f"layout: {exc}"
        yield FrameReport(offset, plan.frame, spans, Consumed(result.consumed), rest, note)
        offset += result.consumed
        state = result.state


def _plan_named(layout: Layout, name: str | None) -> FramePlan | None:
    return layout.plan.frame(name) if name is not None else None


def _plan_of_prefix(layout: Layout, data: bytes, state: Any) -> FramePlan | None:
    """The frame whose `when` holds for the header values these bytes have; None
    when they do not tell yet."""
    for plan in layout.plan.frames:
        env = state_env(layout.codec, state)
        for s in header_spans(plan, data):
            env.update({str(c.name): int(c.value) for c in s.children or (s,)})
        try:
            if ir.evaluate(plan.frame.when, env):
                return plan
        except KeyError:
            continue
    return None
