"""A collector that passes report into; the pipeline stops when it holds errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from protodsl.diagnostics import Diagnostic, Span


@dataclass
class Problems:
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span, message: str, note: str | None = None,
              related: tuple[tuple[Span, str], ...] = ()) -> None:
        self.items.append(Diagnostic(span, message, "error", note, related))

    def __bool__(self) -> bool:
        return bool(self.items)
