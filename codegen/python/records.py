"""Records, the entries of a list: a dataclass each, read and written by module
functions the straight path and the reference share (a fixed record as one
struct), or, for a variable record (bytes sized by its own earlier integers),
a straight-line reader and writer of one entry per loop turn and a construct
Struct per entry for the reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from protodsl.codegen.emitter import Emitter
from protodsl.codegen.numbers import spelled_format
from protodsl.codegen.python import ints, naming
from protodsl.codegen.python.context import EnumView
from protodsl.codegen.python.expr import no_length, translate

from protodsl.ir.model import BitsField, BytesField, IntField, VarintField
from protodsl.plan import Check, IntRun, LengthCheck, MustBeMember, MustEqual, RecordPlan


@dataclass
class RecordView:
    name: str  # spec name, in helper names
    cls: str
    doc: str | None
    fields: list[str]  # attributes, in wire order
    attrs: dict[str, str]  # spec name -> attribute
    format: str  # struct format of one record
    size: int  # its width; for a variable record, its least width
    variable: bool = False
    # a fixed record:
    packed: list[str] = field(default_factory=list)  # what `pack` takes of `r`, in wire order
    # a fixed record with constants, a variable record:
    read: str = ""  # the body of the per-entry loop, appending each entry
    # a variable record:
    hints: list[tuple[str, str, str]] = field(default_factory=list)  # attr, hint, default
    int_hint: str = "int"  # `int` inside the class body (builtins.int where hidden)
    structs: list[tuple[str, str]] = field(default_factory=list)  # name, struct format
    bind: str = ""  # an entry's values as `_r_` locals, from `r`
    write: str = ""  # appends an entry's bytes to `out`
    ref_fields: list[str] = field(default_factory=list)  # construct Struct of one entry
    ref_read: str = ""  # checks and the entry, after construct parsed `c`
    ref_values: str = ""  # the dict construct builds from
    # a record whose entries are MOSN's headers: the body of `_check_<name>(r, name)`
    check: str = ""


def record_view(plan: RecordPlan, cls: str, byte_order: str, headers: bool,
                enums: dict[str, EnumView]) -> RecordView:
    """`headers`: a frame's MOSN headers are entries of this record."""
    r = plan.record
    if r.variable:
        view = _variable(plan, cls, enums)
        if headers:
            view.check = _check(plan, view.attrs)
        return view
    formats = []
    for e in r.elements:
        assert isinstance(e, IntField) and not ints.is_raw(e.type, byte_order), (
            "records hold plain integers")
        formats.append(ints.struct_code(e.type))
    attrs = {e.name: naming.attribute(e.name) for e in r.elements}
    constants = {v.name: c for v in plan.values for c in v.checks if isinstance(c, MustEqual)}
    view = RecordView(r.name, cls, r.doc, [attrs[e.name] for e in r.elements
                                           if e.name not in constants], attrs,
                      (">" if byte_order == "big" else "<") + "".join(formats), r.size,
                      packed=[str(constants[e.name].value) if e.name in constants
                              else f"r.{attrs[e.name]}" for e in r.elements],
                      int_hint=naming.qualified("int", frozenset(attrs.values())))
    if constants:  # checked entry by entry, each constant at its own offset
        read = Emitter(depth=2)
        read.line(f"{', '.join(_local(e.name) for e in r.elements)}, = unpack(buf, at)")
        for e in r.elements:
            if e.name in constants:
                assert e.offset is not None, "a fixed record's members have offsets"
                _constant_check(read, e.name, constants[e.name], _local(e.name),
                                f"at + {e.offset}" if e.offset else "at")
        free = ", ".join(_local(e.name) for e in r.elements if e.name not in constants)
        read.line(f"append({cls}({free}))")
        view.read = read.text()
    return view


def _local(name: str) -> str:
    return f"_r_{name}"


def _length(name: str) -> str:
    return f"len(_r_{name})"


def _groups(run: IntRun) -> list[list[IntField]]:
    """A run's integers by byte order: one struct each."""
    groups: list[list[IntField]] = []
    for e in run.elements:
        assert isinstance(e, IntField) and e.type.width != 3, (
            "records hold 1, 2, 4 or 8 byte integers")
        if groups and groups[-1][-1].type.byte_order == e.type.byte_order:
            groups[-1].append(e)
        else:
            groups.append([e])
    return groups


