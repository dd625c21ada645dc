"""A frame's encoder, printed from its encode plan in the Python codec's order,
so that a frame both refuse is refused for the same reason: the frame's own
condition; the sized values turned into bytes (text checked, padded, maps and
records written); computed values; bits and enums; lengths; the size; the
integers' ranges (the header's, then each later one's); the bytes."""

from __future__ import annotations

from collections.abc import Callable

from protodsl.codegen.mosn_go import wide
from protodsl.codegen.mosn_go.expr import Unsupported, go_int, to_go
from protodsl.codegen.mosn_go.gotext import Func, go_bytes, put_int
from protodsl.codegen.mosn_go.naming import GoNames, go_string, local, members

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    BytesField,
    Element,
    IntField,
    KvMapField,
    ListField,
    ValueNode,
    VarintField,
)
from protodsl.plan import FitCheck, FramePlan, Write

RET = "nil, "


def shown(loc: str, node: ValueNode) -> str:
    """Go text of a value as Python's `repr` of the int shows it."""
    if isinstance(node, VarintField) or (isinstance(node, IntField) and node.type.width == 8
                                         and not node.type.signed):
        return f"num({loc}, true, 10, 0, false)"
    return f"dec({loc})"


def _little(order: str) -> str:
    return "true" if order == "little" else "false"


