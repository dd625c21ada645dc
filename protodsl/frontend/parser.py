"""Spec text to AST, with parse errors turned into diagnostics."""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken, VisitError
from lark.tree import Meta

from protodsl.diagnostics import Diagnostic, Span, SpecError
from protodsl.frontend import ast
from protodsl.frontend.build_ast import BuildAst, DocComments

# What the user reads instead of Lark's terminal names.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "STRING": "a quoted string",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COLON": "':'",
    "COMMA": "','",
    "EQUAL": "'='",
    "DOT": "'.'",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/' or '%'",
    "SHIFT_OP": "'<<' or '>>'",
    "MINUS": "'-'",
    "UNIT": "a unit (KiB, MiB, GiB)",
    "OPEN": "'open'",
    "$END": "end of file",
}

# Expressions nest at most this deep (a chain `a + b + c` counts one level per
# operator): the AST builder, the passes and the backends all recurse on them.
MAX_EXPR_DEPTH = 100
# Rules that become a left-leaning chain of binary nodes, and how to count operands.
_CHAINS = {"or_": 1, "and_": 1, "bitor": 1, "bitand": 1, "shift": 2, "arith": 2}
# Rules whose children are expressions but which are not expressions themselves;
# `protocol` catches a deep expression under any item not listed here.
_HOLDS_EXPR = {"frame", "field_value", "type_size", "named_arg", "positional_arg", "role",
               "assignment", "protocol"}

_docs_lock = threading.Lock()
_docs: list[Token] = []


@cache
def _parser() -> Lark:
    grammar = resources.files("protodsl.grammars").joinpath("protodsl.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"DOC": _docs.append},
    )


def parse(source: str, filename: str = "<spec>") -> ast.Protocol:
    """Parse one spec; raise SpecError with a located diagnostic on bad input."""
    with _docs_lock:
        _docs.clear()
        try:
            tree = _parser().parse(source)
        except UnexpectedInput as exc:
            raise SpecError([_diagnostic(exc, source, filename)], source) from None
        docs = DocComments(list(_docs), source)
    too_deep = _too_deep(tree)
    if too_deep is not None:
        span = Span(filename, too_deep.line, too_deep.column, too_deep.line,
                    too_deep.column + 1)
        raise SpecError([Diagnostic(span, f"expression nested too deeply (more than "
                                          f"{MAX_EXPR_DEPTH} levels)")], source)
    try:
        protocol = BuildAst(filename, docs).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SpecError):
            raise SpecError(exc.orig_exc.diagnostics, source) from None
        if isinstance(exc.orig_exc, RecursionError):  # the pipeline reports it
            raise exc.orig_exc from None
        raise
    assert isinstance(protocol, ast.Protocol)
    return protocol


def _too_deep(tree: Tree[Token]) -> Meta | None:
    """The outermost expression deeper than MAX_EXPR_DEPTH, found without recursion
    (so that 10,000 nested parentheses get a diagnostic, not a RecursionError)."""
    depth: dict[int, int] = {}
    stack: list[tuple[Tree[Token], bool]] = [(tree, False)]
    while stack:
        node, children_done = stack.pop()
        subtrees = [c for c in node.children if isinstance(c, Tree)]
        if not children_done:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(subtrees))
            continue
        if node.data in _HOLDS_EXPR:
            deep = next((c for c in subtrees if depth[id(c)] > MAX_EXPR_DEPTH), None)
            if deep is not None:
                return deep.meta
        step = _CHAINS.get(str(node.data))
        own = 1 if step is None else max(1, len(node.children[::step]) - 1)
        depth[id(node)] = own + max((depth.pop(id(c)) for c in subtrees), default=0)
    return None


def _describe(token: Token | None) -> str:
    if token is None or token.type == "$END":
        return "end of file"
    text = str(token)
    if len(text) > 40:
        text = text[:37] + "..."
    return "'" + "".join(c if c.isprintable() else repr(c)[1:-1] for c in text) + "'"


def _expected(names: set[str]) -> str:
    words = sorted({_TERMINAL_WORDS.get(n, _keyword(n)) for n in names})
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words)


def _keyword(terminal: str) -> str:
    """Anonymous terminals (keywords, punctuation) are shown as their text."""
    try:
        pattern = _parser().get_terminal(terminal).pattern
    except KeyError:
        return terminal
    return f"'{pattern.value}'"


def _diagnostic(exc: UnexpectedInput, source: str, filename: str) -> Diagnostic:
    line, col = exc.line, exc.column
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            line, col = _end_position(source)
        expected = exc.accepts or exc.expected  # accepts: after the contextual lexer's filter
        message = f"unexpected {_describe(token)}; expected {_expected(set(expected))}"
        width = len(str(token)) if token.type != "$END" else 1
    elif isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = source[pos] if pos < len(source) else ""
        message = f"unexpected character {char!r}"
        width = 1
    elif isinstance(exc, UnexpectedEOF):
        line, col = _end_position(source)
        message = f"unexpected end of file; expected {_expected(set(exc.expected))}"
        width = 1
    else:  # pragma: no cover - Lark has no other subclasses
        message = str(exc)
        width = 1
    if line < 1:
        line, col = _end_position(source)
    return Diagnostic(Span(filename, line, col, line, col + width), message)


def _end_position(source: str) -> tuple[int, int]:
    lines = source.removesuffix("\n").split("\n")  # as Lark counts lines
    return len(lines), len(lines[-1]) + 1
