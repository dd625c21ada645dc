"""Go text the printers share: a function body that declares its locals as Go
requires, integers read from and appended to byte slices, gofmt's alignment."""

from __future__ import annotations

import re

from protodsl.ir.model import IntType


def align(rows: list[list[str] | str], indent: str) -> list[str]:
    """Rows of cells as gofmt aligns them: columns padded within each run of
    rows; a plain string (a comment) ends a run."""
    out: list[str] = []
    run: list[list[str]] = []

    def flush() -> None:
        if not run:
            return
        widths = [max(len(r[i]) for r in run) for i in range(len(run[0]) - 1)]
        for r in run:
            cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)] + [r[-1]]
            out.append(indent + " ".join(cells).rstrip())
        run.clear()

    for row in rows:
        if isinstance(row, str):
            flush()
            out.append(indent + row if row else "")
        else:
            run.append(row)
    flush()
    return out


def std_width(t: IntType) -> bool:
    """Read and written with encoding/binary (2, 4 or 8 bytes)."""
    return t.width in (2, 4, 8)


def read_int(buf: str, t: IntType, signed: bool | None = None) -> str:
    """int64 text of the integer at `buf` (a []byte expression); one of an odd
    width (u24) through the runtime's readLen, sign-extended when signed."""
    signed = t.signed if signed is None else signed
    if t.width == 1:
        return f"int64(int8({buf}[0]))" if signed else f"int64({buf}[0])"
    little = "true" if t.byte_order == "little" else "false"
    if not std_width(t):
        raw = f"readLen({buf}, {t.width}, {little})"
        return f"signed({raw}, {t.width})" if signed else f"int64({raw})"
    order = "BigEndian" if t.byte_order == "big" else "LittleEndian"
    raw = f"binary.{order}.Uint{8 * t.width}({buf})"
    return f"int64(int{8 * t.width}({raw}))" if signed else f"int64({raw})"


def put_int(t: IntType, value: str, out: str = "out") -> str:
    """Append the integer `value` (int64 text) to the []byte `out`."""
    if t.width == 1:
        return f"{out} = append({out}, byte({value}))"
    if not std_width(t):
        little = "true" if t.byte_order == "little" else "false"
        return f"{out} = putLen({out}, uint64({value}), {t.width}, {little})"
    order = "BigEndian" if t.byte_order == "big" else "LittleEndian"
    return f"{out} = binary.{order}.AppendUint{8 * t.width}({out}, uint{8 * t.width}({value}))"


class Func:
    """A function body: lines, and the locals it declares; a local nothing reads
    is then assigned to `_`, as Go requires."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.decls: list[str] = []
        self.depth = 1

    def line(self, text: str) -> None:
        self.lines.append("\t" * self.depth + text if text else "")

    def decl(self, name: str, value: str) -> None:
        self.decls.append(name)
        self.line(f"{name} := {value}")

    def open(self, head: str) -> None:
        self.line(head + " {")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.line("}")

    def text(self) -> list[str]:
        body = "\n".join(self.lines)
        out = list(self.lines)
        for name in self.decls:
            if len(re.findall(rf"\b{name}\b", body)) == 1:
                i = next(i for i, line in enumerate(out)
                         if line.lstrip().startswith(f"{name} := "))
                out.insert(i + 1, out[i][: len(out[i]) - len(out[i].lstrip())] + f"_ = {name}")
        return out


def go_bytes(data: bytes) -> str:
    """A Go string literal of these exact bytes."""
    return '"' + "".join(chr(b) if 0x20 <= b < 0x7F and chr(b) not in '"\\' else f"\\x{b:02x}"
                         for b in data) + '"'
