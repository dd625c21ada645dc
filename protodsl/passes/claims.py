"""Which frame variant each discriminator value goes to.

The `when` conditions read a few fields at fixed offsets (variants.py checks
that), so their values can be enumerated: every combination when there are few
(a byte or two), else the values the conditions compare with and their
neighbours. A decoder takes the first frame whose condition holds, so a frame
that claims nothing no earlier frame claims is unreachable, and one that claims
something an earlier frame claims would silently lose it: both are errors,
unless the later frame is `otherwise` (it takes what the others leave). What
no frame claims is listed for `protodsl check --verbose`: it decodes as
malformed."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from protodsl.diagnostics import Span
from protodsl.ir import expr as ir
from protodsl.ir.model import BitsField, Enum, Frame, IntField, StateMember
from protodsl.passes.problems import Problems

EXHAUSTIVE = 1 << 16
"""At most this many value combinations are tried one by one."""


@dataclass(frozen=True)
class Domain:
    """The values a discriminator can take on a frame that decodes: `values` when
    they are few enough to try one by one, else the range `lo`..`hi`."""

    name: str
    lo: int
    hi: int
    values: tuple[int, ...] | None
    enum: Enum | None

    def show(self, value: int) -> str:
        member = None if self.enum is None else next(
            (m.name for m in self.enum.members if m.value == value), None)
        return f"{self.name} = {value}" + (f" ({member})" if member else "")


def _domain(frames: tuple[Frame, ...], name: str, enums: dict[str, Enum],
            state: dict[str, StateMember]) -> Domain:
    """From the first frame (variants.py made sure every frame agrees), or from the
    state member's type (`state.level`)."""
    member_of_state = state.get(name.removeprefix("state.")) if name.startswith("state.") else None
    if member_of_state is not None:
        lo, hi = member_of_state.type.min, member_of_state.type.max
        return Domain(name, lo, hi, tuple(range(lo, hi + 1)) if hi - lo < EXHAUSTIVE else None,
                      None)
    holder = next(f for f in frames if f.holder(name) is not None)
    for e in holder.elements:
        if isinstance(e, IntField) and e.name == name:
            lo, hi, enum = e.type.min, e.type.max, e.enum
            break
        if isinstance(e, BitsField):
            member = next((m for m in e.members if m.name == name), None)
            if member is not None:
                lo, hi, enum = 0, member.mask, member.enum
                break
    else:
        raise ValueError(f"'{name}' is not a field of frame '{holder.name}'")
    found = enums.get(enum) if enum else None
    if found is not None and not found.open:
        values = tuple(sorted({m.value for m in found.members}))
        return Domain(name, values[0], values[-1], values, found)
    return Domain(name, lo, hi, tuple(range(lo, hi + 1)) if hi - lo < EXHAUSTIVE else None, found)


def _landmarks(frames: tuple[Frame, ...], domain: Domain) -> tuple[int, ...]:
    """The values of a wide domain worth trying: its ends, 0, and every constant
    a condition compares with, each with its neighbours."""
    points = {domain.lo, domain.hi, 0}
    for frame in frames:
        for node in ir.walk(frame.when):
            match node:
                case ir.Const(value=v) | ir.EnumValue(value=v):
                    points |= {v - 1, v, v + 1}
                case ir.InSet(values=values):
                    points |= {x + d for x in values for d in (-1, 0, 1)}
                case _:
                    pass
    return tuple(sorted(v for v in points if domain.lo <= v <= domain.hi))


def _combinations(domains: list[Domain], frames: tuple[Frame, ...]
                  ) -> tuple[Iterator[tuple[int, ...]], bool]:
    """Every combination of values, and True; or combinations of landmarks, and False."""
    count = 1
    for d in domains:
        count *= len(d.values) if d.values is not None else EXHAUSTIVE + 1
    if count <= EXHAUSTIVE:
        return itertools.product(*(d.values or () for d in domains)), True
    return itertools.product(*(d.values if d.values is not None else _landmarks(frames, d)
                               for d in domains)), False


@dataclass(frozen=True)
class Claims:
    """What the analysis found: `unclaimed` for people to read, and per frame the
    values each discriminator takes on the inputs it wins (`won`), so that a value
    the frame pins (`type == response`) can be its default."""

    unclaimed: tuple[str, ...]
    won: dict[str, dict[str, frozenset[int]]]
    frames: tuple[Frame, ...]

    def chooses(self, values: dict[str, int]) -> str | None:
        """The frame a decoder chooses for these discriminator values."""
        return next((f.name for f in self.frames if ir.compiled(f.when)(values)), None)


