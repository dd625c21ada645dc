"""Python-safe names from spec names, all from one place.

Spec names cannot start with '_' (the frontend reserves them), so every name the
generated module uses internally starts with '_' and can never collide."""

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
    "STATE_ATTRS", "SideUnknown",
})
# Module-level names that generated function and class bodies use: a field (a
# local there, or a class attribute) by one of these names would shadow it.
SHADOWING = frozenset({
    "struct", "cs", "enum", "dataclasses", "dataclass", "field", "ProtocolError",
    "ConstantMismatch", "UnknownEnumValue", "UnknownVariant", "FrameTooLarge", "NegativeSize",
    "MalformedSection", "InvalidText", "EncodeError", "NeedMore", "Decoded", "MAX_FRAME",
    "ChecksumMismatch", "zlib", "encode", "State", "StateUnset", "SideUnknown", "Callable",
})
_ENUM_MEMBER_RESERVED = frozenset({"name", "value", "mro"})


def snake(name: str) -> str:
    """A field name usable as an attribute and as a local that shadows nothing the
    generated functions use (keywords, builtins, module-level names)."""
    if (keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in dir(builtins)
            or name in SHADOWING):
        return name + "_"
    return name


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
    """A frame's attribute for each spec name, which is also its local in the
    frame's decoder and encoder: safe, and hiding none of the module's classes."""

    def __init__(self, frame: Frame, module_names: frozenset[str]) -> None:
        def safe(name: str) -> str:
            attr = snake(name)
            while attr in module_names:
                attr += "_"
            return attr

        self.attr = {e.name: safe(e.name) for e in frame.elements}
        for v in frame.values():
            self.attr[v.name] = safe(v.name)

    def __getitem__(self, name: str) -> str:
        return self.attr[name]
