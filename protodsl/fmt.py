"""`protodsl fmt`: the one canonical layout of a spec, from its parse tree.

Why a parse tree and not regular expressions: the formatter must never lose,
add or reorder a token, and its spacing depends on what a token is (the `-` of
`-1` is tight, the `-` of `a - b` is not; the `=` of `text(pad=0x20)` is tight,
a role's `=` is aligned). So the spec is parsed by the real grammar with
`keep_all_tokens` (every keyword and punctuation mark stays in the tree) while a
lexer callback collects the comments the grammar ignores. The tree's leaves and
the comments, in source order, are all of the file's tokens; the formatter only
chooses the whitespace between them.

The layout:

- Line breaks are the author's: a token starts a new line where it did. Runs of
  blank lines become one; none at the start or the end of the file.
- Within a line, the spacing comes from the token and the tree node it belongs
  to: one space between tokens, none inside brackets, before `,` `:` `.` `..`, in
  `name(`, `name[`, `16MiB`, a sign and a named argument; `{a, b}` for an `in`
  set, `{ ... }` for a block written on one line, two spaces between statements
  on one line (`{ 200 => ok  _ => bad }`). `state {`, `set state.` and `per side`
  are spelled so.
- Indentation is 2 spaces per open block. A bracket followed by more on its
  line aligns the lines it continues with what follows it (`last(a, b,` then the
  next argument under `a`); a statement continued on a new line outside any
  bracket gets 4 more spaces.
- Alignment: consecutive lines that start statements of one kind in one block
  (fields, enum or bit members, state members, roles, builder assignments, match
  cases, derived headers), with no blank line or other statement between them,
  are a run. Its keys are padded to the longest (`name:` then the type; `name`
  then `=`; a match key then `=>`). The trailing comments of a run's lines start
  in one column, two spaces after the longest of those lines; any other line's
  trailing comment two spaces after its code.
- Comments and doc comments are kept as written, less trailing whitespace.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from functools import cache

from lark import Lark, Token, Tree, UnexpectedInput

from protodsl.frontend.parser import lark_parser, parse

INDENT = 2
CONTINUATION = 4  # a statement continued outside any bracket
COMMENT_GAP = 2  # spaces at least between code and its trailing comment
STATEMENT_GAP = 2  # spaces between two statements on one line

# Statement rules, and for those aligned in runs the terminal their key ends with.
_KEY_ENDS = {"field": "COLON", "state_member": "COLON", "bit_member": "COLON",
             "enum_member": "NAME", "role": "NAME", "derived_role": "NAME",
             "assignment": "NAME", "header_entry": "NAME", "match_case": ""}
_STATEMENTS = set(_KEY_ENDS) | {"byte_order", "max_frame", "enum_decl", "record_decl",
                                "frame", "builder", "state_decl", "bits", "roles", "state_set"}
_SAME_KIND = {"derived_role": "role"}  # a derived role aligns with the other roles

# Tokens whose text may hold whitespace the grammar allows anywhere: spelled one way.
_SPELLED = {"STATE_OPEN": "state {", "SET_STATE": "set state.", "PER_SIDE": "per side"}
_OPENERS = {"LBRACE", "LPAR", "LSQB", "STATE_OPEN"}
_CLOSERS = {"RBRACE", "RPAR", "RSQB"}
_TIGHT_AFTER = {"LPAR", "LSQB", "DOT", "_RANGE", "SET_STATE"}
_TIGHT_BEFORE = {"RPAR", "RSQB", "COMMA", "DOT", "_RANGE", "COLON"}
COMMENTS = ("COMMENT", "DOC")


@dataclass(eq=False)
class _Statement:
    kind: str
    block: int  # id of the tree node whose block holds it
    key_end: Token | None  # None: not aligned


@dataclass(eq=False)
class _Tok:
    """A token and what the tree says about its spacing."""

    text: str  # as the layout spells it
    raw: str  # as written
    type: str
    line: int
    end_line: int
    starts: _Statement | None = None
    tight_after: bool = False  # a sign, or `{` of an `in` set
    tight_before: bool = False  # `}` of an `in` set
    tight: bool = False  # `=` of a named argument
    block: bool = False  # a brace holding statements
    key_end: bool = False


@dataclass(eq=False)
class _Run:
    kind: str
    width: int = 0


@dataclass(eq=False)
class _Line:
    tokens: list[_Tok]
    comment: _Tok | None = None
    blank_before: bool = False
    run: _Run | None = None
    key_width: int | None = None
    code: str = ""


@dataclass
class _Open:
    """An open bracket: where the lines inside it start, and its closer's line."""

    close: int  # a block's: its statement's; a bracket's: its line's indentation
    content: int  # the column after it if its line goes on, else 2 more than close
    block: bool


