"""The value a builder gives a bytes or text field: a literal, the request's field
of the same kind (`tran_code = req.tran_code`, from whichever request frame MOSN
hands over, so every one must have it), or literals a `match` chooses between
(`msg = match code { 404 => "E404"  _ => "E500" }`)."""

from __future__ import annotations

from protodsl.frontend import ast
from protodsl.ir import expr as ir
from protodsl.ir.model import BytesChoice, BytesField, Frame, SizedValue
from protodsl.passes.exprs import INT, ExprResolver, Scope, did_you_mean
from protodsl.passes.problems import Problems


def sized_value(
    a: ast.Assignment, element: BytesField, frame: Frame, scope: Scope,
    resolver: ExprResolver, problems: Problems,
) -> bytes | SizedValue | None:
    """The value of `a`, which assigns `element` of `frame`; None once reported."""
    kind = _kind(element)
    roles = frame.roles
    if roles is not None and roles.payload == a.name and not isinstance(a.value, ast.BytesLit):
        problems.error(a.span, f"'{a.name}' is the payload of frame '{frame.name}': a builder "
                       f"gives it a literal only", note="MOSN passes the payload on encode; "
                       "a built frame keeps its literal when MOSN passes none")
        return None
    match a.value:
        case ast.BytesLit():
            return _literal(a.value, element, problems)
        case ast.Dotted(base=base, name=name) if base in scope.frame_params:
            return _copy(a, base, name, element, scope.frame_params[base], problems)
        case ast.Match(subject=subject, cases=cases):
            subj = resolver.resolve(subject, INT)
            choice = _choice(a, cases, element, problems)
            if subj is None or choice is None:
                return None
            keyed, default = choice
            return BytesChoice(subj, keyed, default, a.value.span)
    source = " a field of the request (req.field)," if scope.frame_params else ""
    problems.error(a.value.span, f"'{a.name}' is {kind}; give it a literal (x\"4e 4e\" or "
                   f"\"text\"),{source} or a match choosing literals")
    return None


def _kind(element: BytesField) -> str:
    return "text" if element.text else "bytes"


def _literal(lit: ast.BytesLit, element: BytesField, problems: Problems) -> bytes | None:
    """A text field's literal must be UTF-8: every codec holds text as a string."""
    if element.text:
        try:
            lit.value.decode("utf-8")
        except UnicodeDecodeError:
            problems.error(lit.span, f"'{element.name}' is text; this literal is not UTF-8")
            return None
    if element.pad is not None and lit.value.endswith(bytes([element.pad])):
        problems.error(lit.span, f"'{element.name}' is padded with {element.pad:#04x}; a literal "
                       f"ending with it would read back shorter")
        return None
    if element.pad is not None and len(lit.value) > ir.evaluate(element.size):
        problems.error(lit.span, f"'{element.name}' is {ir.evaluate(element.size)} bytes wide; "
                       f"this literal is {len(lit.value)}")
        return None
    return lit.value


def _copy(
    a: ast.Assignment, base: str, name: str, element: BytesField,
    requests: tuple[Frame, ...], problems: Problems,
) -> ir.ParamField | None:
    """`req.name`, a field of the same kind in every request frame."""
    every = (f"'{base}' is any request frame ({', '.join(f.name for f in requests)}): "
             f"each must have the field" if len(requests) > 1 else None)
    for frame in requests:
        source = frame.element(name)
        if not isinstance(source, BytesField):
            what = f" ('{name}' is an integer)" if frame.value(name) else ""
            problems.error(a.value.span, f"frame '{frame.name}' has no bytes or text field "
                           f"'{name}'{what}",
                           note=every or did_you_mean(name, (
                               e.name for e in frame.elements if isinstance(e, BytesField))))
            return None
        if source.text != element.text:
            problems.error(a.value.span, f"'{base}.{name}' is {_kind(source)} in frame "
                           f"'{frame.name}'; '{a.name}' is {_kind(element)}",
                           note="a builder copies text to text and bytes to bytes")
            return None
    return ir.ParamField(base, name, a.value.span)


def _choice(
    a: ast.Assignment, cases: tuple[ast.MatchCase, ...], element: BytesField,
    problems: Problems,
) -> tuple[tuple[tuple[int, bytes], ...], bytes] | None:
    """The cases' literals, keyed, and the default's."""
    keyed: list[tuple[int, bytes]] = []
    default: bytes | None = None
    ok = True
    for case in cases:
        if not isinstance(case.value, ast.BytesLit):
            problems.error(case.value.span, f"'{a.name}' is {_kind(element)}: each arm of "
                           f"its match is a literal (x\"4e 4e\" or \"text\")")
            ok = False
            continue
        value = _literal(case.value, element, problems)
        if value is None:
            ok = False
        elif case.key is None:
            default = value
        elif any(k == case.key for k, _ in keyed):
            problems.error(case.value.span, f"duplicate match case {case.key}")
            ok = False
        else:
            keyed.append((case.key, value))
    if ok and default is None:
        problems.error(a.value.span, "a match needs a default case '_ => ...'")
        return None
    return (tuple(keyed), default) if ok and default is not None else None
