"""Records, the entries of a list: a Go struct each (its free members), a
reader of a list's section and a writer of its entries, printed from the
record plan as the Python codec reads and writes them: a fixed record refuses
a section that is not whole entries, a variable one an entry running past the
section; an entry's integers are packed as CPython's `struct` packs them, and
refused in its words."""

from __future__ import annotations

from protodsl.codegen.mosn_go.checks import value_checks
from protodsl.codegen.mosn_go.expr import Unsupported, go_int, to_go
from protodsl.codegen.mosn_go.gotext import Func, align, put_int, read_int
from protodsl.codegen.mosn_go.naming import (
    GoNames,
    comment,
    go_string,
    int_type,
    local,
    members,
)

from protodsl.ir import expr as ir
from protodsl.ir.model import BytesField, IntField, Record, RecordMember, VarintField
from protodsl.plan import IntRun, RecordPlan


def free_members(record: Record) -> list[RecordMember]:
    """The members a record's struct holds: neither constant nor computed."""
    return [e for e in record.elements
            if isinstance(e, BytesField) or (isinstance(e, IntField | VarintField)
                                             and e.value is None)]


def member_type(e: RecordMember) -> str:
    if isinstance(e, BytesField):
        return "string" if e.text else "[]byte"
    if isinstance(e, VarintField):
        return "uint64"
    assert isinstance(e, IntField), "a record holds integers, varints and bytes"
    return int_type(e.type)


def source(plan: RecordPlan, pkg: GoNames) -> list[str]:
    """The struct, its reader and its writer (`pkg`: the package's names)."""
    r = plan.record
    names = members(r)
    name = pkg.record(r.name)
    rows: list[list[str] | str] = []
    for e in free_members(r):
        rows += comment(e.doc)
        rows.append([names[e.name], member_type(e)])
    head = comment(r.doc) or [f"// {name} is an entry of the record '{r.name}'."]
    out = [*head, f"type {name} struct {{", *align(rows, "\t"), "}", ""]
    return out + (_variable_reader(plan, pkg) if r.variable else _fixed_reader(plan, pkg)) \
        + _writer(plan, pkg)


def _entry(r: Record, pkg: GoNames) -> str:
    """The struct literal of an entry from its `r` locals."""
    names = members(r)
    parts = []
    for e in free_members(r):
        loc = local("r", names, e.name)
        held = loc if isinstance(e, BytesField) else f"{member_type(e)}({loc})"
        parts.append(f"{names[e.name]}: {held}")
    return f"{pkg.record(r.name)}{{{', '.join(parts)}}}"


def _fixed_reader(plan: RecordPlan, pkg: GoNames) -> list[str]:
    r = plan.record
    names = members(r)
    f = Func()
    f.open(f"if (end-off)%{r.size} != 0")
    f.line(f"return nil, fail(MalformedSection, name, off, dec(int64(end-off))+"
           f"{go_string(f' bytes are not whole {r.name} records of {r.size} bytes')})")
    f.close()
    f.line(f"items := make([]{pkg.record(r.name)}, 0, (end-off)/{r.size})")
    f.open(f"for at := off; at < end; at += {r.size}")
    values = {v.name: v for v in plan.values}
    for e in r.elements:
        assert isinstance(e, IntField) and e.offset is not None, "a fixed record is integers"
        loc = local("r", names, e.name)
        f.decl(loc, read_int(f"b[at+{e.offset}:]", e.type))
        if e.name in values:
            value_checks(f, values[e.name], loc, f"at+{e.offset}", "nil, ", pkg)
    f.line(f"items = append(items, {_entry(r, pkg)})")
    f.close()
    f.line("return items, nil")
    return [_reader_head(r, pkg), *f.text(), "}", ""]


def _reader_head(r: Record, pkg: GoNames) -> str:
    return (f"func {pkg.reader(r.name)}(b []byte, off, end int, name string) "
            f"([]{pkg.record(r.name)}, error) {{")


