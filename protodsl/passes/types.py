"""Type names: integer types with optional byte order suffix, and enums."""

from __future__ import annotations

import re

from protodsl.frontend import ast
from protodsl.ir import Enum, EnumMember, IntType
from protodsl.ir.model import ByteOrder
from protodsl.passes.problems import Problems

_INT_NAME = re.compile(r"(?P<sign>[ui])(?P<bits>8|16|24|32|64)(?P<order>le|be)?")
BUILTIN_TYPES = ("bytes", "text", "kvmap", "list")


def int_type(name: str, default_order: ByteOrder) -> IntType | None:
    """`u16`, `i32le`, `u24be` ...; None when the name is not an integer type."""
    m = _INT_NAME.fullmatch(name)
    if m is None:
        return None
    order: ByteOrder = default_order
    if m["order"] == "le":
        order = "little"
    elif m["order"] == "be":
        order = "big"
    return IntType(int(m["bits"]) // 8, m["sign"] == "i", order)


def resolve_enums(
    decls: tuple[ast.Enum, ...], byte_order: ByteOrder, problems: Problems
) -> tuple[Enum, ...]:
    enums: list[Enum] = []
    seen: dict[str, ast.Enum] = {}
    for decl in decls:
        if decl.name in seen:
            problems.error(decl.span, f"duplicate enum '{decl.name}'")
            continue
        seen[decl.name] = decl
        base = int_type(decl.base, byte_order)
        if base is None:
            problems.error(decl.base_span or decl.span, f"enum '{decl.name}' needs an integer "
                           f"base type (u8 .. u64, i8 .. i64), not '{decl.base}'")
            # Keep the enum, so that its uses are not reported as unknown names too.
            base = IntType(8, decl.base.startswith("i"), byte_order)
            bad_base = True
        else:
            bad_base = False
        members: list[EnumMember] = []
        names: set[str] = set()
        values: dict[int, str] = {}
        for m in decl.members:
            if m.name in names:
                problems.error(m.span, f"duplicate member '{m.name}' in enum '{decl.name}'")
                continue
            if m.value in values:
                problems.error(m.span, f"duplicate value {m.value} in enum '{decl.name}': "
                               f"'{m.name}' and '{values[m.value]}'")
                continue
            if not bad_base and not base.min <= m.value <= base.max:
                problems.error(m.value_span or m.span, f"value {m.value} of '{m.name}' does "
                               f"not fit {base.name} ({base.min}..{base.max})")
                continue
            names.add(m.name)
            values[m.value] = m.name
            members.append(EnumMember(m.name, m.value, m.doc, m.span))
        if not members:
            problems.error(decl.span, f"enum '{decl.name}' has no members")
        enums.append(Enum(decl.name, base, decl.open, tuple(members), decl.doc, decl.span))
    return tuple(enums)
