"""The mosn-go backend: a Go package (`<name>.go`, `runtime.go`, `go.mod`)
with a struct per frame, `Decode` and `Encode`, printed from the codec plan
as codegen/wasm prints C from it: the plan decides what is read, checked and
computed, in what order; this module only says it in Go. A spec with roles
also gets MOSN's api.XProtocolCodec around it (xprotocol.py: `<name>_mosn.go`,
`mosn_runtime.go`, and go.mod/go.sum requiring MOSN's modules).

Specs using what the printer cannot say yet are refused by `check_target`,
naming the construct."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from protodsl.codegen.mosn_go import fuzz, xprotocol
from protodsl.codegen.mosn_go.expr import Unsupported, go_int, to_go
from protodsl.codegen.mosn_go.gomod import GO_SUM, go_mod
from protodsl.codegen.mosn_go.naming import (
    camel,
    comment,
    go_string,
    int_type,
    local,
    value_type,
)
from protodsl.codegen.numbers import DECIMAL, spelled_format

from protodsl.diagnostics import Diagnostic, Span, SpecError
from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    BytesField,
    Element,
    Enum,
    Frame,
    IntField,
    IntType,
    KvMapField,
    Protocol,
    ValueNode,
)
from protodsl.plan import (
    Check,
    FramePlan,
    Measured,
    MustBeMember,
    MustEqual,
    MustMatchChecksum,
    ProtocolPlan,
    Read,
    RestFraming,
    RestOfFrame,
    SizedFraming,
    Value,
    plan_of,
)

TARGET = "mosn-go"
RUNTIME = "runtime.go"
MOSN_RUNTIME = "mosn_runtime.go"


def _no(span: Span, what: str) -> Diagnostic:
    return Diagnostic(span, f"{what}, which the mosn-go target does not generate yet",
                      note="generate this spec with --target python or --target wasm")


def check_target(protocol: Protocol) -> list[Diagnostic]:
    """What keeps a spec from being printed in Go today, each construct named."""
    out: list[Diagnostic] = []
    if not re.fullmatch(r"[a-z][a-z0-9_]*", protocol.name):
        out.append(Diagnostic(protocol.span, f"protocol '{protocol.name}' is no Go package "
                              f"name (lower case letters, digits, _)"))
    if protocol.state:
        out.append(_no(protocol.state[0].span, f"protocol '{protocol.name}' has a `state`"))
    if protocol.records:
        out.append(_no(protocol.records[0].span,
                       f"record '{protocol.records[0].name}' (lists of records)"))
    if not out:
        try:
            plan = plan_of(protocol)
        except Exception as exc:  # noqa: BLE001 - any failure is a refusal, never wrong code
            return [Diagnostic(protocol.span, f"no codec plan for the mosn-go target: {exc}")]
        for f in plan.frames:
            out += _check_frame(f)
        out += _check_names(protocol)
        if not out:
            try:
                _Printer(plan).source()
                if xprotocol.has_roles(protocol):
                    out += xprotocol.check_names(protocol)
                    xprotocol.MosnPrinter(plan).source()
            except Unsupported as exc:
                out.append(_no(protocol.span, f"protocol '{protocol.name}' uses {exc}"))
    return out


def _check_frame(fp: FramePlan) -> list[Diagnostic]:
    frame = fp.frame
    out: list[Diagnostic] = []
    if frame.sets:
        out.append(_no(frame.sets[0].span, f"frame '{frame.name}' sets state"))
    if isinstance(fp.decode.framing, RestFraming):
        out.append(_no(frame.span, f"frame '{frame.name}' declares its own size (len(rest))"))
        return out
    if fp.decode.framing.prefix:
        out.append(_no(frame.span, f"frame '{frame.name}' has fixed-width fields after its "
                       f"header before its sizes are known"))
    for e in frame.elements:
        where = f"frame '{frame.name}': '{e.name}'"
        if isinstance(e, IntField | BitsField):
            if e.type.width not in (1, 2, 4, 8):
                out.append(_no(e.span, f"{where} is a {e.type.width}-byte integer"))
        elif isinstance(e, BytesField):
            if e.pad is not None:
                out.append(_no(e.span, f"{where} is padded bytes"))
            if e.offset is not None and e in _header(fp):
                out.append(_no(e.span, f"{where} is bytes in the fixed header"))
        elif isinstance(e, KvMapField):
            if e.key_length.width not in (1, 2, 4, 8) or e.value_length.width not in (1, 2, 4, 8):
                out.append(_no(e.span, f"{where} is a map with odd length widths"))
        else:
            out.append(_no(e.span, f"{where} is a {type(e).__name__}"))
        if ir.reads_more(e.present):
            out.append(_no(e.span, f"{where} is read while the frame has bytes left (more())"))
    return out


def _header(fp: FramePlan) -> list[Element]:
    return [r.element for r in fp.decode.header]


_RESERVED = {"Frame", "KV", "Decode", "Encode", "AppendEncode", "ErrNeedMore", "NeedMoreError",
             "ProtocolError", "Protocol", "MosnName", "MaxFrame", *(
                 "ConstantMismatch UnknownEnumValue UnknownVariant FrameTooLarge NegativeSize "
                 "MalformedSection InvalidText ChecksumMismatch FieldOverrun EncodeError"
             ).split()}


def _check_names(protocol: Protocol) -> list[Diagnostic]:
    """Go names that two spec names (or a spec name and the runtime) would share."""
    seen: dict[str, str] = {n: "the Go runtime" for n in _RESERVED}
    out: list[Diagnostic] = []

    def take(name: str, what: str, span: Span) -> None:
        if name in seen:
            out.append(Diagnostic(span, f"{what} is named {name} in Go, as is {seen[name]}",
                                  note="rename one of them in the spec"))
        seen[name] = what

    for enum in protocol.enums:
        take(camel(enum.name), f"enum '{enum.name}'", enum.span)
        for m in enum.members:
            take(camel(enum.name) + camel(m.name), f"member '{enum.name}.{m.name}'", m.span)
    for frame in protocol.frames:
        for prefix in ("", "New"):
            take(prefix + camel(frame.name), f"frame '{frame.name}'", frame.span)
        fields: dict[str, str] = {"FrameName": "a method"}
        for node, span in struct_members(frame):
            go = camel(node)
            if go in fields:
                out.append(Diagnostic(span, f"frame '{frame.name}': '{node}' is {go} in Go, as "
                                      f"is {fields[go]}"))
            fields[go] = f"'{node}'"
    return out


def struct_members(frame: Frame) -> list[tuple[str, Span]]:
    out: list[tuple[str, Span]] = []
    for v in frame.values():
        if v.value is None:
            out.append((v.name, v.span))
    for e in frame.elements:
        if isinstance(e, BytesField | KvMapField):
            out.append((e.name, e.span))
    return out


def generate(protocol: Protocol, out_dir: Path | None = None) -> dict[str, str]:
    """{relative path: text}: the codec, its runtime, its fuzz tests and go.mod; raises SpecError
    if the spec uses what this target does not print yet."""
    errors = [d for d in check_target(protocol) if d.severity == "error"]
    if errors:
        raise SpecError(errors, None)
    name = protocol.name
    plan = plan_of(protocol)
    mosn = xprotocol.has_roles(protocol)
    files = {
        f"{name}.go": _Printer(plan).source(),
        RUNTIME: runtime(name),
        f"{name}_fuzz_test.go": fuzz.source(protocol),
        "go.mod": go_mod(name, mosn),
    }
    if mosn:
        files[f"{name}_mosn.go"] = xprotocol.MosnPrinter(plan).source()
        files[MOSN_RUNTIME] = runtime(name, MOSN_RUNTIME)
        files["go.sum"] = GO_SUM
    return files


def runtime(package: str, file: str = RUNTIME) -> str:
    text = (resources.files("protodsl.codegen.mosn_go") / file).read_text(encoding="utf-8")
    return text.replace("package PACKAGE", f"package {package}", 1)


# ------------------------------------------------------------------ printing


def _align(rows: list[list[str] | str], indent: str) -> list[str]:
    """Rows of cells as gofmt aligns them: columns padded within each run of
    rows; a plain string (a comment) ends a run."""
    out: list[str] = []
    run: list[list[str]] = []

    def flush() -> None:
        if not run:
            return
        widths = [max(len(r[i]) for r in run) for i in range(len(run[0]) - 1)]
        for r in run:
            cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)] + [r[-1]]
            out.append(indent + " ".join(cells).rstrip())
        run.clear()

    for row in rows:
        if isinstance(row, str):
            flush()
            out.append(indent + row if row else "")
        else:
            run.append(row)
    flush()
    return out


def _read_int(buf: str, t: IntType, signed: bool | None = None) -> str:
    """int64 text of the integer at `buf` (a []byte expression)."""
    signed = t.signed if signed is None else signed
    if t.width == 1:
        return f"int64(int8({buf}[0]))" if signed else f"int64({buf}[0])"
    order = "BigEndian" if t.byte_order == "big" else "LittleEndian"
    raw = f"binary.{order}.Uint{8 * t.width}({buf})"
    return f"int64(int{8 * t.width}({raw}))" if signed else f"int64({raw})"


def _put_int(t: IntType, value: str) -> str:
    if t.width == 1:
        return f"out = append(out, byte({value}))"
    order = "BigEndian" if t.byte_order == "big" else "LittleEndian"
    return f"out = binary.{order}.AppendUint{8 * t.width}(out, uint{8 * t.width}({value}))"


class _Func:
    """A function body: lines, and the locals it declares; a local nothing reads
    is then assigned to `_`, as Go requires."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.decls: list[str] = []
        self.depth = 1

    def line(self, text: str) -> None:
        self.lines.append("\t" * self.depth + text if text else "")

    def decl(self, name: str, value: str) -> None:
        self.decls.append(name)
        self.line(f"{name} := {value}")

    def open(self, head: str) -> None:
        self.line(head + " {")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.line("}")

    def text(self) -> list[str]:
        body = "\n".join(self.lines)
        out = list(self.lines)
        for name in self.decls:
            if len(re.findall(rf"\b{name}\b", body)) == 1:
                i = next(i for i, line in enumerate(out)
                         if line.lstrip().startswith(f"{name} := "))
                out.insert(i + 1, out[i][: len(out[i]) - len(out[i].lstrip())] + f"_ = {name}")
        return out


