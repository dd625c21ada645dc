"""A small structured emitter: printers write statements and open blocks; the
emitter keeps the indentation, and the braces of brace languages, so no
printer builds control flow by concatenating text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Emitter:
    """Lines of code at the current depth. `block(head)` opens a block:
    `head:` in Python, `head {` ... `}` in C (`braces=True`)."""

    def __init__(self, braces: bool = False, indent: str = "    ", depth: int = 0) -> None:
        self.braces = braces
        self.indent = indent
        self.depth = depth
        self._lines: list[str] = []

    def line(self, text: str = "") -> None:
        """One statement (or a blank line); a multi-line text keeps its shape."""
        for part in text.split("\n"):
            self._lines.append(f"{self.indent * self.depth}{part}" if part else "")

    def lines(self, texts: Iterator[str] | list[str] | tuple[str, ...]) -> None:
        for text in texts:
            self.line(text)

    @contextmanager
    def block(self, head: str) -> Iterator[None]:
        self.line(f"{head} {{" if self.braces else f"{head}:")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if self.braces:
                self.line("}")

    @contextmanager
    def branches(self, heads: list[str]) -> Iterator[list[Emitter]]:
        """`if`/`elif`/`else` chains: one emitter per branch, printed in order
        (a Python `else` joins its `if`; C braces each branch)."""
        parts = [Emitter(self.braces, self.indent, self.depth + 1) for _ in heads]
        yield parts
        for i, (head, part) in enumerate(zip(heads, parts, strict=True)):
            if self.braces:
                opener = f"{head} {{" if i == 0 else f"}} {head} {{"
                self.line(opener)
            else:
                self.line(f"{head}:")
            self._lines.extend(part.text_lines())
        if self.braces and heads:
            self.line("}")

    def text_lines(self) -> list[str]:
        return list(self._lines)

    def text(self) -> str:
        return "\n".join(self._lines)

    def __bool__(self) -> bool:
        return bool(self._lines)
