"""A frame's dissection, printed from its decode plan: the Python codec's reads,
checks and need-more points in the same order, each value also an item of the
tree. Decoding never touches the tree: it collects items (`item(...)`), and
the main loop renders them once the frame is whole, or up to the error that
made it malformed. `need(total)` and `malformed(...)` raise, as the Python
codec's NeedMore and ProtocolError do."""

from __future__ import annotations

import re

from protodsl.codegen.emitter import Emitter
from protodsl.codegen.numbers import spelled_format
from protodsl.codegen.wireshark.expr import Scope, boolean, frame_scope, number, record_scope
from protodsl.codegen.wireshark.fields import value_table
from protodsl.codegen.wireshark.lua import LuaEmitter, key, string

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    BytesField,
    IntField,
    IntType,
    KvMapField,
    ListField,
    Protocol,
    VarintField,
)
from protodsl.plan import (
    Fixed,
    FramePlan,
    IntRun,
    Measured,
    MustBeMember,
    MustEqual,
    MustMatchChecksum,
    ProtocolPlan,
    Read,
    RecordPlan,
    RestFraming,
    RestOfFrame,
    SizedFraming,
    Value,
)


def le(t: IntType) -> str:
    return "true" if t.byte_order == "little" and t.width > 1 else "false"


def read_int(t: IntType, at: str) -> str:
    """The Lua reading an integer at tvb offset `at` (a 128-bit one is data only)."""
    if t.wide:
        return "0"
    fn = "int_at" if t.signed else "uint_at"
    return f"{fn}(tvb, {at}, {t.width}, {le(t)})"


def check_lines(out: Emitter, v: Value, local: str, at: str, width: int, base: str) -> None:
    """The value's checks, in the plan's order; a failure is malformed."""
    for check in v.checks:
        if isinstance(check, MustEqual):
            fmt = spelled_format(check.spelling)
            want = fmt.show(check.value)
            with out.block(f"if {local} ~= {check.value} then"):
                out.line(f"malformed(E.constant_mismatch, {string(v.name)}, {at}, {width}, "
                          f"{string(v.name + ' is ')} .. {_shown(local, fmt.radix)} .. "
                          f"{string(', not ' + want)})")
        elif isinstance(check, MustBeMember):
            table = value_table(check.enum.name)
            with out.block(f"if {table}[{local}] == nil then"):
                out.line(f"malformed(E.unknown_enum_value, {string(v.name)}, {at}, {width}, "
                          f"{string(v.name + ' is ')} .. num({local}) .. "
                          f"{string(', no member of ' + check.enum.name)})")
        else:
            assert isinstance(check, MustMatchChecksum)
            with out.block(f"if {local} ~= {check.kind}(tvb, {base} + {check.start}, "
                           f"{at} - {base} - {check.start}) then"):
                out.line(f"malformed(E.checksum_mismatch, {string(v.name)}, {at}, {width}, "
                          f"{string(v.name + ' ')} .. num({local}) .. "
                          f"{string(' is not the ' + check.kind + ' of the bytes it covers')})")


def _shown(local: str, radix: int) -> str:
    return f"hex({local})" if radix == 16 else f"num({local})"


