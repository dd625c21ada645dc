"""What decode verifies of a value it read (the plan's checks), in Go: the
test, and the refusal in the Python codec's exact words. Frames and records
share it."""

from __future__ import annotations

from protodsl.codegen.mosn_go.expr import Unsupported, go_int
from protodsl.codegen.mosn_go.gotext import Func
from protodsl.codegen.mosn_go.naming import GoNames, go_string
from protodsl.codegen.numbers import DECIMAL, NumberFormat, spelled_format

from protodsl.ir.model import IntField, ValueNode
from protodsl.plan import Check, MustBeMember, MustEqual, MustMatchChecksum, Value


def unsigned(node: ValueNode) -> bool:
    return not isinstance(node, IntField) or not node.type.signed


def show_num(loc: str, value: Value, fmt: NumberFormat) -> str:
    """Go text of the int64 `loc` as the Python codec shows it in a message."""
    uns = "true" if unsigned(value.node) else "false"
    if fmt.radix == 10:
        return f"num({loc}, {uns}, 10, 0, false)"
    return f"num({loc}, {uns}, {fmt.radix}, {fmt.digits}, {'true' if fmt.upper else 'false'})"


def value_checks(f: Func, value: Value, loc: str, offset: str, ret: str, pkg: GoNames,
                 buf: str = "b") -> None:
    """Each check of `value` (read into `loc` at `offset`, Go text, of the frame
    `buf`), in order; `pkg`: the package's."""
    for check in value.checks:
        cond, kind, detail = _check(check, value, loc, offset, buf, pkg)
        f.open(f"if {cond}")
        f.line(f"return {ret}fail({kind}, {go_string(value.name)}, {offset}, {detail})")
        f.close()


def _check(check: Check, value: Value, loc: str, offset: str, buf: str, pkg: GoNames
           ) -> tuple[str, str, str]:
    """The test, the kind and the detail, to the letter the Python codec's."""
    match check:
        case MustEqual(value=want, spelling=spelling):
            fmt = spelled_format(spelling)
            return (f"{loc} != {go_int(want)}", "ConstantMismatch",
                    f"{go_string(f'expected {fmt.show(want)}, got ')}+"
                    f"{show_num(loc, value, fmt)}")
        case MustBeMember(enum=enum):
            return (f"!{pkg.is_member(enum.name)}({loc})", "UnknownEnumValue",
                    f"{go_string(f'not a {enum.name}: ')}+{show_num(loc, value, DECIMAL)}")
        case MustMatchChecksum(kind="crc32", start=start):
            return (f"{loc} != int64(crc32.ChecksumIEEE({buf}[{start}:{offset}]))",
                    "ChecksumMismatch",
                    f"\"crc32 \"+num({loc}, true, 16, 8, false)+"
                    f"{go_string(' does not match the bytes it covers')}")
    raise Unsupported(f"the check {check!r}")
