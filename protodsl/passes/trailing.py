"""`more()`: fields a frame may end before (MQTT 5's reason codes and properties,
"can be omitted if ..."). Only a frame that declares its size knows whether
bytes are left, and only after the field that declares it."""

from __future__ import annotations

from protodsl.ir import expr as ir
from protodsl.ir.model import Element, Frame, Record
from protodsl.passes.problems import Problems


def _reads_more(e: Element) -> bool:
    return e.present is not None and any(isinstance(n, ir.More) for n in ir.walk(e.present))


def check_more(frame: Frame, problems: Problems) -> None:
    rest = frame.rest_field()
    after = False
    for e in frame.elements:
        if _reads_more(e) and not after:
            assert e.present is not None
            problems.error(e.present.span, f"more() asks whether frame '{frame.name}' has "
                           f"bytes left, which only a field after the one declaring the "
                           f"frame's size (`= len(rest)`) can ask")
        after = after or e is rest


def check_record_more(record: Record, problems: Problems) -> None:
    for e in record.elements:
        if _reads_more(e):
            assert e.present is not None
            problems.error(e.present.span, f"record '{record.name}': more() is for a frame's "
                           f"fields; an entry's members are read to the end")