_comments_lock = threading.Lock()
_comments: list[Token] = []


@cache
def _parser() -> Lark:
    return lark_parser(keep_all_tokens=True,
                       lexer_callbacks={name: _comments.append for name in COMMENTS})


def tokens(source: str, filename: str = "<spec>") -> list[tuple[str, str]]:
    """Every token of a spec, comments included, as (type, text as written) in
    source order; SpecError, with the compiler's diagnostic, if it does not parse."""
    return [(t.type, t.raw) for t in _parse(_normal(source), filename)]


def format_source(source: str, filename: str = "<spec>") -> str:
    """The spec in canonical layout, "\n" line endings and no BOM; SpecError if it
    does not parse."""
    lines = _lines(_parse(_normal(source), filename))
    _align(lines)
    _lay_out(lines)
    _place_comments(lines)
    out: list[str] = []
    for line in lines:
        if line.blank_before and out:
            out.append("")
        out.append(line.code)
    return "\n".join(out) + "\n"


def diff(source: str, formatted: str, path: str) -> str:
    """What `fmt --check` prints for a file that is not formatted."""
    return "".join(difflib.unified_diff(source.splitlines(keepends=True),
                                        formatted.splitlines(keepends=True),
                                        f"{path} (as written)", f"{path} (formatted)"))


# ---- tokens, from the tree --------------------------------------------------------


def _normal(source: str) -> str:
    """The source as the compiler reads it (compile_source): no BOM, "\n" only."""
    return source.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _parse(source: str, filename: str) -> list[_Tok]:
    """Every token, comments included, in source order, marked by `_mark`."""
    with _comments_lock:
        _comments.clear()
        try:
            tree = _parser().parse(source)
        except UnexpectedInput:
            parse(source, filename)  # raises SpecError, as `protodsl check` reports it
            raise
        comments = list(_comments)
        _comments.clear()
    leaves = [t for node in tree.iter_subtrees()  # no recursion: deep expressions are fine
              for t in node.children if isinstance(t, Token)]
    toks = {id(t): _tok(t) for t in leaves + comments}
    for node in tree.iter_subtrees():
        _mark(node, toks)
    ordered = sorted(leaves + comments, key=lambda t: t.start_pos or 0)
    return [toks[id(t)] for t in ordered]


def _tok(token: Token) -> _Tok:
    text = _SPELLED.get(token.type, str(token))
    if token.type in COMMENTS:
        text = text.rstrip()
    return _Tok(text, str(token), token.type, token.line or 0,
                token.end_line or token.line or 0)


def _mark(node: Tree[Token], toks: dict[int, _Tok]) -> None:
    """What a node says about the spacing of its tokens and its statements'."""
    data = str(node.data)
    for child in node.children:
        if isinstance(child, Tree) and str(child.data) in _STATEMENTS:
            statement = _statement(child, node)
            toks[id(_first(child))].starts = statement
            if statement.key_end is not None:
                toks[id(statement.key_end)].key_end = True
        if not isinstance(child, Token):
            continue
        t = toks[id(child)]
        if child.type in ("LBRACE", "STATE_OPEN", "RBRACE"):
            t.tight_after = data == "in_set" and child.type == "LBRACE"
            t.tight_before = data == "in_set" and child.type == "RBRACE"
            t.block = data != "in_set"
        elif child.type == "EQUAL" and data == "named_arg":
            t.tight = True
        elif child.type == "ADD_OP" and data in ("sign", "key_signed"):
            t.tight_after = True


def _first(node: Tree[Token]) -> Token:
    """A statement's first token: statements start with a token or a match key."""
    while True:
        head = node.children[0]
        if isinstance(head, Token):
            return head
        assert isinstance(head, Tree)
        node = head


def _statement(node: Tree[Token], block: Tree[Token]) -> _Statement:
    data = str(node.data)
    end = _KEY_ENDS.get(data)
    key_end: Token | None = None
    if end == "":  # a match case: its key is a subtree (`200`, `-1`, `_`)
        key = node.children[0]
        assert isinstance(key, Tree) and isinstance(key.children[-1], Token)
        key_end = key.children[-1]
    elif end is not None:
        key_end = next(c for c in node.children if isinstance(c, Token) and c.type == end)
    return _Statement(_SAME_KIND.get(data, data), id(block), key_end)


