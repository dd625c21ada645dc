"""Type names: integer types with optional byte order suffix, and enums."""

from __future__ import annotations

import re
from collections.abc import Iterable

from protodsl.frontend import ast
from protodsl.ir import Enum, EnumMember, IntType
from protodsl.ir.model import ByteOrder
from protodsl.passes.exprs import did_you_mean
from protodsl.passes.problems import Problems

_INT_NAME = re.compile(r"(?P<sign>[ui])(?P<bits>8|16|24|32|64|128)(?P<order>le|be)?")
BUILTIN_TYPES = ("bytes", "text", "kvmap", "list")
INT_TYPES = tuple(f"{sign}{bits}{order}" for sign in "ui" for bits in (8, 16, 24, 32, 64, 128)
                  for order in ("", "le", "be"))


def type_names(enums: Iterable[str]) -> tuple[str, ...]:
    """Every name a field's type may have: integers, the built-in types, the enums."""
    return INT_TYPES + BUILTIN_TYPES + ("varint",) + tuple(enums)


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
            problems.error(decl.span, f"duplicate enum '{decl.name}'",
                           related=((seen[decl.name].span, "first declared here"),))
            continue
        seen[decl.name] = decl
        base = int_type(decl.base, byte_order)
        if base is not None and base.wide:
            problems.error(decl.base_span or decl.span, f"enum '{decl.name}' needs a base of "
                           f"at most 64 bits: 128-bit integers are data only")
            base = IntType(8, base.signed, byte_order)
            bad_base = True
        elif base is None:
            problems.error(decl.base_span or decl.span, f"enum '{decl.name}' needs an integer "
                           f"base type (u8 .. u64, i8 .. i64), not '{decl.base}'",
                           did_you_mean(decl.base, INT_TYPES))
            # Keep the enum, so that its uses are not reported as unknown names too.
            base = IntType(8, decl.base.startswith("i"), byte_order)
            bad_base = True
        else:
            bad_base = False
        members: list[EnumMember] = []
        names: dict[str, ast.EnumMember] = {}
        values: dict[int, ast.EnumMember] = {}
        for m in decl.members:
            if m.name in names:
                problems.error(m.span, f"duplicate member '{m.name}' in enum '{decl.name}'",
                               related=((names[m.name].span, "first declared here"),))
                continue
            # A member with a bad value is reported and kept, so that its uses are
            # not reported too (the spec does not compile either way).
            if m.value in values:
                first = values[m.value]
                problems.error(m.span, f"duplicate value {m.value} in enum '{decl.name}': "
                               f"'{m.name}' and '{first.name}'",
                               related=((first.span, f"'{first.name}' has it"),))
            value = m.value
            if m.value not in values and not bad_base and not base.min <= m.value <= base.max:
                problems.error(m.value_span or m.span, f"value {m.value} of '{m.name}' does "
                               f"not fit {base.name} ({base.min}..{base.max})")
                value = base.min  # no constant of it is reported out of range again
            names[m.name] = m
            values.setdefault(m.value, m)
            members.append(EnumMember(m.name, value, m.doc, m.span))
        if not members:
            problems.error(decl.span, f"enum '{decl.name}' has no members")
        enums.append(Enum(decl.name, base, decl.open, tuple(members), decl.doc, decl.span))
    return tuple(enums)
