"""Frame items to IR elements: types resolved, values checked, offsets laid out."""

from __future__ import annotations

import dataclasses

from protodsl.frontend import ast
from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    ByteOrder,
    BytesField,
    Element,
    Enum,
    IntField,
    IntType,
    KvMapField,
    ListField,
    Record,
    RecordMember,
    VarintField,
)
from protodsl.passes.exprs import BOOL, INT, ExprResolver, Scope, did_you_mean, report_unknown
from protodsl.passes.lengths import check_lengths
from protodsl.passes.problems import Problems
from protodsl.passes.types import BUILTIN_TYPES, int_type, type_names

CHECKSUMS = {"crc32": 4}  # name -> width in bytes
MAX_VARINT_BYTES = 9  # 63 bits: every value fits a signed 64-bit integer
REST = "rest"  # `len(rest)` and `bytes[rest]`, unless a field takes the name


def frame_scope(frame: ast.Frame, enums: dict[str, Enum], problems: Problems) -> Scope:
    """The names a frame declares, each once."""
    scope = Scope(enums)
    seen: dict[str, ast.Field | ast.BitMember] = {}
    for item in frame.items:
        named = item.members if isinstance(item, ast.Bits) else (item,)
        for node in named:
            if node.name.startswith("_"):
                problems.error(node.span, f"names starting with '_' are reserved: '{node.name}'")
            if node.name in seen:
                first = seen[node.name].span
                problems.error(node.span, f"duplicate field '{node.name}' in frame "
                               f"'{frame.name}'", related=((first, "first declared here"),))
                continue
            seen[node.name] = node
            if isinstance(node, ast.BitMember):
                if node.enum is not None and node.enum not in enums:
                    scope.untyped.add(node.name)  # reported where the bits are laid out
                else:
                    scope.values[node.name] = node.enum
            elif node.type.name in BUILTIN_TYPES:
                scope.sized.add(node.name)
                if node.type.name == "list":
                    scope.lists.add(node.name)
            elif node.type.name in enums or node.type.name == "varint" or int_type(
                    node.type.name, "big") is not None:
                scope.values[node.name] = node.type.name if node.type.name in enums else None
                wide = int_type(node.type.name, "big")
                if wide is not None and wide.wide:
                    scope.wide.add(node.name)
            else:
                scope.untyped.add(node.name)  # reported where the field is laid out
    return scope


def lay_out(
    frame: ast.Frame, scope: Scope, order: ByteOrder, problems: Problems
) -> tuple[Element, ...]:
    resolver = ExprResolver(scope, problems)
    elements: list[Element] = []
    offset: int | None = 0
    bits_count = 0
    for item in frame.items:
        element: Element | None
        if isinstance(item, ast.Bits):
            element = _bits(item, f"_bits{bits_count}", offset, scope, resolver, order, problems)
            bits_count += 1
        else:
            element = _field(item, offset, scope, resolver, order, problems)
        if element is not None and item.present is not None:
            present = resolver.resolve(item.present, BOOL, state=True, more=True)
            element = dataclasses.replace(element, present=present) if present else None
        if element is None:  # reported: no use of it is reported again
            named = item.members if isinstance(item, ast.Bits) else (item,)
            scope.broken.update(node.name for node in named)
            offset = None
            continue
        elements.append(element)
        offset = _next_offset(element, offset) if element.present is None else None
    return tuple(elements)


def _next_offset(element: Element, offset: int | None) -> int | None:
    if offset is None:
        return None
    if isinstance(element, IntField | BitsField):
        return offset + element.type.width
    if isinstance(element, BytesField) and ir.is_constant(element.size):
        return offset + ir.evaluate(element.size)
    return None


