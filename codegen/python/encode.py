"""The straight-path encoder of a frame, printed from its encode plan. Python's
share is the representation: sized elements turned into bytes first (text
encoded, padding added by `_pad`, which refuses what does not fit), bits packed
into their container, the fixed header in one `struct` pack whose errors name
the value that does not fit (`_range_error`), every later integer through
`_int_bytes` or `_varint_bytes`, which refuse what does not fit; a field its
condition leaves off the wire is neither checked nor written. The frame's own
condition is checked by `encode()` before any of this (`_claimed`)."""

from __future__ import annotations

from protodsl.codegen.emitter import Emitter
from protodsl.codegen.python import ints
from protodsl.codegen.python.context import Module, constant, holders
from protodsl.codegen.python.expr import frame_limit, translate

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    BytesField,
    Element,
    IntField,
    KvMapField,
    ListField,
    VarintField,
)
from protodsl.plan import FramePlan, Write


class FrameEncoder:
    """`_encode_FRAME(_f, _st)`'s body."""

    def __init__(self, module: Module, frame: FramePlan, cls: str, head: str) -> None:
        self.module = module
        self.frame = frame
        self.plan = frame.encode
        self.names = module.names(frame)
        self.cls = cls
        self.head = head  # the module-level struct of the fixed header
        self.holders = holders(frame)
        self.in_head = {r.name for r in frame.decode.header}

    def value(self, name: str) -> str:
        return self.names.local[name]

    def length(self, name: str) -> str:
        return f"len({self.names.local[name]})"  # every sized local holds bytes by then

    def expr(self, e: ir.Expr) -> str:
        return translate(e, self.value, self.length,
                         records=lambda name: f"_f.{self.names.attr[name]}")

    def body(self) -> str:
        out = Emitter(depth=1)
        self._values(out)
        for c in self.plan.computed:
            out.line(f"{self.names.local[c.node.name]} = {self.expr(c.expr)}")
        for w in self.plan.writes:
            if w.present is not None:
                out.line(f"_p_{w.element.name} = {self.expr(w.present)}")
        self._fits(out)
        self._containers(out)
        self._lengths(out)
        if self.plan.total is not None:
            out.line(f"_size = {self.expr(self.plan.total)}")
            self._too_large(out)
        parts = self._head(out)
        self._writes(out, parts)
        return out.text()

    def _values(self, out: Emitter) -> None:
        """The attributes as locals; sized ones as the bytes they are on the wire."""
        for r in self.frame.decode.reads:
            for v in r.values:
                if v.free:
                    out.line(f"{self.names.local[v.name]} = _f.{self.names.attr[v.name]}")
        for r in self.frame.decode.reads:
            e = r.element
            if not isinstance(e, BytesField | KvMapField | ListField):
                continue
            local, attr = self.names.local[e.name], f"_f.{self.names.attr[e.name]}"
            if isinstance(e, ListField):
                out.line(f"{local} = _write_{e.record}({attr}, {e.name!r})")
            elif isinstance(e, KvMapField):
                out.line(f"{local} = _write_kvmap({attr}, {ints.kv_format(e)}, "
                         f"{next(w.refuse_null for w in self.plan.writes if w.element is e)}, "
                         f"{e.name!r})")
            else:
                out.line(f"{local} = {attr}.encode()" if e.text else f"{local} = {attr}")
                if e.pad is not None:  # the plan's length check of a padded element
                    width = next(c.pad_width for c in self.plan.lengths if c.element is e)
                    out.line(f"{local} = _pad({local}, {width}, {e.pad}, {e.name!r})")

    def _on_wire(self, name: str) -> str:
        """`_p_X and ` where the holder of `name` has a condition."""
        holder = self.holders[name]
        return f"_p_{holder.name} and " if holder.present is not None else ""

    def _fits(self, out: Emitter) -> None:
        """The fits a struct, `_int_bytes` or `_varint_bytes` cannot check: bit
        members' ranges, then closed enums' members."""
        for fit in self.plan.fits:
            if isinstance(fit.node, BitMember):
                local = self.names.local[fit.node.name]
                with out.block(f"if {self._on_wire(fit.node.name)}"
                               f"not {fit.lo} <= {local} <= {fit.hi:#x}"):
                    out.line(f"raise EncodeError({fit.node.name!r}, None, f\"{{{local}}} "
                             f"does not fit {fit.what}\")")
        for fit in self.plan.fits:
            if fit.enum is not None:
                local = self.names.local[fit.node.name]
                enum = self.module.enum(fit.enum)
                with out.block(f"if {self._on_wire(fit.node.name)}{local} not in {enum.lookup}"):
                    out.line(f"raise EncodeError({fit.node.name!r}, None, "
                             f"f\"{{{local}!r}} is not a {enum.name}\")")

    def _containers(self, out: Emitter) -> None:
        """Each bits container (`_X`) from its members."""
        for r in self.frame.decode.reads:
            if isinstance(r.element, BitsField):
                parts = []
                for v in r.values:
                    c = constant(v)
                    part = str(c) if c is not None else self.names.local[v.name]
                    parts.append(f"({part} << {v.shift})")
                out.line(f"_{r.name} = {' | '.join(parts)}")

    def _lengths(self, out: Emitter) -> None:
        for check in self.plan.lengths:
            if check.expr is None:
                continue  # padded: `_pad` has refused what does not fit
            local = self.names.local[check.element.name]
            size = self.expr(check.expr)
            differs = f"len({local}) != {size}"
            if check.present is not None:
                differs = f"_p_{check.element.name} and {differs}"
            with out.block(f"if {differs}"):
                out.line(f"raise EncodeError({check.element.name!r}, None, "
                         f"f\"{{len({local})}} bytes, but its size says {{{size}}}\")")

    def _too_large(self, out: Emitter) -> None:
        limits = ["MAX_FRAME"]
        limit = self.module.plan.protocol.frame_limit
        if limit is not None:
            out.line(f"_limit = {frame_limit(limit, self.frame.name)}")
            limits.append("_limit")
        for cap in limits:
            with out.block(f"if _size > {cap}"):
                out.line(f"raise EncodeError({self.frame.name!r}, None, f\"frame of {{_size}} "
                         f"bytes exceeds max_frame {{{cap}}}\")")

    def _source(self, e: Element) -> str:
        """The integer an int or varint element writes: its constant, or its local."""
        value = self.holders[e.name].values[0]
        c = constant(value)
        return f"({c})" if c is not None else self.names.local[e.name]

    def _head(self, out: Emitter) -> list[str]:
        """The fixed header in one pack; a value that does not fit is named."""
        header = self.frame.decode.header
        if not header:
            return []
        order = self.module.byte_order
        packed = []
        for r in header:
            e = r.element
            if isinstance(e, BitsField):
                local = f"_{e.name}"
                packed.append(f"{local}.to_bytes({e.type.width}, {e.type.byte_order!r})"
                              if ints.is_raw(e.type, order) else local)
            elif isinstance(e, IntField):
                local = self._source(e)
                packed.append(f"{local}.to_bytes({e.type.width}, {e.type.byte_order!r}, "
                              f"signed={e.type.signed})" if ints.is_raw(e.type, order) else local)
            else:
                packed.append(self.names.local[e.name])
        ranges = "".join(
            f"({fit.node.name!r}, {self.names.local[fit.node.name]}, {fit.lo}, {fit.hi}), "
            for fit in self.plan.fits
            if isinstance(fit.node, IntField) and fit.node.name in self.in_head)
        with out.branches(["try", "except (struct.error, OverflowError)"]) as (pack, error):
            pack.line(f"_head = {self.head}.pack({', '.join(packed)})")
            error.line(f"raise _range_error(({ranges})) from None")
        return ["_head"]

    def _writes(self, out: Emitter, parts: list[str]) -> None:
        """Every element after the header, then the frame: with `len(rest)`, its
        size is known once the body after it is."""
        body = 0
        for w in self.plan.writes:
            e = w.element
            if e.name in self.in_head:
                continue
            if e is self.plan.rest:
                body = len(parts)
                continue
            if isinstance(e, BytesField | KvMapField | ListField):
                local = self.names.local[e.name]
                parts.append(f"({local} if _p_{e.name} else b\"\")"
                             if w.present is not None else local)
                continue
            out.line(f"_b_{e.name} = {self._integer(w, parts)}"
                     + (f" if _p_{e.name} else b\"\"" if w.present is not None else ""))
            parts.append(f"_b_{e.name}")
        rest = self.plan.rest
        if rest is not None:
            self._rest(out, rest, parts[:body], parts[body:])
        elif len(parts) == 1:
            out.line(f"return {parts[0]}")
        else:
            self._join(out, f"return b\"\".join(({', '.join(parts)},))")

    def _integer(self, w: Write, parts: list[str]) -> str:
        e = w.element
        if isinstance(e, VarintField):
            return f"_varint_bytes({self._source(e)}, {e.max_bytes}, {e.name!r})"
        assert isinstance(e, IntField | BitsField)
        if w.checksum is not None:
            source = (f"zlib.{w.checksum.kind}(b\"\".join(({', '.join(parts)},))"
                      f"[{w.checksum.start}:])")
        elif isinstance(e, IntField):
            source = self._source(e)
        else:
            source = f"_{e.name}"
        t = e.type
        return f"_int_bytes({source}, {t.width}, {t.byte_order!r}, {t.signed}, {e.name!r})"

    def _join(self, out: Emitter, statement: str) -> None:
        """A join that names the field holding the wrong kind of value."""
        with out.branches(["try", "except TypeError"]) as (join, error):
            join.line(statement)
            error.line(f"raise _type_error({self.cls}, _f) from None")

    def _rest(self, out: Emitter, rest: VarintField, before: list[str], body: list[str]
              ) -> None:
        local = self.names.local[rest.name]
        self._join(out, f"_body = b\"\".join(({''.join(p + ', ' for p in body)}))")
        out.line(f"{local} = len(_body)")
        out.line(f"_b_{rest.name} = _varint_bytes({local}, {rest.max_bytes}, {rest.name!r})")
        out.line(f"_size = {self.frame.decode.header_size} + len(_b_{rest.name}) + {local}")
        self._too_large(out)
        out.line(f"return b\"\".join(({''.join(p + ', ' for p in before)}"
                 f"_b_{rest.name}, _body))")

