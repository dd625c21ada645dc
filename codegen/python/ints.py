"""How the Python module carries integers: a struct code where `struct` has one
(a 24-bit integer, or one of the other byte order, rides in a header struct as
raw bytes), `int.from_bytes` where one value is read alone, construct's classes
in the reference."""

from __future__ import annotations

from protodsl.ir.model import BitsField, BytesField, IntField, IntType, KvMapField
from protodsl.plan import Read

_STRUCT_CODES = {1: "b", 2: "h", 4: "i", 8: "q"}


def struct_code(t: IntType) -> str:
    if t.width in (3, 16):
        return f"{t.width}s"
    code = _STRUCT_CODES[t.width]
    return code if t.signed else code.upper()


def order_char(t: IntType) -> str:
    return ">" if t.byte_order == "big" else "<"


def is_raw(t: IntType, order: str) -> bool:
    """A header struct carries it as bytes: 24 or 128 bits, or not the protocol's
    order."""
    return t.width in (3, 16) or (t.width > 1 and t.byte_order != order)


def head_code(r: Read, order: str) -> str:
    """The struct code of one header element."""
    e = r.element
    if isinstance(e, BytesField):
        return f"{r.width}s"
    assert isinstance(e, IntField | BitsField)
    return f"{e.type.width}s" if is_raw(e.type, order) else struct_code(e.type)


def from_bytes(t: IntType, data: str) -> str:
    return f"int.from_bytes({data}, {t.byte_order!r}, signed={t.signed})"


def read_at(t: IntType, buf: str, offset: int) -> str:
    """One integer at a fixed offset: a byte by indexing, others from bytes."""
    if t.width == 1 and not t.signed:
        return f"{buf}[{offset}]"
    return from_bytes(t, f"{buf}[{offset}:{offset + t.width}]")


def len_struct(t: IntType) -> str:
    """The module-level struct of a header map's lengths."""
    return f"_LEN_{'BE' if order_char(t) == '>' else 'LE'}{t.width}"


def kv_format(e: KvMapField) -> str:
    """A header map's key length, value length and the bytes between, as the
    arguments of `_read_kvmap` and `_write_kvmap`."""
    return f"{len_struct(e.key_length)}, {len_struct(e.value_length)}, {e.between!r}"


def construct_int(t: IntType) -> str:
    if t.wide:
        return f"cs.BytesInteger(16, signed={t.signed}, swapped={t.byte_order == 'little'})"
    return (f"cs.Int{t.bits}{'s' if t.signed else 'u'}"
            f"{'b' if t.byte_order == 'big' else 'l'}")
