"""The reference reading: one declarative construct Struct per frame, laid out
from the same plan as the straight path (the header, the prefix, the checks of
the sizes and the total once they are known, the tail; or a `len(rest)` frame's
body inside `_Framed`), and the conversions between construct's containers and
the frame classes."""

from __future__ import annotations

from collections.abc import Callable

from protodsl.codegen.python import ints
from protodsl.codegen.python.context import Module, absent, closed_enum, constant, holders
from protodsl.codegen.python.expr import frame_limit, lengths, state_reader, translate

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitMember,
    BitsField,
    BytesField,
    IntField,
    KvMapField,
    ListField,
    VarintField,
)
from protodsl.plan import (
    Fixed,
    FramePlan,
    Measured,
    MustMatchChecksum,
    ProtocolPlan,
    Read,
    RestFraming,
    RestOfFrame,
    Value,
)


class FrameReference:
    """A frame's construct Struct, and its container conversions both ways."""

    def __init__(self, module: Module, frame: FramePlan, cls: str) -> None:
        self.module = module
        self.frame = frame
        self.names = module.names(frame)
        self.cls = cls
        self.computed = {c.node.name: c.expr for c in frame.encode.computed}
        self.holders = holders(frame)
        rest = frame.decode.framing
        self.after_rest = ({n for r in rest.body for n in r.names}
                           if isinstance(rest, RestFraming) else set())

    def path(self, name: str, parsed: bool = False) -> str:
        """Where construct keeps a value: flat in the context while it parses or
        builds; in the parsed container, what follows a len(rest) field is under
        `_rest`."""
        root = "_c['_rest']" if parsed and name in self.after_rest else "_c"
        holder = self.holders[name]
        if isinstance(holder.element, BitsField):
            return f"{root}[{holder.name!r}][{name!r}]"
        return f"{root}[{name!r}]"

    def expr(self, e: ir.Expr, more: str = "_more(_c)") -> str:
        return translate(e, self.path, lengths(self.frame.frame, self.path, encoded=True),
                         state=state_reader("_c._params._st", self.frame.frame.name), more=more)

    def _condition(self, r: Read) -> str:
        """A read's condition; `more()` is the bytes left when construct parses,
        and what encode writes when it builds."""
        assert r.present is not None
        if not ir.reads_more(r.present):
            return self.expr(r.present)
        given = self.expr(self.frame.frame.given_from(r.element))
        return self.expr(r.present, more=f"(_more(_c) if _c._parsing else {given})")

    def _limit(self) -> list[str]:
        """The `max_frame` limit the state sets, as construct reads it; [] without."""
        limit = self.module.plan.protocol.frame_limit
        return [] if limit is None else [
            f"({frame_limit(limit, self.frame.name, '_c._params._st')})"]

    def _limit_arg(self) -> str:
        return "".join(f", limit=lambda _c: {cap}" for cap in self._limit())

    def fields(self) -> list[str]:
        """The Struct's members."""
        plan = self.frame.decode
        out = [f"{r.name!r} / {self._element(r)}" for r in plan.header]  # no lists there
        framing = plan.framing
        if isinstance(framing, RestFraming):
            inner = []
            for r in framing.body:
                if isinstance(r.size, Measured) and r.size.may_be_negative:
                    inner.append(self._negative_guard(r.name, r.size.expr, r.present, "None"))
                inner += self._members(r)
            length = framing.length
            if length is None:  # an integer of the header declares the size
                last = plan.header[-1]
                framed = (f"_Framed({framing.size_field.name!r}, {self.frame.name!r}, None, "
                          f"{plan.header_size}, [{', '.join(inner)}], {framing.start}, "
                          f"({last.name!r}, {last.offset}){self._limit_arg()})")
            else:
                assert isinstance(length.element, VarintField)
                framed = (f"_Framed({length.name!r}, {self.frame.name!r}, "
                          f"{length.element.max_bytes}, {plan.header_size}, "
                          f"[{', '.join(inner)}]{self._limit_arg()})")
            out.append(f"\"_rest\" / {framed}")
        else:
            out += [m for r in framing.prefix for m in self._members(r)]
            # the sizes and the total once the header and prefix are parsed (with
            # neither, once the first element is)
            at = 0 if plan.header or framing.prefix else 1
            total = self.expr(framing.total)
            checks = [self._negative_guard(s.element.name, s.expr, s.present,
                                           str(plan.header_size))
                      for s in framing.sizes if s.may_be_negative]
            for cap in ["MAX_FRAME", *self._limit()]:
                checks.append(f"_Guard(lambda _c: {total} <= {cap}, lambda _c: FrameTooLarge("
                              f"{self.frame.name!r}, 0, {total}, {cap}))")
            checks.append(f"_WholeFrame(lambda _c: {total})")
            tail = [self._members(r) for r in framing.tail]
            out += [m for ms in tail[:at] for m in ms] + checks + [
                m for ms in tail[at:] for m in ms]
        out.append('"_end" / cs.Tell')
        return out

    def _members(self, r: Read) -> list[str]:
        """The element, then the counts of records that end with it."""
        out = [f"{r.name!r} / {self._element(r)}"]
        for c in r.recounts:
            count, want = self.path(c.node.name), self.expr(c.expr)
            out.append(f"_Guard(lambda _c: {count} == {want}, lambda _c: CountMismatch("
                       f"{c.node.name!r}, {c.offset}, {count}, {want}))")
        return out

    def _negative_guard(self, name: str, size: ir.Expr, present: ir.Expr | None,
                        offset: str) -> str:
        text = self.expr(size)
        ok = f"{text} >= 0"
        if present is not None:
            ok = f"{ok} or not {self.expr(present)}"
        return f"_Guard(lambda _c: {ok}, lambda _c: NegativeSize({name!r}, {offset}, {text}))"

    def _size(self, r: Read) -> str:
        assert isinstance(r.size, Fixed | Measured)
        return str(r.size.bytes) if isinstance(r.size, Fixed) else self.expr(r.size.expr)

    def _element(self, r: Read) -> str:
        e = r.element
        con: str
        if isinstance(e, VarintField):
            con = self._integer(r.values[0], f"_VarInt({e.max_bytes}, {e.name!r})")
        elif isinstance(e, IntField):
            con = self._integer(r.values[0], ints.construct_int(e.type))
        elif isinstance(e, BitsField):
            members = ", ".join(
                f"{v.name!r} / _Located({v.name!r}, {e.offset}, "
                f"{self._integer(v, f'cs.BitsInteger({v.node.width})')})"
                for v in r.values if isinstance(v.node, BitMember))
            con = f"cs.BitStruct({members})"
            if e.type.byte_order == "little" and e.type.width > 1:
                con = f"cs.ByteSwapped({con})"
        elif isinstance(r.size, RestOfFrame):
            con = "cs.GreedyBytes" if isinstance(e, BytesField) else self._section(e)
        elif isinstance(e, ListField | KvMapField):
            con = f"cs.FixedSized(lambda _c: {self._size(r)}, {self._section(e)})"
        else:
            con = f"cs.Bytes(lambda _c: {self._size(r)})"
            if e.text:
                pad = bytes([e.pad]) if e.pad is not None else b""
                header = self.frame.decode.header_size if r.offset is not None else 0
                con = f"_Utf8({con}, {pad!r}, {e.name!r}, {header})"
        if r.present is not None:
            con = (f"cs.IfThenElse(lambda _c: {self._condition(r)}, {con}, "
                   f"cs.Computed({self._absent(r)}))")
        return f"_Located({e.name!r}, {e.offset}, {con})"

    def _integer(self, v: Value, base: str) -> str:
        c = constant(v)
        if c is not None:
            return f"cs.Const({c}, {base})"
        checksum = next((k for k in v.checks if isinstance(k, MustMatchChecksum)), None)
        if checksum is not None:
            return f"_Checksum(zlib.{checksum.kind}, {checksum.start}, {base})"
        if v.name in self.computed:
            return f"cs.Rebuild({base}, lambda _c: {self.expr(self.computed[v.name])})"
        enum = closed_enum(v)
        if enum is not None:
            return f"cs.OneOf({base}, {self.module.enum(enum).lookup})"
        return base

    def _section(self, e: BytesField | KvMapField | ListField) -> str:
        if isinstance(e, ListField):
            return f"_Section({_list_codec(self.module.plan, e.record)}, {e.name!r})"
        assert isinstance(e, KvMapField)
        fmt = ints.kv_format(e)
        refuse = next(w.refuse_null for w in self.frame.encode.writes if w.element is e)
        return (f"_Section(lambda b, o, e, n: _read_kvmap(b, o, e, {fmt}, {e.null_drop}, n), "
                f"lambda v, n: _write_kvmap(v, {fmt}, {refuse}, n), {e.name!r})")

    def _absent(self, r: Read) -> str:
        """What construct gives for an element off the wire: bytes raw, bits nested."""
        if isinstance(r.element, BytesField):
            return 'b""'
        if isinstance(r.element, BitsField):
            return "{" + ", ".join(f"{n!r}: 0" for n in r.names) + "}"
        return absent(r, self.names)[0][1]

    def from_container(self) -> list[str]:
        """The frame class's keyword arguments from a parsed container `_c`."""
        args = []
        for r in self.frame.decode.reads:
            if r.size is not None:
                args.append(f"{self.names.attr[r.name]}={self._sized_value(r)}")
                continue
            for v in r.values:
                if not v.free:
                    continue
                source = self.path(v.name, parsed=True)
                if r.present is not None and not isinstance(r.element, BitsField):
                    source = f"({source} if {source} is not None else 0)"
                # an absent enum field reads as 0, a member or not
                value = self.module.wrap(v.node, source, checked=r.present is None
                                         or self.module.zero_is_member(v.node))
                args.append(f"{self.names.attr[v.name]}={value}")
        return args

    def _sized_value(self, r: Read) -> str:
        e = r.element
        source = self.path(e.name, parsed=True)
        if r.present is not None:
            fallback = 'b""' if isinstance(e, BytesField) else absent(r, self.names)[0][1]
            source = f"({source} if {source} is not None else {fallback})"
        if isinstance(e, BytesField):  # raw, as construct gives it
            if e.pad is not None:
                source = f"{source}.rstrip({bytes([e.pad])!r})"
            if e.text:
                source = f"_text({source}, {e.name!r}, 0)"
        return source

    def to_container(self) -> list[str]:
        """Dict entries for construct's build: bit members nested in their container."""
        entries = []
        attr: Callable[[str], str] = lambda n: f"f.{self.names.attr[n]}"  # noqa: E731
        for r in self.frame.decode.reads:
            e = r.element
            if isinstance(e, BitsField):
                inner = ", ".join(f"{v.name!r}: {attr(v.name)}" for v in r.values if v.free)
                entries.append(f"{e.name!r}: {{{inner}}}")
            elif r.size is None:
                if r.values[0].free:
                    entries.append(f"{e.name!r}: {attr(e.name)}")
            elif isinstance(e, BytesField) and (e.text or e.pad is not None):
                value = attr(e.name) + (".encode()" if e.text else "")
                if e.pad is not None:
                    assert isinstance(r.size, Fixed)
                    value = f"_pad({value}, {r.size.bytes}, {e.pad}, {e.name!r})"
                entries.append(f"{e.name!r}: {value}")
            else:
                entries.append(f"{e.name!r}: {attr(e.name)}")
        return entries