class _Printer:
    def __init__(self, plan: ProtocolPlan) -> None:
        self.plan = plan
        self.protocol = plan.protocol
        self.enums = {e.name: e for e in self.protocol.enums}
        self.uses_binary = False
        self.uses_crc = False

    # -- the file

    def source(self) -> str:
        p = self.protocol
        body: list[str] = []
        for enum in p.enums:
            body += self._enum(enum)
        body += ["// Frame is one frame of the protocol: "
                 + ", ".join(f"*{camel(f.name)}" for f in p.frames) + ".",
                 "type Frame interface {", "\tFrameName() string", "}", ""]
        for fp in self.plan.frames:
            body += self._struct(fp)
        body += self._dispatch()
        for fp in self.plan.frames:
            body += self._decoder(fp)
        body += self._encode_dispatch()
        for fp in self.plan.frames:
            body += self._encoder(fp)
        imports = [i for i, used in (("encoding/binary", self.uses_binary),
                                     ("hash/crc32", self.uses_crc)) if used]
        head = [f"// Code generated by protodsl from {Path(p.span.file).name}. DO NOT EDIT.", ""]
        doc = comment(p.doc) or [f"// Package {p.name} is a codec of the {p.name} protocol."]
        head += [*doc, f"package {p.name}", ""]
        if imports:
            head += ["import (", *(f'\t"{i}"' for i in imports), ")", ""]
        head += [
            "// Protocol is the spec's name of the protocol.",
            f"const Protocol = {go_string(p.name)}", "",
            "// MosnName is the protocol's name in MOSN's configuration.",
            f"const MosnName = {go_string(p.mosn_name)}", "",
            "// MaxFrame is the most bytes a frame may take.",
            f"const MaxFrame = {p.max_frame}", "",
        ]
        text = "\n".join(head + body)
        return text.rstrip("\n") + "\n"

    def _enum(self, enum: Enum) -> list[str]:
        name = camel(enum.name)
        out = [*comment(enum.doc), f"type {name} {int_type(enum.base)}", "",
               f"// Members of {name}.", "const ("]
        rows: list[list[str] | str] = []
        for m in enum.members:
            rows += comment(m.doc)
            rows.append([name + camel(m.name), name, f"= {m.value}"])
        out += _align(rows, "\t")
        values = ", ".join(str(m.value) for m in enum.members)
        out += [")", "", f"func is{name}(v int64) bool {{", "\tswitch v {",
                f"\tcase {values}:", "\t\treturn true", "\t}", "\treturn false", "}", ""]
        return out

    def _struct(self, fp: FramePlan) -> list[str]:
        frame = fp.frame
        name = camel(frame.name)
        rows: list[list[str] | str] = []
        defaults: list[str] = []
        for e in frame.elements:
            nodes: list[tuple[ValueNode, str | None]] = []
            if isinstance(e, IntField):
                nodes = [(e, e.doc)]
            elif isinstance(e, BitsField):
                nodes = [(m, m.doc) for m in e.members]
            for node, doc in nodes:
                if node.value is not None:
                    continue
                rows += comment(doc)
                rows.append([camel(node.name), value_type(node)])
                if node.default:
                    defaults.append(f"{camel(node.name)}: {self._typed(node, node.default)}")
            if isinstance(e, BytesField):
                rows += comment(e.doc)
                rows.append([camel(e.name), "string" if e.text else "[]byte"])
            elif isinstance(e, KvMapField):
                rows += comment(e.doc)
                rows.append([camel(e.name), "[]KV"])
        head = comment(frame.doc) or [f"// {name} is the frame '{frame.name}'."]
        out = [*head, f"type {name} struct {{", *_align(rows, "\t"), "}", "",
               "// FrameName is the spec's name of the frame.",
               f"func (*{name}) FrameName() string {{ return {go_string(frame.name)} }}", "",
               f"// New{name} is a {name} holding the spec's defaults.",
               f"func New{name}() *{name} {{", f"\treturn &{name}{{{', '.join(defaults)}}}",
               "}", ""]
        return out

    def _typed(self, node: ValueNode, value: int) -> str:
        if node.enum is not None:
            enum = self.enums[node.enum]
            member = next((m for m in enum.members if m.value == value), None)
            if member is not None:
                return camel(enum.name) + camel(member.name)
        return f"{value_type(node)}({value})"

    # -- decoding

    def _dispatch(self) -> list[str]:
        f = _Func()
        f.line("end := len(buf)")
        f.open(f"if end < {self.protocol.discriminator_size}")
        f.line("return nil, 0, needMore(end, -1)")
        f.close()
        names: dict[str, str] = {}
        for d in self.plan.discriminators:
            v = d.value
            loc = local("d", v.name)
            names[v.name] = loc
            read = _read_int(f"buf[{d.offset}:]", d.container, signed=d.container.signed
                             and v.mask is None)
            if v.mask is not None:
                read = f"int64((uint64({read}) >> {v.shift}) & {v.mask:#x})"
            f.decl(loc, read)
        for fp in self.plan.frames:
            when = to_go(fp.frame.when, lambda n: names[n], self._no_length)
            f.open(f"if {when} != 0")
            f.line(f"fr, n, err := decode{camel(fp.name)}(buf)")
            f.open("if err != nil")
            f.line(f"return nil, 0, inFrame(err, {go_string(fp.name)})")
            f.close()
            f.line("return fr, n, nil")
            f.close()
        parts = []
        for d in self.plan.discriminators:
            fmt = spelled_format(next((c.spelling for c in d.value.checks
                                       if isinstance(c, MustEqual)), None))
            parts.append(f"{go_string(d.value.name + '=')}+"
                         f"{self._num(names[d.value.name], d.value, fmt)}")
        first = self.plan.discriminators[0] if self.plan.discriminators else None
        field = go_string(first.value.name if first else "frame")
        offset = first.offset if first else 0
        detail = '+", "+'.join(parts) or '""'
        f.line(f"return nil, 0, fail(UnknownVariant, {field}, {offset}, {detail})")
        return ["// Decode decodes the frame at the start of buf: the frame and the bytes",
                "// it takes. A buffer holding only part of a frame gives an error that",
                "// is ErrNeedMore (errors.Is); a malformed frame a *ProtocolError whose",
                "// text is the Python codec's. The frame's bytes and maps are copies.",
                "func Decode(buf []byte) (Frame, int, error) {", *f.text(), "}", ""]

    def _no_length(self, name: str) -> str:
        raise Unsupported(f"len({name}) where only integers are known")

    def _num(self, loc: str, value: Value, fmt: object) -> str:
        from protodsl.codegen.numbers import NumberFormat

        assert isinstance(fmt, NumberFormat)
        unsigned = "true" if _unsigned(value.node) else "false"
        if fmt.radix == 10:
            return f"num({loc}, {unsigned}, 10, 0, false)"
        return (f"num({loc}, {unsigned}, {fmt.radix}, {fmt.digits}, "
                f"{'true' if fmt.upper else 'false'})")

    def _checks(self, f: _Func, value: Value, loc: str, offset: str, ret: str) -> None:
        for check in value.checks:
            cond, kind, detail = self._check(check, value, loc, offset)
            f.open(f"if {cond}")
            f.line(f"return {ret}fail({kind}, {go_string(value.name)}, {offset}, {detail})")
            f.close()

    def _check(self, check: Check, value: Value, loc: str, offset: str
               ) -> tuple[str, str, str]:
        """The test, the kind and the detail, to the letter the Python codec's."""
        match check:
            case MustEqual(value=want, spelling=spelling):
                fmt = spelled_format(spelling)
                return (f"{loc} != {go_int(want)}", "ConstantMismatch",
                        f"{go_string(f'expected {fmt.show(want)}, got ')}+"
                        f"{self._num(loc, value, fmt)}")
            case MustBeMember(enum=enum):
                return (f"!is{camel(enum.name)}({loc})", "UnknownEnumValue",
                        f"{go_string(f'not a {enum.name}: ')}+"
                        f"{self._num(loc, value, DECIMAL)}")
            case MustMatchChecksum(kind=kind, start=start):
                if kind != "crc32":
                    raise Unsupported(f"a {kind} checksum")
                self.uses_crc = True
                return (f"{loc} != int64(crc32.ChecksumIEEE(b[{start}:{offset}]))",
                        "ChecksumMismatch",
                        f"{go_string(kind + ' ')}+num({loc}, true, 16, 8, false)+"
                        f"{go_string(' does not match the bytes it covers')}")
        raise Unsupported(f"the check {check!r}")

    def _decoder(self, fp: FramePlan) -> list[str]:
        plan = fp.decode
        framing = plan.framing
        assert isinstance(framing, SizedFraming)
        frame = fp.frame
        name = camel(frame.name)
        header = plan.header_size
        ret = "nil, 0, "
        f = _Func()
        f.line("end := len(buf)")
        f.open(f"if end < {header}")
        for r in plan.header:
            assert r.offset is not None
            for v in r.values:
                if not v.checks:
                    continue
                assert isinstance(r.element, IntField | BitsField)
                f.open(f"if end >= {r.offset + r.element.type.width}")
                loc = local("v", v.name)
                f.decl(loc, self._value_read(r, v, f"buf[{r.offset}:]"))
                self._checks(f, v, loc, str(r.offset), ret)
                f.close()
        f.line(f"return {ret}needMore(end, {header})")
        f.close()
        field_of: dict[str, str] = {}
        for r in plan.header:
            assert r.offset is not None
            for v in r.values:
                loc = local("v", v.name)
                field_of[v.name] = loc
                f.decl(loc, self._value_read(r, v, f"buf[{r.offset}:]"))
        for r in plan.header:
            for v in r.values:
                self._checks(f, v, field_of[v.name], str(r.offset), ret)
        size_of: dict[str, str] = {}

        def length(n: str) -> str:
            return size_of[n]

        def value(n: str) -> str:
            return field_of[n]

        for s in framing.sizes:
            n = local("n", s.element.name)
            size_of[s.element.name] = n
            f.decl(n, to_go(s.expr, value, length))
            if s.may_be_negative:
                cond = f"{n} < 0"
                if s.present is not None:
                    cond = f"land(b2i({n} < 0), {to_go(s.present, value, length)}) != 0"
                f.open(f"if {cond}")
                f.line(f"return {ret}fail(NegativeSize, {go_string(s.element.name)}, "
                       f"{header}, \"negative size \"+dec({n}))")
                f.close()
        f.decl("size", to_go(framing.total, value, length))
        f.open("if size > MaxFrame")
        f.line(f"return {ret}&ProtocolError{{Kind: FrameTooLarge, Field: "
               f"{go_string(frame.name)}, Offset: 0, FrameLevel: true, Detail: "
               f"\"frame of \" + dec(size) + \" bytes exceeds max_frame \" + dec(MaxFrame)}}")
        f.close()
        f.open(f"if size < {header}")
        f.line(f"return {ret}fail(FieldOverrun, {go_string(frame.name)}, 0, "
               f"\"frame of \"+dec(size)+\" bytes is shorter than its header\")")
        f.close()
        f.open("if int64(end) < size")
        f.line(f"return {ret}needMore(end, int(size))")
        f.close()
        f.line("b := make([]byte, size)")
        f.line("copy(b, buf)")
        f.decl("off", str(header))
        members: list[tuple[str, str]] = []
        for node in frame.values():
            if node.value is None and node.name in field_of:
                members.append((camel(node.name), f"{value_type(node)}({field_of[node.name]})"))
        for r in framing.tail:
            members += self._tail_read(f, r, field_of, size_of, ret)
        f.line(f"fr := &{name}{{}}")
        for member, text in members:
            f.line(f"fr.{member} = {text}")
        f.line("return fr, int(size), nil")
        return [f"func decode{name}(buf []byte) (*{name}, int, error) {{", *f.text(), "}", ""]

    def _value_read(self, r: Read, v: Value, buf: str) -> str:
        e = r.element
        assert isinstance(e, IntField | BitsField)
        if e.type.width > 1:
            self.uses_binary = True
        if v.mask is None:
            return _read_int(buf, e.type)
        return f"int64((uint64({_read_int(buf, e.type, signed=False)}) >> {v.shift}) & " \
               f"{v.mask:#x})"

    def _tail_read(self, f: _Func, r: Read, field_of: dict[str, str],
                   size_of: dict[str, str], ret: str) -> list[tuple[str, str]]:
        """Read `r` at `off` inside the whole frame `b`; the struct members it sets."""
        e = r.element
        members: list[tuple[str, str]] = []
        overrun = (f"return {ret}fail(FieldOverrun, {go_string(e.name)}, off, "
                   f"\"runs past the frame's end at \"+dec(size))")

        def value(n: str) -> str:
            return field_of[n]

        def length(n: str) -> str:
            return size_of[n]

        if isinstance(e, IntField | BitsField):
            for v in r.values:
                loc = local("v", v.name)
                field_of[v.name] = loc
                f.line(f"var {loc} int64")
                if v.node.value is None:
                    members.append((camel(v.name), f"{value_type(v.node)}({loc})"))
        else:
            loc = local("x", e.name)
            kind = ("string" if isinstance(e, BytesField) and e.text
                    else "[]KV" if isinstance(e, KvMapField) else "[]byte")
            if r.present is None or kind == "string":
                f.line(f"var {loc} {kind}")
            else:  # left off the wire, it decodes as empty (not nil), as in Python
                f.line(f"{loc} := {kind}{{}}")
            members.append((camel(e.name), loc))
        if r.present is not None:
            f.open(f"if {to_go(r.present, value, length)} != 0")
        if isinstance(e, IntField | BitsField):
            w = e.type.width
            f.open(f"if int64(off+{w}) > size")
            f.line(overrun)
            f.close()
            for v in r.values:
                f.line(f"{field_of[v.name]} = {self._value_read(r, v, 'b[off:]')}")
            for v in r.values:
                self._checks(f, v, field_of[v.name], "off", ret)
            f.line(f"off += {w}")
        else:
            assert isinstance(e, BytesField | KvMapField)
            if isinstance(r.size, Measured):
                n = size_of[e.name]
            elif isinstance(r.size, RestOfFrame):
                n = "(size - int64(off))"
            else:
                assert r.size is not None
                n = f"int64({r.size.bytes})"
            f.open(f"if {n} < 0 || int64(off)+{n} > size")
            f.line(overrun)
            f.close()
            stop = f"off+int({n})"
            loc = local("x", e.name)
            if isinstance(e, KvMapField):
                kw, vw = e.key_length.width, e.value_length.width
                little = "true" if e.key_length.byte_order == "little" else "false"
                if e.value_length.byte_order != e.key_length.byte_order:
                    raise Unsupported("a map whose key and value lengths differ in byte order")
                f.line("var err error")
                f.line(f"{loc}, err = readKV(b, off, {stop}, {kw}, {vw}, {little}, "
                       f"{_go_bytes(e.between)}, "
                       f"{'true' if e.null_drop else 'false'}, {go_string(e.name)})")
                f.open("if err != nil")
                f.line(f"return {ret}err")
                f.close()
            elif e.text:
                f.line(f"raw := b[off : {stop} : {stop}]")
                f.open("if i := badUTF8(raw); i >= 0")
                f.line(f"return {ret}fail(InvalidText, {go_string(e.name)}, off, "
                       f"\"not UTF-8 at byte \"+dec(int64(i)))")
                f.close()
                f.line(f"{loc} = string(raw)")
            else:
                f.line(f"{loc} = b[off : {stop} : {stop}]")
            f.line(f"off += int({n})")
        if r.present is not None:
            f.close()
        return members

    # -- encoding

    def _claim(self, f: _Func, fp: FramePlan, field_of: dict[str, str],
               value: Callable[[str], str], length: Callable[[str], str]) -> None:
        """The frame's own condition, first, as Python's `_claimed`: its text names
        the values it read."""
        claim = fp.encode.claim
        read = sorted(ir.fields_read(claim))
        if not read:
            return
        if any(n not in field_of for n in read):
            raise Unsupported("a frame condition reading len()")
        nodes = {v.name: v for v in fp.frame.values()}
        has = '+", "+'.join(f"{go_string(n + ' = ')}+{_shown(field_of[n], nodes[n])}"
                            for n in read)
        f.open(f"if {to_go(claim, value, length)} == 0")
        f.line(f"return nil, encodeFail({go_string(read[0])}, "
               f"{go_string(f'frame {fp.name!r} needs `{ir.spelled(claim)}`, but it has ')}"
               f"+{has})")
        f.close()

    def _ranges(self, f: _Func, fp: FramePlan, field_of: dict[str, str],
                value: Callable[[str], str], length: Callable[[str], str]) -> None:
        """Integers their field cannot hold, after the size as in Python: the fixed
        header's (its struct pack), then each later one as it is written."""
        plan = fp.encode
        in_head = {r.element.name for r in fp.decode.header}
        fits = {fit.node.name: fit for fit in plan.fits if isinstance(fit.node, IntField)
                and fit.node.type.width < 8}  # an int64 holds every value of 8 bytes
        head = [(fit, f"{fit.lo}..{fit.hi}") for name, fit in fits.items() if name in in_head]
        tail = [(fits[w.element.name], f"{w.element.type.width} bytes") for w in plan.writes
                if isinstance(w.element, IntField) and w.checksum is None
                and w.element.name in fits and w.element.name not in in_head]
        for fit, what in head + tail:
            loc = field_of[fit.node.name]
            if fit.present is not None:
                f.open(f"if {to_go(fit.present, value, length)} != 0")
            f.open(f"if lor(lt({loc}, {go_int(fit.lo)}), gt({loc}, {go_int(fit.hi)})) != 0")
            f.line(f"return nil, encodeFail({go_string(fit.node.name)}, "
                   f"{_shown(loc, fit.node)}+{go_string(' does not fit ' + what)})")
            f.close()
            if fit.present is not None:
                f.close()


    def _encode_dispatch(self) -> list[str]:
        f = _Func()
        f.open("switch fr := f.(type)")
        for fp in self.plan.frames:
            name = camel(fp.name)
            f.depth -= 1
            f.line(f"case *{name}:")
            f.depth += 1
            f.open("if fr == nil")
            f.line(f"return nil, encodeFail({go_string(fp.name)}, \"a nil *{name}\")")
            f.close()
            f.line("return fr.encode(dst)")
        f.close()
        f.line(f"return nil, encodeFail(\"frame\", \"not a {self.protocol.name} frame\")")
        return ["// Encode gives the wire bytes of a frame, every length and checksum",
                "// computed; a value its field cannot hold is a *ProtocolError (EncodeError).",
                "func Encode(f Frame) ([]byte, error) { return AppendEncode(nil, f) }", "",
                "// AppendEncode appends the wire bytes of a frame to dst, as Encode gives",
                "// them: a buffer reused from frame to frame spares an allocation each.",
                "func AppendEncode(dst []byte, f Frame) ([]byte, error) {", *f.text(), "}", ""]

    def _encoder(self, fp: FramePlan) -> list[str]:
        plan = fp.encode
        frame = fp.frame
        name = camel(frame.name)
        f = _Func()
        ret = "nil, "
        field_of: dict[str, str] = {}
        elements = {e.name: e for e in frame.elements}

        def value(n: str) -> str:
            return field_of[n]

        def length(n: str) -> str:
            e = elements[n]
            if isinstance(e, KvMapField):
                return f"kvSize(f.{camel(n)}, {e.overhead})"
            return f"int64(len(f.{camel(n)}))"

        for v in frame.values():
            loc = local("v", v.name)
            field_of[v.name] = loc
            if v.value is None:
                f.decl(loc, f"int64(f.{camel(v.name)})")
            elif v.constant:
                f.decl(loc, go_int(ir.evaluate(v.value)))
        for c in plan.computed:
            f.decl(local("v", c.node.name), to_go(c.expr, value, length))
        self._claim(f, fp, field_of, value, length)
        for w in plan.writes:  # the sized values first, as Python turns them into bytes
            el = w.element
            if isinstance(el, BytesField) and el.text:
                f.open(f"if i := badUTF8([]byte(f.{camel(el.name)})); i >= 0")
                f.line(f"return {ret}encodeFail({go_string(el.name)}, "
                       f"\"not UTF-8 at byte \"+dec(int64(i)))")
                f.close()
            elif isinstance(el, KvMapField):
                f.open(f"if err := checkKV(f.{camel(el.name)}, {el.key_length.width}, "
                       f"{el.value_length.width}, {'true' if w.refuse_null else 'false'}, "
                       f"{go_string(el.name)}); err != nil")
                f.line(f"return {ret}err")
                f.close()
        bits = [fit for fit in plan.fits if isinstance(fit.node, BitMember)]
        enums = [fit for fit in plan.fits if fit.enum is not None]
        for fit in bits + enums:
            loc = field_of[fit.node.name]
            if fit.present is not None:
                f.open(f"if {to_go(fit.present, value, length)} != 0")
            if fit.enum is None:
                f.open(f"if lor(lt({loc}, {go_int(fit.lo)}), gt({loc}, {go_int(fit.hi)})) != 0")
                f.line(f"return {ret}encodeFail({go_string(fit.node.name)}, "
                       f"{_shown(loc, fit.node)}+{go_string(' does not fit ' + fit.what)})")
            else:
                f.open(f"if !is{camel(fit.enum.name)}({loc})")
                f.line(f"return {ret}encodeFail({go_string(fit.node.name)}, "
                       f"{_shown(loc, fit.node)}+{go_string(f' is not a {fit.enum.name}')})")
            f.close()
            if fit.present is not None:
                f.close()
        for lc in plan.lengths:
            if lc.expr is None:
                raise Unsupported("padded bytes")
            sized = lc.element
            if lc.present is not None:
                f.open(f"if {to_go(lc.present, value, length)} != 0")
            size = to_go(lc.expr, value, length)
            f.open(f"if ne({size}, {length(sized.name)}) != 0")
            f.line(f"return {ret}encodeFail({go_string(sized.name)}, dec({length(sized.name)})+"
                   f"\" bytes, but its size says \"+dec({size}))")
            f.close()
            if lc.present is not None:
                f.close()
        if plan.total is None:
            raise Unsupported("a frame sized by len(rest)")
        f.decl("size", to_go(plan.total, value, length))
        f.open("if size > MaxFrame")
        f.line(f"return {ret}encodeFail({go_string(frame.name)}, \"frame of \"+dec(size)+"
               f"\" bytes exceeds max_frame \"+dec(MaxFrame))")
        f.close()
        self._ranges(f, fp, field_of, value, length)
        f.line("out := grow(dst, size)")
        for w in plan.writes:
            el = w.element
            if w.present is not None:
                f.open(f"if {to_go(w.present, value, length)} != 0")
            if isinstance(el, IntField):
                if el.type.width > 1:
                    self.uses_binary = True
                if w.checksum is not None:
                    if w.checksum.kind != "crc32":
                        raise Unsupported(f"a {w.checksum.kind} checksum")
                    self.uses_crc = True
                    start = f"len(dst)+{w.checksum.start}"
                    f.line(_put_int(el.type, f"crc32.ChecksumIEEE(out[{start}:])"))
                else:
                    f.line(_put_int(el.type, field_of[el.name]))
            elif isinstance(el, BitsField):
                if el.type.width > 1:
                    self.uses_binary = True
                parts = "int64(0)"
                for m in el.members:
                    parts = (f"bor({parts}, shl(band({field_of[m.name]}, {m.mask:#x}), "
                             f"{m.shift}))")
                f.line(_put_int(el.type, parts))
            elif isinstance(el, KvMapField):
                f.line(f"out = writeKV(out, f.{camel(el.name)}, {el.key_length.width}, "
                       f"{el.value_length.width}, "
                       f"{'true' if el.key_length.byte_order == 'little' else 'false'}, "
                       f"{_go_bytes(el.between)})")
            elif isinstance(el, BytesField):
                f.line(f"out = append(out, f.{camel(el.name)}...)")
            else:
                raise Unsupported(f"writing a {type(el).__name__}")
            if w.present is not None:
                f.close()
        f.line("return out, nil")
        return [f"func (f *{name}) encode(dst []byte) ([]byte, error) {{", *f.text(), "}", ""]


def _shown(loc: str, node: ValueNode) -> str:
    """Go text of a value as Python's `repr` of the int shows it."""
    if isinstance(node, IntField) and node.type.width == 8 and not node.type.signed:
        return f"num({loc}, true, 10, 0, false)"
    return f"dec({loc})"


def _unsigned(node: ValueNode) -> bool:
    return not isinstance(node, IntField) or not node.type.signed


def _go_bytes(data: bytes) -> str:
    """A Go string literal of these exact bytes."""
    return '"' + "".join(chr(b) if 0x20 <= b < 0x7F and chr(b) not in '"\\' else f"\\x{b:02x}"
                         for b in data) + '"'
