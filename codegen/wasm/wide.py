"""The plugin's integers are 64-bit. A 128-bit integer is data only (no
expression, role, constant or builder reads or sets it, so any 16 bytes are a
value), and the plugin carries it as its 16 bytes: the same reads, writes,
need-more points and messages as the integer."""

from __future__ import annotations

import dataclasses

from protodsl.ir import expr as ir
from protodsl.ir.model import Builder, BytesField, Element, IntField, Protocol


def as_bytes(protocol: Protocol) -> Protocol:
    """`protocol` with every 128-bit integer a `bytes[16]` field."""
    wide = {e.name for f in protocol.frames for e in f.elements
            if isinstance(e, IntField) and e.type.wide}
    if not wide:
        return protocol
    frames = tuple(dataclasses.replace(f, elements=tuple(_element(e) for e in f.elements))
                   for f in protocol.frames)
    builders = tuple(_builder(b, protocol, wide) for b in protocol.builders)
    return dataclasses.replace(protocol, frames=frames, builders=builders)


def _element(e: Element) -> Element:
    if isinstance(e, IntField) and e.type.wide:
        return BytesField(e.name, ir.Const(16, e.span), False, None, e.offset, e.doc, e.span,
                          e.present)
    return e


def _builder(b: Builder, protocol: Protocol, wide: set[str]) -> Builder:
    """A built frame's 128-bit integers take their default, 0: sixteen zero bytes,
    among its literals in wire order."""
    zeros = {name for name, _ in b.assignments if name in wide}
    data = dict(b.data) | dict.fromkeys(zeros, bytes(16))
    frame = next(f for f in protocol.frames if f.name == b.frame)
    return dataclasses.replace(
        b, assignments=tuple((n, v) for n, v in b.assignments if n not in wide),
        data=tuple((e.name, data[e.name]) for e in frame.elements if e.name in data))
