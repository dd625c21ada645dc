"""What every printer of one Python module shares: the plan, the Python names of
the enums, records and frame classes, and the questions a printer asks of a
frame's reads (which read holds a name, what the absent value looks like)."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.python import naming

from protodsl.ir.model import (
    BitsField,
    BytesField,
    Enum,
    IntField,
    KvMapField,
    ListField,
    ValueNode,
    VarintField,
)
from protodsl.plan import (
    FramePlan,
    MustBeMember,
    MustEqual,
    ProtocolPlan,
    Read,
    Value,
)


@dataclass(frozen=True)
class EnumView:
    name: str  # the IntEnum class
    doc: str | None
    open: bool
    lookup: str  # the module-level dict value -> member
    members: list[tuple[str, int, str | None]]


@dataclass(frozen=True)
class Module:
    """The Python names the module gives the spec's enums, records and frames."""

    plan: ProtocolPlan
    enums: dict[str, EnumView]  # by spec name
    records: dict[str, str]  # record name -> dataclass
    classes: dict[str, str]  # frame name -> dataclass
    module_names: frozenset[str]  # what a local or a class attribute must not hide

    @property
    def byte_order(self) -> str:
        return self.plan.protocol.byte_order

    def enum_of(self, node: ValueNode) -> EnumView | None:
        """The IntEnum a value is decoded to (open or closed)."""
        return self.enums[node.enum] if node.enum else None

    def enum(self, enum: Enum) -> EnumView:
        return self.enums[enum.name]

    def names(self, frame: FramePlan) -> naming.FrameNames:
        return naming.FrameNames(frame.frame, self.module_names)

    def zero_is_member(self, node: ValueNode) -> bool:
        """Whether 0, what a value its condition leaves off reads as, is a member
        of its enum: else a conditional field of a closed enum may hold a plain 0."""
        enum = self.enum_of(node)
        return enum is not None and any(v == 0 for _, v, _ in enum.members)

    def wrap(self, node: ValueNode, text: str, checked: bool = False) -> str:
        """The dataclass value of an integer: its enum member where there is one.
        A `checked` value is known to be a member of its closed enum."""
        enum = self.enum_of(node)
        if enum is None:
            return text
        if enum.open or not checked:
            return f"{enum.lookup}.get({text}, {text})"
        member = next((m for m, v, _ in enum.members if str(v) == text), None)
        return f"{enum.name}.{member}" if member else f"{enum.lookup}[{text}]"


def holders(frame: FramePlan) -> dict[str, Read]:
    """The read each spec name is on the wire in: its own, or its bits container's."""
    return {name: r for r in frame.decode.reads for name in r.names}


def free_names(frame: FramePlan) -> list[str]:
    """What a user sets, in wire order: values neither constant nor computed, and
    every sized element."""
    return [name for r in frame.decode.reads for name in (
        (r.name,) if r.size is not None else tuple(v.name for v in r.values if v.free))]


def constant(value: Value) -> int | None:
    """The value a constant must have, or None."""
    return next((c.value for c in value.checks if isinstance(c, MustEqual)), None)


def closed_enum(value: Value) -> Enum | None:
    return next((c.enum for c in value.checks if isinstance(c, MustBeMember)), None)


def absent(r: Read, names: naming.FrameNames) -> list[tuple[str, str]]:
    """(local, Python value) of an element its condition leaves off the wire:
    zero, or empty."""
    e = r.element
    if isinstance(e, BitsField | IntField | VarintField):
        return [(names.local[n], "0") for n in r.names]
    if isinstance(e, KvMapField | ListField):
        return [(names.local[e.name], "[]")]
    assert isinstance(e, BytesField)
    return [(names.local[e.name], '""' if e.text else 'b""')]