def _variable_reader(plan: RecordPlan, pkg: GoNames) -> list[str]:
    r = plan.record
    names = members(r)
    f = Func()
    f.line(f"items := []{pkg.record(r.name)}{{}}")
    f.open("for off < end")
    f.line("at := off")
    for e in r.elements:
        loc = local("r", names, e.name)
        if isinstance(e, BytesField):
            f.decl(loc, '""' if e.text else "[]byte{}")
        else:
            f.decl(loc, "int64(0)")
    values = {v.name: v for v in plan.values}
    overrun = (f"return nil, fail(MalformedSection, name, at, "
               f"{go_string(f'a {r.name} entry runs past its section')})")

    def value(n: str) -> str:
        return local("r", names, n)

    def no_length(n: str) -> str:
        raise Unsupported(f"len({n}) in a record's size")

    for step in plan.steps:
        if step.present is not None:
            f.open(f"if {to_go(step.present, value, no_length)} != 0")
        if isinstance(step, IntRun):
            f.open(f"if end-off < {step.width}")
            f.line(overrun)
            f.close()
            at = 0
            for e in step.elements:
                assert isinstance(e, IntField), "a variable record holds no bits"
                where = f"off+{at}" if at else "off"
                f.line(f"{value(e.name)} = {read_int(f'b[{where}:]', e.type)}")
                if e.name in values:
                    value_checks(f, values[e.name], value(e.name), where, "nil, ", pkg)
                at += e.type.width
            f.line(f"off += {step.width}")
        elif isinstance(step, VarintField):
            f.line("{")  # a scope of its own: a record may hold several varints
            f.depth += 1
            f.line(f"v, next, err := readVarint(b, off, end, {step.max_bytes}, "
                   f"{go_string(step.name)})")
            f.open("if err != nil")
            f.line("return nil, err")
            f.close()
            f.open("if next < 0")
            f.line(overrun)
            f.close()
            f.line(f"{value(step.name)} = v")
            if step.name in values:
                value_checks(f, values[step.name], value(step.name), "off", "nil, ", pkg)
            f.line("off = next")
            f.close()
        else:
            n = f"n{names[step.name]}"
            f.line(f"{n} := {to_go(step.size, value, no_length)}")
            f.open(f"if {n} < 0 || int64(end-off) < {n}")
            f.line(overrun)
            f.close()
            stop = f"off+int({n})"
            if step.text:
                f.line(f"raw := b[off : {stop} : {stop}]")
                f.open("if i := badUTF8(raw); i >= 0")
                f.line(f"return nil, fail(InvalidText, {go_string(step.name)}, off, "
                       f"\"not UTF-8 at byte \"+dec(int64(i)))")
                f.close()
                f.line(f"{value(step.name)} = string(raw)")
            else:
                f.line(f"{value(step.name)} = b[off : {stop} : {stop}]")
            f.line(f"off += int({n})")
        if step.present is not None:
            f.close()
    f.line(f"items = append(items, {_entry(r, pkg)})")
    f.close()
    f.line("return items, nil")
    return [_reader_head(r, pkg), *f.text(), "}", ""]


def _writer(plan: RecordPlan, pkg: GoNames) -> list[str]:
    """Each entry's values bound (constants, then computed in order), then its
    steps written; Python's `bad R record: <struct.error>` for an integer its
    format cannot pack, its words for a length or a varint that disagrees."""
    r = plan.record
    names = members(r)
    f = Func()
    f.open("for i := range items")
    f.line("r := &items[i]")
    for e in free_members(r):
        loc = local("r", names, e.name)
        if isinstance(e, BytesField):
            f.decl(loc, f"[]byte(r.{names[e.name]})" if e.text else f"r.{names[e.name]}")
        else:
            f.decl(loc, f"int64(r.{names[e.name]})")
    constants = {v.name: v.node for v in plan.values if v.node.constant}
    for name, node in constants.items():
        assert node.value is not None
        f.decl(local("r", names, name), go_int(ir.evaluate(node.value)))

    def value(n: str) -> str:
        return local("r", names, n)

    def length(n: str) -> str:
        return f"int64(len({local('r', names, n)}))"

    for c in plan.computed:
        f.decl(local("r", names, c.node.name), to_go(c.expr, value, length))
    lengths = {c.element.name: c for c in plan.lengths}
    bad = go_string(f"bad {r.name} record: ")
    for step in plan.steps:
        if step.present is not None:
            f.open(f"if {to_go(step.present, value, length)} != 0")
        if isinstance(step, IntRun):
            for e in step.elements:
                assert isinstance(e, IntField)
                f.open(f"if msg := packError({value(e.name)}, {e.type.width}, "
                       f"{'true' if e.type.signed else 'false'}); msg != \"\"")
                f.line(f"return nil, encodeFail(name, {bad}+msg)")
                f.close()
            for e in step.elements:
                assert isinstance(e, IntField)
                f.line(put_int(e.type, value(e.name)))
        elif isinstance(step, VarintField):
            loc = value(step.name)
            f.open(f"if {loc} < 0 || {loc} >= {go_int(1 << (7 * step.max_bytes))}")
            f.line(f"return nil, encodeFail({go_string(step.name)}, dec({loc})+"
                   f"{go_string(f' does not fit a varint of {step.max_bytes} bytes')})")
            f.close()
            f.line(f"out = putVarint(out, uint64({loc}))")
        else:
            size = lengths[step.name].expr
            assert size is not None, "a record's member is never padded"
            f.open(f"if {length(step.name)} != {to_go(size, value, length)}")
            f.line(f"return nil, encodeFail({go_string(step.name)}, "
                   f"\"its length does not match its size field\")")
            f.close()
            f.line(f"out = append(out, {value(step.name)}...)")
        if step.present is not None:
            f.close()
    f.close()
    f.line("return out, nil")
    return [f"func {pkg.writer(r.name)}(out []byte, items []{pkg.record(r.name)}, name string) "
            f"([]byte, error) {{", *f.text(), "}", ""]
