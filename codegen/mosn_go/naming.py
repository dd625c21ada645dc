"""Go names of spec names: exported CamelCase (`request_id` -> RequestId,
`SERVER_THREADPOOL_BUSY` -> ServerThreadpoolBusy), and the Go types of values.

A frame's or a record's members share one Go scope (struct members, and the
locals of its decoder and encoder, which prefix them): names are claimed in
declaration order, and a later name whose CamelCase is taken gets a `_`
appended until it is free (`int`, `Int` -> Int, Int_). CamelCase never ends
in `_`, so a suffixed name never takes a name a later spec name would get.

The package's own scope is `GoNames`, one table per protocol: enums, records,
frames, enum members and header mergers claim their identifiers (a frame also
New<F>, decode<F>, Mosn<F>, FuzzDecode<F>) the same way, after the identifiers
the package declares whatever the spec (the runtimes', the codec's, the MOSN
layer's) and Go's keywords and predeclared names. Every printer asks the table,
so a spec whose names clash (`type` and `Type`, a frame `codec`) still builds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from protodsl.ir.model import (
    BitMember,
    BitsField,
    Frame,
    IntField,
    IntType,
    ListField,
    Protocol,
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


def _claim(used: set[str], wanted: str, prefixes: tuple[str, ...] = ("",)) -> str:
    """`wanted`, with `_` appended while an identifier it gives (each prefix and
    it) is in `used`; those identifiers are then used."""
    base = wanted
    while any(p + base in used for p in prefixes):
        base += "_"
    used.update(p + base for p in prefixes)
    return base


def claimed(names: list[str], taken: frozenset[str] = frozenset()) -> dict[str, str]:
    """The Go name of each of a scope's spec names, claimed in order: CamelCase,
    with `_` appended while another name (or one in `taken`) has it."""
    used = set(taken)
    return {name: _claim(used, camel(name)) for name in names}


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


def value_type(node: ValueNode, pkg: GoNames) -> str:
    """The Go type of a value a frame struct holds (`pkg`: the package's names)."""
    if node.enum is not None:
        return pkg.enum(node.enum)
    if isinstance(node, IntField):
        return int_type(node.type)
    if isinstance(node, VarintField):
        return "uint64"
    assert isinstance(node, BitMember)
    return bits_type(node.width)


GO_KEYWORDS = frozenset(
    "break case chan const continue default defer else fallthrough for func go goto if import "
    "interface map package range return select struct switch type var".split())
GO_PREDECLARED = frozenset(
    "any bool byte comparable complex64 complex128 error float32 float64 int int8 int16 int32 "
    "int64 rune string uint uint8 uint16 uint32 uint64 uintptr true false iota nil append cap "
    "clear close complex copy delete imag len make max min new panic print println real "
    "recover".split())
# The package names the generated files import (a file's imports share its package's scope).
GO_IMPORTS = frozenset(
    "api atomic big binary buffer context crc32 errors fmt reflect strconv sync testing utf8"
    .split())
# What the printers declare whatever the spec: the codec's (backend.py, fuzz.py), the MOSN
# layer's (xprotocol.py), and the connection state's (state.py).
PRINTED = frozenset({
    "Frame", "Protocol", "MosnName", "MaxFrame", "Decode", "Encode", "AppendEncode",
    "fuzzDecode", "Codec", "XProtocol", "MatchBytes", "HTTPStatus", "asked", "askedOf",
    "State", "NewState", "NextState", "StateUnset", "stateUnset",
})
RUNTIMES = ("runtime.go", "mosn_runtime.go", "wide.go")
_DECLARED = re.compile(r"^(?:func|type|var|const) (\w+)|^\t(\w+)\b", re.MULTILINE)
_GROUP = re.compile(r"^(?:type|var|const) \((.*?)^\)", re.MULTILINE | re.DOTALL)


def _runtime_names() -> frozenset[str]:
    """The package-level identifiers the runtime files declare: top-level funcs
    (not methods), types, vars and consts, and the members of `const (`/`var (`
    groups."""
    out: set[str] = set()
    for file in RUNTIMES:
        text = (resources.files("protodsl.codegen.mosn_go") / file).read_text(encoding="utf-8")
        out.update(m.group(1) for m in _DECLARED.finditer(text) if m.group(1))
        for group in _GROUP.finditer(text):
            out.update(m.group(2) for m in _DECLARED.finditer(group.group(1)) if m.group(2))
    return frozenset(out)


RESERVED = GO_KEYWORDS | GO_PREDECLARED | GO_IMPORTS | PRINTED | _runtime_names()

# The identifiers a claimed name gives, by kind: the prefixes of its helpers.
_ENUM = ("", "is")
_RECORD = ("", "readRecord", "writeRecord")
_FRAME = ("", "New", "decode", "FuzzDecode")
_MOSN_FRAME = (*_FRAME, "Mosn")

Merger = tuple[str, str, str]  # the record, its key member and its value member (spec names)


@dataclass(frozen=True)
class GoNames:
    """The package-level Go identifiers of one protocol's spec names (`go_names`):
    ask it for every name a printer prints, never CamelCase a spec name there."""

    enums: dict[str, str]
    enum_members: dict[tuple[str, str], str]
    records: dict[str, str]
    frames: dict[str, str]
    mergers: dict[Merger, str]

    def enum(self, name: str) -> str:
        """The Go type of enum `name`."""
        return self.enums[name]

    def is_member(self, enum: str) -> str:
        """The function telling whether an int64 is a member of enum `enum`."""
        return "is" + self.enums[enum]

    def member(self, enum: str, member: str) -> str:
        """The Go constant of `enum.member`."""
        return self.enum_members[(enum, member)]

    def record(self, name: str) -> str:
        """The Go struct of an entry of record `name`."""
        return self.records[name]

    def reader(self, record: str) -> str:
        return "readRecord" + self.records[record]

    def writer(self, record: str) -> str:
        return "writeRecord" + self.records[record]

    def frame(self, name: str) -> str:
        """The Go struct of frame `name`."""
        return self.frames[name]

    def new(self, frame: str) -> str:
        """The constructor holding the spec's defaults."""
        return "New" + self.frames[frame]

    def decoder(self, frame: str) -> str:
        return "decode" + self.frames[frame]

    def mosn(self, frame: str) -> str:
        """The MOSN layer's wrapper (a frame with roles)."""
        return "Mosn" + self.frames[frame]

    def fuzz(self, frame: str) -> str:
        """The native fuzz test of the frame."""
        return "FuzzDecode" + self.frames[frame]

    def merger(self, merger: Merger) -> str:
        """The function merging MOSN's header map into a list of records."""
        return self.mergers[merger]


def go_names(protocol: Protocol) -> GoNames:
    """The protocol's package-level names, claimed as a scope's members are
    (CamelCase, `_` appended while any identifier it gives is taken): the types
    first (enums, records, frames, in declaration order, each with its helpers),
    then enum members, then header mergers."""
    used = set(RESERVED)

    def claim(wanted: str, prefixes: tuple[str, ...] = ("",)) -> str:
        return _claim(used, wanted, prefixes)

    enums = {e.name: claim(camel(e.name), _ENUM) for e in protocol.enums}
    records = {r.name: claim(camel(r.name), _RECORD) for r in protocol.records}
    frames = {f.name: claim(camel(f.name), _FRAME if f.roles is None else _MOSN_FRAME)
              for f in protocol.frames}
    enum_members = {(e.name, m.name): claim(enums[e.name] + camel(m.name))
                    for e in protocol.enums for m in e.members}
    mergers: dict[Merger, str] = {}
    for frame in protocol.frames:
        merger = _merger(protocol, frame)
        if merger is not None and merger not in mergers:
            record = protocol.record(merger[0])
            assert record is not None, "a list's record is declared"
            go = members(record)
            mergers[merger] = claim(f"merge{records[merger[0]]}{go[merger[1]]}{go[merger[2]]}")
    return GoNames(enums, enum_members, records, frames, mergers)


def _merger(protocol: Protocol, frame: Frame) -> Merger | None:
    """The (record, key, value) of a frame whose headers are a list's records."""
    roles = frame.roles
    if roles is None or roles.header_members is None or roles.headers is None:
        return None
    el = frame.element(roles.headers)
    assert isinstance(el, ListField), "headers of records are a list"
    return (el.record, *roles.header_members)


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
