"""The dissector's ProtoFields: one per field, bit member, map part, record
and record member, each with its filter name (`protodsl_bolt.request.request_id`),
its Wireshark type, base, value string and mask. The keys are what the decoder
prints items with (`F["request.request_id"]`)."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.numbers import literal_format
from protodsl.codegen.wireshark.lua import string

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    BytesField,
    Element,
    IntField,
    IntType,
    KvMapField,
    ListField,
    Protocol,
    RecordMember,
    VarintField,
)

_UINT = {1: "uint8", 2: "uint16", 3: "uint24", 4: "uint32", 8: "uint64"}
_INT = {1: "int8", 2: "int16", 3: "int24", 4: "int32", 8: "int64"}


@dataclass(frozen=True)
class Field:
    key: str  # F[key] in the dissector
    abbrev: str
    label: str
    ctor: str  # uint8, string, bytes, none ...
    base: str | None = None
    values: str | None = None  # the value string table
    mask: int | None = None
    blurb: str | None = None

    def declaration(self) -> str:
        """`field(key, ProtoField.ctor(...))`, the blurb on lines of its own."""
        args = [string(self.abbrev), string(self.label)]
        if self.ctor in _UINT.values() or self.ctor in _INT.values():
            args += [self.base or "base.DEC", self.values or "nil",
                     f"0x{self.mask:x}" if self.mask is not None else "nil"]
        elif self.ctor in ("bytes", "string", "none"):
            args.append("base.NONE" if self.ctor != "string" else "base.UNICODE")
        head = f"field({string(self.key)}, ProtoField.{self.ctor}({', '.join(args)}"
        if not self.blurb:
            return head + "))"
        words, lines, line = " ".join(self.blurb.split()).split(" "), [], ""
        for word in words:
            if line and len(line) + len(word) > 90:
                lines.append(line)
                line = ""
            line += word + " "
        lines.append(line.rstrip())
        return head + ",\n  " + " ..\n  ".join(string(x) for x in lines) + "))"


def prefix(protocol: Protocol) -> str:
    """The protocol's filter name: Wireshark ships its own `mqtt` and `http2`,
    so every generated dissector goes by `protodsl_<name>`."""
    return f"protodsl_{protocol.name}"


def value_table(enum: str) -> str:
    return f"VS_{enum}"


def int_ctor(t: IntType) -> str:
    if t.wide:
        return "bytes"
    return (_INT if t.signed else _UINT)[t.width]


class Fields:
    """Every ProtoField of a protocol, in spec order."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.prefix = prefix(protocol)
        self.items: list[Field] = [
            Field("frame", f"{self.prefix}.frame", "Frame", "string",
                  blurb="the frame variant the spec's `when` chose"),
            Field("summary", f"{self.prefix}.summary", "Summary", "string",
                  blurb="the frame and its roles, as the Info column shows them"),
        ]
        for frame in protocol.frames:
            for e in frame.elements:
                self._element(frame.name, e)
        for record in protocol.records:
            self.items.append(Field(record.name, f"{self.prefix}.{record.name}", record.name,
                                    "none", blurb=record.doc))
            for m in record.elements:
                self._element(record.name, m)

    def _add(self, scope: str, name: str, ctor: str, **kw: object) -> None:
        key = f"{scope}.{name}"
        self.items.append(Field(key, f"{self.prefix}.{key}", name, ctor, **kw))  # type: ignore[arg-type]

    def _element(self, scope: str, e: Element | RecordMember) -> None:
        if isinstance(e, IntField):
            self._add(scope, e.name, int_ctor(e.type), base=_base(e.value),
                      values=value_table(e.enum) if e.enum else None, blurb=e.doc)
        elif isinstance(e, VarintField):
            self._add(scope, e.name, "uint32" if e.max_bytes * 7 <= 32 else "uint64",
                      blurb=e.doc)
        elif isinstance(e, BitsField):
            for m in e.members:
                self._member(scope, e, m)
        elif isinstance(e, BytesField):
            self._add(scope, e.name, "string" if e.text else "bytes", blurb=e.doc)
        elif isinstance(e, KvMapField):
            self._add(scope, e.name, "bytes", blurb=e.doc)
            self._add(scope, f"{e.name}.entry", "none", blurb="a key = value pair")
            self._add(scope, f"{e.name}.null", "none",
                      blurb="a pair with a null key or value: dropped on decode")
            self._add(scope, f"{e.name}.key_len", _UINT[e.key_length.width])
            self._add(scope, f"{e.name}.key", "bytes")
            self._add(scope, f"{e.name}.value_len", _UINT[e.value_length.width])
            self._add(scope, f"{e.name}.value", "bytes")
        else:
            assert isinstance(e, ListField)
            self._add(scope, e.name, "bytes", blurb=e.doc)

    def _member(self, scope: str, e: BitsField, m: BitMember) -> None:
        self._add(scope, m.name, _UINT[e.type.width], base=_base(m.value),
                  values=value_table(m.enum) if m.enum else None,
                  mask=m.mask << m.shift, blurb=m.doc)


def _base(value: ir.Expr | None) -> str:
    """Hex where the spec wrote the constant in hex, else decimal."""
    return "base.HEX" if literal_format(value).radix == 16 else "base.DEC"
