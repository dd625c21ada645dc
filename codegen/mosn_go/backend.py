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
from importlib import resources
from pathlib import Path

from protodsl.codegen.mosn_go import fuzz, records, state, wide, xprotocol
from protodsl.codegen.mosn_go.checks import show_num
from protodsl.codegen.mosn_go.decode import decoder
from protodsl.codegen.mosn_go.encode import encoder
from protodsl.codegen.mosn_go.expr import Unsupported, to_go
from protodsl.codegen.mosn_go.gomod import GO_SUM, go_mod
from protodsl.codegen.mosn_go.gotext import Func, align, read_int
from protodsl.codegen.mosn_go.naming import (
    GoNames,
    camel,
    claimed,
    comment,
    go_names,
    go_string,
    int_type,
    members,
    value_type,
)
from protodsl.codegen.numbers import spelled_format
from protodsl.codegen.wasm.wide import as_bytes

from protodsl.diagnostics import Diagnostic, Span, SpecError
from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    BytesField,
    Enum,
    Frame,
    IntField,
    KvMapField,
    ListField,
    Protocol,
    ValueNode,
    VarintField,
)
from protodsl.plan import (
    FramePlan,
    MustEqual,
    ProtocolPlan,
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
    out += _check_state(protocol)
    if not out:
        try:
            plan = plan_of(as_bytes(protocol))
        except Exception as exc:  # noqa: BLE001 - any failure is a refusal, never wrong code
            return [Diagnostic(protocol.span, f"no codec plan for the mosn-go target: {exc}")]
        for f in plan.frames:
            out += _check_frame(f)
        if not out:
            pkg = go_names(protocol)
            try:
                _Printer(plan, wide.of(protocol), pkg).source()
                if xprotocol.has_roles(protocol):
                    xprotocol.MosnPrinter(plan, wide.of(protocol), pkg).source()
            except Unsupported as exc:
                out.append(_no(protocol.span, f"protocol '{protocol.name}' uses {exc}"))
    return out


def _check_state(protocol: Protocol) -> list[Diagnostic]:
    """What of a `state` the Go codec does not keep, as the Wasm plugin does not:
    a member per side, a `max_frame` the state sets, `last()`; and at most
    state.MAX_MEMBERS members."""
    out: list[Diagnostic] = []
    if len(protocol.state) > state.MAX_MEMBERS:
        out.append(_no(protocol.state[state.MAX_MEMBERS].span,
                       f"protocol '{protocol.name}' has a state of {len(protocol.state)} "
                       f"members (at most {state.MAX_MEMBERS})"))
    for member in protocol.state:
        if member.per_side:
            out.append(_no(member.span, f"state member '{member.name}' is kept per side"))
    if protocol.frame_limit is not None:
        out.append(_no(protocol.frame_limit.span, "a max_frame limit the state sets"))
    for frame in protocol.frames:
        for s in frame.sets:
            if any(isinstance(n, ir.LastOf) for n in ir.walk(s.value)):
                out.append(_no(s.span, f"frame '{frame.name}' sets state from last() "
                                       f"over a list"))
    return out


def _check_frame(fp: FramePlan) -> list[Diagnostic]:
    frame = fp.frame
    out: list[Diagnostic] = []
    for e in frame.elements:
        where = f"frame '{frame.name}': '{e.name}'"
        if ir.reads_more(e.present):
            out.append(_no(e.span, f"{where} is read while the frame has bytes left (more())"))
    return out


def struct_members(frame: Frame) -> list[tuple[str, Span]]:
    out: list[tuple[str, Span]] = []
    for v in frame.values():
        if v.value is None:
            out.append((v.name, v.span))
    for e in frame.elements:
        if isinstance(e, BytesField | KvMapField | ListField):
            out.append((e.name, e.span))
    return out


def generate(protocol: Protocol, out_dir: Path | None = None) -> dict[str, str]:
    """{relative path: text}: the codec, its runtime, its fuzz tests and go.mod; raises SpecError
    if the spec uses what this target does not print yet."""
    errors = [d for d in check_target(protocol) if d.severity == "error"]
    if errors:
        raise SpecError(errors, None)
    name = protocol.name
    plan = plan_of(as_bytes(protocol))
    mosn = xprotocol.has_roles(protocol)
    pkg = go_names(protocol)
    files = {
        f"{name}.go": _Printer(plan, wide.of(protocol), pkg).source(),
        RUNTIME: runtime(name),
        f"{name}_fuzz_test.go": fuzz.source(protocol, pkg),
        "go.mod": go_mod(name, mosn),
    }
    if mosn:
        files[f"{name}_mosn.go"] = xprotocol.MosnPrinter(plan, wide.of(protocol), pkg).source()
        files[MOSN_RUNTIME] = runtime(name, MOSN_RUNTIME)
        files["go.sum"] = GO_SUM
    if wide.used(protocol):
        files[wide.FILE] = runtime(name, wide.FILE)
    return files


def runtime(package: str, file: str = RUNTIME) -> str:
    text = (resources.files("protodsl.codegen.mosn_go") / file).read_text(encoding="utf-8")
    return text.replace("package PACKAGE", f"package {package}", 1)


# ------------------------------------------------------------------ printing


class _Printer:
    """The codec of `plan`, whose 128-bit integers (`wide_ints`, by frame) it
    carries as bytes; its package-level names are `pkg`."""

    def __init__(self, plan: ProtocolPlan, wide_ints: dict[str, wide.Wide], pkg: GoNames
                 ) -> None:
        self.plan = plan
        self.wide_ints = wide_ints
        self.pkg = pkg
        self.protocol = plan.protocol
        self.enums = {e.name: e for e in self.protocol.enums}
        # a member of the State `st` a frame is decoded or encoded in: None without one
        self.state = state.field(self.protocol, "st") if self.protocol.state else None

    # -- the file

    def source(self) -> str:
        p = self.protocol
        body: list[str] = []
        for enum in p.enums:
            body += self._enum(enum)
        body += ["// Frame is one frame of the protocol: "
                 + ", ".join(f"*{self.pkg.frame(f.name)}" for f in p.frames) + ".",
                 "type Frame interface {", "\tFrameName() string", "}", ""]
        if self.protocol.state:
            body += state.source(self.plan, self.pkg)
        for rp in self.plan.records:
            body += records.source(rp, self.pkg)
        for fp in self.plan.frames:
            body += self._struct(fp)
        body += self._dispatch()
        for fp in self.plan.frames:
            body += decoder(fp, self.wide_ints[fp.name], self.pkg, self.state)
        body += self._encode_dispatch()
        for fp in self.plan.frames:
            body += encoder(fp, self.wide_ints[fp.name], self.pkg, self.state)
        code = "\n".join(body)
        imports = [i for i in ("encoding/binary", "hash/crc32")
                   if f"{i.split('/')[-1]}." in code]
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
        name = self.pkg.enum(enum.name)
        # a name the table suffixed says which of the spec's enums it is
        spec = "" if name == camel(enum.name) else f", the enum '{enum.name}'"
        out = [*comment(enum.doc), f"type {name} {int_type(enum.base)}", "",
               f"// Members of {name}{spec}.", "const ("]
        rows: list[list[str] | str] = []
        for m in enum.members:
            rows += comment(m.doc)
            rows.append([self.pkg.member(enum.name, m.name), name, f"= {m.value}"])
        out += align(rows, "\t")
        values = ", ".join(str(m.value) for m in enum.members)
        out += [")", "", f"func {self.pkg.is_member(enum.name)}(v int64) bool {{",
                "\tswitch v {",
                f"\tcase {values}:", "\t\treturn true", "\t}", "\treturn false", "}", ""]
        return out

    def _struct(self, fp: FramePlan) -> list[str]:
        frame = fp.frame
        name = self.pkg.frame(frame.name)
        names = members(frame)
        rows: list[list[str] | str] = []
        defaults: list[str] = []
        for e in frame.elements:
            nodes: list[tuple[ValueNode, str | None]] = []
            if isinstance(e, IntField | VarintField):
                nodes = [(e, e.doc)]
            elif isinstance(e, BitsField):
                nodes = [(m, m.doc) for m in e.members]
            for node, doc in nodes:
                if node.value is not None:
                    continue
                rows += comment(doc)
                rows.append([names[node.name], value_type(node, self.pkg)])
                if node.default:
                    defaults.append(f"{names[node.name]}: {self._typed(node, node.default)}")
            if isinstance(e, BytesField):
                rows += comment(e.doc)
                t = self.wide_ints[frame.name].get(e.name)
                rows.append([names[e.name], wide.go_type(t) if t is not None
                             else "string" if e.text else "[]byte"])
            elif isinstance(e, KvMapField):
                rows += comment(e.doc)
                rows.append([names[e.name], "[]KV"])
            elif isinstance(e, ListField):
                rows += comment(e.doc)
                rows.append([names[e.name], f"[]{self.pkg.record(e.record)}"])
        head = comment(frame.doc) or [f"// {name} is the frame '{frame.name}'."]
        out = [*head, f"type {name} struct {{", *align(rows, "\t"), "}", "",
               "// FrameName is the spec's name of the frame.",
               f"func (*{name}) FrameName() string {{ return {go_string(frame.name)} }}", "",
               f"// {self.pkg.new(frame.name)} is a {name} holding the spec's defaults.",
               f"func {self.pkg.new(frame.name)}() *{name} {{",
               f"\treturn &{name}{{{', '.join(defaults)}}}",
               "}", ""]
        return out

    def _typed(self, node: ValueNode, value: int) -> str:
        if node.enum is not None:
            enum = self.enums[node.enum]
            member = next((m for m in enum.members if m.value == value), None)
            if member is not None:
                return self.pkg.member(enum.name, member.name)
        return f"{value_type(node, self.pkg)}({value})"

    # -- decoding

    def _dispatch(self) -> list[str]:
        f = Func()
        f.line("end := len(buf)")
        f.open(f"if end < {self.protocol.discriminator_size}")
        f.line("return nil, 0, needMore(end, -1)")
        f.close()
        names = {n: "d" + go for n, go in claimed(
            [d.value.name for d in self.plan.discriminators]).items()}
        for d in self.plan.discriminators:
            v = d.value
            loc = names[v.name]
            read = read_int(f"buf[{d.offset}:]", d.container, signed=d.container.signed
                             and v.mask is None)
            if v.mask is not None:
                read = f"int64((uint64({read}) >> {v.shift}) & {v.mask:#x})"
            f.decl(loc, read)
        p = self.protocol
        if any(state.when_reads_state(fp.frame) for fp in self.plan.frames):
            f.decl("unset", '""')
        for fp in self.plan.frames:
            self._try(f, fp, names)
        parts = []
        for d in self.plan.discriminators:
            fmt = spelled_format(next((c.spelling for c in d.value.checks
                                       if isinstance(c, MustEqual)), None))
            parts.append(f"{go_string(d.value.name + '=')}+"
                         f"{show_num(names[d.value.name], d.value, fmt)}")
        first = self.plan.discriminators[0] if self.plan.discriminators else None
        field = go_string(first.value.name if first else "frame")
        offset = first.offset if first else 0
        detail = '+", "+'.join(parts) or '""'
        f.line(f"return nil, 0, fail(UnknownVariant, {field}, {offset}, {detail})")
        doc = ["// Decode decodes the frame at the start of buf: the frame and the bytes",
               "// it takes. A buffer holding only part of a frame gives an error that",
               "// is ErrNeedMore (errors.Is); a malformed frame a *ProtocolError whose",
               "// text is the Python codec's. The frame's bytes and maps are copies."]
        if not p.state:
            return [*doc, "func Decode(buf []byte) (Frame, int, error) {", *f.text(), "}", ""]
        return [*doc, "//",
                "// st is the connection's state, which the frame is decoded in; Decode",
                "// moves it past a frame it decodes, and leaves it as it was otherwise.",
                "// A frame reading a member st lacks is malformed: StateUnset.",
                "func Decode(buf []byte, st *State) (Frame, int, error) {", *f.text(), "}", ""]

    def _try(self, f: Func, fp: FramePlan, names: dict[str, str]) -> None:
        """Decode frame `fp` when its `when` holds; in a spec with a state, with
        each member the frame reads checked first (a `when` reading one: as it
        reads it, as Python's `_set`) and the state moved past the frame."""
        p, frame = self.protocol, fp.frame
        if state.when_reads_state(frame):
            go = state.names(p)

            def got(n: str) -> str:
                return f"st.got({state.mask(p, n)}, st.{go[n]}, {go_string(n)}, &unset)"

            when = state.lazy_test(frame.when, lambda e: to_go(
                e, lambda n: names[n], self._no_length, state=got))
            f.open(f"if w := {when}; unset != \"\"")
            f.line(f"return nil, 0, stateUnset(unset, {go_string(fp.name)})")
            f.depth -= 1
            f.line("} else if w {")
            f.depth += 1
        else:
            f.open(f"if {to_go(frame.when, lambda n: names[n], self._no_length)} != 0")
        if p.state:
            state.require(f, p, frame, "nil, 0, ", "st")
            f.line(f"fr, n, err := {self.pkg.decoder(fp.name)}(buf, *st)")
        else:
            f.line(f"fr, n, err := {self.pkg.decoder(fp.name)}(buf)")
        f.open("if err != nil")
        f.line(f"return nil, 0, inFrame(err, {go_string(fp.name)})")
        f.close()
        if frame.sets:
            f.line("*st = fr.next(*st)")
        f.line("return fr, n, nil")
        f.close()

    def _no_length(self, name: str) -> str:
        raise Unsupported(f"len({name}) where only integers are known")

    # -- encoding

    def _encode_dispatch(self) -> list[str]:
        f = Func()
        f.open("switch fr := f.(type)")
        for fp in self.plan.frames:
            name = self.pkg.frame(fp.name)
            f.depth -= 1
            f.line(f"case *{name}:")
            f.depth += 1
            f.open("if fr == nil")
            f.line(f"return nil, encodeFail({go_string(fp.name)}, \"a nil *{name}\")")
            f.close()
            if self.protocol.state:
                state.require(f, self.protocol, fp.frame, "nil, ", "st")
                f.line("return fr.encode(dst, st)")
            else:
                f.line("return fr.encode(dst)")
        f.close()
        f.line(f"return nil, encodeFail(\"frame\", \"not a {self.protocol.name} frame\")")
        doc = ["// Encode gives the wire bytes of a frame, every length and checksum",
               "// computed; a value its field cannot hold is a *ProtocolError (EncodeError)."]
        append = ["// AppendEncode appends the wire bytes of a frame to dst, as Encode gives",
                  "// them: a buffer reused from frame to frame spares an allocation each."]
        if not self.protocol.state:
            return [*doc, "func Encode(f Frame) ([]byte, error) { return AppendEncode(nil, f) }",
                    "", *append, "func AppendEncode(dst []byte, f Frame) ([]byte, error) {",
                    *f.text(), "}", ""]
        return [*doc, "// The frame is laid out by the connection's state st, which Encode only",
                "// reads (NextState gives the state after the frame, as the Python codec's",
                "// next_state): a frame reading a member st lacks is refused, StateUnset.",
                "func Encode(f Frame, st State) ([]byte, error) {",
                "\treturn AppendEncode(nil, f, st)", "}",
                "", *append,
                "func AppendEncode(dst []byte, f Frame, st State) ([]byte, error) {",
                *f.text(), "}", ""]
