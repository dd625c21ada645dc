"""Numbers in decode error messages, as the spec wrote them: a constant written
`0xCAFEBABE` shows as 0xCAFEBABE, and so does the value read in its place.
Both backends print them alike: the Python codec through `_num(value, fmt)`,
the Wasm plugin through `pd_log_n(value, fmt)`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from protodsl.ir import expr as ir


@dataclass(frozen=True)
class NumberFormat:
    radix: int = 10  # 10, 16 or 2
    digits: int = 0  # hex and binary: at least this many digits, zero-padded
    upper: bool = False  # hex digits A-F

    def show(self, value: int) -> str:
        if self.radix == 10:
            return str(value)
        return ("-" if value < 0 else "") + "0" + self.python[-1].lower() + format(
            abs(value), self.python)

    @property
    def python(self) -> str:
        """The generated module's `fmt` argument: a format spec of the magnitude."""
        if self.radix == 10:
            return "d"
        letter = {16: "X" if self.upper else "x", 2: "b"}[self.radix]
        return f"0{self.digits}{letter}" if self.digits > 1 else letter

    def c(self, unsigned: bool) -> str:
        """The plugin's `fmt` argument (see pd_log_n in protodsl_rt.h)."""
        flags = " | PD_NUM_UNSIGNED" if unsigned else ""
        return f"PD_NUM({self.radix}, {self.digits}, {int(self.upper)}){flags}"


DECIMAL = NumberFormat()


def literal_format(expr: ir.Expr | None) -> NumberFormat:
    """How the spec wrote the literal `expr` is (`Const.spelling`, e.g.
    "0xCAFEBABE"); decimal for anything else."""
    return spelled_format(expr.spelling if isinstance(expr, ir.Const) else None)


def spelled_format(spelling: str | None) -> NumberFormat:
    """`0xCAFEBABE` -> hex, 8 digits, upper case; `0b101` -> binary, 3 digits; `42`
    or no spelling -> decimal."""
    if spelling is None:
        return DECIMAL
    match = re.fullmatch(r"-?0([xXbB])([0-9A-Fa-f_]+)", spelling.strip())
    if match is None:
        return DECIMAL
    digits = match.group(2).replace("_", "")
    if match.group(1) in "bB":
        return NumberFormat(2, len(digits))
    return NumberFormat(16, len(digits), any(c in "ABCDEF" for c in digits))
