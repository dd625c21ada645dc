"""Roles: which field is MOSN's command id, timeout, status, header map, payload."""

from __future__ import annotations

from protodsl.diagnostics import Span
from protodsl.frontend import ast
from protodsl.ir import expr as ir
from protodsl.ir.model import (
    ByteOrder,
    BytesField,
    Element,
    HeaderEntry,
    IdView,
    Kind,
    KvMapField,
    ListField,
    Roles,
    values_of,
)
from protodsl.passes.exprs import BOOL, INT, ExprResolver, Scope, did_you_mean, report_unknown
from protodsl.passes.problems import Problems
from protodsl.passes.types import int_type

ROLE_NAMES = ("kind", "oneway", "heartbeat", "id", "timeout", "status", "headers", "payload")


def resolve_roles(
    frame: ast.Frame, elements: tuple[Element, ...], scope: Scope, problems: Problems,
    order: ByteOrder = "big",
) -> Roles | None:
    if not frame.roles:
        return None
    for extra in frame.roles[1:]:
        problems.error(extra.span, f"frame '{frame.name}' has more than one roles block")
    block = frame.roles[0]
    given: dict[str, ast.Role] = {}
    misnamed = False
    for role in block.roles:
        if role.name not in ROLE_NAMES:
            misnamed = True
            problems.error(role.span, f"unknown role '{role.name}'",
                           note=did_you_mean(role.name, ROLE_NAMES)
                           or "roles are " + ", ".join(ROLE_NAMES))
        elif role.entries and role.name != "headers":
            problems.error(role.span, f"role '{role.name}' takes no header entries; only "
                           f"`headers = ... + {{ name = ... }}` does")
        elif role.name in given:
            problems.error(role.span, f"role '{role.name}' given twice",
                           related=((given[role.name].span, "first given here"),))
        else:
            given[role.name] = role
    for required in ("kind", "id"):
        if required not in given and not misnamed:  # else most likely the misnamed one
            problems.error(block.span, f"missing role '{required}' in frame '{frame.name}'",
                           note="every roles block gives kind (request or response) and id")
    if "kind" not in given or "id" not in given:
        return None
    kind_role = given["kind"]
    assert kind_role.value is not None, "only the headers role is given without a value"
    kind: Kind
    match kind_role.value:
        case ast.NameRef(name="request"):
            kind = "request"
        case ast.NameRef(name="response"):
            kind = "response"
        case ast.NameRef(name=other):
            problems.error(kind_role.value.span, "role 'kind' is 'request' or 'response'",
                           did_you_mean(other, ("request", "response")))
            return None
        case _:
            problems.error(kind_role.value.span, "role 'kind' is 'request' or 'response'")
            return None
    wrong = {"request": "status", "response": "timeout"}[kind]
    if wrong in given:
        problems.error(given[wrong].span, f"a {kind} frame has no '{wrong}' role")
    if kind == "response" and "oneway" in given:
        problems.error(given["oneway"].span, "a response frame has no 'oneway' role")
    for role in given.values():
        if isinstance(role.value, ast.ByteView) and role.name != "id":
            problems.error(role.value.span, f"role '{role.name}' cannot read part of a field; "
                           f"only the id role may (`id = {role.value.field}[0..8]`)")
    resolver = ExprResolver(scope, problems)
    by_name = {e.name: e for e in elements}

    def known(target: ast.Expr) -> bool:
        """A field's name must be the frame's (see _known); other roles' values are
        checked where they are resolved."""
        return not isinstance(target, ast.NameRef) or _known(
            target.name, target.span, scope, problems)

    def predicate(name: str) -> ir.Expr | None:
        role = given.get(name)
        if role is None or role.value is None or isinstance(role.value, ast.ByteView):
            return None
        return resolver.resolve(role.value, BOOL)

    def derived(name: str) -> ir.Expr | None:
        """A timeout or status that is an expression (`match code { ... }`, `200`)
        rather than the name of a field."""
        role = given.get(name)
        if role is None or role.value is None or isinstance(role.value,
                                                             ast.NameRef | ast.ByteView):
            return None
        return resolver.resolve(role.value, INT)

    def free_value(name: str) -> str | None:
        role = given.get(name)
        if role is None or (name != "id" and not isinstance(role.value, ast.NameRef)):
            return None  # none, or derived
        target = role.value
        if target is None:
            return None
        if isinstance(target, ast.ByteView):
            return target.field if name == "id" and id_view is not None else None
        if not known(target):
            return None
        if not isinstance(target, ast.NameRef) or target.name not in scope.values:
            problems.error(target.span, f"role '{name}' must name an integer field")
            return None
        if target.name in scope.wide:
            problems.error(target.span, f"role '{name}' must name an integer of at most 64 "
                           f"bits; '{target.name}' is 128 bits (MOSN's values are 64-bit)")
            return None
        node = next((v for v in values_of(elements) if v.name == target.name), None)
        if node is not None and node.value is not None:
            what = "constant" if node.constant else "computed"
            problems.error(target.span, f"role '{name}' must name a field that is neither "
                           f"constant nor computed; '{target.name}' is {what}")
        return target.name

    def section(name: str, kind_: type[BytesField] | type[KvMapField], what: str) -> str | None:
        role = given.get(name)
        if role is None or role.value is None or isinstance(role.value, ast.ByteView):
            return None
        target = role.value
        if not known(target):
            return None
        element = by_name.get(target.name) if isinstance(target, ast.NameRef) else None
        if not isinstance(element, kind_) or (isinstance(element, BytesField) and element.text):
            problems.error(target.span, f"role '{name}' must name {what}")
            return None
        return element.name

    id_role = given["id"].value
    assert id_role is not None, "only the headers role is given without a value"
    id_view = (_id_view(id_role, by_name, scope, order, problems)
               if isinstance(id_role, ast.ByteView) else None)

    def header_records(call: ast.Call) -> tuple[str, tuple[str, str]] | None:
        """`headers = tags(key, value)`: a list of records and the members of each
        record that are a header's key and value, text or bytes."""
        if not known(ast.NameRef(call.func, call.span)):
            return None
        element = by_name.get(call.func)
        if not isinstance(element, ListField):
            problems.error(call.span, f"role 'headers' names '{call.func}', not a list of records",
                           note="`headers = map` names a kvmap field; `headers = "
                           "list(key, value)` a list and the members of its records")
            return None
        record = scope.records.get(element.record)
        if record is None:
            return None  # reported with the record
        members = {m.name: m for m in record.elements}
        names: list[str] = []
        for arg, what in zip(call.args, ("key", "value"), strict=False):
            if not isinstance(arg, ast.NameRef):
                problems.error(arg.span, f"the header {what} is a member of record "
                               f"'{record.name}'")
                continue
            member = members.get(arg.name)
            if member is None:
                problems.error(arg.span, f"record '{record.name}' has no member '{arg.name}'",
                               note=did_you_mean(arg.name, members))
            elif not isinstance(member, BytesField):
                problems.error(arg.span, f"the header {what} '{arg.name}' of record "
                               f"'{record.name}' is an integer; it must be text or bytes")
            else:
                names.append(arg.name)
        if len(call.args) != 2:
            problems.error(call.span, f"role 'headers' names a list's key and value members: "
                           f"{call.func}(key, value)")
            return None
        if len(names) != 2:
            return None
        if names[0] == names[1]:
            problems.error(call.args[1].span, f"the header key and value are both '{names[0]}'")
            return None
        return element.name, (names[0], names[1])

    headers_role = given.get("headers")
    listed = None
    if headers_role is not None and isinstance(headers_role.value, ast.Call):
        listed = header_records(headers_role.value)
        headers = listed[0] if listed else None
    else:
        headers = section("headers", KvMapField, "a kvmap field")
    role_fields: dict[str, str] = {}  # the id's and the payload's fields: no entry writes them
    for name in ("id", "payload"):
        value = given[name].value if name in given else None
        if isinstance(value, ast.NameRef | ast.ByteView):
            role_fields[value.name if isinstance(value, ast.NameRef) else value.field] = name
    return Roles(
        kind=kind,
        oneway=predicate("oneway") if kind == "request" else None,
        heartbeat=predicate("heartbeat"),
        id=free_value("id") or "",
        timeout=free_value("timeout") if kind == "request" else None,
        status=free_value("status") if kind == "response" else None,
        headers=headers,
        payload=section("payload", BytesField, "a bytes field"),
        span=block.span,
        id_view=id_view,
        header_members=listed[1] if listed else None,
        derived=derived("timeout" if kind == "request" else "status"),
        entries=_entries(headers_role.entries, by_name, scope, problems, role_fields)
        if headers_role is not None else (),
    )