def _variable(plan: RecordPlan, cls: str, enums: dict[str, EnumView]) -> RecordView:
    r = plan.record
    attrs = {e.name: naming.attribute(e.name) for e in r.elements}
    free = [e for e in r.elements if not (isinstance(e, IntField) and e.value is not None)]
    view = RecordView(r.name, cls, r.doc, [attrs[e.name] for e in free], attrs, "", r.size,
                      variable=True)
    hidden = frozenset(attrs.values())
    for e in free:
        hint, default = ("int", "0") if not isinstance(e, BytesField) else (
            ("str", '""') if e.text else ("bytes", 'b""'))
        view.hints.append((attrs[e.name], naming.qualified(hint, hidden), default))
    read, write, bind = Emitter(depth=2), Emitter(depth=3), Emitter(depth=3)
    steps = _Steps(view, {v.name: v.checks for v in plan.values}, enums,
                   {id(c.element): c for c in plan.lengths})
    for step in plan.steps:
        if step.present is None:
            steps.read(read, step)
            steps.write(write, step)
            continue
        # A member only some entries have: zero or empty in the others.
        condition = translate(step.present, _local, no_length)
        element = step.elements[0] if isinstance(step, IntRun) else step
        with read.branches([f"if {condition}", "else"]) as (there, missing):
            steps.read(there, step)
            missing.line(f"_r_{element.name} = {_empty(element)}")
        with write.block(f"if {condition}"):
            steps.write(write, step)
    read.line(f"append({cls}({', '.join(_local(e.name) for e in free)}))")
    view.read, view.write = read.text(), write.text()

    constants = [(v.node, c) for v in plan.values for c in v.checks if isinstance(c, MustEqual)]
    for e in r.elements:
        if isinstance(e, BytesField):
            bind.line(f"_r_{e.name} = r.{attrs[e.name]}" + (".encode()" if e.text else ""))
        elif isinstance(e, IntField | VarintField) and e.value is None:
            bind.line(f"_r_{e.name} = r.{attrs[e.name]}")
    for node, c in constants:
        bind.line(f"_r_{node.name} = {c.value}")
    for computed in plan.computed:
        bind.line(f"_r_{computed.node.name} = {translate(computed.expr, _local, _length)}")
    view.bind = bind.text()
    _reference(plan, view, steps, free)
    return view


def _reference(plan: RecordPlan, view: RecordView, steps: _Steps,
               free: list[IntField | BitsField | BytesField | VarintField]) -> None:
    """The construct Struct of one entry, each member's start kept (`_at_NAME`,
    a Tell) so that its checks name the offsets the straight path names."""
    context: Callable[[str], str] = lambda n: f"_c[{n!r}]"  # noqa: E731
    for e in plan.record.elements:
        if isinstance(e, BytesField):
            con = f"cs.Bytes(lambda _c: {translate(e.size, context, no_length)})"
        elif isinstance(e, VarintField):
            con = f"_VarInt({e.max_bytes}, {e.name!r})"
        else:
            assert isinstance(e, IntField), "a variable record holds no bits (layout rejects them)"
            con = ints.construct_int(e.type)
        if e.present is not None:
            absent = "0" if not isinstance(e, BytesField) else 'b""'
            con = (f"cs.IfThenElse(lambda _c: {translate(e.present, context, no_length)}, "
                   f"{con}, cs.Computed({absent}))")
        view.ref_fields += [f"'_at_{e.name}' / cs.Tell", f"{e.name!r} / {con}"]
    ref = Emitter(depth=2)
    for v in plan.values:
        steps.checks_of(ref, v.name, f"c[{v.name!r}]", f"off + c._at_{v.name}")
    for e in plan.record.elements:
        if isinstance(e, BytesField) and e.text:
            ref.line(f"c[{e.name!r}] = _text(c[{e.name!r}], {e.name!r}, off + c._at_{e.name})")
    ref.line(f"append({view.cls}({', '.join(f'c[{e.name!r}]' for e in free)}))")
    view.ref_read = ref.text()
    view.ref_values = "{" + ", ".join(f"{e.name!r}: _r_{e.name}"
                                      for e in plan.record.elements) + "}"


def _empty(e: IntField | BitsField | BytesField | VarintField) -> str:
    if isinstance(e, BytesField):
        return '""' if e.text else 'b""'
    return "0"


