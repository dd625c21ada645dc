"""Lists of records in C, printed from the plan's records: per record a
checker that decode runs over a list's section (entries whole, constants and
text checked as the Python codec checks them) and, for a record that computes
a member, an encoder that re-writes a decoded list with those recomputed. A
list is kept as its wire bytes, so its entries read back as decode read them;
a fixed record computes nothing, and encode writes its bytes as they are."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.numbers import spelled_format
from protodsl.codegen.wasm.expr import c_int, to_c
from protodsl.codegen.wasm.layout import (
    Check,
    expr_text,
    holds_any,
    putter,
    read_int,
    reader,
    type_text,
    unsigned,
)
from protodsl.codegen.wasm.naming import c_string, comment_inline, ident

from protodsl.ir import expr as ir
from protodsl.ir.model import BitsField, BytesField, IntField, ValueNode, VarintField
from protodsl.plan import IntRun, MustEqual, RecordPlan, Value


class RecordNames:
    """An entry's values and members are locals of the function at hand."""

    def __init__(self, record: str) -> None:
        self.record = record

    def field(self, name: str) -> str:
        return ident("m", name)

    def length(self, name: str) -> str:
        return f"(pd_i64){ident('m', name)}.len"

    def count(self, name: str) -> str:
        raise ValueError(f"record '{self.record}' reads count({name})")

    def param(self, name: str) -> str:
        raise ValueError(f"record '{self.record}' reads builder parameter '{name}'")

    def param_field(self, param: str, field: str) -> str:
        raise ValueError(f"record '{self.record}' reads builder parameter '{param}'")


@dataclass(frozen=True)
class RunRead:
    """Integers back to back, `width` bytes at `sec + i`: read (those decode
    needs), then checked, each at its own offset."""

    comment: str
    width: int
    assigns: tuple[tuple[str, str], ...]  # (lvalue, C expression)
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class MemberRead:
    """Text or bytes of `size` (C expression) bytes at `sec + i`."""

    comment: str
    local: str
    size: str
    text: Check | None  # text: not UTF-8


@dataclass(frozen=True)
class Put:
    """One integer or member of an entry written by the encoder."""

    comment: str
    put: str = ""  # an integer: the runtime call, its width and value
    width: int = 0
    value: str = ""
    member: str = ""  # a member: its local


@dataclass(frozen=True)
class EncoderView:
    fn: str
    reads: tuple[RunRead | MemberRead, ...]  # every value, as decode read it
    computed: tuple[tuple[str, str, str], ...]  # (lvalue, C expression, comment)
    checks: tuple[Check, ...]
    puts: tuple[Put, ...]
    values: tuple[str, ...]  # pd_i64 locals
    members: tuple[str, ...]  # pd_bytes locals


@dataclass(frozen=True)
class RecordView:
    name: str
    doc: str
    check: str  # the checker of a list's section
    fixed: int | None  # a fixed record's width
    steps: tuple[RunRead | MemberRead, ...]
    values: tuple[str, ...]  # pd_i64 locals of the checker
    uses_bits: bool
    uses_frame: bool  # the checker names a member in a message
    overrun: str  # C string: an entry past the section
    not_whole: str  # C string: a fixed record's section of a size not a multiple
    encoder: EncoderView | None  # a record that computes a member
    counter: CounterView | None  # a variable record some frame counts the entries of


@dataclass(frozen=True)
class CounterView:
    fn: str
    reads: tuple[RunRead | MemberRead, ...]  # what sizes the entries
    values: tuple[str, ...]  # pd_i64 locals


def record_view(plan: RecordPlan, counted: bool) -> RecordView:
    """`counted`: a frame counts a list of these records."""
    r = plan.record
    names = RecordNames(r.name)
    needed = {v.name for v in plan.values if v.checks} | {
        n for e in r.elements if isinstance(e, BytesField) for n in ir.fields_read(e.size)}
    steps = tuple(_step(s, names, needed) for s in plan.steps)
    values = tuple(lvalue for s in steps if isinstance(s, RunRead)
                   for lvalue, _ in s.assigns if lvalue != "bits")
    return RecordView(
        name=r.name,
        doc=comment_inline(r.doc),
        check=ident("lst", r.name),
        fixed=None if r.variable else r.size,
        steps=steps,
        values=values,
        uses_bits=any(lvalue == "bits" for s in steps if isinstance(s, RunRead)
                      for lvalue, _ in s.assigns),
        uses_frame=any(s.checks if isinstance(s, RunRead) else s.text for s in steps),
        overrun=c_string(f"a {r.name} entry runs past its section"),
        not_whole=c_string(f" bytes are not whole {r.name} records of {r.size} bytes"),
        encoder=encoder(plan, names) if plan.computed else None,
        counter=counter(plan, names) if counted and r.variable else None,
    )


def counter(plan: RecordPlan, names: RecordNames) -> CounterView:
    """A walk over a list's entries that reads only what sizes them."""
    sizes = {n for e in plan.record.elements if isinstance(e, BytesField)
             for n in ir.fields_read(e.size)}
    reads = tuple(_step(s, names, sizes, checked=False) for s in plan.steps)
    return CounterView(ident("cnt", plan.record.name), reads, tuple(
        lvalue for s in reads if isinstance(s, RunRead) for lvalue, _ in s.assigns))