def _entries(entries: tuple[ast.HeaderEntry, ...], by_name: dict[str, Element], scope: Scope,
             problems: Problems, roles: dict[str, str]) -> tuple[HeaderEntry, ...]:
    """Derived header entries: unique names, each joining string literals and text
    or bytes fields always on the wire. One that is a single field writes MOSN's
    edit back into it, so that field is no other role's and no other entry's."""
    out: list[HeaderEntry] = []
    seen: dict[str, ast.HeaderEntry] = {}
    writers: dict[str, ast.HeaderEntry] = {}
    for entry in entries:
        if entry.name in seen:
            problems.error(entry.span, f"header entry '{entry.name}' given twice",
                           related=((seen[entry.name].span, "first given here"),))
            continue
        seen[entry.name] = entry
        parts: list[bytes | str] = []
        for part in entry.parts:
            if isinstance(part, ast.TextLit):
                parts.append(part.value.encode("utf-8"))
            elif isinstance(part, ast.Call):
                problems.error(part.span, f"a header entry calls no functions; '{part.func}' "
                               f"is not one", note="an entry joins string literals and text or "
                               "bytes fields with +; a padded field is read without its padding")
            elif _text_field(entry, part, by_name, scope, problems):
                parts.append(part.name)
        if len(parts) != len(entry.parts):
            continue
        made = HeaderEntry(entry.name, tuple(parts), entry.span)
        field = made.writes
        if field is not None and field in roles:
            problems.error(entry.parts[0].span, f"header entry '{entry.name}' would write "
                           f"MOSN's edit into '{field}', the {roles[field]} role's field",
                           note="join it with a literal to make the entry read-only")
            continue
        if field is not None and field in writers:
            problems.error(entry.parts[0].span, f"header entries '{writers[field].name}' and "
                           f"'{entry.name}' would both write MOSN's edit into '{field}'",
                           related=((writers[field].span, "first written here"),))
            continue
        if field is not None:
            writers[field] = entry
        out.append(made)
    return tuple(out)


