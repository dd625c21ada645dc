"""A frame's decoder, printed from its decode plan as the Python codec reads
the frame: the fixed header (each value checked as soon as its bytes are
there), then either its sizes (`prefix` fields first, each a need-more point
of unknown total) or the size a `len(rest)` field declares, then the rest of
the frame from a copy of its bytes, each element where the last one ended."""

from __future__ import annotations

from collections.abc import Callable

from protodsl.codegen.mosn_go import wide
from protodsl.codegen.mosn_go.checks import value_checks
from protodsl.codegen.mosn_go.expr import Unsupported, to_go
from protodsl.codegen.mosn_go.gotext import Func, go_bytes, read_int
from protodsl.codegen.mosn_go.naming import GoNames, go_string, local, members, value_type

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    BytesField,
    IntField,
    KvMapField,
    ListField,
    VarintField,
)
from protodsl.plan import (
    FramePlan,
    Measured,
    Read,
    RestFraming,
    RestOfFrame,
    SizedFraming,
    Value,
)

RET = "nil, 0, "


def value_read(r: Read, v: Value, buf: str) -> str:
    """int64 text of value `v` of the integer or bits container at `buf`."""
    e = r.element
    assert isinstance(e, IntField | BitsField)
    if v.mask is None:
        return read_int(buf, e.type)
    return f"int64((uint64({read_int(buf, e.type, signed=False)}) >> {v.shift}) & {v.mask:#x})"


def _member_kind(e: BytesField | KvMapField | ListField, pkg: GoNames) -> str:
    if isinstance(e, KvMapField):
        return "[]KV"
    if isinstance(e, ListField):
        return f"[]{pkg.record(e.record)}"
    return "string" if e.text else "[]byte"


def _bytes_of(e: BytesField, raw: str) -> str:
    """The value of bytes field `e` read as `raw`, its padding stripped."""
    if e.pad is not None:
        raw = f"trimPad({raw}, {e.pad:#04x})"
    return raw


