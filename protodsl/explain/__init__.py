"""Bytes explained field by field, as the generated Python codec decodes them:
`protodsl explain`'s annotated hex dump, `decode --offsets`, and the bytes of a
property test's counterexample. `layout` says where each field lies (and why it
is derived from the codec plan), `frames` walks a stream frame by frame, and
`render` prints the dump."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from protodsl.explain.frames import explain_stream
from protodsl.explain.layout import Layout, LayoutMismatch, Span
from protodsl.explain.render import COLOURED, PLAIN, render
from protodsl.ir import Protocol


def explain(protocol: Protocol, codec: ModuleType, data: bytes, state: Any = None,
            colour: bool = False) -> str:
    """Every frame in `data`, one after another, until the input ends or a frame
    is malformed; `state`: the connection's before the first (a new one's by default)."""
    return render(protocol, explain_stream(protocol, codec, data, state),
                  COLOURED if colour else PLAIN)


__all__ = ["Layout", "LayoutMismatch", "Span", "explain", "explain_stream", "render"]