class FrameDissector:
    """`decode_FRAME(tvb, base, avail, st, kids, v, n)`: reads the frame at tvb
    offset `base` with `avail` bytes there; returns its size in bytes."""

    def __init__(self, protocol: Protocol, frame: FramePlan) -> None:
        self.protocol = protocol
        self.frame = frame
        self.plan = frame.decode
        self.scope: Scope = frame_scope(frame.name)

    def num(self, e: ir.Expr) -> str:
        return number(e, self.scope)

    def cond(self, e: ir.Expr) -> str:
        return boolean(e, self.scope)

    def v(self, name: str) -> str:
        return key("v", name)

    def f(self, name: str) -> str:
        return f'F["{self.frame.name}.{name}"]'

    def function(self) -> str:
        out = LuaEmitter()
        out.line(f"-- {self.frame.name}: {' '.join((self.frame.frame.doc or '').split())}"
                 .rstrip(": "))
        body = LuaEmitter()
        self.body(body)
        with out.block(f"local function decode_{self.frame.name}(tvb, base, avail, st, "
                       f"kids, v, n)"):
            out.lines(scratch(body))
        return out.text()

    def body(self, out: LuaEmitter) -> None:
        header = self.plan.header_size
        for r in self.plan.header:
            assert r.offset is not None and r.width is not None
            with out.block(f"if avail < {r.offset + r.width} then"):
                out.line(f"need({header}, true)")
            self.element(out, r, str(r.offset))
        framing = self.plan.framing
        if isinstance(framing, RestFraming):
            self.rest_framing(out, framing)
        else:
            self.sized_framing(out, framing)

    # -- one element at a frame offset (a Lua expression), not checked for room

    def element(self, out: LuaEmitter, r: Read, off: str, size: str | None = None) -> None:
        e = r.element
        at = f"base + {off}"
        if isinstance(e, IntField | BitsField):
            container = self.v(e.name) if isinstance(e, IntField) else "c"
            out.line(f"{container} = {read_int(e.type, at)}")
            if isinstance(e, IntField):
                out.line(f"item(kids, {self.f(e.name)}, {at}, {e.type.width}, {le(e.type)})")
            for v in r.values:
                if v.mask is not None:
                    out.line(f"{self.v(v.name)} = bits(c, {v.shift}, {v.mask})")
                    out.line(f"item(kids, {self.f(v.name)}, {at}, {e.type.width}, "
                             f"{le(e.type)})")
                check_lines(out, v, self.v(v.name), at, e.type.width, "base")
            return
        assert isinstance(e, BytesField | KvMapField | ListField)
        width = size if size is not None else str(r.size.bytes) if isinstance(
            r.size, Fixed) else key("n", e.name)
        if isinstance(e, KvMapField):
            out.line(f"{self.v(e.name)} = read_kvmap(tvb, {at}, {width}, "
                     f"KV[{string(self.frame.name + '.' + e.name)}], kids)")
        elif isinstance(e, ListField):
            out.line(f"{self.v(e.name)} = read_{e.record}(tvb, {at}, {width}, "
                     f"{string(e.name)}, sub(item(kids, {self.f(e.name)}, {at}, {width})))")
        elif e.text:
            pad = e.pad if e.pad is not None else "nil"
            out.line(f"{self.v(e.name)} = text_at(tvb, {at}, {width}, {pad}, "
                     f"{string(e.name)})")
            out.line(f"item(kids, {self.f(e.name)}, {at}, {width}, false, "
                     f"{self.v(e.name)})")
        else:
            out.line(f"{self.v(e.name)} = raw_at(tvb, {at}, {width})")
            out.line(f"item(kids, {self.f(e.name)}, {at}, {width})")
        out.line(f"{key('n', e.name)} = {width}")

    def recounts(self, out: LuaEmitter, r: Read) -> None:
        for c in r.recounts:
            count, want = self.v(c.node.name), self.num(c.expr)
            at = f"base + {c.offset}" if c.offset is not None else "base"
            with out.block(f"if {count} ~= {want} then"):
                out.line(f"malformed(E.count_mismatch, {string(c.node.name)}, {at}, 1, "
                         f"{string(c.node.name + ' is ')} .. num({count}) .. "
                         f"\", but \" .. num({want}) .. \" records follow\")")

    def conditional(self, out: LuaEmitter, r: Read, read: LuaEmitter) -> None:
        """`read` (printed for the element) where it is present; else its absent value."""
        if r.present is None:
            out.lines(read.text_lines())
        else:
            with out.branches([f"if {self.cond(r.present)} then", "else"]) as (there, missing):
                there.lines(read.text_lines())
                for name in r.names:
                    missing.line(f"{self.v(name)} = {_absent(r)}")
                if r.size is not None:
                    missing.line(f"{key('n', r.name)} = 0")
        self.recounts(out, r)

    # -- a frame whose size follows from its first fields

    def sized_framing(self, out: LuaEmitter, framing: SizedFraming) -> None:
        header = self.plan.header_size
        if framing.prefix or framing.tail:
            out.line(f"local off = {header}")
        for r in framing.prefix:
            read = LuaEmitter()
            with read.block(f"if avail < off + {r.width} then"):
                read.line("need(nil)")
            self.element(read, r, "off")
            read.line(f"off = off + {r.width}")
            self.conditional(out, r, read)
        for s in framing.sizes:
            name = s.element.name
            out.line(f"{key('n', name)} = {self.num(s.expr)}")
            if not s.may_be_negative:
                continue
            negative = f"{key('n', name)} < 0"
            if s.present is not None:
                negative = f"{negative} and {self.cond(s.present)}"
            with out.block(f"if {negative} then"):
                out.line(f"malformed(E.negative_size, {string(name)}, base, {header}, "
                         f"{string(name + ' has a negative size: ')} .. num({key('n', name)}))")
        out.line(f"local size = {self.num(framing.total)}")
        self.whole_frame(out)
        for i, r in enumerate(framing.tail):
            read = LuaEmitter()
            e = r.element
            width = (str(e.type.width) if isinstance(e, IntField | BitsField)
                     else str(r.size.bytes) if isinstance(r.size, Fixed) else key("n", e.name))
            self.element(read, r, "off")
            if i < len(framing.tail) - 1:  # the size covers the last one
                read.line(f"off = off + {width}")
            self.conditional(out, r, read)
        out.line("return size")

    def whole_frame(self, out: LuaEmitter) -> None:
        name = string(self.frame.name)
        with out.block("if size > MAX_FRAME then"):
            out.line(f"malformed(E.frame_too_large, {name}, base, avail, "
                     f"\"the frame's \" .. num(size) .. \" bytes exceed max_frame \" .. "
                     f"num(MAX_FRAME))")
        limit = self.protocol.frame_limit
        if limit is not None:
            out.line(f"local limit = {self.num(limit)}")
            with out.block("if size > limit then"):
                out.line(f"malformed(E.frame_too_large, {name}, base, avail, "
                         f"\"the frame's \" .. num(size) .. \" bytes exceed its limit \" .. "
                         f"num(limit))")
        with out.block("if avail < size then"):
            out.line("need(size)")

    # -- a frame that declares its own size

    def rest_framing(self, out: LuaEmitter, framing: RestFraming) -> None:
        header = self.plan.header_size
        local = self.v(framing.size_field.name)
        if framing.length is not None:
            e = framing.length.element
            assert isinstance(e, VarintField)
            out.line(f"value, after = varint(tvb, base + {header}, base + avail, "
                     f"{e.max_bytes}, {string(e.name)})")
            with out.block("if value == nil then"):
                out.line("need(nil)")
            out.line(f"{local} = value")
            out.line(f"item(kids, {self.f(e.name)}, base + {header}, after - base - {header}, "
                     f"false, value)")
            check_lines(out, framing.length.values[0], local, f"base + {header}", 1, "base")
            out.line("local off = after - base")
            out.line(f"local size = off + {local}")
        else:
            out.line(f"local size = {framing.start} + {local}")
            last = self.plan.header[-1]
            with out.block(f"if size < {header} then"):
                out.line(f"malformed(E.field_overrun, {string(last.name)}, base + "
                         f"{last.offset}, {last.width}, \"the frame's declared size \" .. "
                         f"num(size) .. \" ends inside its header\")")
            out.line(f"local off = {header}")
        self.whole_frame(out)
        for r in framing.body:
            read = LuaEmitter()
            self.bounded(read, r)
            self.conditional(out, r, read)
        with out.block("if off ~= size then"):
            out.line(f"malformed(E.leftover_bytes, {string(self.frame.name)}, base + off, "
                     f"size - off, num(size - off) .. \" bytes left after the last field\")")
        out.line("return size")

    def bounded(self, out: LuaEmitter, r: Read) -> None:
        """One element at `off` inside a frame ending at `size`; past it is an overrun."""
        e = r.element
        overrun = (f"malformed(E.field_overrun, {string(e.name)}, base + off, size - off, "
                   f"{string(e.name + ' runs past the end of the frame')})")
        if isinstance(e, VarintField):
            out.line(f"value, after = varint(tvb, base + off, base + size, "
                     f"{e.max_bytes}, {string(e.name)})")
            with out.block("if value == nil then"):
                out.line(overrun)
            out.line(f"{self.v(e.name)} = value")
            out.line(f"item(kids, {self.f(e.name)}, base + off, after - base - off, false, "
                     f"value)")
            check_lines(out, r.values[0], self.v(e.name), "base + off", 1, "base")
            out.line("off = after - base")
        elif isinstance(e, IntField | BitsField):
            with out.block(f"if off + {e.type.width} > size then"):
                out.line(overrun)
            self.element(out, r, "off")
            out.line(f"off = off + {e.type.width}")
        else:
            assert isinstance(e, BytesField | KvMapField | ListField)
            n = key("n", e.name)
            if isinstance(r.size, RestOfFrame):
                out.line(f"{n} = size - off")
            else:
                if isinstance(r.size, Fixed):
                    out.line(f"{n} = {r.size.bytes}")
                else:
                    assert isinstance(r.size, Measured)
                    out.line(f"{n} = {self.num(r.size.expr)}")
                    if r.size.may_be_negative:
                        with out.block(f"if {n} < 0 then"):
                            out.line(f"malformed(E.negative_size, {string(e.name)}, base + "
                                     f"off, 0, {string(e.name + ' has a negative size: ')} .. "
                                     f"num({n}))")
                with out.block(f"if off + {n} > size then"):
                    out.line(overrun)
            self.element(out, r, "off", n)
            out.line(f"off = off + {n}")


