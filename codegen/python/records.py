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
from protodsl.codegen.python.expr import no_length, translate

from protodsl.ir.model import BitsField, BytesField, IntField
from protodsl.plan import IntRun, MustEqual, RecordPlan


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
    structs: list[tuple[str, str]] = field(default_factory=list)  # name, struct format
    bind: str = ""  # an entry's values as `_r_` locals, from `r`
    write: str = ""  # appends an entry's bytes to `out`
    ref_fields: list[str] = field(default_factory=list)  # construct Struct of one entry
    ref_read: str = ""  # checks and the entry, after construct parsed `c`
    ref_values: str = ""  # the dict construct builds from
    # a record whose entries are MOSN's headers: the body of `_check_<name>(r, name)`
    check: str = ""


def record_view(plan: RecordPlan, cls: str, byte_order: str, headers: bool) -> RecordView:
    """`headers`: a frame's MOSN headers are entries of this record."""
    r = plan.record
    if r.variable:
        view = _variable(plan, cls)
        if headers:
            view.check = _check(plan, view.attrs)
        return view
    formats = []
    for e in r.elements:
        assert isinstance(e, IntField) and not ints.is_raw(e.type, byte_order), (
            "records hold plain integers")
        formats.append(ints.struct_code(e.type))
    attrs = {e.name: naming.snake(e.name) for e in r.elements}
    constants = {v.name: c for v in plan.values for c in v.checks if isinstance(c, MustEqual)}
    view = RecordView(r.name, cls, r.doc, [attrs[e.name] for e in r.elements
                                           if e.name not in constants], attrs,
                      (">" if byte_order == "big" else "<") + "".join(formats), r.size,
                      packed=[str(constants[e.name].value) if e.name in constants
                              else f"r.{attrs[e.name]}" for e in r.elements])
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


def _variable(plan: RecordPlan, cls: str) -> RecordView:
    r = plan.record
    attrs = {e.name: naming.snake(e.name) for e in r.elements}
    free = [e for e in r.elements if not (isinstance(e, IntField) and e.value is not None)]
    view = RecordView(r.name, cls, r.doc, [attrs[e.name] for e in free], attrs, "", r.size,
                      variable=True)
    for e in free:
        if isinstance(e, BytesField):
            view.hints.append((attrs[e.name], *(("str", '""') if e.text else ("bytes", 'b""'))))
        else:
            view.hints.append((attrs[e.name], "int", "0"))
    constants = [(v.node, c) for v in plan.values for c in v.checks if isinstance(c, MustEqual)]
    lengths = {id(c.element): c for c in plan.lengths}

    read, write, bind = Emitter(depth=2), Emitter(depth=3), Emitter(depth=3)
    overrun = f'raise MalformedSection(name, at, "a {r.name} entry runs past its section")'
    for step in plan.steps:
        if isinstance(step, BytesField):
            e = step
            read.line(f"_n = {translate(e.size, _local, no_length)}")
            with read.block("if _n < 0 or end - off < _n"):
                read.line(overrun)
            read.line(f"_r_{e.name} = buf[off:off + _n]")
            if e.text:
                read.line(f"_r_{e.name} = _text(_r_{e.name}, {e.name!r}, off)")
            read.line("off += _n")
            size = lengths[id(e)].expr
            assert size is not None, "a record's member is never padded"
            with write.block(f"if len(_r_{e.name}) != {translate(size, _local, _length)}"):
                write.line(f"raise EncodeError({e.name!r}, None, \"its length does not match "
                           f"its size field\")")
            write.line(f"out.append(_r_{e.name})")
            continue
        with read.block(f"if end - off < {step.width}"):
            read.line(overrun)
        at = 0
        for group in _groups(step):
            name = f"_rec_{r.name}_{len(view.structs)}"
            view.structs.append((name, ints.order_char(group[0].type)
                                 + "".join(ints.struct_code(e.type) for e in group)))
            values = ", ".join(_local(g.name) for g in group)
            read.line(f"{values}, = {name}.unpack_from(buf, off{f' + {at}' if at else ''})")
            write.line(f"out.append({name}.pack({values}))")
            for g in group:  # the whole run is there: each checked at its own offset
                for node, c in constants:
                    if node is g:
                        _constant_check(read, node.name, c, _local(node.name),
                                        f"off + {at}" if at else "off")
                at += g.type.width
        read.line(f"off += {step.width}")
    read.line(f"append({cls}({', '.join(_local(e.name) for e in free)}))")
    view.read, view.write = read.text(), write.text()

    for e in r.elements:
        if isinstance(e, BytesField):
            bind.line(f"_r_{e.name} = r.{attrs[e.name]}" + (".encode()" if e.text else ""))
        elif isinstance(e, IntField) and e.value is None:
            bind.line(f"_r_{e.name} = r.{attrs[e.name]}")
    for node, c in constants:
        bind.line(f"_r_{node.name} = {c.value}")
    for computed in plan.computed:
        bind.line(f"_r_{computed.node.name} = {translate(computed.expr, _local, _length)}")
    view.bind = bind.text()

    context: Callable[[str], str] = lambda n: f"_c[{n!r}]"  # noqa: E731
    for e in r.elements:
        if isinstance(e, BytesField):
            view.ref_fields.append(f"{e.name!r} / cs.Bytes(lambda _c: "
                                   f"{translate(e.size, context, no_length)})")
        else:
            assert isinstance(e, IntField), "a variable record holds no bits (layout rejects them)"
            view.ref_fields.append(f"{e.name!r} / {ints.construct_int(e.type)}")
    ref = Emitter(depth=2)
    offsets = _member_offsets(r.elements)
    for node, c in constants:
        _constant_check(ref, node.name, c, f"c.{node.name}", offsets[node.name])
    for e in reversed(r.elements):  # last first: the offsets read the bytes before
        if isinstance(e, BytesField) and e.text:
            ref.line(f"c[{e.name!r}] = _text(c[{e.name!r}], {e.name!r}, {offsets[e.name]})")
    ref.line(f"append({cls}({', '.join(f'c[{e.name!r}]' for e in free)}))")
    view.ref_read = ref.text()
    view.ref_values = "{" + ", ".join(f"{e.name!r}: _r_{e.name}" for e in r.elements) + "}"
    return view


def _member_offsets(elements: tuple[IntField | BitsField | BytesField, ...]) -> dict[str, str]:
    """Where each member of a parsed entry `c` starting at `at` is, as Python text,
    so the reference names the offsets the straight path names."""
    out: dict[str, str] = {}
    fixed, sized = 0, ""
    for e in elements:
        out[e.name] = f"at + {fixed}{sized}"
        if isinstance(e, BytesField):
            sized += f" + len(c[{e.name!r}])"
        else:
            fixed += e.type.width
    return out


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
