"""Builders: the frames a plugin makes itself (keepalive, its reply, hijack)."""

from __future__ import annotations

from protodsl.frontend import ast
from protodsl.ir import expr as ir
from protodsl.ir.model import Builder, BytesField, Enum, Frame, IntField, SizedValue
from protodsl.passes.builder_bytes import sized_value
from protodsl.passes.exprs import INT, ExprResolver, Scope, did_you_mean
from protodsl.passes.problems import Problems

# kind -> (kind of frame it builds, parameter roles: "id"/"code" integers, "request" frame)
SIGNATURES = {
    "keepalive": ("request", ("id",)),
    "keepalive_reply": ("response", ("request",)),
    "hijack": ("response", ("request", "code")),
}


def resolve_builders(
    decls: tuple[ast.Builder, ...], frames: tuple[Frame, ...], enums: dict[str, Enum],
    problems: Problems,
) -> tuple[Builder, ...]:
    out: list[Builder] = []
    seen: dict[str, ast.Builder] = {}
    by_name = {f.name: f for f in frames}
    requests = [f for f in frames if f.roles is not None and f.roles.kind == "request"]
    for decl in decls:
        if decl.kind not in SIGNATURES:
            problems.error(decl.span, f"unknown builder '{decl.kind}'",
                           note=did_you_mean(decl.kind, SIGNATURES)
                           or "builders are " + ", ".join(SIGNATURES))
            continue
        if decl.kind in seen:
            problems.error(decl.span, f"builder '{decl.kind}' declared twice",
                           related=((seen[decl.kind].span, "first declared here"),))
            continue
        seen[decl.kind] = decl
        frame = by_name.get(decl.frame)
        if frame is None:
            problems.error(decl.frame_span or decl.span, f"unknown frame '{decl.frame}'",
                           did_you_mean(decl.frame, by_name))
            continue
        kind, signature = SIGNATURES[decl.kind]
        if frame.roles is None or frame.roles.kind != kind:
            problems.error(decl.frame_span or decl.span, f"{decl.kind} builds a {kind} "
                           f"frame; '{frame.name}' is not one (give it roles with "
                           f"kind = {kind})")
            continue
        if len(decl.params) != len(signature):
            problems.error(decl.params_span or decl.span, f"{decl.kind} takes "
                           f"{len(signature)} parameter(s) ({', '.join(signature)}), "
                           f"not {len(decl.params)}")
            continue
        twice = next((p for i, p in enumerate(decl.params) if p in decl.params[:i]), None)
        if twice is not None:
            problems.error(decl.params_span or decl.span, f"parameter '{twice}' given twice")
            continue
        scope = Scope(enums)
        for param, role in zip(decl.params, signature, strict=True):
            if role == "request":
                if not requests:
                    problems.error(decl.span, f"{decl.kind} needs a request frame")
                    break
                scope.frame_params[param] = tuple(requests)
            else:
                scope.int_params.add(param)
        else:
            out.append(_assignments(decl, frame, scope, problems))
    return tuple(out)


def _assignments(decl: ast.Builder, frame: Frame, scope: Scope, problems: Problems) -> Builder:
    resolver = ExprResolver(scope, problems)
    values = {v.name: v for v in frame.values()}
    given: dict[str, ir.Expr] = {}
    data: dict[str, bytes] = {}
    sized: dict[str, SizedValue] = {}
    reported = len(problems.items)
    view_field = frame.roles.id if frame.roles and frame.roles.id_view else None
    id_value: ir.Expr | None = None
    for a in decl.assignments:
        target = values.get(a.name)
        element = frame.element(a.name)
        if a.name == view_field and not _copies_bytes(a.value, scope):
            if isinstance(a.value, ast.BytesLit):
                problems.error(a.value.span, f"'{a.name}' holds the frame's id: give it an "
                               f"integer (`{a.name} = id`), which its id bytes take")
            elif id_value is not None:
                problems.error(a.span, f"'{a.name}' assigned twice")
            else:
                id_value = resolver.resolve(a.value, INT)
            continue
        if isinstance(element, BytesField):
            if a.name in data or a.name in sized:
                problems.error(a.span, f"'{a.name}' assigned twice")
                continue
            given_bytes = sized_value(a, element, frame, scope, resolver, problems)
            if isinstance(given_bytes, bytes):
                data[a.name] = given_bytes
            elif given_bytes is not None:
                sized[a.name] = given_bytes
            continue
        if isinstance(a.value, ast.BytesLit):
            problems.error(a.value.span, f"'{a.name}' is not a bytes or text field")
            continue
        if target is None:
            what = "is not an integer field of" if frame.element(a.name) else "is not a field of"
            problems.error(a.span, f"'{a.name}' {what} frame '{frame.name}'", did_you_mean(
                a.name, {v.name for v in frame.values()} | {e.name for e in frame.elements
                                                 if not e.name.startswith("_")}))
            continue
        if target.value is not None:
            problems.error(a.span, f"'{a.name}' is {'constant' if target.constant else 'computed'}"
                           f"; it cannot be assigned")
            continue
        if isinstance(target, IntField) and target.type.wide:
            problems.error(a.span, f"'{a.name}' is a 128-bit integer: data only, a built "
                           f"frame has it 0")
            continue
        if a.name in given:
            problems.error(a.span, f"'{a.name}' assigned twice")
            continue
        value = resolver.resolve(a.value, target.enum or INT, hint=target.enum)
        if value is not None:
            given[a.name] = value
    assignments = []
    missing = []
    for v in frame.values():
        if v.value is not None:
            continue
        if v.name in given:
            assignments.append((v.name, given[v.name]))
        elif v.default is not None:
            assignments.append((v.name, ir.Const(v.default, decl.span)))
        else:
            missing.append(v.name)
    if missing and len(problems.items) == reported:  # else a misnamed one may be it
        listed = ", ".join(f"'{n}'" for n in missing)
        problems.error(decl.span, f"{decl.kind} must give {listed} of frame '{frame.name}': "
                       f"{'they decide' if len(missing) > 1 else 'it decides'} what the frame "
                       f"means and {'have' if len(missing) > 1 else 'has'} no default",
                       note=f"assign {'them' if len(missing) > 1 else 'it'} here, or give the "
                            f"field a `default` in the frame")
    ordered = tuple((e.name, data[e.name]) for e in frame.elements if e.name in data)
    if view_field is not None and id_value is None and view_field not in sized:
        id_value = ir.Const(0, decl.span)
    return Builder(decl.kind, frame.name, decl.params, tuple(assignments), decl.doc,  # type: ignore[arg-type]
                   decl.span, ordered, id_value=id_value,
                   sized=tuple((e.name, sized[e.name]) for e in frame.elements if e.name in sized))


def _copies_bytes(value: ast.Expr | ast.BytesLit, scope: Scope) -> bool:
    """`request_id = req.request_id` where the request's field is bytes in every
    request frame: a copy of the whole field (a UUID echoed whole), whose id
    view MOSN's id then replaces."""
    if not isinstance(value, ast.Dotted) or value.base not in scope.frame_params:
        return False
    return all(isinstance(f.element(value.name), BytesField)
               for f in scope.frame_params[value.base])
