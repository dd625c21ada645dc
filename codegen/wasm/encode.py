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
    expr_text,
    holds_any,
    putter,
    sized_text,
    type_text,
    where,
)
from protodsl.codegen.wasm.naming import c_string, ident

from protodsl.ir import expr as ir
from protodsl.ir.model import BitsField, BytesField, IntField, KvMapField
from protodsl.plan import EncodePlan, FitCheck, LengthCheck, Write


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
    the OR of `parts`), else the bytes of `member`, padded with `pad`."""

    comment: str
    present: str | None  # conditional: C condition (parenthesised) for writing it
    put: str = ""
    width: int = 0
    value: str = ""
    parts: tuple[str, ...] = ()
    member: str = ""
    pad: str | None = None
    pad_width: int = 0


@dataclass(frozen=True)
class EncoderView:
    constants: tuple[Assign, ...]
    computed: tuple[Assign, ...]
    guards: tuple[Guard, ...]
    total: str
    writes: tuple[WriteStep, ...]
    checksum: bool  # the writer keeps the frame's start for a checksum


def encoder(plan: EncodePlan, names: FrameNames) -> EncoderView:
    frame = names.frame
    assert plan.total is not None, "check_target rejects len(rest)"
    checks: list[tuple[str | None, Check]] = []
    for fit in plan.fits:
        checks.extend((_present(fit.present, names), c) for c in _fit(fit, names))
    for length in plan.lengths:
        checks.append((_present(length.present, names), _length(length, names)))
    read = sorted(ir.fields_read(plan.claim))
    if read:  # MOSN's edits (an id, a status ...) must leave the frame the one it claims to be
        checks.append((None, Check(
            f"!{names.test(plan.claim)}",
            f'pd_fail_field("encode", {where(frame, read[0])}, '
            f'{c_string(f"does not hold the frame condition `{ir.spelled(plan.claim)}`:")}, '
            f"{names.field(read[0])})",
        )))
    return EncoderView(
        # The plan leaves constants to the writer; C keeps them in the struct,
        # where the frame's condition and MOSN's flag read them.
        constants=tuple(Assign(names.field(v.name), c_int(ir.evaluate(v.value)), "")
                        for v in frame.values() if v.constant and v.value is not None),
        computed=tuple(Assign(names.field(c.node.name), to_c(c.expr, names), expr_text(c.expr))
                       for c in plan.computed),
        guards=_guards(checks),
        total=to_c(plan.total, names),
        writes=tuple(_write(w, names) for w in plan.writes),
        checksum=any(w.checksum is not None for w in plan.writes),
    )


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


def _length(length: LengthCheck, names: FrameNames) -> Check:
    e = length.element
    member = names.field(e.name)
    if length.expr is None:
        cond = f"{member}.len > {length.pad_width}u"
        what = f"longer than its {length.pad_width} bytes:"
    elif isinstance(e, BytesField) and ir.is_constant(length.expr):
        width = ir.evaluate(length.expr)
        cond, what = f"{member}.len != {width}u", f"not {width} bytes but"
    else:
        cond = f"{to_c(length.expr, names)} != (pd_i64){member}.len"
        what = "length disagrees with its size:"
    return Check(cond, f"pd_fail_field(\"encode\", {where(names.frame, e.name)}, \"{what}\", "
                       f"(pd_i64){member}.len)")


def _write(w: Write, names: FrameNames) -> WriteStep:
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
    assert isinstance(e, BytesField | KvMapField), "check_target rejects lists and varints"
    pad = e.pad if isinstance(e, BytesField) else None
    return WriteStep(
        f"{e.name}: {sized_text(e)}{only}", present, member=names.field(e.name),
        pad=None if pad is None else c_int(pad),
        pad_width=0 if pad is None else ir.evaluate(e.size),
    )