def _known(name: str, span: Span, scope: Scope, problems: Problems) -> bool:
    """Whether `name` is a field of the frame: False for one whose declaration is
    reported (nothing more is said of it) and for a name the frame does not
    declare (reported here)."""
    if name in scope.untyped or name in scope.broken:
        return False
    if name in scope.values or name in scope.sized:
        return True
    report_unknown(scope, problems, span, f"unknown field '{name}'",
                   did_you_mean(name, scope.fields()))
    return False


def _text_field(entry: ast.HeaderEntry, part: ast.NameRef, by_name: dict[str, Element],
                scope: Scope, problems: Problems) -> bool:
    """Whether `part` names a text or bytes field always on the wire (else reported)."""
    if not _known(part.name, part.span, scope, problems):
        return False
    element = by_name.get(part.name)
    if not isinstance(element, BytesField):
        what = "an integer" if part.name in scope.values else "not text or bytes"
        problems.error(part.span, f"header entry '{entry.name}' reads '{part.name}', {what}; "
                       f"an entry joins string literals and text or bytes fields")
        return False
    if element.present is not None:
        problems.error(part.span, f"header entry '{entry.name}' reads '{part.name}', which has "
                       f"a condition; an entry reads fields always on the wire")
        return False
    return True


def _id_view(view: ast.ByteView, by_name: dict[str, Element], scope: Scope, order: ByteOrder,
             problems: Problems) -> IdView | None:
    """`id = request_id[8..16]`: bytes of a bytes field of fixed size, always on
    the wire, at most 8 of them (MOSN's id is a u64), in the protocol's byte order
    or the one a type around the view names (`u64le(request_id[8..16])`)."""
    if not _known(view.field, view.field_span, scope, problems):
        return None
    element = by_name.get(view.field)
    if not isinstance(element, BytesField) or element.text:
        problems.error(view.field_span, f"the id role reads part of a bytes field; "
                       f"'{view.field}' is not one")
        return None
    if not ir.is_constant(element.size) or element.pad is not None:
        problems.error(view.field_span, f"the id role reads part of a bytes field of fixed "
                       f"size (bytes[16]); the size of '{view.field}' varies")
        return None
    if element.present is not None:
        problems.error(view.field_span, f"the id role reads part of a field always on the "
                       f"wire; '{view.field}' has a condition")
        return None
    size = ir.evaluate(element.size)
    if not view.start < view.end <= size:
        problems.error(view.span, f"bytes {view.start}..{view.end} are not inside "
                       f"'{view.field}' (bytes[{size}]): the view is start..end, "
                       f"0 <= start < end <= {size}")
        return None
    width = view.end - view.start
    if width > 8:
        problems.error(view.span, f"the id role reads at most 8 bytes (MOSN's command id is "
                       f"a u64); {view.start}..{view.end} is {width}")
        return None
    if view.type is not None:
        typed = int_type(view.type, order)
        if typed is None or typed.signed or typed.width != width:
            problems.error(view.span, f"'{view.type}' around the id's view must be an unsigned "
                           f"integer type of its width, {width} bytes"
                           + (f" (u{width * 8}le or u{width * 8}be)"
                              if width in (1, 2, 3, 4, 8) else ""))
            return None
        order = typed.byte_order
    return IdView(view.start, width, order, view.span)
