"""128-bit integers in Go. They are data only (no expression, role, constant or
builder reads them), so the codec plan carries each as its 16 bytes
(codegen/wasm/wide.py: the same reads, need-more points and messages as the
integer), and the frame's struct holds a Uint128 or an Int128 (wide.go, a
JSON number as the Python codec's int) made from and into those bytes."""

from __future__ import annotations

from protodsl.ir.model import IntField, IntType, Protocol

FILE = "wide.go"
NAMES = ("Uint128", "Int128")

Wide = dict[str, IntType]  # a frame's 128-bit integers by name


def of(protocol: Protocol) -> dict[str, Wide]:
    """Each frame's 128-bit integers (the frame's name: its integers)."""
    return {f.name: {e.name: e.type for e in f.elements
                     if isinstance(e, IntField) and e.type.wide} for f in protocol.frames}


def used(protocol: Protocol) -> bool:
    return any(of(protocol).values())


def go_type(t: IntType) -> str:
    return NAMES[1] if t.signed else NAMES[0]


def _little(t: IntType) -> str:
    return "true" if t.byte_order == "little" else "false"


def from_wire(t: IntType, buf: str) -> str:
    """The value of the 16 bytes at the start of `buf`."""
    return f"{'int' if t.signed else 'uint'}128Of({buf}, {_little(t)})"


def to_wire(t: IntType, member: str) -> str:
    """The 16 wire bytes of `member`, a [16]byte."""
    return f"{member}.wire({_little(t)})"