class _Decoder:
    """One frame's decoder: `field_of` and `size_of` name the locals holding
    each value and each measured size read so far; `pkg`: the package's names;
    `state`, in a spec with a state, the text of a member of the State `st` the
    frame is decoded in."""

    def __init__(self, fp: FramePlan, wide_ints: wide.Wide, pkg: GoNames,
                 state: Callable[[str], str] | None) -> None:
        self.fp = fp
        self.wide_ints = wide_ints
        self.pkg = pkg
        self.state = state
        self.names = members(fp.frame)
        self.f = Func()
        self.field_of: dict[str, str] = {}
        self.size_of: dict[str, str] = {}
        self.members: list[tuple[str, str]] = []

    def value(self, n: str) -> str:
        return self.field_of[n]

    def length(self, n: str) -> str:
        return self.size_of[n]

    def count(self, n: str) -> str:
        return f"int64(len({local('x', self.names, n)}))"

    def go(self, expr: ir.Expr) -> str:
        return to_go(expr, self.value, self.length, count=self.count, state=self.state)

    def source(self) -> list[str]:
        fp, f = self.fp, self.f
        plan = fp.decode
        name = self.pkg.frame(fp.name)
        f.line("end := len(buf)")
        f.decl("err", "error(nil)")
        self._header()
        if isinstance(plan.framing, RestFraming):
            self._declared(plan.framing)
            body = plan.framing.body
        else:
            self._sized(plan.framing)
            body = plan.framing.tail
        for r in body:
            self._tail_read(r, bounded=isinstance(plan.framing, RestFraming))
        if isinstance(plan.framing, RestFraming):
            f.open("if int64(off) != size")
            f.line(f"return {RET}&ProtocolError{{Kind: LeftoverBytes, Field: "
                   f"{go_string(fp.name)}, Offset: off, FrameLevel: true, Detail: "
                   f"dec(size-int64(off)) + \" bytes left over after the last field\"}}")
            f.close()
        f.line(f"fr := &{name}{{}}")
        for member, text in self.members:
            f.line(f"fr.{member} = {text}")
        f.line("return fr, int(size), nil")
        st = ", st State" if self.state is not None else ""
        return [f"func {self.pkg.decoder(fp.name)}(buf []byte{st}) (*{name}, int, error) {{",
                *f.text(), "}", ""]

    def _header(self) -> None:
        """Fewer bytes than the header: each value whose bytes are there checked,
        then need more. Then its values, their checks, its bytes fields (padding
        stripped, text checked) in order."""
        f, plan = self.f, self.fp.decode
        header = plan.header_size
        f.open(f"if end < {header}")
        for r in plan.header:
            assert r.offset is not None
            for v in r.values:
                if not v.checks:
                    continue
                assert isinstance(r.element, IntField | BitsField)
                f.open(f"if end >= {r.offset + r.element.type.width}")
                loc = local("v", self.names, v.name)
                f.decl(loc, value_read(r, v, f"buf[{r.offset}:]"))
                value_checks(f, v, loc, str(r.offset), RET, self.pkg, "buf")
                f.close()
        f.line(f"return {RET}needMore(end, {header})")
        f.close()
        for r in plan.header:
            assert r.offset is not None
            for v in r.values:
                loc = local("v", self.names, v.name)
                self.field_of[v.name] = loc
                f.decl(loc, value_read(r, v, f"buf[{r.offset}:]"))
        for r in plan.header:
            for v in r.values:
                value_checks(f, v, self.field_of[v.name], str(r.offset), RET, self.pkg, "buf")
        for r in plan.header:
            e = r.element
            if isinstance(e, BytesField) and e.text:
                assert r.offset is not None and r.width is not None
                raw = _bytes_of(e, f"buf[{r.offset}:{r.offset + r.width}]")
                f.open(f"if i := badUTF8({raw}); i >= 0")
                f.line(f"return {RET}fail(InvalidText, {go_string(e.name)}, {r.offset}, "
                       f"\"not UTF-8 at byte \"+dec(int64(i)))")
                f.close()
            elif not isinstance(e, IntField | BitsField | BytesField):
                raise Unsupported(f"a {type(e).__name__} in the fixed header")

    def _header_members(self) -> None:
        """The header's free values, and its bytes fields from the copy `b`."""
        for r in self.fp.decode.header:
            e = r.element
            for v in r.values:
                if v.free:
                    held = f"{value_type(v.node, self.pkg)}({self.field_of[v.name]})"
                    self.members.append((self.names[v.name], held))
            if isinstance(e, BytesField):
                assert r.offset is not None and r.width is not None
                stop = r.offset + r.width
                t = self.wide_ints.get(e.name)
                raw = (wide.from_wire(t, f"b[{r.offset}:]") if t is not None
                       else _bytes_of(e, f"b[{r.offset}:{stop}:{stop}]"))
                self.members.append((self.names[e.name], f"string({raw})" if e.text else raw))

    def _too_large(self) -> None:
        f = self.f
        f.open("if size > MaxFrame")
        f.line(f"return {RET}&ProtocolError{{Kind: FrameTooLarge, Field: "
               f"{go_string(self.fp.name)}, Offset: 0, FrameLevel: true, Detail: "
               f"\"frame of \" + dec(size) + \" bytes exceeds max_frame \" + dec(MaxFrame)}}")
        f.close()

    def _copy(self) -> None:
        """Need more until the whole frame is there, then read from a copy."""
        f = self.f
        f.open("if int64(end) < size")
        f.line(f"return {RET}needMore(end, int(size))")
        f.close()
        f.line("b := make([]byte, size)")
        f.line("copy(b, buf)")
        self._header_members()

    def _sized(self, framing: SizedFraming) -> None:
        f, header = self.f, self.fp.decode.header_size
        f.decl("off", str(header))
        for r in framing.prefix:
            self._prefix_read(r)
        for s in framing.sizes:
            n = local("n", self.names, s.element.name)
            self.size_of[s.element.name] = n
            f.decl(n, self.go(s.expr))
            if s.may_be_negative:
                cond = f"{n} < 0"
                if s.present is not None:
                    cond = f"land(b2i({n} < 0), {self.go(s.present)}) != 0"
                f.open(f"if {cond}")
                f.line(f"return {RET}fail(NegativeSize, {go_string(s.element.name)}, "
                       f"off, \"negative size \"+dec({n}))")
                f.close()
        f.decl("size", self.go(framing.total))
        self._too_large()
        f.open(f"if size < {header}")
        f.line(f"return {RET}fail(FieldOverrun, {go_string(self.fp.name)}, 0, "
               f"\"frame of \"+dec(size)+\" bytes is shorter than its header\")")
        f.close()
        self._copy()

    def _declared(self, framing: RestFraming) -> None:
        """The size a `len(rest)` field declares: a varint right after the
        header, or an integer of the header counting from `start`."""
        f, plan = self.f, self.fp.decode
        header = plan.header_size
        if framing.length is not None:
            e = framing.length.element
            assert isinstance(e, VarintField)
            loc = local("v", self.names, e.name)
            self.field_of[e.name] = loc
            f.line(f"{loc}, next, err := readVarint(buf, {header}, end, {e.max_bytes}, "
                   f"{go_string(e.name)})")
            f.open("if err != nil")
            f.line(f"return {RET}err")
            f.close()
            f.open("if next < 0")
            f.line(f"return {RET}needMore(end, -1)")
            f.close()
            (v,) = framing.length.values
            value_checks(f, v, loc, str(header), RET, self.pkg, "buf")
            f.decl("size", f"int64(next) + {loc}")
            f.decl("off", "next")
            if v.free:
                self.members.append((self.names[e.name], f"uint64({loc})"))
            self._too_large()
        else:
            assert framing.start is not None
            last = plan.header[-1]
            f.decl("size", f"int64({framing.start}) + {self.field_of[framing.size_field.name]}")
            f.open(f"if size < {header}")
            f.line(f"return {RET}fail(FieldOverrun, {go_string(last.name)}, {last.offset}, "
                   f"\"runs past the frame's end at \"+dec(size))")
            f.close()
            f.decl("off", str(header))
            self._too_large()
        self._copy()

    def _prefix_read(self, r: Read) -> None:
        """A fixed-width element after the header, read from `buf` before the
        frame's size is known: need more (of an unknown total) until it is there."""
        f, e = self.f, r.element
        assert r.width is not None
        self._declare(r)
        if r.present is not None:
            f.open(f"if {self.go(r.present)} != 0")
        f.open(f"if end < off+{r.width}")
        f.line(f"return {RET}needMore(end, -1)")
        f.close()
        if isinstance(e, IntField | BitsField):
            for v in r.values:
                f.line(f"{self.field_of[v.name]} = {value_read(r, v, 'buf[off:]')}")
            for v in r.values:
                value_checks(f, v, self.field_of[v.name], "off", RET, self.pkg, "buf")
        elif e.name in self.wide_ints:
            f.line(f"{local('x', self.names, e.name)} = "
                   f"{wide.from_wire(self.wide_ints[e.name], 'buf[off:]')}")
        elif isinstance(e, BytesField):
            raw = _bytes_of(e, f"buf[off:off+{r.width}]")
            loc = local("x", self.names, e.name)
            if e.text:
                f.open(f"if i := badUTF8({raw}); i >= 0")
                f.line(f"return {RET}fail(InvalidText, {go_string(e.name)}, off, "
                       f"\"not UTF-8 at byte \"+dec(int64(i)))")
                f.close()
                f.line(f"{loc} = string({raw})")
            else:
                f.line(f"{loc} = append([]byte{{}}, {raw}...)")
        else:
            raise Unsupported(f"a {type(e).__name__} before a frame's size is known")
        f.line(f"off += {r.width}")
        if r.present is not None:
            f.close()

    def _declare(self, r: Read) -> None:
        """The locals `r` sets, zero or empty as when it is not on the wire, and
        the struct members they give."""
        f, e = self.f, r.element
        if isinstance(e, IntField | BitsField | VarintField):
            for v in r.values:
                loc = local("v", self.names, v.name)
                self.field_of[v.name] = loc
                f.line(f"var {loc} int64")
                if v.free:
                    held = f"{value_type(v.node, self.pkg)}({loc})"
                    self.members.append((self.names[v.name], held))
            return
        assert isinstance(e, BytesField | KvMapField | ListField)
        loc = local("x", self.names, e.name)
        t = self.wide_ints.get(e.name)
        kind = wide.go_type(t) if t is not None else _member_kind(e, self.pkg)
        if not kind.startswith("[]"):  # a string, or a 128-bit integer: 0 left off the wire
            f.line(f"var {loc} {kind}")
        else:  # left off the wire, it decodes as empty (not nil), as in Python
            f.line(f"{loc} := {kind}{{}}")
        self.members.append((self.names[e.name], loc))

    def _tail_read(self, r: Read, bounded: bool) -> None:
        """Read `r` at `off` inside the whole frame `b`; `bounded`: in the body of
        a `len(rest)` frame, a measured size computed (and refused when
        negative) right there. Then the counts of the records read up to it."""
        f, e = self.f, r.element
        overrun = (f"return {RET}fail(FieldOverrun, {go_string(e.name)}, off, "
                   f"\"runs past the frame's end at \"+dec(size))")
        self._declare(r)
        if r.present is not None:
            f.open(f"if {self.go(r.present)} != 0")
        if isinstance(e, IntField | BitsField):
            w = e.type.width
            f.open(f"if int64(off+{w}) > size")
            f.line(overrun)
            f.close()
            for v in r.values:
                f.line(f"{self.field_of[v.name]} = {value_read(r, v, 'b[off:]')}")
            for v in r.values:
                value_checks(f, v, self.field_of[v.name], "off", RET, self.pkg)
            f.line(f"off += {w}")
        elif isinstance(e, VarintField):
            (v,) = r.values
            loc = self.field_of[v.name]
            f.line("{")  # a scope of its own: a frame may hold several varints
            f.depth += 1
            f.line(f"v, next, err := readVarint(b, off, int(size), {e.max_bytes}, "
                   f"{go_string(e.name)})")
            f.open("if err != nil")
            f.line(f"return {RET}err")
            f.close()
            f.open("if next < 0")
            f.line(overrun)
            f.close()
            f.line(f"{loc} = v")
            value_checks(f, v, loc, "off", RET, self.pkg)
            f.line("off = next")
            f.close()
        else:
            assert isinstance(e, BytesField | KvMapField | ListField)
            n = self._size(r, bounded)
            f.open(f"if {n} < 0 || int64(off)+{n} > size")
            f.line(overrun)
            f.close()
            self._section(e, n)
        if r.present is not None:
            f.close()
        for c in r.recounts:
            got = self.field_of[c.node.name]
            want = self.go(c.expr)
            f.open(f"if {got} != {want}")
            f.line(f"return {RET}fail(CountMismatch, {go_string(c.node.name)}, "
                   f"{-1 if c.offset is None else c.offset}, \"counts \"+dec({got})+"
                   f"\" records, but \"+dec({want})+\" were read\")")
            f.close()

    def _size(self, r: Read, bounded: bool) -> str:
        """Go text of the byte count of a sized element read at `off`."""
        e = r.element
        if isinstance(r.size, RestOfFrame):
            n = local("n", self.names, e.name)
            self.f.line(f"{n} := size - int64(off)")
            return n
        if not isinstance(r.size, Measured):
            assert r.size is not None
            return f"int64({r.size.bytes})"
        if not bounded:
            return self.size_of[e.name]
        n = local("n", self.names, e.name)
        self.size_of[e.name] = n
        self.f.line(f"{n} := {self.go(r.size.expr)}")
        if r.size.may_be_negative:
            self.f.open(f"if {n} < 0")
            self.f.line(f"return {RET}fail(NegativeSize, {go_string(e.name)}, off, "
                        f"\"negative size \"+dec({n}))")
            self.f.close()
        return n

    def _section(self, e: BytesField | KvMapField | ListField, n: str) -> None:
        """Read `n` bytes at `off` as element `e`, then step past them."""
        f = self.f
        stop = f"off+int({n})"
        loc = local("x", self.names, e.name)
        if isinstance(e, KvMapField):
            f.line(f"{loc}, err = readKV(b, off, {stop}, {e.key_length.width}, "
                   f"{e.value_length.width}, {_little(e.key_length.byte_order)}, "
                   f"{_little(e.value_length.byte_order)}, {go_bytes(e.between)}, "
                   f"{'true' if e.null_drop else 'false'}, {go_string(e.name)})")
            f.open("if err != nil")
            f.line(f"return {RET}err")
            f.close()
        elif isinstance(e, ListField):
            f.line(f"{loc}, err = {self.pkg.reader(e.record)}(b, off, {stop}, "
                   f"{go_string(e.name)})")
            f.open("if err != nil")
            f.line(f"return {RET}err")
            f.close()
        elif e.name in self.wide_ints:
            f.line(f"{loc} = {wide.from_wire(self.wide_ints[e.name], 'b[off:]')}")
        else:
            raw = _bytes_of(e, f"b[off : {stop} : {stop}]")
            if e.text:
                f.open(f"if i := badUTF8({raw}); i >= 0")
                f.line(f"return {RET}fail(InvalidText, {go_string(e.name)}, off, "
                       f"\"not UTF-8 at byte \"+dec(int64(i)))")
                f.close()
                raw = f"string({raw})"
            f.line(f"{loc} = {raw}")
        f.line(f"off += int({n})")


def _little(order: str) -> str:
    return "true" if order == "little" else "false"


def decoder(fp: FramePlan, wide_ints: wide.Wide, pkg: GoNames,
            state: Callable[[str], str] | None = None) -> list[str]:
    """`decode<Frame>(buf)`: the frame at the start of buf, the bytes it took; in a
    spec with a state, `decode<Frame>(buf, st)` reading members through `state`."""
    return _Decoder(fp, wide_ints, pkg, state).source()
