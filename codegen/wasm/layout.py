"""How the plugin represents a frame in C: every integer a `pd_i64` struct
member, every sized element a `pd_bytes` view; the runtime calls that read and
write them; the comments that say which spec element a line is about."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.wasm.naming import c_bytes, c_string, comment_inline, ident

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    BytesField,
    Element,
    Frame,
    IntField,
    IntType,
    KvMapField,
    ListField,
    ValueNode,
    VarintField,
)


@dataclass(frozen=True)
class Check:
    """A test of the input: `cond` true means return `fail` (both C expressions)."""

    cond: str
    fail: str


@dataclass(frozen=True)
class Member:
    decl: str  # C type and name
    comment: str


def where(frame: Frame, name: str) -> str:
    """The C string naming `frame.name` in log lines."""
    return c_string(f"{frame.name}.{name}")


def reader(t: IntType) -> str:
    return "pd_rd_le" if t.byte_order == "little" else "pd_rd_be"


def putter(t: IntType) -> str:
    return "pd_put_le" if t.byte_order == "little" else "pd_put_be"


def read_int(pointer: str, t: IntType) -> str:
    """The `pd_i64` an integer of type `t` at `pointer` holds."""
    raw = f"{reader(t)}({pointer}, {t.width})"
    return f"pd_sext({raw}, {t.bits})" if t.signed else f"(pd_i64){raw}"


def unsigned(v: ValueNode) -> bool:
    """Whether a value reads as unsigned: bit members always do."""
    return not isinstance(v, IntField) or not v.type.signed


def holds_any(v: ValueNode) -> bool:
    """A 64-bit integer: its `pd_i64` member holds every value of its type (a
    u64 as its bit pattern), so no range check applies."""
    return isinstance(v, IntField) and v.type.width == 8


def kv_fmt(e: KvMapField) -> str:
    """The address of the map's `struct pd_kv` (see kv_format)."""
    return f"&{kv_format(e)[0]}"


def kv_format(e: KvMapField) -> tuple[str, str]:
    """(name, initializer) of the static `struct pd_kv` of a map's wire format,
    named by the format so that maps of one format share it."""
    key, value = e.key_length, e.value_length

    def little(t: IntType) -> int:
        return int(t.byte_order == "little" and t.width > 1)

    def spelled(t: IntType) -> str:
        return f"{t.width}{'le' if little(t) else 'be'}"

    name = f"pd_kv_{spelled(key)}_{spelled(value)}"
    name += "_null" if e.null_drop else ""
    name += f"_sep{e.between.hex()}" if e.between else ""
    between = (f'(const pd_u8 *){c_bytes(e.between)}, {len(e.between)}, '
               f'{c_string(f"no {e.between.hex()} between key and value")}'
               if e.between else "0, 0, 0")
    return name, (f"{{{key.width}, {value.width}, {little(key)}, {little(value)}, "
                  f"{int(e.null_drop)}, {between}}}")


# ------------------------------------------------------------------ comments


def type_text(t: IntType) -> str:
    order = "" if t.width == 1 else ("le" if t.byte_order == "little" else "be")
    return t.name + order


def expr_text(e: ir.Expr) -> str:
    """An expression as the spec writes it, for comments."""
    if isinstance(e, ir.Checksum):
        return f"{e.kind}({e.first}, {e.last})"
    if isinstance(e, ir.Rest):
        return "rest"
    return comment_inline(ir.spelled(e))


def doc_suffix(doc: str | None) -> str:
    text = comment_inline(doc)
    return f"; {text}" if text else ""


def value_comment(v: ValueNode, t: str) -> str:
    parts = [f"{v.name}: {t}"]
    if v.enum is not None:
        parts.append(v.enum)
    if isinstance(v.value, ir.Rest):
        parts.append("= len(rest)")
    elif v.value is not None:
        parts.append("= " + expr_text(v.value))
    return " ".join(parts) + doc_suffix(v.doc)


def sized_text(e: BytesField | KvMapField | ListField) -> str:
    if isinstance(e, ListField):
        return f"list({e.record})[{expr_text(e.size)}]"
    if isinstance(e, KvMapField):
        null = ", null_drop" if e.null_drop else ""
        lengths = (type_text(e.key_length) if e.key_length == e.value_length else
                   f"{type_text(e.key_length)}, {type_text(e.value_length)}")
        between = f", between=0x{e.between.hex()}" if e.between else ""
        return f"kvmap({lengths}{null}{between})[{expr_text(e.size)}]"
    kind = "text" if e.text else "bytes"
    pad = f"(pad={e.pad})" if e.pad is not None else ""
    return f"{kind}{pad}[{expr_text(e.size)}]"


def element_comment(e: Element) -> str:
    """What a decode or write step of `e` is about."""
    if isinstance(e, IntField):
        return value_comment(e, type_text(e.type))
    if isinstance(e, BitsField):
        members = ", ".join(f"{m.name}:{m.width}" for m in e.members)
        return f"bits {type_text(e.type)} {{{members}}}" + doc_suffix(e.doc)
    if isinstance(e, VarintField):
        return value_comment(e, f"varint({e.max_bytes})")
    return f"{e.name}: {sized_text(e)}" + doc_suffix(e.doc)


# ------------------------------------------------------------------ struct


def members(frame: Frame, literal: str | None, header_list: str | None,
            derived_writes: tuple[str, ...] = ()) -> tuple[Member, ...]:
    """The frame struct: a member per value and per sized element (a list is
    its records' wire bytes), the kept literal payload of a built frame, the
    entries of the header list `header_list` as decoded (encode sets the list
    itself from them and MOSN's headers, on every call), and likewise each
    field a derived header writes back, as decoded."""
    out = []
    for e in frame.elements:
        if isinstance(e, IntField | VarintField):
            out.append(Member(f"pd_i64 {ident('f', e.name)};", element_comment(e)))
        elif isinstance(e, BitsField):
            for m in e.members:
                out.append(Member(f"pd_i64 {ident('f', m.name)};",
                                  value_comment(m, f"bits {m.width} of {type_text(e.type)}")))
        else:
            out.append(Member(f"pd_bytes {ident('f', e.name)};", sized_text(e) + doc_suffix(e.doc)))
    if literal is not None:
        out.append(Member(f"pd_bytes {literal};",
                          "a built frame's literal payload, for an encode that passes none"))
    if header_list is not None:
        out.append(Member(f"pd_bytes {ident('hk', header_list)};",
                          f"{header_list} as decoded, for merging MOSN's headers into"))
    for name in derived_writes:
        out.append(Member(f"pd_bytes {ident('dk', name)};",
                          f"{name} as decoded, unless MOSN's headers give it anew"))
    return tuple(out)