def _value(
    node: ast.Field | ast.BitMember, typ: IntType | None, enum: str | None,
    resolver: ExprResolver, scope: Scope, problems: Problems,
) -> tuple[ir.Expr | None, bool, int]:
    """(value expression, is it a constant, default for a free value)."""
    members = scope.enums[enum].members if enum else ()
    default = members[0].value if members else 0  # an enum without members is reported
    if node.value is None:
        return None, False, default
    if isinstance(node.value, ast.Call) and node.value.func == "len" and len(
            node.value.args) == 1 and _is_rest(node.value.args[0], scope):
        if isinstance(node, ast.BitMember):
            problems.error(node.value.span, "len(rest) declares the frame's size; it needs an "
                           "integer or varint field, not a bit member")
            return None, False, default
        return ir.Rest(node.value.span), False, 0
    if isinstance(node.value, ast.Call) and node.value.func in CHECKSUMS:
        return _checksum(node, node.value, typ, scope, problems), False, default
    value = resolver.resolve(node.value, enum or INT, hint=enum)
    if value is None:
        return None, False, default
    constant = ir.is_constant(value)
    if constant:
        v = ir.evaluate(value)
        lo, hi = _range(node, typ)
        if not lo <= v <= hi:
            problems.error(node.value.span, f"constant {v} does not fit '{node.name}' "
                           f"({lo}..{hi})")
        default = v
    return value, constant, default


def _checksum(
    node: ast.Field | ast.BitMember, call: ast.Call, typ: IntType | None, scope: Scope,
    problems: Problems,
) -> ir.Expr | None:
    """`crc32(first, last)`: the checksum of the bytes from `first` through `last`."""
    width = CHECKSUMS[call.func]
    if typ is None or typ.width != width or typ.signed:
        problems.error(node.span, f"{call.func} needs an unsigned field of {width} bytes")
        return None
    names = [a.name for a in call.args if isinstance(a, ast.NameRef)]
    if len(names) != 2 or len(call.args) != 2:
        problems.error(call.span, f"{call.func}(first, last) takes the first and the last "
                       f"field of the range it covers")
        return None
    for name in names:
        if name in scope.untyped:
            return None  # its unknown type is reported
        if name not in scope.values and name not in scope.sized:
            problems.error(call.span, f"unknown field '{name}'",
                           did_you_mean(name, scope.fields()))
            return None
    return ir.Checksum(call.func, names[0], names[1], call.span)


def _range(node: ast.Field | ast.BitMember, typ: IntType | None) -> tuple[int, int]:
    if isinstance(node, ast.BitMember):
        return 0, (1 << node.width) - 1
    if typ is None:  # a varint: its own check knows its range
        return 0, 1 << 63
    return typ.min, typ.max