def check_claims(frames: tuple[Frame, ...], otherwise: frozenset[str], enums: dict[str, Enum],
                 state: tuple[StateMember, ...], problems: Problems) -> Claims:
    """Report unreachable and overlapping frames; return what no frame claims.
    A state member a `when` reads is a discriminator like a field (`state.preface`)."""
    names = sorted(set().union(*(ir.fields_read(f.when) | {
        f"state.{n}" for n in ir.state_read(f.when)} for f in frames)))
    members = {m.name: m for m in state}
    domains = [_domain(frames, n, enums, members) for n in names]
    conditions = [ir.compiled(f.when) for f in frames]
    combos, exhaustive = _combinations(domains, frames)
    first_claims: set[int] = set()
    overlaps: dict[tuple[int, int], tuple[int, ...]] = {}
    unclaimed: list[tuple[int, ...]] = []
    won: list[list[set[int]]] = [[set() for _ in names] for _ in frames]
    for combo in combos:
        env = dict(zip(names, combo, strict=True))
        claimers = [i for i, holds in enumerate(conditions) if holds(env)]
        if not claimers:
            unclaimed.append(combo)
            continue
        first_claims.add(claimers[0])
        for seen, value in zip(won[claimers[0]], combo, strict=True):
            seen.add(value)
        for later in claimers[1:]:
            overlaps.setdefault((claimers[0], later), combo)
    for i, frame in enumerate(frames):
        witness = [c for (first, later), c in overlaps.items() if later == i]
        if i not in first_claims and (exhaustive or witness):
            earlier = [frames[first] for (first, later) in overlaps if later == i]
            _unreachable(frame, earlier, frame.name in otherwise, problems)
        elif witness and frame.name not in otherwise:
            (first, _), combo = next((k, c) for k, c in overlaps.items() if k[1] == i)
            shown = ", ".join(d.show(v) for d, v in zip(domains, combo, strict=True))
            problems.error(
                frame.when.span,
                f"frames '{frames[first].name}' and '{frame.name}' both claim {shown}: a "
                f"decoder takes the first, '{frames[first].name}'",
                note=f"narrow the condition of '{frame.name}', or make it `frame {frame.name} "
                     f"otherwise` to take what the frames before it leave",
                related=((frames[first].when.span, f"'{frames[first].name}' claims it first"),),
            )
    return Claims(
        _describe(domains, unclaimed, exhaustive),
        {f.name: {n: frozenset(v) for n, v in zip(names, values, strict=True)}
         for f, values in zip(frames, won, strict=True)},
        frames,
    )


def _unreachable(frame: Frame, earlier: list[Frame], otherwise: bool,
                 problems: Problems) -> None:
    related: tuple[tuple[Span, str], ...] = tuple(
        (f.when.span, f"'{f.name}' claims it first") for f in dict.fromkeys(earlier))
    names = [f.name for f in dict.fromkeys(earlier)]
    what = ("the frames before it claim every input" if otherwise or not names else
            f"frame '{names[0]}' claims every input it does" if len(names) == 1 else
            f"frames {', '.join(repr(n) for n in names)} claim every input it does")
    problems.error(frame.when.span, f"frame '{frame.name}' is never chosen: {what}",
                   related=related)


def _describe(domains: list[Domain], unclaimed: list[tuple[int, ...]],
              exhaustive: bool) -> tuple[str, ...]:
    """Runs of unclaimed values of the last discriminator, for people to read."""
    out: list[str] = []
    for head, group in itertools.groupby(unclaimed, key=lambda c: c[:-1]):
        values = [c[-1] for c in group]
        runs: list[tuple[int, int]] = []
        for v in values:
            if runs and v == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], v)
            else:
                runs.append((v, v))
        last = domains[-1]
        parts = [last.show(a) if a == b else f"{last.name} = {a}..{b}" for a, b in runs]
        prefix = "".join(f"{d.show(v)}, " for d, v in zip(domains, head, strict=False))
        out += [prefix + p for p in parts]
    if out and not exhaustive:
        out.append("(sampled: the discriminators are too wide to try every value)")
    return tuple(out)
