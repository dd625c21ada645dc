"""Lua's shape of the shared emitter: a block is `head` ... `end`, and an
`if`/`elseif`/`else` chain closes once, so printers build control flow the same
way in every backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from protodsl.codegen.emitter import Emitter

KEYWORDS = frozenset({
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
    "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
})


class LuaEmitter(Emitter):
    """`block("if x then")` prints the head, the body one level deeper, then `end`."""

    def __init__(self, depth: int = 0) -> None:
        super().__init__(braces=False, indent="  ", depth=depth)

    @contextmanager
    def block(self, head: str) -> Iterator[None]:
        self.line(head)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            self.line("end")

    @contextmanager
    def branches(self, heads: list[str]) -> Iterator[list[Emitter]]:
        """`if c then` / `elseif c then` / `else` heads, one emitter each, one `end`."""
        parts: list[Emitter] = [LuaEmitter(self.depth + 1) for _ in heads]
        yield parts
        for head, part in zip(heads, parts, strict=True):
            self.line(head)
            self._lines.extend(part.text_lines())
        if heads:
            self.line("end")


def key(table: str, name: str) -> str:
    """`table.name`, or `table["name"]` where the name is a Lua keyword."""
    return f'{table}["{name}"]' if name in KEYWORDS else f"{table}.{name}"


def string(text: str | bytes) -> str:
    """A Lua string literal of `text` (bytes kept byte for byte)."""
    raw = text.encode() if isinstance(text, str) else text
    out = []
    for b in raw:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'
