"""Spec text to AST, with parse errors turned into diagnostics."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken, VisitError
from lark.lark import PostLex
from lark.lexer import PatternStr
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
    "_RANGE": "'..'",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "PLUS": "'+'",
    "JOIN": "'+'",
    "MUL_OP": "'*', '/' or '%'",
    "SHIFT_OP": "'<<' or '>>'",
    "MINUS": "'-'",
    "UNIT": "a unit (KiB, MiB, GiB)",
    "OPEN": "'open'",
    "HEX_BYTES": "a hex byte string (x\"...\")",
    "$END": "end of file",
}

# Expressions nest at most this deep (a chain `a + b + c` counts one level per
# operator): the AST builder, the passes and the backends all recurse on them.
MAX_EXPR_DEPTH = 100
# Rules that become a left-leaning chain of binary nodes, and how to count operands.
_CHAINS = {"or_": 1, "and_": 1, "bitor": 1, "bitxor": 1, "bitand": 1, "shift": 2, "arith": 2}
# Rules whose children are expressions but which are not expressions themselves;
# `protocol` catches a deep expression under any item not listed here.
_HOLDS_EXPR = {"frame", "field_value", "type_size", "named_arg", "positional_arg", "role",
               "derived_role", "assignment", "protocol"}

_docs_lock = threading.Lock()
_docs: list[Token] = []
_braces: list[Token] = []  # every '{' and '}' lexed, to find the one left open


def _brace(token: Token) -> Token:
    _braces.append(token)
    return token


class _ReservedEverywhere(PostLex):
    """Keywords are reserved everywhere: every state of the contextual lexer knows
    them, so `match: u8` lexes `match` as the keyword (and is reported as one)
    instead of as a name where a keyword cannot stand."""

    def __init__(self, terminals: tuple[str, ...]) -> None:
        self.always_accept = terminals

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return stream


def _grammar() -> str:
    return resources.files("protodsl.grammars").joinpath("protodsl.lark").read_text("utf-8")


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@cache
def keyword_terminals() -> dict[str, str]:
    """The grammar's keywords, terminal name -> word: every fixed word a name could
    be mistaken for (`frame`, `when`, `match`, `open`, `otherwise` ...)."""
    plain = Lark(_grammar(), parser="lalr")
    return {t.name: t.pattern.value for t in plain.terminals
            if isinstance(t.pattern, PatternStr) and _WORD.fullmatch(t.pattern.value)}


def keywords() -> tuple[str, ...]:
    return tuple(sorted(keyword_terminals().values()))


def lark_parser(**options: Any) -> Lark:
    """A parser of the grammar that lexes exactly as `parse` does (keywords reserved
    everywhere), with other Lark options: the formatter keeps every token."""
    return Lark(_grammar(), parser="lalr", propagate_positions=True,
                postlex=_ReservedEverywhere(tuple(keyword_terminals())), **options)


@cache
def _parser() -> Lark:
    return lark_parser(
        maybe_placeholders=True,
        lexer_callbacks={"DOC": _docs.append, "LBRACE": _brace, "RBRACE": _brace},
    )


def parse(source: str, filename: str = "<spec>") -> ast.Protocol:
    """Parse one spec; raise SpecError with a located diagnostic on bad input."""
    with _docs_lock:
        _docs.clear()
        _braces.clear()
        try:
            tree = _parser().parse(source)
        except UnexpectedInput as exc:
            braces = list(_braces)
            raise SpecError([_diagnostic(exc, source, filename, braces)], source) from None
        finally:
            _braces.clear()
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


def _diagnostic(
    exc: UnexpectedInput, source: str, filename: str, braces: list[Token]
) -> Diagnostic:
    line, col = exc.line, exc.column
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            line, col = _end_position(source)
        expected = set(exc.accepts or exc.expected)  # accepts: after the contextual lexer
        width = len(str(token)) if token.type != "$END" else 1
        if line < 1:
            line, col = _end_position(source)
        here = Span(filename, line, col, line, col + width)
        unclosed = _unclosed_brace(token, expected, source, braces)
        if unclosed is not None:
            return _missing_brace(unclosed, token, here, source, filename)
        named = _what_it_would_name(exc, expected, source)
        if token.type in keyword_terminals() and named is not None:
            return Diagnostic(here, f"'{token}' is a keyword of the language and cannot "
                                    f"{named}")
        keyword = _keyword_before_colon(exc, filename)
        if keyword is not None:
            return keyword
        message = f"unexpected {_describe(token)}; expected {_expected(expected)}"
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


# ---- a '}' missing ---------------------------------------------------------------


def _unclosed_brace(
    token: Token, expected: set[str], source: str, braces: list[Token]
) -> Token | None:
    """The '{' a missing '}' leaves open, when a missing '}' explains the error: at
    the end of the file where a '}' could come, or where a '}' put at the start of
    the error's line lets the parser read that line and the next."""
    if token.type == "$END":
        if "RBRACE" not in expected:
            return None
        pos = len(source)
    else:
        pos = source.rfind("\n", 0, token.start_pos or 0) + 1
        if not _parses_with_brace(source, pos, _end_of_next_line(source, token.start_pos or 0)):
            return None
    stack: list[Token] = []
    for brace in braces:
        if (brace.start_pos or 0) >= pos:
            break
        if brace.type == "LBRACE":
            stack.append(brace)
        elif stack:
            stack.pop()
    if not stack:
        return None
    return _dedented_pair(stack[-1], braces, pos, source) or stack[-1]


