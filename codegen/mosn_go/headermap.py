"""Where a Mosn<Frame>'s header map (MOSN's api.HeaderMap) keeps its pairs.

A kvmap headers role is the map itself, edited in place. A list of records
(`headers = tags(key, value)`, the plan's HeaderRecords) and derived headers
(`headers = ... + { service = ... }`, the plan's DerivedHeader) are read into
MOSN's pairs the first time MOSN asks for them, stored ones first, and put back
into the frame on encode with the Python codec's `with_roles` meaning (which
the Wasm plugin shares): each derived header is MOSN's last pair with its key,
taken out, written into its field when it is exactly one field and dropped
otherwise; the pairs left are merged into the records. A frame without either
keeps MOSN's pairs to itself, never written."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.emitter import Emitter
from protodsl.codegen.mosn_go.naming import GoNames, go_string, member

from protodsl.ir.model import Frame
from protodsl.plan import DerivedHeader, FramePlan, HeaderRecords


@dataclass(frozen=True)
class Pairs:
    """Go text of a frame's pairs through `f`: `read` gives the []KV, `write`
    is what an edit assigns; `members` are the struct members keeping them."""

    read: str
    write: str
    members: tuple[str, ...]


def pairs(fp: FramePlan) -> Pairs:
    roles, layout = fp.frame.roles, fp.roles
    assert roles is not None and layout is not None
    if _lazy(fp):
        return Pairs("f.pairs()", "f.headers", (
            "// headers is MOSN's header map once it asked for it (headersRead):",
            "// the frame's headers are read into it then, and put back on encode.",
            "headers     []KV", "headersRead bool"))
    if roles.headers is not None:
        stored = f"f.Frame.{member(fp.frame, roles.headers)}"
        return Pairs(stored, stored, ())
    return Pairs("f.extra", "f.extra", (
        "// extra is MOSN's headers, kept only here: the frame has no headers role.",
        "extra []KV"))


def _lazy(fp: FramePlan) -> bool:
    assert fp.roles is not None
    return fp.roles.header_records is not None or bool(fp.roles.derived_headers)


def methods(e: Emitter, fp: FramePlan, t: str, pkg: GoNames) -> None:
    """`pairs` and `putHeaders` of a frame whose pairs are read lazily (`pkg`: the
    package's names)."""
    if not _lazy(fp):
        return
    layout = fp.roles
    roles = fp.frame.roles
    assert layout is not None and roles is not None
    listed, derived = layout.header_records, layout.derived_headers
    e.lines(["// pairs is MOSN's header map, read from the frame the first time MOSN asks:",
             f"// {_stored_doc(fp)} then the derived headers" + (
                 " (" + ", ".join(d.key.decode() for d in derived) + ")." if derived
                 else ": none.")])
    with e.block(f"func (f *{t}) pairs() []KV"):
        with e.block("if !f.headersRead"):
            if listed is not None:
                items = f"f.Frame.{member(fp.frame, listed.list.name)}"
                e.line(f"kvs := make([]KV, 0, len({items})+{len(derived)})")
                with e.block(f"for i := range {items}"):
                    e.line(f"r := &{items}[i]")
                    entry = listed.record.record
                    key = _raw(listed.key.text, f"r.{member(entry, listed.key.name)}")
                    value = _raw(listed.value.text, f"r.{member(entry, listed.value.name)}")
                    e.line(f"kvs = append(kvs, KV{{Key: {key}, Value: {value}}})")
            elif roles.headers is not None:
                stored = f"f.Frame.{member(fp.frame, roles.headers)}"
                e.line(f"kvs := append(make([]KV, 0, len({stored})+{len(derived)}), {stored}...)")
            else:
                e.line(f"kvs := make([]KV, 0, {len(derived)})")
            for d in derived:
                e.line(f"kvs = append(kvs, KV{{Key: []byte({go_string(d.key.decode())}), "
                       f"Value: {_derived_value(fp.frame, d)}}})")
            e.line("f.headers, f.headersRead = kvs, true")
        e.line("return f.headers")
    e.line()
    e.lines(["// putHeaders puts MOSN's header map back into the frame before it is written."])
    with e.block(f"func (f *{t}) putHeaders() error"):
        e.line("kvs := f.headers")
        for d in derived:
            _take(e, fp.frame, d)
        if listed is not None:
            items = f"f.Frame.{member(fp.frame, listed.list.name)}"
            e.line(f"items, err := {merger(listed, pkg)}({items}, kvs, "
                   f"{go_string(listed.list.name)})")
            with e.block("if err != nil"):
                e.line("return err")
            e.line(f"f.Frame.{member(fp.frame, listed.list.name)} = items")
        elif roles.headers is not None:
            e.line(f"f.Frame.{member(fp.frame, roles.headers)} = kvClone(kvs)")
        e.line("return nil")
    e.line()


def _stored_doc(fp: FramePlan) -> str:
    roles, layout = fp.frame.roles, fp.roles
    assert roles is not None and layout is not None
    listed = layout.header_records
    if listed is not None:
        return f"each {listed.list.name} record's {listed.key.name} and {listed.value.name},"
    if roles.headers is not None:
        return f"{roles.headers},"
    return "no stored headers,"


def _raw(text: bool, member: str) -> str:
    """A text or bytes member as MOSN's []byte (bytes are shared: no pair is
    ever written in place)."""
    return f"[]byte({member})" if text else member


def _derived_value(frame: Frame, d: DerivedHeader) -> str:
    """The []byte of a derived header: its parts joined."""
    if len(d.parts) == 1 and not isinstance(d.parts[0], bytes):
        return _raw(d.parts[0].text, f"f.Frame.{member(frame, d.parts[0].name)}")
    joined = " + ".join(go_string(p.decode()) if isinstance(p, bytes)
                        else f"f.Frame.{member(frame, p.name)}" if p.text
                        else f"string(f.Frame.{member(frame, p.name)})" for p in d.parts)
    return f"[]byte({joined})"


def _take(e: Emitter, frame: Frame, d: DerivedHeader) -> None:
    key = go_string(d.key.decode())
    field = d.writes
    if field is None:
        e.line(f"kvTake(&kvs, {key}) // read-only: MOSN's edit is dropped")
        return
    with e.block(f"if v, ok := kvTake(&kvs, {key}); ok"):
        if field.text:
            with e.block("if i := badUTF8(v); i >= 0"):
                e.line(f"return encodeFail({go_string(field.name)}, "
                       "\"not UTF-8 at byte \"+dec(int64(i)))")
        e.line(f"f.Frame.{member(frame, field.name)} = {'string(v)' if field.text else 'v'}")


def merger(h: HeaderRecords, pkg: GoNames) -> str:
    return pkg.merger((h.record.record.name, h.key.name, h.value.name))


def mergers(e: Emitter, frames: tuple[FramePlan, ...], pkg: GoNames) -> None:
    """One merge function per (record, key, value) a frame's headers are."""
    done: set[str] = set()
    for fp in frames:
        h = fp.roles.header_records if fp.roles is not None else None
        if h is None or merger(h, pkg) in done:
            continue
        done.add(merger(h, pkg))
        _merger(e, h, pkg)


def _merger(e: Emitter, h: HeaderRecords, pkg: GoNames) -> None:
    record = pkg.record(h.record.record.name)
    key, value = member(h.record.record, h.key.name), member(h.record.record, h.value.name)
    fresh = [node.name for node, v in h.fresh if node.value is None and v != 0]
    assert not fresh, "the plan gives a new entry's free integers 0, Go's zero"
    e.lines([
        f"// {merger(h, pkg)} is MOSN's header map as the {record} records it came from:",
        f"// the n-th record with a {h.key.name} takes MOSN's n-th value of that key, a record",
        "// whose key MOSN has no value left for is dropped, and MOSN's other pairs are",
        "// new records after them (their other free members 0). Encode checks each record.",
    ])
    with e.block(f"func {merger(h, pkg)}(items []{record}, kvs []KV, name string) "
                 f"([]{record}, error)"):
        e.line("used := make([]bool, len(kvs))")
        e.line(f"out := make([]{record}, 0, len(kvs))")
        with e.block("for _, item := range items"):
            wire_key = f"item.{key}" if h.key.text else f"string(item.{key})"
            e.line(f"at := kvNext(kvs, used, {wire_key})")
            with e.block("if at < 0"):
                e.line("continue")
            e.line("used[at] = true")
            _text_check(e, h.value.text, "kvs[at].Value", h.value.name)
            e.line(f"item.{value} = {_member(h.value.text, 'kvs[at].Value')}")
            e.line("out = append(out, item)")
        with e.block("for at, kv := range kvs"):
            with e.block("if used[at]"):
                e.line("continue")
            _text_check(e, h.key.text, "kv.Key", h.key.name)
            _text_check(e, h.value.text, "kv.Value", h.value.name)
            e.line(f"out = append(out, {record}{{{key}: {_member(h.key.text, 'kv.Key')}, "
                   f"{value}: {_member(h.value.text, 'kv.Value')}}})")
        e.line("return out, nil")
    e.line()


def _member(text: bool, raw: str) -> str:
    return f"string({raw})" if text else raw


def _text_check(e: Emitter, text: bool, raw: str, member: str) -> None:
    """MOSN's bytes for a text member, refused as the Python codec refuses them."""
    if not text:
        return
    with e.block(f"if i := badUTF8({raw}); i >= 0"):
        e.line(f"return nil, encodeFail(name, {go_string(member + ' is not UTF-8 at byte ')}"
               "+dec(int64(i)))")
