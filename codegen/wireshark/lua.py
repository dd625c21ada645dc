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


def wrap(text: str, width: int = 110) -> str:
    """Lines longer than `width` broken after a `, ` or before a ` .. `, ` + `,
    ` and ` or ` or ` outside string literals, the rest indented two levels
    deeper: printers write one statement per line, and the file stays readable
    (and luacheck-clean)."""
    out: list[str] = []
    for line in text.split("\n"):
        indent = line[:len(line) - len(line.lstrip())]
        comment = line.lstrip().startswith("--")
        while len(line) > width:
            if comment:  # a comment goes on as a comment
                cut = line.rfind(" ", len(indent) + 4, width)
                if cut < 0:
                    break
                out.append(line[:cut])
                line = indent + "-- " + line[cut:].lstrip()
                continue
            at = _break_at(line, width)
            if at is None:
                break
            out.append(line[:at].rstrip())
            line = indent + "    " + line[at:].lstrip()
        out.append(line)
    return "\n".join(out)


def _break_at(line: str, width: int) -> int | None:
    """The last place to break `line` before `width`, outside strings."""
    best: int | None = None
    quoted = False
    i = 0
    while i < min(len(line), width):
        c = line[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif line.startswith(", ", i):
            best = i + 2
        elif line.startswith((" .. ", " + ", " and ", " or "), i):
            best = i + 1
        i += 1
    return best if best is not None and best > len(line) - len(line.lstrip()) + 8 else None
