"""Python-safe names from spec names, all from one place.

Spec names cannot start with '_' (the frontend reserves them), so every name the
generated module uses internally starts with '_' and can never collide.

An attribute keeps its spec name unless Python forbids it (a keyword) or it would
hide, in its class body, a name that body reads (a class of the module,
`dataclasses`, `ClassVar`): users write `frame.id` and `frame.type`. A builtin the
class body reads in an annotation is spelled `builtins.int` there instead
(`qualified`). Locals, which do shadow builtins, take `snake`."""

from __future__ import annotations

import builtins
import keyword
import re

from protodsl.ir.model import Frame

# Module-level names the generated code defines or imports.
RESERVED = frozenset({
    "annotations", "enum", "struct", "cs", "dataclass", "dataclasses", "field", "Any",
    "ClassVar", "NamedTuple", "Union", "Callable",
    "ProtocolError", "NeedMoreData", "ConstantMismatch", "UnknownEnumValue", "UnknownVariant",
    "FrameTooLarge", "NegativeSize", "MalformedSection", "InvalidText", "EncodeError",
    "ChecksumMismatch", "zlib",
    "NeedMore", "Decoded", "Frame", "FRAMES", "RECORDS", "WITH_ROLES", "ATTRS", "decode",
    "encode", "decode_all",
    "reference_decode", "reference_encode", "kind", "command_id", "is_heartbeat", "timeout",
    "status", "headers", "payload", "with_roles", "keepalive", "keepalive_reply", "hijack",
    "PROTOCOL", "MOSN_NAME", "MAX_FRAME", "field_values", "State", "StateUnset", "next_state",
    "STATE_ATTRS", "SideUnknown", "builtins",
})
# Module-level names that generated function and class bodies use: a field (a
# local there, or a class attribute) by one of these names would shadow it.
SHADOWING = frozenset({
    "struct", "cs", "enum", "dataclasses", "dataclass", "field", "ProtocolError",
    "ConstantMismatch", "UnknownEnumValue", "UnknownVariant", "FrameTooLarge", "NegativeSize",
    "MalformedSection", "InvalidText", "EncodeError", "NeedMore", "Decoded", "MAX_FRAME",
    "ChecksumMismatch", "zlib", "encode", "State", "StateUnset", "SideUnknown", "Callable",
})
# What a frame's or record's class body reads besides builtins and the module's
# classes: an attribute by one of these names would hide it.
CLASS_SCOPE = frozenset({"dataclasses", "ClassVar", "builtins"})
_ENUM_MEMBER_RESERVED = frozenset({"name", "value", "mro"})
_BUILTINS = frozenset(dir(builtins))


def snake(name: str) -> str:
    """A field name usable as an attribute and as a local that shadows nothing the
    generated functions use (keywords, builtins, module-level names)."""
    if (keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in dir(builtins)
            or name in SHADOWING):
        return name + "_"
    return name


def attribute(name: str, module_names: frozenset[str] = frozenset()) -> str:
    """A frame's or record's attribute: the spec name, unless that is a keyword or
    hides a name its class body reads (`module_names`: the module's classes)."""
    attr = name + "_" if keyword.iskeyword(name) else name
    while attr in module_names or attr in CLASS_SCOPE:
        attr += "_"
    return attr


def qualified(hint: str, attrs: set[str] | frozenset[str]) -> str:
    """A type hint read inside a class body whose attributes `attrs` include
    builtins the hint names: those spelled `builtins.X`, which mypy (like the
    class body) would otherwise take for the attribute."""
    hidden = attrs & _BUILTINS
    if not hidden:
        return hint
    return re.sub(r"(?<![.\w])([A-Za-z_]\w*)",
                  lambda m: f"builtins.{m[1]}" if m[1] in hidden else m[1], hint)


def member(name: str) -> str:
    if keyword.iskeyword(name) or name in _ENUM_MEMBER_RESERVED:
        return name + "_"
    return name


def camel(name: str) -> str:
    parts = [p for p in re.split(r"_+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Frame"
    return text


class Namespace:
    """Hands out module-level names, never the same twice and never a reserved one."""

    def __init__(self) -> None:
        self.taken: set[str] = set(RESERVED)

    def claim(self, wanted: str) -> str:
        name = wanted
        while name in self.taken or keyword.iskeyword(name) or name in dir(builtins):
            name += "_"
        self.taken.add(name)
        return name


class FrameNames:
    """A frame's attribute for each spec name (`attr`), and its local in the
    frame's decoder and encoder (`local`): safe, and hiding none of the module's
    classes nor a builtin the generated functions call."""

    def __init__(self, frame: Frame, module_names: frozenset[str]) -> None:
        def safe(name: str) -> str:
            local = snake(name)
            while local in module_names:
                local += "_"
            return local

        names = [e.name for e in frame.elements] + [v.name for v in frame.values()]
        self.attr = {n: attribute(n, module_names) for n in names}
        self.local = {n: safe(n) for n in names}