@dataclass
class _Steps:
    """How a variable record's entry reads and writes each of its steps."""

    view: RecordView
    checks: dict[str, tuple[Check, ...]]
    enums: dict[str, EnumView]
    lengths: dict[int, LengthCheck]

    def read(self, out: Emitter, step: IntRun | BytesField | VarintField) -> None:
        r = self.view
        overrun = f'raise MalformedSection(name, at, "a {r.name} entry runs past its section")'
        if isinstance(step, BytesField):
            out.line(f"_n = {translate(step.size, _local, no_length)}")
            with out.block("if _n < 0 or end - off < _n"):
                out.line(overrun)
            raw = "buf[off:off + _n]"
            out.line(f"_r_{step.name} = " + (f"_text({raw}, {step.name!r}, off)" if step.text
                                             else raw))
            out.line("off += _n")
        elif isinstance(step, VarintField):
            out.line(f"_r_{step.name}, _o = _read_varint(buf, off, end, {step.max_bytes}, "
                     f"{step.name!r})")
            with out.block("if _o < 0"):
                out.line(overrun)
            self._checks(out, step.name, "off")
            out.line("off = _o")
        else:
            with out.block(f"if end - off < {step.width}"):
                out.line(overrun)
            at = 0
            for group, name in zip(_groups(step), self._structs(step), strict=True):
                values = ", ".join(_local(g.name) for g in group)
                out.line(f"{values}, = {name}.unpack_from(buf, off{f' + {at}' if at else ''})")
                for g in group:  # the whole run is there: each checked at its own offset
                    self._checks(out, g.name, f"off + {at}" if at else "off")
                    at += g.type.width
            out.line(f"off += {step.width}")

    def write(self, out: Emitter, step: IntRun | BytesField | VarintField) -> None:
        if isinstance(step, BytesField):
            size = self.lengths[id(step)].expr
            assert size is not None, "a record's member is never padded"
            with out.block(f"if len(_r_{step.name}) != {translate(size, _local, _length)}"):
                out.line(f"raise EncodeError({step.name!r}, None, \"its length does not match "
                         f"its size field\")")
            out.line(f"out.append(_r_{step.name})")
        elif isinstance(step, VarintField):
            out.line(f"out.append(_varint_bytes(_r_{step.name}, {step.max_bytes}, "
                     f"{step.name!r}))")
        else:
            for group, name in zip(_groups(step), self._structs(step), strict=True):
                out.line(f"out.append({name}.pack({', '.join(_local(g.name) for g in group)}))")

    def _structs(self, step: IntRun) -> list[str]:
        """The module-level struct of each byte-order group of a run, made once."""
        names = []
        for group in _groups(step):
            fmt = ints.order_char(group[0].type) + "".join(ints.struct_code(e.type)
                                                           for e in group)
            name = f"_rec_{self.view.name}_{group[0].name}"
            if (name, fmt) not in self.view.structs:
                self.view.structs.append((name, fmt))
            names.append(name)
        return names

    def _checks(self, out: Emitter, name: str, at: str) -> None:
        self.checks_of(out, name, _local(name), at)

    def checks_of(self, out: Emitter, name: str, local: str, at: str) -> None:
        """A member's constant and closed enum, its value in `local`, at `at`."""
        for c in self.checks.get(name, ()):
            if isinstance(c, MustEqual):
                _constant_check(out, name, c, local, at)
            elif isinstance(c, MustBeMember):
                enum = self.enums[c.enum.name]
                with out.block(f"if {local} not in {enum.lookup}"):
                    out.line(f"raise UnknownEnumValue({name!r}, {at}, {local}, "
                             f"{enum.name!r})")


def _check(plan: RecordPlan, attrs: dict[str, str]) -> str:
    """An entry made from MOSN's headers, checked as the plugin checks it, in
    its words: each value fits, each member's length is its size."""
    out = Emitter(depth=1)
    for e in plan.record.elements:
        if isinstance(e, BytesField):
            out.line(f"_r_{e.name} = r.{attrs[e.name]}" + (".encode()" if e.text else ""))
        elif isinstance(e, IntField) and e.value is None:
            out.line(f"_r_{e.name} = r.{attrs[e.name]}")
    constants = [(v.node, c) for v in plan.values for c in v.checks if isinstance(c, MustEqual)]
    for node, c in constants:
        out.line(f"_r_{node.name} = {c.value}")
    for computed in plan.computed:
        out.line(f"_r_{computed.node.name} = {translate(computed.expr, _local, _length)}")
    for fit in plan.fits:
        with out.block(f"if not {fit.lo} <= _r_{fit.node.name} <= {fit.hi}"):
            out.line(f"raise EncodeError(name, None, f\"{fit.node.name} does not fit "
                     f"{fit.what}: {{_r_{fit.node.name}}}\")")
    for length in plan.lengths:
        assert length.expr is not None, "a record's member is never padded"
        name = length.element.name
        with out.block(f"if len(_r_{name}) != {translate(length.expr, _local, _length)}"):
            out.line(f"raise EncodeError(name, None, f\"{name} length disagrees with its "
                     f"size: {{len(_r_{name})}}\")")
    return out.text()


def _constant_check(out: Emitter, name: str, c: MustEqual, local: str, at: str) -> None:
    with out.block(f"if {local} != {c.value}"):
        out.line(f"raise ConstantMismatch({name!r}, {at}, {local}, {c.value}, "
                 f"{spelled_format(c.spelling).python!r})")
