"""Lark parse tree to AST: one method per grammar rule, spans from `meta`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lark import Token, Transformer, v_args
from lark.tree import Meta

from protodsl.diagnostics import Diagnostic, Span, SpecError
from protodsl.frontend import ast

_UNITS = {None: 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


@dataclass
class DocComments:
    """`///` comments by line: a comment on an item's first line, or on the lines
    just above it, documents that item."""

    tokens: list[Token]
    source: str

    def __post_init__(self) -> None:
        self.trailing: dict[int, str] = {}
        self.standalone: dict[int, str] = {}
        lines = self.source.split("\n")  # as Lark counts lines
        for tok in self.tokens:
            assert tok.line is not None and tok.column is not None
            text = str(tok)[3:].strip()
            before = lines[tok.line - 1][: tok.column - 1] if tok.line <= len(lines) else ""
            if before.strip():
                self.trailing[tok.line] = text
            else:
                self.standalone[tok.line] = text

    def for_item(self, line: int) -> str | None:
        lines: list[str] = []
        above = line - 1
        while above in self.standalone:
            lines.append(self.standalone[above])
            above -= 1
        lines.reverse()  # collected upwards; insert(0) would be quadratic
        if line in self.trailing:
            lines.append(self.trailing[line])
        return "\n".join(lines) if lines else None


# Larger literals are useless in a protocol of at most 64-bit integers, and
# Python refuses to convert decimal strings of more than 4300 digits.
MAX_LITERAL = (1 << 64) - 1


def parse_int(text: str) -> int:
    """The value of an INT token; ValueError for a leading zero or more than 64 bits."""
    digits = text.replace("_", "")
    if digits[:2].lower() in ("0x", "0b"):
        value = int(digits, 0)
    elif len(digits) > 1 and digits[0] == "0":
        raise ValueError(f"leading zeros are not allowed in '{text}' (there are no octal "
                         f"literals; write 0x... or 0b...)")
    elif len(digits) > 20:
        raise ValueError(f"integer literal '{text[:20]}...' is too large (at most 64 bits)")
    else:
        value = int(digits)
    if value > MAX_LITERAL:
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise ValueError(f"integer literal '{shown}' is too large (at most 64 bits)")
    return value


@v_args(inline=True, meta=True)
class BuildAst(Transformer[Token, ast.Protocol]):
    def __init__(self, filename: str, docs: DocComments) -> None:
        super().__init__()
        self.filename = filename
        self.docs = docs

    def _span(self, meta: Meta) -> Span:
        if meta.empty:
            return Span(self.filename, 1, 1, 1, 1)
        return Span(self.filename, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        line = tok.line or 1
        col = tok.column or 1
        return Span(self.filename, line, col, tok.end_line or line, tok.end_column or col + 1)

    def _doc(self, meta: Meta) -> str | None:
        return None if meta.empty else self.docs.for_item(meta.line)

    def _int(self, tok: Token) -> int:
        try:
            return parse_int(tok)
        except ValueError as exc:
            raise located_error(self._tok_span(tok), str(exc)) from None

    # ---- top level ---------------------------------------------------------

    def start(self, meta: Meta, protocol: ast.Protocol) -> ast.Protocol:
        return protocol

    def protocol(self, meta: Meta, name: Token, mosn: Token, *items: Any) -> ast.Protocol:
        return ast.Protocol(
            name=str(name),
            mosn_name=str(mosn)[1:-1],
            mosn_name_span=self._tok_span(mosn),
            settings=tuple(i for i in items if isinstance(i, ast.Setting)),
            enums=tuple(i for i in items if isinstance(i, ast.Enum)),
            frames=tuple(i for i in items if isinstance(i, ast.Frame)),
            builders=tuple(i for i in items if isinstance(i, ast.Builder)),
            doc=self._doc(meta),
            span=self._tok_span(name),
            records=tuple(i for i in items if isinstance(i, ast.Record)),
            state=tuple(i for i in items if isinstance(i, ast.StateDecl)),
        )

    def state_decl(self, meta: Meta, opening: Token, *members: ast.StateMember
                   ) -> ast.StateDecl:
        return ast.StateDecl(members, self._tok_span(opening))

    def state_member(self, meta: Meta, name: Token, type_name: Token, initial: ast.Expr | None,
                     per_side: Token | None) -> ast.StateMember:
        return ast.StateMember(str(name), str(type_name), initial, self._doc(meta),
                               self._tok_span(name), self._tok_span(type_name),
                               per_side is not None)

    def state_set(self, meta: Meta, _words: Token, first: Token, second: Token | None,
                  value: ast.Expr) -> ast.StateSet:
        if second is None:
            return ast.StateSet(str(first), value, self._tok_span(first))
        return ast.StateSet(str(second), value, self._tok_span(second), str(first),
                            self._tok_span(first))

    def byte_order(self, meta: Meta, value: Token) -> ast.Setting:
        return ast.Setting("byte_order", str(value), self._tok_span(value))

    def max_frame(self, meta: Meta, value: ast.Expr, unit: Token | None) -> ast.Setting:
        """A number, with or without a unit, is a size; anything else a limit the
        passes resolve (`9 + state.receiver.max_frame_size`)."""
        if isinstance(value, ast.IntLit):
            return ast.Setting("max_frame", value.value * _UNITS[str(unit) if unit else None],
                               self._span(meta))
        if unit is not None:
            raise located_error(self._tok_span(unit), f"a unit follows a number, not an "
                                f"expression: '{unit}'")
        return ast.Setting("max_frame", value, self._span(meta))

    def enum_decl(
        self, meta: Meta, name: Token, base: Token, is_open: Token | None, *members: Any
    ) -> ast.Enum:
        return ast.Enum(
            str(name), str(base), is_open is not None, members, self._doc(meta),
            self._tok_span(name), self._tok_span(base),
        )

    def enum_member(self, meta: Meta, name: Token, value: Token) -> ast.EnumMember:
        return ast.EnumMember(str(name), self._int(value), self._doc(meta),
                              self._tok_span(name), self._tok_span(value))

    def frame(self, meta: Meta, name: Token, when: ast.Expr | Token, *items: Any) -> ast.Frame:
        return ast.Frame(
            name=str(name),
            when=None if isinstance(when, Token) else when,
            items=tuple(i for i in items if not isinstance(i, ast.Roles | ast.StateSet)),
            roles=tuple(i for i in items if isinstance(i, ast.Roles)),
            doc=self._doc(meta),
            span=self._tok_span(name),
            sets=tuple(i for i in items if isinstance(i, ast.StateSet)),
        )

    def field(
        self, meta: Meta, name: Token, type_ref: ast.TypeRef, value: ast.Expr | None,
        default: ast.Expr | None, present: ast.Expr | None,
    ) -> ast.Field:
        return ast.Field(str(name), type_ref, value, self._doc(meta), self._tok_span(name),
                         present, default)

    def condition(self, meta: Meta, expr: ast.Expr) -> ast.Expr:
        return expr

    def when(self, meta: Meta, expr: ast.Expr) -> ast.Expr:
        return expr

    def field_value(self, meta: Meta, value: ast.Expr) -> ast.Expr:
        return value

    def field_default(self, meta: Meta, value: ast.Expr) -> ast.Expr:
        return value

    def type_ref(
        self, meta: Meta, name: Token, args: tuple[ast.TypeArg, ...] | None,
        size: ast.Expr | None,
    ) -> ast.TypeRef:
        return ast.TypeRef(str(name), args or (), size, self._span(meta))

    def type_args(self, meta: Meta, *args: ast.TypeArg) -> tuple[ast.TypeArg, ...]:
        return args

    def named_arg(self, meta: Meta, name: Token, value: ast.Expr) -> ast.TypeArg:
        return ast.TypeArg(str(name), value, self._span(meta))

    def positional_arg(self, meta: Meta, value: ast.Expr) -> ast.TypeArg:
        return ast.TypeArg(None, value, self._span(meta))

    def type_size(self, meta: Meta, size: ast.Expr) -> ast.Expr:
        return size

    def bits(
        self, meta: Meta, base: Token, present: ast.Expr | None, *members: ast.BitMember
    ) -> ast.Bits:
        return ast.Bits(str(base), members, self._doc(meta), self._tok_span(base), present)

    def record_decl(self, meta: Meta, name: Token, *items: ast.Field | ast.Bits) -> ast.Record:
        return ast.Record(str(name), items, self._doc(meta), self._tok_span(name))

    def bit_member(
        self, meta: Meta, name: Token, width: Token, enum: Token | None, value: ast.Expr | None,
        default: ast.Expr | None,
    ) -> ast.BitMember:
        return ast.BitMember(
            str(name), self._int(width), str(enum) if enum else None, value, self._doc(meta),
            self._tok_span(name), self._tok_span(enum) if enum else None, default,
        )

    def bit_enum(self, meta: Meta, name: Token) -> Token:
        return name

    def roles(self, meta: Meta, *roles: ast.Role) -> ast.Roles:
        keyword = self._span(meta)  # the block starts with the keyword `roles`
        return ast.Roles(roles, Span(self.filename, keyword.line, keyword.col, keyword.line,
                                     keyword.col + len("roles")))

    def role(self, meta: Meta, name: Token, value: ast.Expr | ast.ByteView) -> ast.Role:
        return ast.Role(str(name), value, self._tok_span(name))

    def derived_role(self, meta: Meta, name: Token, value: ast.Expr | None, _join: Token | None,
                     entries: tuple[ast.HeaderEntry, ...]) -> ast.Role:
        return ast.Role(str(name), value, self._tok_span(name), entries)

    def header_entries(self, meta: Meta, *entries: ast.HeaderEntry | None
                       ) -> tuple[ast.HeaderEntry, ...]:
        return tuple(e for e in entries if e is not None)

    def header_entry(self, meta: Meta, name: Token, *parts: ast.TextLit | ast.NameRef | ast.Call
                     ) -> ast.HeaderEntry:
        return ast.HeaderEntry(str(name), parts, self._tok_span(name))

    def text_lit(self, meta: Meta, tok: Token) -> ast.TextLit:
        return ast.TextLit(str(tok)[1:-1], self._span(meta))

    def text_field(self, meta: Meta, tok: Token) -> ast.NameRef:
        return ast.NameRef(str(tok), self._span(meta))

    def text_call(self, meta: Meta, func: Token, arg: Token) -> ast.Call:
        return ast.Call(str(func), (ast.NameRef(str(arg), self._tok_span(arg)),), self._span(meta))

    def byte_view(self, meta: Meta, *tokens: Token) -> ast.ByteView:
        *typed, field, start, end = tokens
        return ast.ByteView(str(typed[0]) if typed else None, str(field), self._int(start),
                            self._int(end), self._span(meta), self._tok_span(field))

    def builder(self, meta: Meta, kind: Token, frame: Token, *rest: Any) -> ast.Builder:
        tokens = [p for p in rest if isinstance(p, Token)]
        assignments = tuple(a for a in rest if isinstance(a, ast.Assignment))
        frame_span = self._tok_span(frame)
        params_span = frame_span
        if tokens:
            first, last = self._tok_span(tokens[0]), self._tok_span(tokens[-1])
            params_span = Span(self.filename, first.line, first.col, last.end_line,
                               last.end_col)
        return ast.Builder(
            str(kind), str(frame), tuple(str(p) for p in tokens), assignments,
            self._doc(meta), self._tok_span(kind), frame_span, params_span,
        )

    def assignment(
        self, meta: Meta, name: Token, value: ast.Expr | ast.BytesLit, *more: ast.BytesLit
    ) -> ast.Assignment:
        return ast.Assignment(str(name), _joined(value, more), self._tok_span(name))

    def hex_bytes(self, meta: Meta, tok: Token) -> ast.BytesLit:
        digits = "".join(str(tok)[2:-1].split())
        if len(digits) % 2:
            raise located_error(self._tok_span(tok), "a hex byte string needs an even "
                                "number of digits")
        return ast.BytesLit(bytes.fromhex(digits), self._tok_span(tok))

    def text_bytes(self, meta: Meta, tok: Token) -> ast.BytesLit:
        return ast.BytesLit(str(tok)[1:-1].encode("utf-8"), self._tok_span(tok))

    # ---- expressions -------------------------------------------------------

    def int_lit(self, meta: Meta, tok: Token) -> ast.IntLit:
        return ast.IntLit(self._int(tok), self._span(meta), str(tok))

    def name_ref(self, meta: Meta, tok: Token) -> ast.NameRef:
        return ast.NameRef(str(tok), self._span(meta))

    def dotted(self, meta: Meta, base: Token, name: Token, member: Token | None
               ) -> ast.Dotted:
        return ast.Dotted(str(base), str(name), self._span(meta),
                          None if member is None else str(member))

    def field_range(self, meta: Meta, first: Token, last: Token) -> ast.FieldRange:
        return ast.FieldRange(str(first), str(last), self._span(meta))

    def call(self, meta: Meta, func: Token, *args: ast.Expr | ast.FieldRange | None
             ) -> ast.Call:
        return ast.Call(str(func), tuple(a for a in args if a is not None), self._span(meta))

    def sign(self, meta: Meta, op: Token, operand: ast.Expr) -> ast.Expr:
        if str(op) == "+":
            return operand
        if isinstance(operand, ast.IntLit):
            spelling = f"-{operand.spelling}" if operand.spelling else None
            return ast.IntLit(-operand.value, self._span(meta), spelling)
        return ast.Unary("-", operand, self._span(meta))

    def not_(self, meta: Meta, operand: ast.Expr) -> ast.Unary:
        return ast.Unary("not", operand, self._span(meta))

    def _chain(self, meta: Meta, op: str, operands: tuple[ast.Expr, ...]) -> ast.Expr:
        result = operands[0]
        for right in operands[1:]:
            result = ast.Binary(op, result, right, self._span(meta))
        return result

    def or_(self, meta: Meta, *operands: ast.Expr) -> ast.Expr:
        return self._chain(meta, "or", operands)

    def and_(self, meta: Meta, *operands: ast.Expr) -> ast.Expr:
        return self._chain(meta, "and", operands)

    def bitor(self, meta: Meta, *operands: ast.Expr) -> ast.Expr:
        return self._chain(meta, "|", operands)

    def bitxor(self, meta: Meta, *operands: ast.Expr) -> ast.Expr:
        return self._chain(meta, "^", operands)

    def bitand(self, meta: Meta, *operands: ast.Expr) -> ast.Expr:
        return self._chain(meta, "&", operands)

    def _ops(self, meta: Meta, items: tuple[Any, ...]) -> ast.Expr:
        result: ast.Expr = items[0]
        for op, right in zip(items[1::2], items[2::2], strict=True):
            result = ast.Binary(str(op), result, right, self._span(meta))
        return result

    def shift(self, meta: Meta, *items: Any) -> ast.Expr:
        return self._ops(meta, items)

    def arith(self, meta: Meta, *items: Any) -> ast.Expr:
        return self._ops(meta, items)

    def compare(self, meta: Meta, left: ast.Expr, op: Token, right: ast.Expr) -> ast.Binary:
        return ast.Binary(str(op), left, right, self._span(meta))

    def in_set(self, meta: Meta, operand: ast.Expr, *options: ast.Expr) -> ast.InSet:
        return ast.InSet(operand, options, self._span(meta))

    def match(self, meta: Meta, subject: ast.Expr, *cases: ast.MatchCase) -> ast.Match:
        return ast.Match(subject, cases, self._span(meta))

    def match_case(
        self, meta: Meta, key: int | None, value: ast.Expr | ast.BytesLit, *more: ast.BytesLit
    ) -> ast.MatchCase:
        return ast.MatchCase(key, _joined(value, more), self._span(meta))

    def key_int(self, meta: Meta, tok: Token) -> int:
        return self._int(tok)

    def key_signed(self, meta: Meta, op: Token, tok: Token) -> int:
        return -self._int(tok) if str(op) == "-" else self._int(tok)

    def key_default(self, meta: Meta) -> None:
        return None


def _joined(
    value: ast.Expr | ast.BytesLit, more: tuple[ast.BytesLit, ...]
) -> ast.Expr | ast.BytesLit:
    """Adjacent byte literals, as in C: one literal spanning them all."""
    if not more:
        return value
    assert isinstance(value, ast.BytesLit)
    end = more[-1].span
    return ast.BytesLit(value.value + b"".join(m.value for m in more),
                        replace(value.span, end_line=end.end_line, end_col=end.end_col))


def located_error(span: Span, message: str) -> SpecError:
    return SpecError([Diagnostic(span, message)], None)