class _Encoder:
    """One frame's encoder: `field_of` names the local of each value, `bytes_of`
    the local holding a sized element's bytes when they are not the struct's;
    `pkg`: the package's names; `state`, in a spec with a state, the text of a
    member of the State `st`."""

    def __init__(self, fp: FramePlan, wide_ints: wide.Wide, pkg: GoNames,
                 state: Callable[[str], str] | None) -> None:
        self.fp = fp
        self.wide_ints = wide_ints
        self.pkg = pkg
        self.state = state
        self.names = members(fp.frame)
        self.f = Func()
        self.elements = {e.name: e for e in fp.frame.elements}
        self.field_of: dict[str, str] = {}
        self.bytes_of: dict[str, str] = {}

    def value(self, n: str) -> str:
        return self.field_of[n]

    def length(self, n: str) -> str:
        if n in self.bytes_of:
            return f"int64(len({self.bytes_of[n]}))"
        e = self.elements[n]
        if isinstance(e, KvMapField):
            return f"kvSize(f.{self.names[n]}, {e.overhead})"
        return f"int64(len(f.{self.names[n]}))"

    def count(self, n: str) -> str:
        return f"int64(len(f.{self.names[n]}))"

    def go(self, expr: ir.Expr) -> str:
        return to_go(expr, self.value, self.length, count=self.count, state=self.state)

    def when(self, present: ir.Expr | None) -> None:
        if present is not None:
            self.f.open(f"if {self.go(present)} != 0")

    def end(self, present: ir.Expr | None) -> None:
        if present is not None:
            self.f.close()

    def source(self) -> list[str]:
        fp, f = self.fp, self.f
        plan = fp.encode
        for v in fp.frame.values():
            loc = local("v", self.names, v.name)
            self.field_of[v.name] = loc
            if v.value is None:
                f.decl(loc, f"int64(f.{self.names[v.name]})")
            elif v.constant:
                f.decl(loc, go_int(ir.evaluate(v.value)))
        self._claim()
        for w in plan.writes:
            self._prepare(w.element, w.refuse_null)
        for c in plan.computed:
            f.decl(local("v", self.names, c.node.name), self.go(c.expr))
        self._fits()
        self._lengths()
        rest = plan.rest
        if plan.total is not None:
            f.decl("size", self.go(plan.total))
            self._too_large()
        self._ranges()
        if plan.total is not None:
            f.line("out := grow(dst, size)")
        else:
            f.line("out := dst")
        for w in plan.writes:
            if w.element is rest:
                f.decl("body", "len(out)")
                continue
            self.when(w.present)
            self._write(w)
            self.end(w.present)
        if rest is not None:
            self._rest(rest)
        f.line("return out, nil")
        name = self.pkg.frame(fp.name)
        st = ", st State" if self.state is not None else ""
        return [f"func (f *{name}) encode(dst []byte{st}) ([]byte, error) {{", *f.text(), "}",
                ""]

    def _claim(self) -> None:
        """The frame's own condition, first, as Python's `_claimed`: its text names
        the values it read."""
        f, fp = self.f, self.fp
        claim = fp.encode.claim
        read = sorted(ir.fields_read(claim))
        if not read:
            return
        computed = {c.node.name for c in fp.encode.computed}
        if any(n not in self.field_of or n in computed for n in read):
            raise Unsupported("a frame condition reading a computed value")
        nodes = {v.name: v for v in fp.frame.values()}
        has = '+", "+'.join(f"{go_string(n + ' = ')}+{shown(self.field_of[n], nodes[n])}"
                            for n in read)
        f.open(f"if {self.go(claim)} == 0")
        f.line(f"return {RET}encodeFail({go_string(read[0])}, "
               f"{go_string(f'frame {fp.name!r} needs `{ir.spelled(claim)}`, but it has ')}"
               f"+{has})")
        f.close()

    def _prepare(self, el: Element, refuse_null: bool) -> None:
        """A sized value turned into bytes, whether or not it is on the wire, as
        Python does before computing anything: text checked, padded bytes
        padded, a map checked, records written."""
        f = self.f
        name = go_string(el.name)
        member = f"f.{self.names[el.name]}"
        if el.name in self.wide_ints:
            loc = local("p", self.names, el.name)
            f.line(f"{loc} := {wide.to_wire(self.wide_ints[el.name], member)}")
            self.bytes_of[el.name] = f"{loc}[:]"
        elif isinstance(el, BytesField):
            if el.text:
                f.open(f"if i := badUTF8([]byte({member})); i >= 0")
                f.line(f"return {RET}encodeFail({name}, \"not UTF-8 at byte \"+dec(int64(i)))")
                f.close()
            if el.pad is not None:
                loc = local("p", self.names, el.name)
                raw = f"[]byte({member})" if el.text else member
                f.line(f"{loc}, err := padded({raw}, {ir.evaluate(el.size)}, {el.pad:#04x}, "
                       f"{name})")
                f.open("if err != nil")
                f.line(f"return {RET}err")
                f.close()
                self.bytes_of[el.name] = loc
        elif isinstance(el, KvMapField):
            f.open(f"if err := checkKV({member}, {el.key_length.width}, "
                   f"{el.value_length.width}, {'true' if refuse_null else 'false'}, "
                   f"{name}); err != nil")
            f.line(f"return {RET}err")
            f.close()
        elif isinstance(el, ListField):
            loc = local("x", self.names, el.name)
            f.line(f"{loc}, err := {self.pkg.writer(el.record)}(nil, {member}, {name})")
            f.open("if err != nil")
            f.line(f"return {RET}err")
            f.close()
            self.bytes_of[el.name] = loc

    def _fits(self) -> None:
        """Bit members their bits cannot hold, then values no member of their
        closed enum has."""
        f, plan = self.f, self.fp.encode
        bits = [fit for fit in plan.fits if isinstance(fit.node, BitMember)]
        enums = [fit for fit in plan.fits if fit.enum is not None]
        for fit, member in [(fit, False) for fit in bits] + [(fit, True) for fit in enums]:
            loc = self.field_of[fit.node.name]
            self.when(fit.present)
            if not member:
                f.open(f"if lor(lt({loc}, {go_int(fit.lo)}), gt({loc}, {go_int(fit.hi)})) != 0")
                f.line(f"return {RET}encodeFail({go_string(fit.node.name)}, "
                       f"{shown(loc, fit.node)}+{go_string(' does not fit ' + fit.what)})")
            else:
                assert fit.enum is not None
                f.open(f"if !{self.pkg.is_member(fit.enum.name)}({loc})")
                f.line(f"return {RET}encodeFail({go_string(fit.node.name)}, "
                       f"{shown(loc, fit.node)}+{go_string(f' is not a {fit.enum.name}')})")
            f.close()
            self.end(fit.present)

    def _lengths(self) -> None:
        """A sized element whose length disagrees with its size (a padded one was
        refused as it was padded)."""
        f = self.f
        for lc in self.fp.encode.lengths:
            if lc.expr is None:
                continue
            self.when(lc.present)
            size, have = self.go(lc.expr), self.length(lc.element.name)
            f.open(f"if ne({size}, {have}) != 0")
            f.line(f"return {RET}encodeFail({go_string(lc.element.name)}, dec({have})+"
                   f"\" bytes, but its size says \"+dec({size}))")
            f.close()
            self.end(lc.present)

    def _too_large(self) -> None:
        f = self.f
        f.open("if size > MaxFrame")
        f.line(f"return {RET}encodeFail({go_string(self.fp.name)}, \"frame of \"+dec(size)+"
               f"\" bytes exceeds max_frame \"+dec(MaxFrame))")
        f.close()

    def _ranges(self) -> None:
        """Integers their field cannot hold, after the size as in Python: the fixed
        header's (its struct pack), then each later one as it is written."""
        fp = self.fp
        plan = fp.encode
        in_head = {r.element.name for r in fp.decode.header}
        fits = {fit.node.name: fit for fit in plan.fits
                if isinstance(fit.node, IntField | VarintField)}
        head = [(fit, f"{fit.lo}..{fit.hi}") for name, fit in fits.items() if name in in_head]
        tail: list[tuple[FitCheck, str]] = []
        for w in plan.writes:
            e = w.element
            if e.name not in fits or e.name in in_head or w.checksum is not None:
                continue
            if isinstance(e, VarintField):
                if e is not plan.rest:
                    tail.append((fits[e.name], f"a varint of {e.max_bytes} bytes"))
            elif isinstance(e, IntField):
                tail.append((fits[e.name], f"{e.type.width} bytes"))
        for fit, what in head + tail:
            node = fit.node
            if isinstance(node, IntField) and (node.type.width == 8 or _held(node, fit)):
                continue  # its Go value cannot be out of range: nothing to check
            loc = self.field_of[node.name]
            self.when(fit.present)
            lo, hi = fit.lo, fit.hi
            if isinstance(node, VarintField):
                cond = f"uint64({loc}) > {hi}"
            else:
                cond = f"lor(lt({loc}, {go_int(lo)}), gt({loc}, {go_int(hi)})) != 0"
            self.f.open(f"if {cond}")
            self.f.line(f"return {RET}encodeFail({go_string(node.name)}, "
                        f"{shown(loc, node)}+{go_string(' does not fit ' + what)})")
            self.f.close()
            self.end(fit.present)

    def _write(self, w: Write) -> None:
        f, el = self.f, w.element
        member = f"f.{self.names[el.name]}"
        if isinstance(el, IntField):
            if w.checksum is not None:
                if w.checksum.kind != "crc32":
                    raise Unsupported(f"a {w.checksum.kind} checksum")
                f.line(put_int(el.type, f"crc32.ChecksumIEEE(out[len(dst)+{w.checksum.start}:])"))
            else:
                f.line(put_int(el.type, self.field_of[el.name]))
        elif isinstance(el, BitsField):
            parts = "int64(0)"
            for m in el.members:
                parts = f"bor({parts}, shl(band({self.field_of[m.name]}, {m.mask:#x}), {m.shift}))"
            f.line(put_int(el.type, parts))
        elif isinstance(el, VarintField):
            f.line(f"out = putVarint(out, uint64({self.field_of[el.name]}))")
        elif isinstance(el, KvMapField):
            f.line(f"out = writeKV(out, {member}, {el.key_length.width}, "
                   f"{el.value_length.width}, {_little(el.key_length.byte_order)}, "
                   f"{_little(el.value_length.byte_order)}, {go_bytes(el.between)})")
        elif isinstance(el, BytesField | ListField):
            f.line(f"out = append(out, {self.bytes_of.get(el.name, member)}...)")

    def _rest(self, rest: VarintField) -> None:
        """A varint `len(rest)`: the bytes written after it counted, refused when
        the varint cannot hold them or the frame is too large, then put in place."""
        f = self.f
        f.decl("n", "len(out) - body")
        f.decl("remaining", "int64(n)")
        f.open(f"if uint64(remaining) >= {1 << (7 * rest.max_bytes)}")
        f.line(f"return {RET}encodeFail({go_string(rest.name)}, dec(remaining)+"
               f"{go_string(f' does not fit a varint of {rest.max_bytes} bytes')})")
        f.close()
        f.decl("head", "len(putVarint(nil, uint64(remaining)))")
        f.decl("size", "int64(body - len(dst) + head + n)")
        self._too_large()
        f.line("out = insertVarint(out, body, uint64(remaining))")


def encoder(fp: FramePlan, wide_ints: wide.Wide, pkg: GoNames,
            state: Callable[[str], str] | None = None) -> list[str]:
    """`(*Frame).encode(dst)`: the frame's bytes appended to dst; in a spec with a
    state, `(*Frame).encode(dst, st)` reading members through `state`."""
    return _Encoder(fp, wide_ints, pkg, state).source()


def _held(node: IntField, fit: FitCheck) -> bool:
    """Whether the value is the frame struct's own field, whose Go type holds
    exactly the wire's range (a u8 in a uint8, not a u24 in a uint32)."""
    return (node.value is None and node.type.width in (1, 2, 4)
            and (fit.lo, fit.hi) == (node.type.min, node.type.max))