def _list_codec(plan: ProtocolPlan, record: str) -> str:
    """The reader and writer the reference uses for a list of `record`: a record
    with variable members has construct's own; a fixed one shares the straight
    path's."""
    variable = any(r.record.name == record and r.record.variable for r in plan.records)
    prefix = "_ref" if variable else ""
    return f"{prefix}_read_{record}, {prefix}_write_{record}"


def discriminator(plan: ProtocolPlan) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """`_choose`'s construct Struct, reading the leading elements of the first
    frame that has every discriminator up to their end (no checks), and each
    value's path in it."""
    end = max((d.offset + d.container.width for d in plan.discriminators), default=0)
    fields: list[str] = []
    values: list[tuple[str, list[str]]] = []
    holder = next((f for f in plan.frames if all(
        f.frame.holder(d.value.name) is not None for d in plan.discriminators)), None)
    for r in holder.decode.reads if holder is not None else ():
        e = r.element
        if e.offset is None or r.width is None or e.offset + r.width > end:
            break
        if isinstance(e, IntField):
            fields.append(f"{e.name!r} / {ints.construct_int(e.type)}")
            values.append((e.name, [e.name]))
        elif isinstance(e, BitsField):
            members = ", ".join(f"{m.name!r} / cs.BitsInteger({m.width})" for m in e.members)
            bits = f"cs.BitStruct({members})"
            if e.type.byte_order == "little" and e.type.width > 1:
                bits = f"cs.ByteSwapped({bits})"
            fields.append(f"{e.name!r} / {bits}")
            values.extend((m.name, [e.name, m.name]) for m in e.members)
        else:
            fields.append(f"cs.Bytes({r.width})")
    return fields, values