def _step(step: IntRun | BytesField | VarintField, names: RecordNames, needed: set[str],
          checked: bool = True) -> RunRead | MemberRead:
    """How to read one step: the values in `needed`; their checks and the text
    check where `checked` (decode; encode reads back what decode checked)."""
    assert not isinstance(step, VarintField), "check_target refuses a varint in a record"
    if isinstance(step, BytesField):
        local = names.field(step.name)
        text = None
        if step.text and checked:
            bad = "pd_utf8_bad(sec + i, (pd_u32)size)"
            text = Check(f"{bad} >= 0",
                         f"pd_fail_in(frame, {c_string(step.name)}, (pd_u64)at + i, "
                         f"\"not UTF-8 at byte \", {bad}, PD_DEC, \"\")")
        return MemberRead(_member_comment(step), local, to_c(step.size, names), text)
    assigns: list[tuple[str, str]] = []
    checks: list[Check] = []
    at = 0
    by_node = {id(v.node): v for v in step.values}
    for e in step.elements:
        base = f"sec + i + {at}" if at else "sec + i"
        if isinstance(e, IntField):
            if e.name in needed:
                assigns.append((names.field(e.name), read_int(base, e.type)))
                if checked:
                    checks.extend(_checks(by_node[id(e)], names, at))
        else:
            members = [by_node[id(m)] for m in e.members if m.name in needed]
            if members:
                assigns.append(("bits", f"{reader(e.type)}({base}, {e.type.width})"))
            for v in members:
                assigns.append((names.field(v.name),
                                f"(pd_i64)((bits >> {v.shift}) & 0x{v.mask:x}u)"))
                if checked:
                    checks.extend(_checks(v, names, at))
        at += e.type.width
    return RunRead(_run_comment(step), step.width, tuple(assigns), tuple(checks))


def _checks(value: Value, names: RecordNames, at: int) -> list[Check]:
    """A member's constant, as the Python codec words ConstantMismatch."""
    offset = f"(pd_u64)at + i + {at}" if at else "(pd_u64)at + i"
    lvalue = names.field(value.name)
    out = []
    for check in value.checks:
        assert isinstance(check, MustEqual), "a record's values are checked against constants"
        fmt = spelled_format(check.spelling)
        out.append(Check(
            f"{lvalue} != {c_int(check.value)}",
            f"pd_fail_in(frame, {c_string(value.name)}, {offset}, "
            f"{c_string(f'expected {fmt.show(check.value)}, got ')}, {lvalue}, "
            f"{fmt.c(unsigned(value.node))}, \"\")"))
    return out


def _run_comment(run: IntRun) -> str:
    parts = []
    for e in run.elements:
        if isinstance(e, BitsField):
            parts.append(f"bits {type_text(e.type)} {{"
                         + ", ".join(f"{m.name}:{m.width}" for m in e.members) + "}")
        else:
            value = f" = {expr_text(e.value)}" if e.value is not None else ""
            parts.append(f"{e.name}: {type_text(e.type)}{value}")
    return "; ".join(parts)


def _member_comment(e: BytesField) -> str:
    return f"{e.name}: {'text' if e.text else 'bytes'}[{expr_text(e.size)}]"


def encoder(plan: RecordPlan, names: RecordNames) -> EncoderView:
    """A variable record (the only kind that computes a member): integers, no bits."""
    everything = {e.name for e in plan.record.elements}
    reads = tuple(_step(s, names, everything, checked=False) for s in plan.steps)
    checks: list[Check] = []
    for fit in plan.fits:
        if not holds_any(fit.node):
            checks.append(_fit(fit.node, fit.lo, fit.hi, fit.what, names))
    for length in plan.lengths:
        assert length.expr is not None, "a record's member is never padded"
        member = names.field(length.element.name)
        checks.append(Check(
            f"{to_c(length.expr, names)} != (pd_i64){member}.len",
            f"pd_fail_field(\"encode\", where, "
            f"{c_string(f'{length.element.name} length disagrees with its size:')}, "
            f"(pd_i64){member}.len)"))
    puts = []
    for e in plan.record.elements:
        if isinstance(e, BytesField):
            puts.append(Put(_member_comment(e), member=names.field(e.name)))
        else:
            assert isinstance(e, IntField), "a variable record holds no bits"
            puts.append(Put(f"{e.name}: {type_text(e.type)}", putter(e.type), e.type.width,
                            f"(pd_u64){names.field(e.name)}"))
    return EncoderView(
        fn=ident("enc", plan.record.name),
        reads=reads,
        computed=tuple((names.field(c.node.name), to_c(c.expr, names), expr_text(c.expr))
                       for c in plan.computed),
        checks=tuple(checks),
        puts=tuple(puts),
        values=tuple(names.field(e.name) for e in plan.record.elements
                     if isinstance(e, IntField)),
        members=tuple(names.field(e.name) for e in plan.record.elements
                      if isinstance(e, BytesField)),
    )


def _fit(node: ValueNode, lo: int, hi: int, what: str, names: RecordNames) -> Check:
    lvalue = names.field(node.name)
    return Check(
        f"{lvalue} < {c_int(lo)} || {lvalue} > {c_int(hi)}",
        f"pd_fail_field(\"encode\", where, {c_string(f'{node.name} does not fit {what}:')}, "
        f"{lvalue})")