# ---- lines ------------------------------------------------------------------------


def _lines(toks: list[_Tok]) -> list[_Line]:
    lines: list[_Line] = []
    previous: _Tok | None = None
    for t in toks:
        if previous is None or t.line > previous.end_line:
            blank = previous is not None and t.line > previous.end_line + 1
            lines.append(_Line([], blank_before=blank))
        if t.type in COMMENTS:
            lines[-1].comment = t
        else:
            lines[-1].tokens.append(t)
        previous = t
    return lines


def _gap(before: _Tok, after: _Tok) -> str:
    """The spaces between two tokens on one line."""
    if before.type in _OPENERS and after.type in _CLOSERS:
        return ""  # `{}`, `()`
    if after.starts is not None and before.type not in _OPENERS and before.type != "COMMA":
        return " " * STATEMENT_GAP
    if before.tight_after or after.tight_before or before.tight or after.tight:
        return ""
    if after.type == "UNIT":
        return "" if before.type == "INT" else " "  # `16MiB`; `n KiB` is no `nKiB`
    if before.type in _TIGHT_AFTER or after.type in _TIGHT_BEFORE:
        return ""
    if after.type == "LSQB" or (after.type == "LPAR" and before.type == "NAME"):
        return ""
    return " "


def _align(lines: list[_Line]) -> None:
    """Group the lines that start statements into runs and pad their keys."""
    current: dict[int, _Run | None] = {}
    for line in lines:
        if line.blank_before:
            current.clear()
        if not line.tokens or line.tokens[0].starts is None:
            continue
        statement = line.tokens[0].starts
        width = None if statement.key_end is None else _key_width(line.tokens)
        if width is None:
            current[statement.block] = None
            continue
        run = current.get(statement.block)
        if run is None or run.kind != statement.kind:
            run = current[statement.block] = _Run(statement.kind)
        run.width = max(run.width, width)
        line.run, line.key_width = run, width


def _key_width(toks: list[_Tok]) -> int | None:
    width = 0
    for i, t in enumerate(toks):
        width += len(t.text) + (len(_gap(toks[i - 1], t)) if i else 0)
        if t.key_end:
            return width
    return None


def _lay_out(lines: list[_Line]) -> None:
    """Each line's code: its indentation, then its tokens, spaced and padded."""
    stack: list[_Open] = []
    for line in lines:
        indent = _indent(line.tokens[0] if line.tokens else None, stack)
        code = " " * indent
        key_at = next((i for i, t in enumerate(line.tokens) if t.key_end), -1)
        pending: _Open | None = None  # opened by the previous token: content from here
        for i, t in enumerate(line.tokens):
            if i:
                code += _gap(line.tokens[i - 1], t)
                if i - 1 == key_at and line.run is not None and line.key_width is not None:
                    code += " " * (line.run.width - line.key_width)
            if pending is not None:
                pending.content, pending = len(code), None
            code += t.text
            if t.type in _OPENERS:
                block = next((o.content for o in reversed(stack) if o.block), 0)
                pending = (_Open(block, block + INDENT, True) if t.block
                           else _Open(indent, indent + INDENT, False))
                stack.append(pending)
            elif t.type in _CLOSERS and stack:
                stack.pop()
        line.code = code


def _indent(head: _Tok | None, stack: list[_Open]) -> int:
    """A line's indentation, from the innermost bracket open at its start."""
    if not stack:
        return 0
    top = stack[-1]
    if head is not None and head.type in _CLOSERS:
        return top.close
    if head is not None and head.starts is None and top.block:
        return top.content + CONTINUATION
    return top.content


def _place_comments(lines: list[_Line]) -> None:
    """Trailing comments in their run's column; a comment alone at the indentation."""
    columns: dict[_Run, int] = {}
    for line in lines:
        if line.comment is not None and line.tokens and line.run is not None:
            columns[line.run] = max(columns.get(line.run, 0), len(line.code) + COMMENT_GAP)
    for line in lines:
        if line.comment is None:
            continue
        if not line.tokens:
            line.code += line.comment.text
            continue
        column = columns[line.run] if line.run is not None else len(line.code) + COMMENT_GAP
        line.code = line.code.ljust(column) + line.comment.text