def _field(
    f: ast.Field, offset: int | None, scope: Scope, resolver: ExprResolver,
    order: ByteOrder, problems: Problems,
) -> Element | None:
    t = f.type
    name = t.name
    enum = scope.enums.get(name)
    typ = enum.base if enum else int_type(name, order)
    if name == "varint" and enum is None:
        return _varint(f, offset, scope, resolver, problems)
    if typ is not None:
        if t.args or t.size is not None:
            problems.error(t.span, f"integer type '{name}' takes no arguments or size")
        if typ.wide and (f.value is not None or f.default is not None):
            problems.error(f.span, f"'{f.name}' is a 128-bit integer: data only, so it takes "
                           f"no value or default")
            return None
        value, constant, default = _value(f, typ, enum.name if enum else None, resolver,
                                          scope, problems)
        return IntField(f.name, typ, enum.name if enum else None, value, constant, default,
                        offset, f.doc, f.span)
    if name not in BUILTIN_TYPES:
        if name in scope.records or name in scope.broken_records:
            problems.error(t.span, f"'{name}' is a record: a field holds records as a list, "
                           f"list({name})[size]")
        else:
            types = type_names([*scope.enums, *scope.records, *scope.broken_records])
            report_unknown(scope, problems, t.span, f"unknown type '{name}'", did_you_mean(
                name, types) or "integer types are u8 u16 u24 u32 u64 and i8 .. i64, with an "
                "optional le/be suffix; others: bytes, text, kvmap, list, varint, or an enum")
        return None
    if f.value is not None:
        problems.error(f.value.span, f"'{f.name}' is {name}; only integer fields take a value")
    if t.size is None:
        problems.error(t.span, f"'{f.name}' needs a size: {name}[length]")
        return None
    size = (ir.Rest(t.size.span) if _is_rest(t.size, scope)
            else resolver.resolve(t.size, INT))
    if size is None:
        return None
    if ir.is_constant(size) and ir.evaluate(size) < 0:
        problems.error(t.size.span, f"the size of '{f.name}' is negative "
                       f"({ir.evaluate(size)})")
        return None
    if name == "list":
        return _list(f, t, size, offset, scope, problems)
    args = _args(t, problems)
    if name == "kvmap":
        return _kvmap(f, t, args, size, offset, order, problems)
    pad = None
    if "pad" in args:
        pad_expr = args.pop("pad")
        pad = ir.evaluate(pad_expr) if isinstance(pad_expr, ir.Const) else -1
        if not 0 <= pad <= 255:
            problems.error(pad_expr.span, "pad must be a byte value (0..255)")
        if not ir.is_constant(size):
            problems.error(t.size.span, "a padded field needs a fixed width")
    for extra, arg in args.items():
        known = " (known: pad)" if name == "bytes" else ""
        problems.error(arg.span, f"unknown argument '{extra}' for {name}{known}")
    return BytesField(f.name, size, name == "text", pad, offset, f.doc, f.span)


def _is_rest(e: ast.Expr | ast.FieldRange, scope: Scope) -> bool:
    """`rest` names the rest of the frame where no field is called so."""
    return (isinstance(e, ast.NameRef) and e.name == REST
            and REST not in scope.values and REST not in scope.sized)


def _varint(
    f: ast.Field, offset: int | None, scope: Scope, resolver: ExprResolver, problems: Problems,
) -> VarintField | None:
    """`varint(N)`: unsigned LEB128 of at most N bytes; `= len(rest)` declares the
    frame's size."""
    t = f.type
    widths = [a.value.value for a in t.args if a.name is None and isinstance(a.value, ast.IntLit)]
    if len(widths) != 1 or len(t.args) != 1 or t.size is not None:
        problems.error(t.span, "varint takes its most bytes and no size: varint(4)")
        return None
    if not 1 <= widths[0] <= MAX_VARINT_BYTES:
        problems.error(t.args[0].span, f"a varint has 1 to {MAX_VARINT_BYTES} bytes, "
                       f"not {widths[0]}")
        return None
    field = VarintField(f.name, widths[0], None, False, 0, offset, f.doc, f.span)
    v = f.value
    if isinstance(v, ast.Call) and v.func == "len" and len(v.args) == 1 and _is_rest(
            v.args[0], scope):
        return dataclasses.replace(field, value=ir.Rest(v.span))
    value, constant, default = _value(f, None, None, resolver, scope, problems)
    if constant and not 0 <= default <= field.max:
        problems.error(f.span, f"constant {default} does not fit '{f.name}' (0..{field.max})")
    return dataclasses.replace(field, value=value, constant=constant, default=default)


def _list(
    f: ast.Field, t: ast.TypeRef, size: ir.Expr, offset: int | None, scope: Scope,
    problems: Problems,
) -> ListField | None:
    names = [a.value.name for a in t.args if a.name is None and isinstance(a.value, ast.NameRef)]
    if len(names) != 1 or len(t.args) != 1:
        problems.error(t.span, "list needs one record type: list(Record)[size]")
        return None
    if names[0] in scope.broken_records:
        return None  # what is wrong with the record is reported
    if names[0] not in scope.records:
        report_unknown(scope, problems, t.args[0].span, f"unknown record '{names[0]}'",
                       did_you_mean(names[0], scope.records))
        return None
    return ListField(f.name, names[0], size, offset, f.doc, f.span)