def _end_of_next_line(source: str, pos: int) -> int:
    """The end of the first line after `pos`'s line that holds more than blanks."""
    end = source.find("\n", pos)
    while end >= 0:
        following = source.find("\n", end + 1)
        if source[end + 1: len(source) if following < 0 else following].strip():
            return len(source) if following < 0 else following
        end = following
    return len(source)


def _parses_with_brace(source: str, at: int, line_end: int) -> bool:
    """Whether a '}' inserted at `at` lets the parser read through `line_end` (the
    line of the error and the next one: a '}' must fix more than one line)."""
    try:
        _parser().parse(source[:at] + "}" + source[at:line_end])
    except UnexpectedToken as exc:
        return bool(exc.token.type == "$END")
    except UnexpectedInput:
        return False
    return True


def _dedented_pair(
    outer: Token, braces: list[Token], pos: int, source: str
) -> Token | None:
    """Inside the block `outer` opens, a '{' whose matching '}' starts a line less
    indented than the '{' line: that '}' was meant for an outer block, and this '{'
    is the one its own '}' is missing from."""
    stack: list[Token] = []
    for brace in braces:
        start = brace.start_pos or 0
        if start <= (outer.start_pos or 0):
            continue
        if start >= pos:
            break
        if brace.type == "LBRACE":
            stack.append(brace)
        elif stack:
            opening = stack.pop()
            close_line = _line_of(source, start)
            if close_line.strip().startswith("}") and (
                    _indent(close_line) < _indent(_line_of(source, opening.start_pos or 0))):
                return opening
    return None


def _line_of(source: str, pos: int) -> str:
    start = source.rfind("\n", 0, pos) + 1
    end = source.find("\n", pos)
    return source[start: len(source) if end < 0 else end]


def _indent(line: str) -> int:
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


_OPENER = re.compile(r"\s*(?P<kw>protocol|frame|enum|record)\s+(?P<name>\w+)"
                     r"|\s*(?P<block>bits|roles)\b|\s*(?P<kind>\w+)\s+\w+\s*\(")