def _absent(r: Read) -> str:
    e = r.element
    if isinstance(e, KvMapField | ListField):
        return "{}"
    if isinstance(e, BytesField):
        return '""'
    return "0"


class RecordDissector:
    """`read_RECORD(tvb, off, len, name, kids)`: the entries filling a list's
    section, each a subtree; returns them as tables of their members."""

    def __init__(self, plan: RecordPlan) -> None:
        self.plan = plan
        self.name = plan.record.name
        self.scope = record_scope()

    def f(self, name: str) -> str:
        return f'F["{self.name}.{name}"]'

    def function(self) -> str:
        out = LuaEmitter()
        record = self.plan.record
        if record.doc:
            out.line(f"-- {record.name}: {' '.join(record.doc.split())}")
        past = (f"malformed(E.malformed_section, name, at, stop - at, "
                f"{string('a ' + self.name + ' entry runs past its section')})")
        with out.block(f"local function read_{self.name}(tvb, off, len, name, kids)"):
            out.line("local stop, entries = off + len, {}")
            loop = LuaEmitter()
            self.entry(loop, past)
            lines = scratch(loop)
            out.lines(lines[:len(lines) - len(loop.text_lines())])
            with out.block("while off < stop do"):
                out.lines(loop.text_lines())
            out.line("return entries")
        return out.text()

    def entry(self, out: LuaEmitter, past: str) -> None:
        """One entry's reads at `off`, into the table `r`."""
        out.line("local at, r = off, {}")
        out.line(f'local entry = item(kids, F["{self.name}"], at, 0)')
        out.line("local k = sub(entry)")
        for step in self.plan.steps:
            body = LuaEmitter()
            present = self.step(body, step, past)
            if present is None:
                out.lines(body.text_lines())
                continue
            with out.branches([f"if {boolean(present, self.scope)} then", "else"]
                              ) as (there, missing):
                there.lines(body.text_lines())
                for name, absent in _step_absent(step):
                    missing.line(f"{key('r', name)} = {absent}")
        out.line("entry.len = off - at")
        out.line("entries[#entries + 1] = r")

    def step(self, out: LuaEmitter, step: IntRun | BytesField | VarintField, past: str
             ) -> ir.Expr | None:
        if isinstance(step, IntRun):
            with out.block(f"if stop - off < {step.width} then"):
                out.line(past)
            at = 0
            for e in step.elements:
                where = f"off + {at}" if at else "off"
                if isinstance(e, IntField):
                    out.line(f"{key('r', e.name)} = {read_int(e.type, where)}")
                    out.line(f"item(k, {self.f(e.name)}, {where}, {e.type.width}, "
                             f"{le(e.type)})")
                else:
                    out.line(f"c = {read_int(e.type, where)}")
                    for m in e.members:
                        out.line(f"{key('r', m.name)} = bits(c, {m.shift}, {m.mask})")
                        out.line(f"item(k, {self.f(m.name)}, {where}, {e.type.width}, "
                                 f"{le(e.type)})")
                at += e.type.width
            at = 0
            for e in step.elements:
                where = f"off + {at}" if at else "off"
                for v in step.values:
                    if v.name in ((e.name,) if isinstance(e, IntField) else
                                  tuple(m.name for m in e.members)):
                        check_lines(out, v, key("r", v.name), where, e.type.width, "at")
                at += e.type.width
            out.line(f"off = off + {step.width}")
            return step.present
        if isinstance(step, VarintField):
            out.line(f"value, after = varint(tvb, off, stop, {step.max_bytes}, "
                     f"{string(step.name)})")
            with out.block("if value == nil then"):
                out.line(past)
            out.line(f"{key('r', step.name)} = value")
            out.line(f"item(k, {self.f(step.name)}, off, after - off, false, value)")
            out.line("off = after")
            return step.present
        size = number(step.size, self.scope)
        out.line(f"size = {size}")
        with out.block("if size < 0 or stop - off < size then"):
            out.line(past)
        if step.text:
            pad = step.pad if step.pad is not None else "nil"
            out.line(f"{key('r', step.name)} = text_at(tvb, off, size, {pad}, "
                     f"{string(step.name)})")
            out.line(f"item(k, {self.f(step.name)}, off, size, false, {key('r', step.name)})")
        else:
            out.line(f"{key('r', step.name)} = raw_at(tvb, off, size)")
            out.line(f"item(k, {self.f(step.name)}, off, size)")
        out.line("off = off + size")
        return step.present


def _step_absent(step: IntRun | BytesField | VarintField) -> list[tuple[str, str]]:
    if isinstance(step, BytesField):
        return [(step.name, '""')]
    if isinstance(step, VarintField):
        return [(step.name, "0")]
    return [(v.name, "0") for v in step.values]


def scratch(body: LuaEmitter) -> list[str]:
    """`body`'s lines after the locals it assigns without declaring: a bits
    container `c`, a varint's `value, after`."""
    text = body.text()
    names = [n for n in ("c", "value, after", "size")
             if re.search(rf"^\s*{n} = ", text, re.MULTILINE)]
    declared = [f"local {', '.join(names)}"] if names else []
    return declared + body.text_lines()


def frame_functions(plan: ProtocolPlan) -> list[str]:
    return [FrameDissector(plan.protocol, f).function() for f in plan.frames]


def record_functions(plan: ProtocolPlan) -> list[str]:
    return [RecordDissector(r).function() for r in plan.records]
