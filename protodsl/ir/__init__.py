"""The IR: frozen, fully resolved and validated. Backends read only this."""

from protodsl.ir.expr import (
    Binary,
    Checksum,
    Const,
    CountOf,
    EnumValue,
    Expr,
    FieldValue,
    InSet,
    LastOf,
    LenOf,
    Match,
    Param,
    ParamField,
    Rest,
    StateValue,
    Unary,
    walk,
)
from protodsl.ir.model import (
    BitMember,
    BitsField,
    Builder,
    BytesField,
    Element,
    Enum,
    EnumMember,
    Frame,
    IntField,
    IntType,
    KvMapField,
    ListField,
    Protocol,
    Record,
    Roles,
    StateMember,
    StateSet,
    VarintField,
)

__all__ = [
    "Binary", "BitMember", "BitsField", "Builder", "BytesField", "Checksum", "Const", "CountOf",
    "Element", "Enum", "EnumMember", "EnumValue", "Expr", "FieldValue", "Frame", "InSet",
    "IntField", "IntType", "KvMapField", "LastOf", "LenOf", "ListField", "Match", "Param",
    "ParamField", "Protocol", "Record", "Rest", "Roles", "StateMember", "StateSet", "StateValue",
    "Unary", "VarintField", "walk",
]
