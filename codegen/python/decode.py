"""The straight-path decoder of a frame, printed from its decode plan. Python's
share is the representation: the fixed header in one `struct` unpack (a short
header checked value by value from a table, see `_short_header`), locals named
after the attributes, a closed enum's member kept from its check (`_e_` locals),
and the frame built without `__init__`."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from protodsl.codegen.emitter import Emitter
from protodsl.codegen.numbers import spelled_format
from protodsl.codegen.python import ints
from protodsl.codegen.python.context import Module, absent, closed_enum, constant
from protodsl.codegen.python.expr import frame_limit, no_length, translate

from protodsl.ir import expr as ir
from protodsl.ir.model import BitsField, BytesField, IntField, KvMapField, ListField, VarintField
from protodsl.plan import (
    Fixed,
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
)

_UNPACK = "<unpack the header>"


class FrameDecoder:
    """`_decode_FRAME(_buf, _end, _st)`'s body and its short-header check table."""

    def __init__(self, module: Module, frame: FramePlan, cls: str) -> None:
        self.module = module
        self.frame = frame
        self.plan = frame.decode
        self.names = module.names(frame)
        self.cls = cls

    def value(self, name: str) -> str:
        return self.names.local[name]

    def expr(self, e: ir.Expr) -> str:
        return translate(e, self.value, no_length)

    @property
    def head(self) -> str:
        """The module-level struct of the fixed header."""
        return f"_head_{self.frame.name}"

    @property
    def checks(self) -> str:
        """The module-level table `_short_header` checks a short header against."""
        return f"_checks_{self.frame.name}"

    def head_format(self) -> str:
        order = self.module.byte_order
        return ("<" if order == "little" else ">") + "".join(
            ints.head_code(r, order) for r in self.plan.header)

    def check_rows(self) -> list[str]:
        """One row per header value: where it is, and what `_short_header` checks."""
        rows = []
        for r in self.plan.header:
            e = r.element
            if not isinstance(e, IntField | BitsField):
                continue
            for v in r.values:
                assert not any(isinstance(c, MustMatchChecksum) for c in v.checks), (
                    "a checksum is a trailer, never in the header")
                enum = self.module.enum_of(v.node)
                closed = closed_enum(v)
                fmt = _number_format(v)
                rows.append(
                    f"({v.name!r}, {r.offset}, {e.type.width}, {e.type.byte_order!r}, "
                    f"{e.type.signed}, {v.shift}, {v.mask}, {constant(v)}, "
                    f"{self.module.enum(closed).lookup if closed else None}, "
                    f"{repr(enum.name) if enum else None}, {fmt!r})")
        return rows

    def body(self) -> str:
        out = Emitter(depth=1)
        size = self.plan.header_size
        if self.plan.header:
            with out.block(f"if _end < {size}"):
                out.line(f"return _short_header(_buf, _end, {self.checks}, {size})")
            out.line(_UNPACK)  # its targets are known once the rest is written
            for r in self.plan.header:
                self._header_element(out, r)
        framing = self.plan.framing
        if isinstance(framing, RestFraming):
            self._rest_framing(out, framing)
        else:
            self._sized_framing(out, framing)
        self._build(out)
        text = out.text()
        if not self.plan.header:
            return text
        # A header value nothing reads (a computed length the frame ignores) is
        # unpacked into `_`, so that no local is left unused.
        rest = text.replace(_UNPACK, "")
        targets = [t if re.search(rf"(?<![.\w'\"]){t}(?![\w'\"])", rest) else "_"
                   for t in (self._head_local(r) for r in self.plan.header)]
        unpacked = ", ".join(targets) + ("," if len(targets) == 1 else "")
        return text.replace(_UNPACK, f"{unpacked} = {self.head}.unpack_from(_buf, 0)")

    # -- the header, unpacked in one piece

    def _head_local(self, r: Read) -> str:
        """What the header's unpack gives a value: a text field its raw bytes."""
        if isinstance(r.element, BytesField) and r.element.text:
            return f"_raw_{r.name}"
        return f"_{r.name}" if isinstance(r.element, BitsField) else self.names.local[r.name]

    def _header_element(self, out: Emitter, r: Read) -> None:
        e = r.element
        assert r.offset is not None
        local = self._head_local(r)
        if isinstance(e, BytesField):
            _finish_bytes(out, e, self.names.local[r.name], local, str(r.offset))
            return
        assert isinstance(e, IntField | BitsField)
        if ints.is_raw(e.type, self.module.byte_order):
            signed = f", signed={e.type.signed}" if isinstance(e, IntField) else ""
            out.line(f"{local} = int.from_bytes({local}, {e.type.byte_order!r}{signed})")
        self._values(out, r, local, str(r.offset))

    def _values(self, out: Emitter, r: Read, container: str, at: str) -> None:
        """Each value of an integer or bits container read into `container`, checked."""
        for v in r.values:
            local = self.names.local[v.name]
            if v.mask is not None:
                out.line(f"{local} = ({container} >> {v.shift}) & {v.mask:#x}")
            self._checks(out, v, local, at)

    def _checks(self, out: Emitter, v: Value, local: str, at: str) -> None:
        for check in v.checks:
            if isinstance(check, MustEqual):
                fmt = _number_format(v)
                shown = "" if fmt == "d" else f", {fmt!r}"  # as the spec wrote it
                with out.block(f"if {local} != {check.value}"):
                    out.line(f"raise ConstantMismatch({v.name!r}, {at}, {local}, "
                             f"{check.value}{shown})")
            elif isinstance(check, MustBeMember):
                enum = self.module.enum(check.enum)
                out.line(f"_e_{v.name} = {enum.lookup}.get({local})")
                with out.block(f"if _e_{v.name} is None"):
                    out.line(f"raise UnknownEnumValue({v.name!r}, {at}, {local}, "
                             f"{enum.name!r})")
            else:
                with out.block(f"if {local} != zlib.{check.kind}(_buf[{check.start}:{at}])"):
                    out.line(f"raise ChecksumMismatch({v.name!r}, {at}, {local}, "
                             f"{check.kind!r})")

    # -- a frame whose size follows from its first fields

    def _sized_framing(self, out: Emitter, framing: SizedFraming) -> None:
        header = self.plan.header_size
        if framing.prefix or framing.tail:
            out.line(f"_off = {header}")
        for r in framing.prefix:  # each there or not: the sizes may read them
            self._present(out, r, partial(self._step, r=r, short=f"_end < _off + {r.width}",
                                          step=True))
        for s in framing.sizes:
            name = s.element.name
            out.line(f"_n_{name} = {self.expr(s.expr)}")
            if not s.may_be_negative:
                continue
            negative = f"_n_{name} < 0"
            if s.present is not None:
                negative = f"{negative} and {self.expr(s.present)}"
            with out.block(f"if {negative}"):
                out.line(f"raise NegativeSize({name!r}, {header}, _n_{name})")
        out.line(f"_size = {self.expr(framing.total)}")
        self._whole_frame(out)
        for i, r in enumerate(framing.tail):
            last = i == len(framing.tail) - 1
            self._present(out, r, partial(self._step, r=r, short=None, step=not last))

    def _whole_frame(self, out: Emitter) -> None:
        with out.block("if _size > MAX_FRAME"):
            out.line(f"raise FrameTooLarge({self.frame.name!r}, 0, _size, MAX_FRAME)")
        limit = self.module.plan.protocol.frame_limit
        if limit is not None:
            out.line(f"_limit = {frame_limit(limit, self.frame.name)}")
            with out.block("if _size > _limit"):
                out.line(f"raise FrameTooLarge({self.frame.name!r}, 0, _size, _limit)")
        with out.block("if _end < _size"):
            out.line("return NeedMore(_end, _size)")

    def _step(self, out: Emitter, r: Read, short: str | None, step: bool) -> None:
        """Read one element at _off (and step past it); `short`: the buffer ends
        inside it, so more is needed."""
        if short is not None:
            with out.block(f"if {short}"):
                out.line("return NeedMore(_end, None)")
        e = r.element
        if isinstance(e, IntField | BitsField):
            self._int_at_off(out, r, e)
            width = str(e.type.width)
        else:
            assert isinstance(e, BytesField | KvMapField | ListField), (
                "a varint only follows a len(rest) field")
            width = str(r.size.bytes) if isinstance(r.size, Fixed) else f"_n_{e.name}"
            self._sized(out, e, width)
        if step:
            out.line(f"_off += {width}")

    def _int_at_off(self, out: Emitter, r: Read, e: IntField | BitsField) -> None:
        """An integer after the variable part (a trailer, a checksum)."""
        t = e.type
        read = ints.from_bytes(t, f"_buf[_off:_off + {t.width}]")
        container = self.names.local[e.name] if isinstance(e, IntField) else f"_{e.name}"
        out.line(f"{container} = {read}")
        self._values(out, r, container, "_off")

    def _sized(self, out: Emitter, e: BytesField | KvMapField | ListField, size: str) -> None:
        """A sized element of `size` bytes at _off."""
        local = self.names.local[e.name]
        if isinstance(e, KvMapField):
            out.line(f"{local} = _read_kvmap(_buf, _off, _off + {size}, "
                     f"{ints.kv_format(e)}, {e.null_drop}, {e.name!r})")
        elif isinstance(e, ListField):
            out.line(f"{local} = _read_{e.record}(_buf, _off, _off + {size}, {e.name!r})")
        else:
            _finish_bytes(out, e, local, f"_buf[_off:_off + {size}]", "_off")

    def _present(self, out: Emitter, r: Read, read: Callable[[Emitter], None]) -> None:
        """`read` where the element is on the wire; else its absent value. Then
        the counts of records that end with it."""
        if r.present is None:
            read(out)
        else:
            with out.branches([f"if {self.expr(r.present)}", "else"]) as (there, missing):
                read(there)
                for local, value in absent(r, self.names):
                    missing.line(f"{local} = {value}")
        for c in r.recounts:
            count, want = self.names.local[c.node.name], self.expr(c.expr)
            with out.block(f"if {count} != {want}"):
                out.line(f"raise CountMismatch({c.node.name!r}, {c.offset}, {count}, {want})")

    # -- a frame that declares its own size: len(rest)

    def _rest_framing(self, out: Emitter, framing: RestFraming) -> None:
        length, local = framing.length, self.names.local[framing.size_field.name]
        header = self.plan.header_size
        if length is not None:
            assert isinstance(length.element, VarintField)
            out.line(f"{local}, _off = _read_varint(_buf, {header}, _end, "
                     f"{length.element.max_bytes}, {length.name!r})")
            with out.block("if _off < 0"):
                out.line("return NeedMore(_end, None)")
            out.line(f"_size = _off + {local}")
        else:
            out.line(f"_size = {framing.start} + {local}")
            last = self.plan.header[-1]
            with out.block(f"if _size < {header}"):  # the header runs past the frame's end
                out.line(f"raise FieldOverrun({last.name!r}, {last.offset}, _size)")
            out.line(f"_off = {header}")
        self._whole_frame(out)
        for r in framing.body:
            self._present(out, r, partial(self._bounded, r=r))
        with out.block("if _off != _size"):
            out.line(f"raise LeftoverBytes({self.frame.name!r}, _off, _size - _off)")

    def _bounded(self, out: Emitter, r: Read) -> None:
        """One element at _off inside a frame ending at _size; past it is an overrun."""
        e = r.element
        overrun = f"raise FieldOverrun({e.name!r}, _off, _size)"
        if isinstance(e, VarintField):
            local = self.names.local[e.name]
            out.line(f"{local}, _next = _read_varint(_buf, _off, _size, {e.max_bytes}, "
                     f"{e.name!r})")
            with out.block("if _next < 0"):
                out.line(overrun)
            self._values(out, r, local, "_off")
            out.line("_off = _next")
        elif isinstance(e, IntField | BitsField):
            with out.block(f"if _off + {e.type.width} > _size"):
                out.line(overrun)
            self._int_at_off(out, r, e)
            out.line(f"_off += {e.type.width}")
        else:
            assert isinstance(e, BytesField | KvMapField | ListField)
            n = f"_n_{e.name}"
            if isinstance(r.size, RestOfFrame):
                out.line(f"{n} = _size - _off")
            else:
                if isinstance(r.size, Fixed):
                    out.line(f"{n} = {r.size.bytes}")
                else:
                    assert isinstance(r.size, Measured)
                    out.line(f"{n} = {self.expr(r.size.expr)}")
                    if r.size.may_be_negative:
                        with out.block(f"if {n} < 0"):
                            out.line(f"raise NegativeSize({e.name!r}, _off, {n})")
                with out.block(f"if _off + {n} > _size"):
                    out.line(overrun)
            self._sized(out, e, n)
            out.line(f"_off += {n}")

    # -- the frame

    def _build(self, out: Emitter) -> None:
        """Built without __init__: keyword arguments (the fields are kw_only)
        would cost a sixth of the decode; every field is set here."""
        out.line(f"_fr = _new_object({self.cls})")
        for r in self.frame.decode.reads:
            if r.size is not None:
                out.line(f"_fr.{self.names.attr[r.name]} = {self.names.local[r.name]}")
                continue
            for v in r.values:
                if not v.free:
                    continue
                local = self.names.local[v.name]
                if closed_enum(v) is not None and r.present is None:
                    value = f"_e_{v.name}"  # looked up by its check
                else:
                    # a present value was checked; an absent one reads as 0
                    value = self.module.wrap(v.node, local, checked=r.present is not None
                                             and self.module.zero_is_member(v.node))
                out.line(f"_fr.{self.names.attr[v.name]} = {value}")
        after = f"_next_{self.frame.name}(_fr, _st)" if self.frame.frame.sets else "_st"
        out.line(f"return _tuple_new(Decoded, (_fr, _size, {after}))")


