"""`more()`: fields a frame may end before (MQTT 5's reason codes and properties,
"can be omitted if ..."). Only a frame that declares its size knows whether
bytes are left, and only after the field that declares it."""

from __future__ import annotations

from protodsl.ir import expr as ir
from protodsl.ir.model import Element, IntField, Record, VarintField
from protodsl.passes.problems import Problems


def check_more(frame: str, elements: tuple[Element, ...], problems: Problems) -> None:
    after = False
    for e in elements:
        if ir.reads_more(e.present) and not after:
            assert e.present is not None
            problems.error(e.present.span, f"more() asks whether frame '{frame}' has bytes "
                           f"left, which only a field after the one declaring the frame's "
                           f"size (`= len(rest)`) can ask")
        after = after or (isinstance(e, IntField | VarintField) and isinstance(e.value, ir.Rest))


def check_record_more(record: Record, problems: Problems) -> None:
    for e in record.elements:
        if ir.reads_more(e.present):
            assert e.present is not None
            problems.error(e.present.span, f"record '{record.name}': more() is for a frame's "
                           f"fields; an entry's members are read to the end")
