"""A frame's encoder, printed from the encode plan: `fin` sets the constants and
computed values and runs the plan's checks, `wr` writes the elements.

The plan decides the order of the computed values, which checks exist and
when each applies; here they become C: a check of a field that is on the wire
only sometimes goes inside one `if` with its neighbours of the same condition,
and a 64-bit integer needs no range check, its `pd_i64` holds every value."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.wasm.expr import FrameNames, c_int, to_c
from protodsl.codegen.wasm.layout import (
    Check,
    element_comment,
    expr_text,
    holds_any,
    putter,
    sized_text,
    type_text,
    where,
)
from protodsl.codegen.wasm.naming import c_string, ident

from protodsl.ir import expr as ir
from protodsl.ir.model import (
    BitsField,
    BytesField,
    Element,
    IntField,
    ListField,
    VarintField,
    fixed_width,
)
from protodsl.plan import EncodePlan, FitCheck, LengthCheck, RecordPlan, Write


@dataclass(frozen=True)
class Assign:
    member: str
    value: str
    comment: str


@dataclass(frozen=True)
class Guard:
    """Checks that apply only when `present` (a parenthesised C condition)
    holds, or always (None)."""

    present: str | None
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class WriteStep:
    """One element written: an integer (`put` of `width` bytes: `value`, or
    the OR of `parts`), a varint (`varint`: its value), a list whose records
    compute a member (re-encoded by `encoder`), else the bytes of `member`,
    padded with `pad`."""

    comment: str
    present: str | None  # conditional: C condition (parenthesised) for writing it
    put: str = ""
    width: int = 0
    value: str = ""
    parts: tuple[str, ...] = ()
    varint: str = ""
    encoder: str = ""
    where: str = ""  # a list's C string, for its encoder's messages
    member: str = ""
    pad: str | None = None
    pad_width: int = 0


@dataclass(frozen=True)
class ListCheck:
    """A list whose records compute a member: fin re-encodes it dry, so a value
    that does not fit or a length that disagrees is refused before a write."""

    encoder: str
    member: str
    where: str


@dataclass(frozen=True)
class RestSize:
    """A `len(rest)` frame: its varint is the size of `body` (a C expression,
    the bytes written after it), refused past `max`."""

    comment: str
    member: str
    body: str
    max: str
    where: str
    what: str


@dataclass(frozen=True)
class EncoderView:
    constants: tuple[Assign, ...]
    computed: tuple[Assign, ...]
    guards: tuple[Guard, ...]
    lists: tuple[ListCheck, ...]
    rest: RestSize | None
    total: str
    writes: tuple[WriteStep, ...]
    checksum: bool  # the writer keeps the frame's start for a checksum


def encoder(plan: EncodePlan, names: FrameNames, records: dict[str, RecordPlan],
            header_size: int) -> EncoderView:
    """`records`: the plan's records by name; `header_size`: the bytes before a
    `len(rest)` varint."""
    frame = names.frame
    checks: list[tuple[str | None, Check]] = []
    for fit in plan.fits:
        checks.extend((_present(fit.present, names), c) for c in _fit(fit, names))
    for length in plan.lengths:
        checks += [(_present(length.present, names), c) for c in _length(length, names)]
    read = sorted(ir.fields_read(plan.claim))
    if read:  # MOSN's edits (an id, a status ...) must leave the frame the one it claims to be
        checks.append((None, Check(
            f"!{names.test(plan.claim)}",
            f'pd_fail_field("encode", {where(frame, read[0])}, '
            f'{c_string(f"does not hold the frame condition `{ir.spelled(plan.claim)}`:")}, '
            f"{names.field(read[0])})",
        )))
    rest = _rest(plan, names) if plan.rest is not None else None
    if rest is not None:
        total = f"{header_size} + (pd_i64)pd_varint_len((pd_u64){rest.member}) + {rest.member}"
    else:
        assert plan.total is not None, "a frame without len(rest) has a total"
        total = to_c(plan.total, names)
    return EncoderView(
        # The plan leaves constants to the writer; C keeps them in the struct,
        # where the frame's condition and MOSN's flag read them.
        constants=tuple(Assign(names.field(v.name), c_int(ir.evaluate(v.value)), "")
                        for v in frame.values() if v.constant and v.value is not None),
        computed=tuple(Assign(names.field(c.node.name), to_c(c.expr, names), expr_text(c.expr))
                       for c in plan.computed),
        guards=_guards(checks),
        lists=tuple(ListCheck(ident("enc", e.record), names.field(e.name),
                              where(frame, e.name))
                    for e in frame.elements
                    if isinstance(e, ListField) and records[e.record].computed),
        rest=rest,
        total=total,
        writes=tuple(_write(w, names, records) for w in plan.writes),
        checksum=any(w.checksum is not None for w in plan.writes),
    )


def _rest(plan: EncodePlan, names: FrameNames) -> RestSize:
    """The varint's value: the bytes the writes after it put, as `_written`."""
    rest = plan.rest
    assert rest is not None
    after = plan.writes[[w.element for w in plan.writes].index(rest) + 1:]
    terms = []
    for w in after:
        term = _written(w.element, names)
        terms.append(f"({names.test(w.present)} ? {term} : 0)" if w.present is not None
                     else term)
    member = names.field(rest.name)
    return RestSize(
        comment=f"{rest.name}: varint({rest.max_bytes}) = len(rest), the bytes after it",
        member=member, body=" + ".join(terms) or "0", max=c_int(rest.max), where=where(
            names.frame, rest.name), what=f"does not fit varint({rest.max_bytes}):")


