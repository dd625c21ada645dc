"""Diagnostics are values: every stage returns them, only the CLI prints them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of a spec file; lines and columns count from 1."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    span: Span
    message: str
    severity: str = "error"
    note: str | None = None
    # Other places the diagnostic is about (the frame that claims the same input
    # first ...), each with what it is: shown after the main one, each with its caret.
    related: tuple[tuple[Span, str], ...] = ()

    def render(self, source: str | None) -> str:
        """`file:line:col: error: message`, then the source line and a caret; a
        related place as `file:line:col: note: what`, its line and its caret."""
        text = f"{self.span}: {self.severity}: {self.message}" + _excerpt(source, self.span)
        for span, what in self.related:
            text += f"\n{span}: note: {what}" + _excerpt(source, span)
        if self.note:
            text += f"\n     = note: {self.note}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "severity": self.severity,
            "message": self.message,
            "note": self.note,
            "related": [{"file": span.file, "line": span.line, "col": span.col, "note": what}
                        for span, what in self.related],
        }


def _excerpt(source: str | None, span: Span) -> str:
    """The source line of `span` and a caret under it, or nothing without the source."""
    line = _source_line(source, span.line)
    if line is None:
        return ""
    width = 1
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    col = min(span.col, len(line) + 1)
    line, col, width = _window(line, col, width)
    gutter = f"{span.line:>4} | "
    caret = " " * (len(gutter) + col - 1) + "^" + "~" * (width - 1)
    return f"\n{gutter}{line}\n{caret}"


class SpecError(Exception):
    """Raised by the compiler's entry points when a spec has errors."""

    def __init__(self, diagnostics: Iterable[Diagnostic], source: str | None) -> None:
        self.diagnostics = tuple(sorted(diagnostics, key=_position))
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render(self.source) for d in self.diagnostics)

    def to_json(self) -> str:
        return json.dumps([d.to_json() for d in self.diagnostics], indent=2)


def _position(d: Diagnostic) -> tuple[int, int]:
    return (d.span.line, d.span.col)


def _source_line(source: str | None, line: int) -> str | None:
    """Line `line` as the parser counts lines (only "\n" ends one), printable: each
    tab, control or line-separator character becomes one character, so the caret
    stays under its column and the terminal receives no control sequence."""
    if source is None:
        return None
    lines = source.split("\n")
    if 1 <= line <= len(lines):
        return _UNPRINTABLE.sub(_printable, lines[line - 1].removesuffix("\r"))
    return None


_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def _printable(m: re.Match[str]) -> str:
    return " " if m.group() == "\t" else "\ufffd"


_WINDOW = 120  # characters of a long source line shown around the caret


def _window(line: str, col: int, width: int) -> tuple[str, int, int]:
    """Cut a long line to the part around the caret, marking cuts with '...'."""
    if len(line) <= _WINDOW:
        return line, col, width
    start = max(0, col - 1 - _WINDOW // 3)
    end = min(len(line), start + _WINDOW)
    head = "..." if start > 0 else ""
    tail = "..." if end < len(line) else ""
    col = col - start + len(head)
    width = max(1, min(width, end - (col - len(head) - 1 + start)))
    return head + line[start:end] + tail, col, width
