"""Go names of spec names: exported CamelCase (`request_id` -> RequestId,
`SERVER_THREADPOOL_BUSY` -> ServerThreadpoolBusy), and the Go types of values."""

from __future__ import annotations

from protodsl.ir.model import BitMember, IntField, IntType, ValueNode, VarintField


def camel(name: str) -> str:
    parts = [p for p in name.split("_") if p]
    out = []
    for p in parts:
        if p.isupper() or p.islower():
            p = p.lower()
        out.append(p[0].upper() + p[1:])
    text = "".join(out) or "X"
    return text if text[0].isalpha() else "X" + text


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


def local(prefix: str, name: str) -> str:
    return prefix + camel(name)


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
