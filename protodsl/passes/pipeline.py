"""The compiler front half: text -> AST -> checked, immutable IR."""

from __future__ import annotations

from pathlib import Path

from protodsl.diagnostics import Diagnostic, Span, SpecError
from protodsl.frontend import ast
from protodsl.frontend.parser import parse
from protodsl.ir import expr as ir
from protodsl.ir.model import ByteOrder, Frame, ListField, Protocol
from protodsl.passes.builders import resolve_builders
from protodsl.passes.claims import check_claims
from protodsl.passes.defaults import apply_defaults, check_record_defaults
from protodsl.passes.exprs import BOOL, ExprResolver, Scope
from protodsl.passes.layout import frame_scope, lay_out, lay_out_record
from protodsl.passes.lengths import check_lengths, check_rest, frame_size, header_size
from protodsl.passes.mosn_name import check_mosn_name
from protodsl.passes.problems import Problems
from protodsl.passes.roles import resolve_roles
from protodsl.passes.sizes import expand_sizes
from protodsl.passes.state import resolve_limit, resolve_sets, resolve_state
from protodsl.passes.trailing import check_more, check_record_more
from protodsl.passes.types import resolve_enums
from protodsl.passes.variants import check_variants
from protodsl.plan import check_plan

DEFAULT_MAX_FRAME = 16 << 20