def _finish_bytes(out: Emitter, e: BytesField, local: str, raw: str, at: str) -> None:
    """`local` from the `raw` bytes: padding stripped, text decoded, in one
    assignment so that the local has one type."""
    value = raw if e.pad is None else f"{raw}.rstrip({bytes([e.pad])!r})"
    if e.text:
        value = f"_text({value}, {e.name!r}, {at})"
    if value != local:
        out.line(f"{local} = {value}")


def _number_format(v: Value) -> str:
    """A constant's numbers in messages as the spec wrote it."""
    spelling = next((c.spelling for c in v.checks if isinstance(c, MustEqual)), None)
    return spelled_format(spelling).python


def discriminator_reads(plan: ProtocolPlan) -> list[str]:
    """`decode()`'s straight reads of the values the `when`s read (`_d_` locals),
    a bits container once (`_c`)."""
    lines: list[str] = []
    container: tuple[int, str] | None = None
    for d in plan.discriminators:
        read = ints.read_at(d.container, "buf", d.offset)
        if d.value.mask is None:
            lines.append(f"_d_{d.value.name} = {read}")
            continue
        if container != (d.offset, read):
            container = (d.offset, read)
            lines.append(f"_c = {read}")
        lines.append(f"_d_{d.value.name} = (_c >> {d.value.shift}) & {d.value.mask:#x}")
    return lines


def variant_message(plan: ProtocolPlan) -> str:
    """UnknownVariant's message, as Python over `_disc`: every value a `when`
    reads, in wire order, as the plugin logs them."""
    parts = [f"'{d.value.name}=' + _num(_disc[{d.value.name!r}], "
             f"{_number_format(d.value)!r})" for d in plan.discriminators]
    return " + ', ' + ".join(parts) or '""'