def _block_of(brace: Token, source: str) -> str:
    """What a '{' opens, from the text before it on its line."""
    pos = brace.start_pos or 0
    before = source[source.rfind("\n", 0, pos) + 1: pos]
    if re.search(r"\bin\s*$", before):
        return "an 'in' set"
    if re.search(r"\bmatch\b", before):
        return "a match"
    m = _OPENER.match(before)
    if m is None:
        return "this block"
    if m["kw"]:
        return f"{m['kw']} '{m['name']}'"
    if m["block"]:
        return f"the {m['block']} block"
    return f"builder '{m['kind']}'"


def _missing_brace(
    brace: Token, token: Token, here: Span, source: str, filename: str
) -> Diagnostic:
    line, col = brace.line or 1, brace.column or 1
    noticed = ("the file ends here" if token.type == "$END"
               else f"noticed here, at {_describe(token)}")
    return Diagnostic(Span(filename, line, col, line, col + 1),
                      f"missing '}}': the '{{' of {_block_of(brace, source)} is never closed",
                      related=((here, noticed),))


# ---- a keyword where a name should be ----------------------------------------------

_DECLARES = {"FRAME": "name a frame", "ENUM": "name an enum", "RECORD": "name a record",
             "PROTOCOL": "name a protocol", "COLON": "name a type", "BITS": "name a type",
             "AS": "name an enum"}
_ITEMS = {"FRAME": "name a field", "RECORD": "name a field", "BITS": "name a bit member",
          "ENUM": "name an enum member", "ROLES": "name a role", "RPAR": "name a field"}
_OPENERS = {"PROTOCOL", "FRAME", "ENUM", "RECORD", "BITS", "ROLES", "MATCH", "IN", "RPAR"}


def _what_it_would_name(exc: UnexpectedToken, expected: set[str], source: str) -> str | None:
    """`name a field`, `name an enum member` ...: what the parser was about to read a
    name for, from what it has read so far; None where no name could stand."""
    if "NAME" not in expected:
        return None
    parser = exc.interactive_parser
    stack: list[object] = list(parser.parser_state.value_stack) if parser else []
    top = stack[-1] if stack else None
    top_type = top.type if isinstance(top, Token) else None
    opener = _innermost_opener(stack)
    if "INT" in expected:
        return "be used as a name"  # in an expression
    if top_type in ("LPAR", "COMMA") and opener == "PROTOCOL":
        return "name a builder parameter"
    if top_type in _DECLARES:
        return _DECLARES[top_type]
    if opener in _ITEMS and "RBRACE" in expected:
        # an item of a block starts here: a name, if `:` or `=` follows it
        after = source[exc.token.end_pos or 0:].lstrip()
        return _ITEMS[opener] if after[:1] in (":", "=") else None
    return None


def _keyword_before_colon(exc: UnexpectedToken, filename: str) -> Diagnostic | None:
    """`default: u32` after a field: the parser took `default` for the keyword that
    may follow a field (`default`, `if`, `as`), so the ':' is what it trips on."""
    parser = exc.interactive_parser
    stack: list[object] = list(parser.parser_state.value_stack) if parser else []
    top = stack[-1] if stack else None
    if exc.token.type != "COLON" or not isinstance(top, Token) or (
            top.type not in keyword_terminals()):
        return None
    what = "name a bit member" if _innermost_opener(stack) == "BITS" else "name a field"
    line, col = top.line or 1, top.column or 1
    return Diagnostic(Span(filename, line, col, line, col + len(top)),
                      f"'{top}' is a keyword of the language and cannot {what}")


def _innermost_opener(stack: list[object]) -> str | None:
    """The keyword (or a builder's ')') before the last '{' the parser holds open."""
    for i in range(len(stack) - 1, -1, -1):
        item = stack[i]
        if isinstance(item, Token) and item.type == "LBRACE":
            for before in reversed(stack[:i]):
                if isinstance(before, Token) and before.type in _OPENERS:
                    return str(before.type)
            return None
    return None


def _end_position(source: str) -> tuple[int, int]:
    lines = source.removesuffix("\n").split("\n")  # as Lark counts lines
    return len(lines), len(lines[-1]) + 1