def lay_out_record(
    decl: ast.Record, enums: dict[str, Enum], order: ByteOrder, problems: Problems
) -> Record | None:
    """A record laid out from offset 0: fixed-width fields, or integers and
    text/bytes members sized by an earlier integer of the record (`variable`)."""
    nested = [item for item in decl.items if isinstance(item, ast.Field)
              and item.type.name in ("list", "kvmap") and item.type.name not in enums]
    for item in nested:
        # Said here: laid out, a list would look its record up among none.
        problems.error(item.span, f"record '{decl.name}' cannot hold a {item.type.name}: "
                       f"'{item.name}'; a record holds integers, text and bytes",
                       note=f"keep '{item.name}' as bytes (`{item.name}: bytes[n]` after an "
                       f"integer `n: u16 = len({item.name})`), or keep the frame's list of "
                       f"{decl.name} as bytes")
    if nested:
        return None
    stand_in = ast.Frame(decl.name, ast.IntLit(1, decl.span), decl.items, (), decl.doc,
                         decl.span)
    scope = frame_scope(stand_in, enums, problems)
    reported = len(problems.items)
    elements = lay_out(stand_in, scope, order, problems)
    if len(problems.items) != reported:
        return None  # a member that did not lay out: the record's shape would only echo it
    # Read member by member (not as one struct): sized, varint, conditional members
    # and closed enums, whose values decode checks one by one.
    variable = any(isinstance(e, BytesField | VarintField) or e.present is not None or (
        isinstance(e, IntField) and e.enum is not None and not enums[e.enum].open)
        for e in elements)
    fixed: list[RecordMember] = []
    for e in elements:
        computed = isinstance(e, IntField | VarintField) and e.value is not None and (
            not e.constant)
        if isinstance(e, BytesField) and e.pad is None and not isinstance(e.size, ir.Rest):
            fixed.append(e)
            continue
        if isinstance(e, IntField) and computed and variable and not isinstance(
                e.value, ir.Checksum):
            fixed.append(e)  # `filter_len: u16 = len(filter)`
            continue
        if isinstance(e, VarintField) and not computed and not isinstance(e.value, ir.Rest):
            fixed.append(e)
            continue
        if isinstance(e, BitsField):
            problems.error(e.span, f"record '{decl.name}' holds integers, text and bytes; "
                           f"bits are not supported in a record yet")
            continue
        if isinstance(e, IntField) and e.type.width == 3:
            problems.error(e.span, f"record '{decl.name}' holds integers of 1, 2, 4 or 8 "
                           f"bytes; '{e.name}' is 24 bits")
            continue
        if isinstance(e, IntField) and not variable and e.type.width > 1 and (
                e.type.byte_order != order):
            problems.error(e.span, f"the integers of record '{decl.name}' are in the "
                           f"protocol's byte order ({order}); '{e.name}' is not")
            continue
        if isinstance(e, IntField) and e.type.wide:
            problems.error(e.span, f"record '{decl.name}' holds integers of at most 64 bits: "
                           f"'{e.name}' is 128 bits")
            continue
        if not isinstance(e, IntField) or computed:
            problems.error(e.span, f"record '{decl.name}' can hold only integers and varints "
                           f"that are free or constant, and text or bytes members sized by "
                           f"an earlier integer (`n: u16 = len(x)  x: text[n]`): '{e.name}'")
            continue
        fixed.append(e)
    if len(fixed) != len(elements) or not fixed:
        if not fixed:
            problems.error(decl.span, f"record '{decl.name}' has no fields")
        return None
    if variable and len(problems.items) == reported:
        check_lengths(tuple(fixed), problems)
        if len(problems.items) != reported:
            return None
    return Record(decl.name, tuple(fixed), sum(_least_width(e) for e in fixed), decl.doc,
                  decl.span, variable)


