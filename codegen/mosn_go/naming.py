"""Go names of spec names: exported CamelCase (`request_id` -> RequestId,
`SERVER_THREADPOOL_BUSY` -> ServerThreadpoolBusy), and the Go types of values.

A frame's or a record's members share one Go scope (struct members, and the
locals of its decoder and encoder, which prefix them): names are claimed in
declaration order, and a later name whose CamelCase is taken gets a `_`
appended until it is free (`int`, `Int` -> Int, Int_). CamelCase never ends
in `_`, so a suffixed name never takes a name a later spec name would get."""

from __future__ import annotations

from protodsl.ir.model import (
    BitMember,
    BitsField,
    Frame,
    IntField,
    IntType,
    Record,
    ValueNode,
    VarintField,
)


def camel(name: str) -> str:
    parts = [p for p in name.split("_") if p]
    out = []
    for p in parts:
        if p.isupper() or p.islower():
            p = p.lower()
        out.append(p[0].upper() + p[1:])
    text = "".join(out) or "X"
    return text if text[0].isalpha() else "X" + text


_FRAME_METHODS = frozenset({"FrameName"})


def _scope_names(scope: Frame | Record) -> list[str]:
    """A scope's spec names in declaration order: elements, and bit members after
    their bits field."""
    out: list[str] = []
    for e in scope.elements:
        out.append(e.name)
        if isinstance(e, BitsField):
            out.extend(m.name for m in e.members)
    return out


def claimed(names: list[str], taken: frozenset[str] = frozenset()) -> dict[str, str]:
    """The Go name of each of a scope's spec names, claimed in order: CamelCase,
    with `_` appended while another name (or one in `taken`) has it."""
    used = set(taken)
    out: dict[str, str] = {}
    for name in names:
        go = camel(name)
        while go in used:
            go += "_"
        used.add(go)
        out[name] = go
    return out


def members(scope: Frame | Record) -> dict[str, str]:
    """The Go name of each spec name of a frame or record (a frame's structs
    also have the method FrameName)."""
    return claimed(_scope_names(scope), _FRAME_METHODS if isinstance(scope, Frame) else frozenset())


def member(scope: Frame | Record, name: str) -> str:
    """The Go name of a frame's or record's member (or value) `name`."""
    return members(scope)[name]


def int_type(t: IntType) -> str:
    """The Go type holding an integer: the narrowest of 8, 16, 32, 64 bits (a u24's
    is uint32, which holds more than the field: encode refuses the rest)."""
    bits = next(n for n in (8, 16, 32, 64) if 8 * t.width <= n)
    return f"{'int' if t.signed else 'uint'}{bits}"


def bits_type(width: int) -> str:
    return next(f"uint{n}" for n in (8, 16, 32, 64) if width <= n)


def value_type(node: ValueNode) -> str:
    """The Go type of a value a frame struct holds."""
    if node.enum is not None:
        return camel(node.enum)
    if isinstance(node, IntField):
        return int_type(node.type)
    if isinstance(node, VarintField):
        return "uint64"
    assert isinstance(node, BitMember)
    return bits_type(node.width)


def local(prefix: str, names: dict[str, str], name: str) -> str:
    """A decoder's or encoder's local for a member: a prefix and its Go name
    (`names`: the scope's `members`)."""
    return prefix + names[name]


def go_string(text: str) -> str:
    """A Go interpreted string literal."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def comment(doc: str | None, indent: str = "") -> list[str]:
    if not doc:
        return []
    return [f"{indent}// {line}".rstrip() for line in doc.splitlines()]
