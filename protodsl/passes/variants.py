"""Frame variants: every `when` reads fields found at the same offset, with the
same type, in every variant, so a decoder can choose before it parses."""

from __future__ import annotations

from protodsl.diagnostics import Span
from protodsl.ir import expr as ir
from protodsl.ir.model import BitsField, Frame, IntField
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
    """Validate discriminators; return the bytes needed to choose a variant. A
    frame has every field any `when` reads, except one whose `when` reads no field
    (`state.preface == 1`): that one must only be long enough for a decoder to
    read them before it chooses."""
    needed = 0
    names: set[str] = set()
    for frame in frames:
        names |= ir.fields_read(frame.when)
    for name in sorted(names):
        places = {f.name: _locate(f, name) for f in frames}
        readers = [f for f in frames if places[f.name] is not None
                   or ir.fields_read(f.when)]
        first_frame = readers[0]
        reference = places[first_frame.name]
        for frame in readers:
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
    for frame in frames:
        if any(_locate(frame, n) is None for n in names) and frame.header_size < needed:
            problems.error(frame.when.span, f"frame '{frame.name}' is chosen without the "
                           f"fields the other frames are chosen by, so its fixed start must "
                           f"hold the {needed} bytes a decoder reads to choose; it has "
                           f"{frame.header_size}")
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
