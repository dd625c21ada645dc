"""Frame variants: every `when` reads fields found at the same offset, with the
same type, in every variant, so a decoder can choose before it parses."""

from __future__ import annotations

import dataclasses

from protodsl.diagnostics import Span
from protodsl.ir import expr as ir
from protodsl.ir.model import BitMember, BitsField, Element, Frame, IntField
from protodsl.passes.problems import Problems

# (container offset, container type, its byte order, shift, width) of a value
Place = tuple[int | None, str, str, int, int]


def _locate(frame: Frame, name: str) -> Place | None:
    for e in frame.elements:
        if isinstance(e, IntField) and e.name == name:
            return e.offset, e.type.name, e.type.byte_order, 0, e.type.bits
        if isinstance(e, BitsField):
            for m in e.members:
                if m.name == name:
                    return e.offset, e.type.name, e.type.byte_order, m.shift, m.width
    return None


def check_variants(frames: tuple[Frame, ...], problems: Problems) -> int:
    """Validate discriminators; return the bytes needed to choose a variant."""
    needed = 0
    names: set[str] = set()
    for frame in frames:
        names |= ir.fields_read(frame.when)
    for name in sorted(names):
        places = {f.name: _locate(f, name) for f in frames}
        first_frame = frames[0]
        reference = places[first_frame.name]
        for frame in frames:
            place = places[frame.name]
            span = frame.when.span
            if place is None:
                problems.error(span, f"frame '{frame.name}' has no field '{name}', which "
                               f"chooses between frame variants")
            elif place[0] is None:
                problems.error(span, f"'{name}' chooses a frame variant, so it must be at a "
                               f"fixed offset in frame '{frame.name}'")
            elif reference is not None and place != reference:
                problems.error(_declared_at(frame, name) or span, f"'{name}' chooses a frame "
                               f"variant, so it must have the same offset and type in every "
                               f"frame; '{frame.name}' differs from '{first_frame.name}'",
                               note=f"{_where(place)} in '{frame.name}', {_where(reference)} "
                                    f"in '{first_frame.name}'")
            elif place[0] is not None:
                container = next(e for e in frame.elements
                                 if isinstance(e, IntField | BitsField) and _holds(e, name))
                needed = max(needed, place[0] + container.type.width)
    return needed


def _where(place: Place) -> str:
    offset, type_name, order, shift, width = place
    where = f"{type_name}{f' ({order} endian)' if type_name[1:] != '8' else ''} at offset {offset}"
    if width != int(type_name[1:]):
        where += f", bits {shift}..{shift + width - 1}"
    return where


def _declared_at(frame: Frame, name: str) -> Span | None:
    for e in frame.elements:
        if isinstance(e, IntField) and e.name == name:
            return e.span
        if isinstance(e, BitsField):
            for m in e.members:
                if m.name == name:
                    return m.span
    return None


def _holds(e: IntField | BitsField, name: str) -> bool:
    if isinstance(e, IntField):
        return e.name == name
    return any(m.name == name for m in e.members)


def pin_defaults(frame: Frame) -> Frame:
    """A value that `when` restricts (`type == response`, `type in {request, ...}`)
    defaults to the first value it allows, so a new frame is valid as built."""
    pins: dict[str, int] = {}
    for node in ir.walk(frame.when):
        match node:
            case ir.Binary(op="==", left=ir.FieldValue(field=name), right=right) if (
                ir.is_constant(right)
            ):
                pins.setdefault(name, ir.evaluate(right))
            case ir.InSet(operand=ir.FieldValue(field=name), values=values):
                pins.setdefault(name, values[0])
            case _:
                pass
    if not pins:
        return frame

    def pin(e: Element) -> Element:
        if isinstance(e, IntField) and e.name in pins and e.value is None:
            return dataclasses.replace(e, default=pins[e.name])
        if isinstance(e, BitsField):
            members = tuple(_pin_member(m, pins) for m in e.members)
            return dataclasses.replace(e, members=members)
        return e

    return dataclasses.replace(frame, elements=tuple(pin(e) for e in frame.elements))


def _pin_member(m: BitMember, pins: dict[str, int]) -> BitMember:
    if m.name in pins and m.value is None:
        return dataclasses.replace(m, default=pins[m.name])
    return m