def _least_width(e: RecordMember) -> int:
    """The fewest bytes a record member takes: none when its condition may fail."""
    if e.present is not None:
        return 0
    if isinstance(e, VarintField):
        return 1
    if isinstance(e, IntField | BitsField):
        return e.type.width
    return ir.evaluate(e.size) if ir.is_constant(e.size) else 0



def _args(t: ast.TypeRef, problems: Problems) -> dict[str, ir.Expr]:
    """Type arguments by name; positional ones are named by their own text."""
    out: dict[str, ir.Expr] = {}
    for arg in t.args:
        if arg.name is None and isinstance(arg.value, ast.NameRef):
            out[arg.value.name] = ir.Const(1, arg.span)
        elif arg.name is not None and isinstance(arg.value, ast.IntLit):
            out[arg.name] = ir.Const(arg.value.value, arg.span, arg.value.spelling)
        else:
            problems.error(arg.span, f"invalid argument for {t.name}")
    return out


def _kvmap(
    f: ast.Field, t: ast.TypeRef, args: dict[str, ir.Expr], size: ir.Expr,
    offset: int | None, order: ByteOrder, problems: Problems,
) -> KvMapField | None:
    length_types = [(a, int_type(a, order)) for a in args if int_type(a, order) is not None]
    unknown = [a for a in args if int_type(a, order) is None and a not in ("null_drop",
                                                                           "between")]
    for flag in unknown:
        problems.error(args[flag].span, f"unknown argument '{flag}' for kvmap: neither a "
                       f"length type (u8 .. u64), a flag (null_drop) nor between=0x..")
    if len(length_types) > 2:
        third = length_types[2][0]
        problems.error(args[third].span, f"kvmap takes a key and a value length type; "
                       f"'{third}' is a third one")
        return None
    if not length_types:
        if not unknown:
            problems.error(t.span, "kvmap needs a length type, e.g. kvmap(u32), or one for "
                           "keys and one for values, e.g. kvmap(u8, u16)")
        return None
    key, value = length_types[0][1], length_types[-1][1]
    assert key is not None and value is not None
    if key.wide or value.wide:
        problems.error(t.span, "a kvmap's lengths are at most 64 bits")
        return None
    between = b""
    if "between" in args:
        spelled = args["between"]
        digits = (spelled.spelling or "")[2:].replace("_", "") if isinstance(
            spelled, ir.Const) and (spelled.spelling or "").lower().startswith("0x") else ""
        if not digits or len(digits) % 2:
            problems.error(spelled.span, "write the bytes between key and value in hex, two "
                           "digits a byte: between=0x3A")
            return None
        between = bytes.fromhex(digits)
    if unknown:
        return None
    return KvMapField(f.name, key, value, "null_drop" in args, size, offset, f.doc, f.span,
                      between=between)


def _bits(
    b: ast.Bits, name: str, offset: int | None, scope: Scope, resolver: ExprResolver,
    order: ByteOrder, problems: Problems,
) -> BitsField | None:
    typ = int_type(b.base, order)
    if typ is None or typ.signed or typ.wide:
        problems.error(b.span, f"bits need an unsigned integer container of at most 64 bits, "
                       f"not '{b.base}'")
        return None
    total = sum(m.width for m in b.members)
    if total != typ.bits:
        problems.error(b.span, f"bit widths add up to {total}, but {b.base} has {typ.bits} bits")
        return None
    members: list[BitMember] = []
    shift = typ.bits
    for m in b.members:
        shift -= m.width
        if m.width < 1:
            problems.error(m.span, f"bit member '{m.name}' needs a width of at least 1")
            return None
        if m.enum is not None and m.enum not in scope.enums:
            report_unknown(scope, problems, m.enum_span or m.span, f"unknown enum '{m.enum}'",
                           did_you_mean(m.enum, scope.enums))
            continue
        value, constant, default = _value(m, None, m.enum, resolver, scope, problems)
        members.append(BitMember(m.name, m.width, shift, m.enum, value, constant, default,
                                 m.doc, m.span))
    return BitsField(name, typ, tuple(members), offset, b.doc, b.span)
