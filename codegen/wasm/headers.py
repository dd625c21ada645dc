"""Headers in C. Header lists (`headers = tags(key, value)`, the plan's
HeaderRecords): per (record, key, value) the size of the entries as MOSN's
header map, a writer of that map, and the merge of MOSN's edited map back into
the entries decoded, each entry written as the record's encoder writes one.
Derived headers (the plan's DerivedHeader): the pairs a report appends, and
what encode takes out of MOSN's map."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.wasm.expr import FrameNames, c_int
from protodsl.codegen.wasm.layout import Check, where
from protodsl.codegen.wasm.naming import c_bytes, c_string, ident
from protodsl.codegen.wasm.records import (
    CounterView,
    EncoderView,
    MemberRead,
    RecordNames,
    RunRead,
    counter,
    encoder,
)

from protodsl.ir.model import Frame
from protodsl.plan import DerivedHeader, HeaderRecords


@dataclass(frozen=True)
class HeaderListView:
    record: str
    key: str  # the spec's member names, for comments
    value: str
    size_fn: str  # pd_u64 (pd_bytes list): bytes of the entries as MOSN's map
    put_fn: str  # pd_u8 *(pd_u8 *p, const pd_u8 *end, pd_bytes list): writes that map
    merge_fn: str  # int (pd_bytes list, pd_bytes map, const char *where, pd_bytes *out)
    key_local: str
    value_local: str
    reads: tuple[RunRead | MemberRead, ...]  # an entry, every member
    walk: CounterView  # an entry, only what sizes it (the size and put functions)
    encoder: EncoderView  # computes, checks and writes an entry
    fresh: tuple[tuple[str, str], ...]  # a new entry's integers: (local, C value)
    key_text: Check | None  # a new key that is not UTF-8
    value_text: Check | None
    width: int  # an entry's integers' bytes: the most a new entry adds besides key, value


def header_list_view(h: HeaderRecords) -> HeaderListView:
    record = h.record.record
    names = RecordNames(record.name)
    suffix = f"{record.name}_{h.key.name}_{h.value.name}"
    enc = encoder(h.record, names)
    return HeaderListView(
        record=record.name,
        key=h.key.name,
        value=h.value.name,
        size_fn=ident("hsz", suffix),
        put_fn=ident("hput", suffix),
        merge_fn=ident("hmrg", suffix),
        key_local=names.field(h.key.name),
        value_local=names.field(h.value.name),
        reads=enc.reads,
        walk=counter(h.record, names),
        encoder=enc,
        fresh=tuple((names.field(node.name), c_int(value)) for node, value in h.fresh),
        key_text=_text(names.field(h.key.name), h.key.name) if h.key.text else None,
        value_text=_text(names.field(h.value.name), h.value.name) if h.value.text else None,
        width=record.size,
    )


def _text(local: str, member: str) -> Check:
    """MOSN's bytes for a text member, refused as the Python codec refuses them."""
    bad = f"pd_utf8_bad({local}.ptr, {local}.len)"
    return Check(f"{bad} >= 0", f"pd_fail_field(\"encode\", where, "
                 f"{c_string(f'{member} is not UTF-8 at byte')}, {bad})")


@dataclass(frozen=True)
class DerivedWrite:
    """A derived header that is one field: MOSN's value for it goes there."""

    member: str  # the field, through `fr`
    decoded: str  # the struct member keeping the field as decoded
    text: Check | None  # a text field: MOSN's value must be UTF-8


@dataclass(frozen=True)
class DerivedEntry:
    key: str  # C string literal
    key_text: str  # the key, for a comment
    key_len: int
    value_len: str  # C expression over `fr`
    parts: tuple[tuple[str, str], ...]  # (pointer, length) C expressions, joined
    write: DerivedWrite | None


@dataclass(frozen=True)
class DerivedView:
    size: str  # C expression: the bytes of every derived pair in MOSN's map format
    entries: tuple[DerivedEntry, ...]


def derived_view(frame: Frame, derived: tuple[DerivedHeader, ...], names: FrameNames
                 ) -> DerivedView | None:
    if not derived:
        return None
    entries = []
    for d in derived:
        parts = tuple((f"(const pd_u8 *){c_bytes(p)}", f"{len(p)}u") if isinstance(p, bytes)
                      else (f"{names.field(p.name)}.ptr", f"{names.field(p.name)}.len")
                      for p in d.parts)
        write = None
        if d.writes is not None:
            at = where(frame, d.writes.name)
            bad = "pd_utf8_bad(v.ptr, v.len)"
            write = DerivedWrite(
                names.field(d.writes.name), ident("dk", d.writes.name),
                Check(f"{bad} >= 0", f"pd_fail_field(\"encode\", {at}, "
                      f"\"not UTF-8 at byte\", {bad})") if d.writes.text else None)
        entries.append(DerivedEntry(c_string(d.key.decode()), d.key.decode(), len(d.key),
                                    " + ".join(f"(pd_u64){n}" for _, n in parts), parts, write))
    fixed = sum(8 + len(d.key) + sum(len(p) for p in d.parts if isinstance(p, bytes))
                for d in derived)
    fields = [f"(pd_u64){names.field(p.name)}.len" for d in derived for p in d.parts
              if not isinstance(p, bytes)]
    return DerivedView(" + ".join([f"{fixed}u", *fields]), tuple(entries))