def _written(e: Element, names: FrameNames) -> str:
    """C text of the bytes encode writes for `e` (a pd_i64): fin has checked every
    length against its size; a list is re-encoded to as many bytes as it had."""
    width = fixed_width(e)
    if width is not None:
        return str(width)
    if isinstance(e, VarintField):
        return f"(pd_i64)pd_varint_len((pd_u64){names.field(e.name)})"
    return f"(pd_i64){names.field(e.name)}.len"


def _present(present: ir.Expr | None, names: FrameNames) -> str | None:
    return None if present is None else names.test(present)


def _guards(checks: list[tuple[str | None, Check]]) -> tuple[Guard, ...]:
    """Neighbouring checks under the same condition share one `if`."""
    out: list[Guard] = []
    for present, check in checks:
        if out and out[-1].present == present:
            out[-1] = Guard(present, (*out[-1].checks, check))
        else:
            out.append(Guard(present, (check,)))
    return tuple(out)


def _fit(fit: FitCheck, names: FrameNames) -> list[Check]:
    lvalue = names.field(fit.node.name)
    at = where(names.frame, fit.node.name)
    out = []
    if not holds_any(fit.node):
        out.append(Check(
            f"{lvalue} < {c_int(fit.lo)} || {lvalue} > {c_int(fit.hi)}",
            f"pd_fail_field(\"encode\", {at}, \"does not fit {fit.what}:\", {lvalue})",
        ))
    if fit.enum is not None:
        out.append(Check(
            f"!{ident('isok', fit.enum.name)}({lvalue})",
            f"pd_fail_field(\"encode\", {at}, \"not a {fit.enum.name}:\", {lvalue})",
        ))
    return out


def _length(length: LengthCheck, names: FrameNames) -> list[Check]:
    e = length.element
    member = names.field(e.name)
    at = where(names.frame, e.name)
    if length.expr is None:
        assert isinstance(e, BytesField) and e.pad is not None
        return [
            Check(f"{member}.len > {length.pad_width}u",
                  f"pd_fail_field(\"encode\", {at}, \"longer than its {length.pad_width} "
                  f"bytes:\", (pd_i64){member}.len)"),
            Check(f"{member}.len && {member}.ptr[{member}.len - 1] == {c_int(e.pad)}",
                  f"pd_fail_field(\"encode\", {at}, \"ends with its pad byte, so it would "
                  f"read back shorter; length:\", (pd_i64){member}.len)"),
        ]
    if isinstance(e, BytesField) and ir.is_constant(length.expr):
        width = ir.evaluate(length.expr)
        cond, what = f"{member}.len != {width}u", f"not {width} bytes but"
    else:
        cond = f"{to_c(length.expr, names)} != (pd_i64){member}.len"
        what = "length disagrees with its size:"
    return [Check(cond, f"pd_fail_field(\"encode\", {at}, \"{what}\", (pd_i64){member}.len)")]


def _write(w: Write, names: FrameNames, records: dict[str, RecordPlan]) -> WriteStep:
    e = w.element
    present = _present(w.present, names)
    only = f"; only if {expr_text(w.present)}" if w.present is not None else ""
    if isinstance(e, IntField) and w.checksum is not None:
        # The bytes already written from the range's start: `start` is the
        # frame's first byte, and the range ends right before this field.
        assert w.checksum.kind == "crc32", w.checksum.kind
        first = w.checksum.start
        covered = (f"pd_crc32(start + {first}, (pd_u32)(p - start) - {first}u)"
                   if first else "pd_crc32(start, (pd_u32)(p - start))")
        assert e.value is not None
        return WriteStep(
            f"{e.name}: {type_text(e.type)} = {expr_text(e.value)}{only}", present,
            put=putter(e.type), width=e.type.width, value=f"p ? (pd_u64){covered} : 0",
        )
    if isinstance(e, IntField):
        return WriteStep(f"{e.name}: {type_text(e.type)}{only}", present, put=putter(e.type),
                         width=e.type.width, value=f"(pd_u64){names.field(e.name)}")
    if isinstance(e, BitsField):
        return WriteStep(
            f"bits {type_text(e.type)}{only}", present, put=putter(e.type), width=e.type.width,
            parts=tuple(f"(((pd_u64){names.field(m.name)} & 0x{m.mask:x}u) << {m.shift})"
                        for m in e.members),
        )
    if isinstance(e, VarintField):
        return WriteStep(element_comment(e) + only, present,
                         varint=f"(pd_u64){names.field(e.name)}")
    if isinstance(e, ListField) and records[e.record].computed:
        return WriteStep(f"{e.name}: {sized_text(e)}{only}", present,
                         encoder=ident("enc", e.record), where=where(names.frame, e.name),
                         member=names.field(e.name))
    pad = e.pad if isinstance(e, BytesField) else None
    return WriteStep(
        f"{e.name}: {sized_text(e)}{only}", present, member=names.field(e.name),
        pad=None if pad is None else c_int(pad),
        pad_width=0 if pad is None else ir.evaluate(e.size),
    )

