"""Frame reports as an annotated hex dump: one line per field (stream offset,
its bytes, its name, its value, its doc comment), nested records, map entries
and bit members indented under theirs, then the frame's outcome. Colour is
ANSI and optional; without it the failing field is still marked in text."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from protodsl.explain.frames import Consumed, FrameReport, Malformed, NeedMore
from protodsl.explain.layout import Span
from protodsl.ir import BitsField, BytesField, IntField, KvMapField, ListField, Protocol
from protodsl.ir.model import BitMember, Enum, VarintField, fixed_width

_SHOWN = 8  # bytes of a field shown in full; a longer one shows its first few
_TEXT = 48  # characters of a text value shown


@dataclass(frozen=True)
class Style:
    """ANSI SGR codes per part of a line; all empty: no colour."""

    offset: str = ""
    bytes: str = ""
    name: str = ""
    value: str = ""
    doc: str = ""
    title: str = ""
    good: str = ""
    wait: str = ""
    bad: str = ""

    def paint(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if code and text else text


PLAIN = Style()
COLOURED = Style(offset="2", bytes="36", name="1", value="32", doc="2", title="1;35",
                 good="32", wait="33", bad="1;31")


def render(protocol: Protocol, reports: Iterable[FrameReport], style: Style = PLAIN) -> str:
    """Every report, a blank line between frames; `(no bytes)` for none."""
    return "\n\n".join("\n".join(_Frame(protocol, r, style).lines()) for r in reports
                       ) or "(no bytes)"


def one_line(doc: str | None) -> str:
    return " ".join(doc.split()) if doc else ""


class _Frame:
    def __init__(self, protocol: Protocol, report: FrameReport, style: Style) -> None:
        self.protocol = protocol
        self.report = report
        self.style = style
        outcome = report.outcome
        self.failing = outcome if isinstance(outcome, Malformed) else None
        self.digits = max(4, len(f"{report.start + len(report.data):x}"))

    def lines(self) -> list[str]:
        r, s = self.report, self.style
        what = r.frame.name if r.frame is not None else "(no frame yet)" if isinstance(
            r.outcome, NeedMore) else "(no frame)"
        title = s.paint(s.title, f"{self.protocol.name} {what} at offset {r.start}")
        doc = one_line(r.frame.doc) if r.frame is not None else ""
        out = [title + (f"  {s.paint(s.doc, doc)}" if doc else "")]
        rows = list(self._rows(r.spans, 0))
        marked = any(failing for *_, failing in rows)
        failing = self.failing
        if failing is not None and not marked:  # a field after the header
            rows.append((self._failed_field(failing), 0, True))
        width = max((len(self._label(span, depth)) for span, depth, _ in rows), default=0)
        self.hex_width = max((len(self._hex(span)) for span, _, _ in rows), default=0)
        out.extend(self._line(span, depth, width, bad) for span, depth, bad in rows)
        if r.note is not None:
            out.append(s.paint(s.bad, f"({r.note})"))
        out.append(self._outcome())
        return out

    def _failed_field(self, failing: Malformed) -> Span:
        """The field the codec refused, past the header values shown: its bytes
        when its width is fixed, else the rest of the input."""
        at = failing.offset if failing.offset is not None else 0
        frames = (self.report.frame,) if self.report.frame else self.protocol.frames
        holder = next((h for f in frames if (h := f.holder(failing.field)) is not None), None)
        width = fixed_width(holder) if holder is not None else None
        return Span(failing.field, at, len(self.report.data) - at if width is None else width,
                    None, None)

    def _rows(self, spans: tuple[Span, ...], depth: int) -> Iterable[tuple[Span, int, bool]]:
        for span in spans:
            yield span, depth, self._fails(span) and not span.children
            yield from self._rows(span.children, depth + 1)

    def _fails(self, span: Span) -> bool:
        f = self.failing
        return f is not None and span.name == f.field and (
            f.offset is None or span.offset <= f.offset < max(span.end, span.offset + 1))

    def _hex(self, span: Span) -> str:
        return _hex(self.report.data[span.offset:span.end])

    def _label(self, span: Span, depth: int) -> str:
        return "  " * depth + _name(span)

    def _line(self, span: Span, depth: int, width: int, bad: bool) -> str:
        s = self.style
        at = f"{self.report.start + span.offset:0{self.digits}x}"
        label = self._label(span, depth).ljust(width)
        value = _value(self.protocol, span)
        doc = one_line(getattr(span.node, "doc", None))
        if bad:
            assert self.failing is not None
            text = (f"{at}  {self._hex(span):<{self.hex_width}}  {label}"
                    f"{'  = ' + value if value else ''}  <-- {self.failing.error}: "
                    f"{self.failing.detail}")
            return s.paint(s.bad, text)
        line = "  ".join((s.paint(s.offset, at),
                          s.paint(s.bytes, f"{self._hex(span):<{self.hex_width}}"),
                          s.paint(s.name, label)))
        if value:
            line += " = " + s.paint(s.value, value)
        if doc:
            line += "  " + s.paint(s.doc, "/// " + doc)
        return line.rstrip()

    def _outcome(self) -> str:
        s, outcome = self.style, self.report.outcome
        if isinstance(outcome, Consumed):
            return s.paint(s.good, f"=> consumed {outcome.size} bytes")
        if isinstance(outcome, NeedMore):
            need = (f"the frame is {outcome.need} bytes ({outcome.need - outcome.have} more)"
                    if outcome.need is not None else "how many more is not known yet")
            return s.paint(s.wait, f"=> need more: have {outcome.have} bytes, {need}")
        at = (f" at frame offset {outcome.offset} (stream offset "
              f"{self.report.start + outcome.offset})" if outcome.offset is not None else "")
        return s.paint(s.bad, f"=> malformed: {outcome.error} in {outcome.where}{at}: "
                              f"{outcome.detail}")


def _name(span: Span) -> str:
    if isinstance(span.node, BitsField):
        return f"bits {span.node.type.name}"
    if isinstance(span.name, bytes):  # a map entry: its key
        return _bytes(span.name)
    return span.name


def _hex(data: bytes) -> str:
    if len(data) <= _SHOWN:
        return data.hex(" ")
    return f"{data[:_SHOWN - 2].hex(' ')} ... ({len(data)})"


def _bytes(data: bytes) -> str:
    """Bytes as text when they are printable UTF-8, else as hex; long ones cut."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        return _text(text)
    shown = data[:_TEXT // 2].hex()
    return f"0x{shown}" + (f"... ({len(data)} bytes)" if len(data) > _TEXT // 2 else "")


def _text(text: str) -> str:
    cut = text if len(text) <= _TEXT else text[:_TEXT] + "..."
    return json.dumps(cut, ensure_ascii=False) + (
        f" ({len(text)} chars)" if len(text) > _TEXT else "")


def _value(protocol: Protocol, span: Span) -> str:
    node, value = span.node, span.value
    if isinstance(node, BitsField):
        set_ = [m.name for m in node.members if m.width == 1 and value >> m.shift & 1]
        shown = f"{value:#0{node.type.width * 2 + 2}x}"
        return shown + (f" [{' '.join(set_)}]" if set_ else "")
    if isinstance(node, BitMember):
        high = node.shift + node.width - 1
        where = f"bit {high}" if node.width == 1 else f"bits {high}-{node.shift}"
        return f"{_number(protocol, node.enum, int(value))}  ({where})"
    if isinstance(node, IntField | VarintField):
        return _number(protocol, node.enum, value) if not isinstance(value, bytes) else (
            "0x" + value.hex())  # a 128-bit integer is carried as its bytes
    if isinstance(node, KvMapField):
        kept = sum(1 for c in span.children if c.value is not None)
        return f"{kept} entr{'y' if kept == 1 else 'ies'}" + (
            f", {len(span.children) - kept} null dropped" if kept < len(span.children) else "")
    if isinstance(node, ListField):
        n = len(span.children)
        return f"{n} record{'' if n == 1 else 's'} ({node.record})"
    if isinstance(node, BytesField):
        return _text(value) if isinstance(value, str) else _bytes(value) if value else '""'
    if node is None and isinstance(span.name, bytes):  # a map entry
        return _bytes(value) if value is not None else "(null: dropped)"
    return ""


def _number(protocol: Protocol, enum_name: str | None, value: Any) -> str:
    """A number, with its enum member's name, or the names of the flags it sets."""
    number = int(value)
    enum = protocol.enum(enum_name) if enum_name else None
    if enum is None:
        return str(number)
    member = next((m for m in enum.members if m.value == number), None)
    if member is not None:
        return f"{number} ({member.name})"
    flags = _flags(enum, number)
    return f"{number} ({flags})" if flags else f"{number} (not a {enum.name})"


def _flags(enum: Enum, value: int) -> str | None:
    """`a|b` for an enum of single bits (flags) whose members cover `value`."""
    bits = [m for m in enum.members if m.value > 0 and m.value & (m.value - 1) == 0]
    if len(bits) < 2 or len(bits) != len(enum.members):
        return None
    names = [m.name for m in bits if value & m.value]
    if sum(m.value for m in bits if value & m.value) != value:
        return None
    return "|".join(names) or None