def compile_file(path: str | Path) -> Protocol:
    """Read and compile a spec file; SpecError carries every diagnostic."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start: exc.start].decode("utf-8")) + 1  # valid up to exc.start
        problems = Problems()
        problems.error(Span(str(path), line, col, line, col + 1),
                       f"the spec is not UTF-8 text (byte 0x{raw[exc.start]:02x})")
        shown = raw.decode("utf-8", errors="replace")  # one U+FFFD per bad sequence
        raise SpecError(problems.items, shown) from None
    return compile_source(source, str(path))


def compile_source(source: str, filename: str = "<spec>") -> Protocol:
    # One line ending, "\n", so that line numbers agree with every editor; no BOM.
    source = source.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = parse(source, filename)
        problems = Problems()
        protocol = lower(tree, problems)
    except RecursionError:
        # The parser limits expression depth, so this is a last resort: a diagnostic,
        # never a traceback.
        span = Span(filename, 1, 1, 1, 2)
        raise SpecError([Diagnostic(span, "the spec is nested too deeply to compile")],
                        source) from None
    if problems or protocol is None:
        raise SpecError(problems.items, source)
    return protocol


def lower(tree: ast.Protocol, problems: Problems) -> Protocol | None:
    check_mosn_name(tree.mosn_name, tree.mosn_name_span, problems)
    byte_order, max_frame = _settings(tree, problems)
    enums = resolve_enums(tree.enums, byte_order, problems)
    enum_map = {e.name: e for e in enums}
    state = resolve_state(tree.state, byte_order, problems)
    frame_limit = resolve_limit(tree.settings, enum_map, state, problems)
    records = {}
    for record_decl in tree.records:
        first = next((t.span for t in tree.enums if t.name == record_decl.name), None) or next(
            r.span for r in tree.records if r.name == record_decl.name)
        if first is not None and first != record_decl.span:
            problems.error(record_decl.span, f"duplicate type name '{record_decl.name}'",
                           related=((first, "first declared here"),))
            continue
        record = lay_out_record(record_decl, enum_map, byte_order, problems)
        if record is not None:
            check_record_more(record, problems)
            records[record.name] = record
    check_record_defaults(tree.records, problems)
    frames: list[Frame] = []
    scopes: dict[str, Scope] = {}
    seen: dict[str, Span] = {}
    for index, decl in enumerate(tree.frames):
        if decl.name in seen:
            problems.error(decl.span, f"duplicate frame '{decl.name}'",
                           related=((seen[decl.name], "first declared here"),))
            continue
        seen[decl.name] = decl.span
        reported = len(problems.items)
        scope = frame_scope(decl, enum_map, problems)
        scope.state = {m.name: m for m in state}
        scope.records = records
        scope.broken_records = {r.name for r in tree.records} - set(records)
        scopes[decl.name] = scope
        elements = expand_sizes(lay_out(decl, scope, byte_order, problems), problems)
        scope.list_records = {e.name: e.record for e in elements if isinstance(e, ListField)}
        laid_out = len(problems.items) == reported  # else lengths would report echoes
        when: ir.Expr | None
        if decl.when is None:
            when = _otherwise(frames, decl.span)
            if index != len(tree.frames) - 1:
                problems.error(decl.span, f"frame '{decl.name}' is `otherwise`, every input no "
                               f"earlier frame claims: it must be the last frame")
        else:
            when = ExprResolver(scope, problems).resolve(decl.when, BOOL, state=True)
        sets = resolve_sets(decl, scope, problems)
        roles = resolve_roles(decl, elements, scope, problems, byte_order)
        header = header_size(elements)
        size: ir.Expr = ir.Const(header, decl.span)
        if laid_out:
            reported = len(problems.items)
            check_rest(elements, problems)
            check_lengths(elements, problems)
            check_more(decl.name, elements, problems)
            if len(problems.items) == reported:
                size = frame_size(elements, header, decl.span, problems)
        if header > max_frame:
            problems.error(decl.span, f"frame '{decl.name}' has a fixed part of {header} "
                           f"bytes, more than max_frame ({max_frame})")
        frames.append(Frame(
            decl.name, when or ir.Const(0, decl.span), elements, roles, header, size,
            decl.doc, decl.span, sets,
        ))
    if not frames:
        problems.error(tree.span, f"protocol '{tree.name}' declares no frame")
    if problems:  # later checks would only repeat what resolution already reported
        return None
    discriminator = check_variants(tuple(frames), problems)
    if problems:
        return None
    otherwise = frozenset(d.name for d in tree.frames if d.when is None)
    claims = check_claims(tuple(frames), otherwise, enum_map, state, problems)
    decls = {d.name: d for d in tree.frames}
    frames = list(apply_defaults(decls, tuple(frames), scopes, claims, problems))
    builders = resolve_builders(tree.builders, tuple(frames), enum_map, problems)
    protocol = Protocol(
        tree.name, tree.mosn_name, byte_order, max_frame, enums, tuple(frames), discriminator,
        builders, tree.doc, tree.span, tuple(records.values()), claims.unclaimed, state,
        frame_limit,
    )
    if not problems:
        check_plan(protocol, problems)
    return protocol


def _otherwise(earlier: list[Frame], span: Span) -> ir.Expr:
    """`otherwise`: no earlier frame's condition holds."""
    if not earlier:
        return ir.Const(1, span)
    claimed = earlier[0].when
    for frame in earlier[1:]:
        claimed = ir.Binary("or", claimed, frame.when, span)
    return ir.Unary("not", claimed, span)


def _settings(tree: ast.Protocol, problems: Problems) -> tuple[ByteOrder, int]:
    byte_order: ByteOrder = "big"
    max_frame = DEFAULT_MAX_FRAME
    seen: dict[str, Span] = {}
    for s in tree.settings:
        if not isinstance(s.value, str | int):  # a limit: resolve_limit
            continue
        if s.name in seen:
            problems.error(s.span, f"'{s.name}' set twice",
                           related=((seen[s.name], "first set here"),))
        seen.setdefault(s.name, s.span)
        if s.name == "byte_order":
            if s.value not in ("big", "little"):
                problems.error(s.span, f"byte_order is 'big' or 'little', not '{s.value}'")
            elif s.value == "little":
                byte_order = "little"
        elif s.name == "max_frame" and isinstance(s.value, int):
            if not 0 < s.value <= 0xFFFFFFFF:
                problems.error(s.span, "max_frame must be between 1 byte and 4 GiB - 1")
            else:
                max_frame = s.value
    return byte_order, max_frame
