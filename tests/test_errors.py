"""Golden diagnostics: every spec in tests/errors/ fails with exactly the
diagnostics its header lists (see tests/errors/README.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from protodsl.cli import main
from protodsl.diagnostics import SpecError
from protodsl.frontend.parser import _expected, _parser, keywords
from protodsl.passes.pipeline import compile_file, compile_source

ERRORS = Path(__file__).resolve().parent / "errors"
CASES = sorted(ERRORS.glob("*.proto-dsl"))
_ERROR = re.compile(r"// error: (\d+):(\d+): (.+)")
_NOTE = re.compile(r"// note: (.+)")


@dataclass
class Expected:
    line: int
    col: int
    message: str
    note: str | None = None


def expected(path: Path) -> list[Expected]:
    out: list[Expected] = []
    for raw in path.read_bytes().split(b"\n"):
        text = raw.decode("utf-8").rstrip("\r")
        if m := _ERROR.fullmatch(text):
            out.append(Expected(int(m[1]), int(m[2]), m[3]))
        elif (m := _NOTE.fullmatch(text)) and out and out[-1].note is None:
            out[-1].note = m[1]
        else:
            break
    return out


def source_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8", errors="replace").splitlines()


def test_enough_kinds() -> None:
    assert len(CASES) >= 20
    for path in CASES:
        assert expected(path), f"{path.name} has no '// error: LINE:COL: MESSAGE' header"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_compile_reports_exactly_the_header(path: Path) -> None:
    with pytest.raises(SpecError) as info:
        compile_file(path)
    got = [Expected(d.span.line, d.span.col, d.message, d.note) for d in info.value.diagnostics]
    assert got == expected(path)
    for d in info.value.diagnostics:
        assert d.span.file == str(path)
        assert d.severity == "error"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_check_cli(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    first = expected(path)[0]
    lines = err.splitlines()
    assert lines[0] == f"{path}:{first.line}:{first.col}: error: {first.message}"
    assert_source_and_caret(lines[1], lines[2], source_lines(path), first)


def assert_source_and_caret(shown: str, caret: str, source: list[str], at: Expected) -> None:
    """`  12 | <the line>` and a caret under column `at.col` of that line (a long
    line is cut to a window around the caret, marked with '...')."""
    gutter = f"{at.line:>4} | "
    assert shown.startswith(gutter)
    shown = shown[len(gutter):]
    line = source[at.line - 1].expandtabs(1)
    assert caret.strip()[0] == "^" and set(caret.strip()) <= {"^", "~"}
    index = caret.index("^") - len(gutter)
    if shown == line:
        assert index == at.col - 1
        return
    # windowed: the text from the caret on is the text from the column on
    assert shown.startswith("...") or shown.endswith("...")
    under = shown.removesuffix("...")[index:]
    assert under and line[at.col - 1:].startswith(under)


def test_check_cli_subprocess() -> None:
    """The installed entry point, in a fresh interpreter."""
    path = ERRORS / "unknown_type.proto-dsl"
    run = subprocess.run([sys.executable, "-m", "protodsl.cli", "check", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    first = expected(path)[0]
    assert lines[0] == f"{path}:{first.line}:{first.col}: error: {first.message}"
    assert lines[1] == f"{first.line:>4} |     id:       u33"
    assert lines[2] == " " * (7 + first.col - 1) + "^~~"


def test_check_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    path = ERRORS / "duplicate_field.proto-dsl"
    assert main(["check", "--json", str(path)]) == 1
    err = capsys.readouterr().err
    assert '"message": "duplicate field \'id\' in frame \'request\'"' in err


def test_syntax_errors_name_tokens_in_user_words() -> None:
    """No Lark terminal name (LBRACE, __ANON_0 ...) ever reaches a message."""
    parser = _parser()
    for terminal in parser.terminals:
        word = _expected({terminal.name})
        assert word != terminal.name, terminal.name
        assert not re.search(r"\b[A-Z_]{2,}\b|__ANON", word), (terminal.name, word)


def test_expected_words_in_a_syntax_error() -> None:
    path = ERRORS / "syntax_expected_words.proto-dsl"
    message = expected(path)[0].message
    assert "a name" in message and "'('" in message
    assert not re.search(r"LPAR|NAME|__ANON", message)


# ---- keywords, a missing '}', one error per mistake ---------------------------------

LANGUAGE = ERRORS.parent.parent / "docs" / "language.md"


def test_the_reference_lists_exactly_the_keywords() -> None:
    """docs/language.md's sentence on keywords names every keyword of the
    grammar, and nothing else."""
    text = " ".join(LANGUAGE.read_text("utf-8").split())
    start = text.index("The keywords ")
    listed = re.findall(r"`([a-z_]+)`", text[start: text.index(" are reserved", start)])
    assert listed == sorted(listed)
    assert tuple(listed) == keywords()
    assert {"when", "in", "match", "default", "otherwise", "if", "record", "open"} <= set(listed)
    assert not {"rest", "list", "len", "bytes", "u8", "request"} & set(listed)


FIELDS = ('protocol p "p" {{\n  frame f when k == 1 {{\n    k: u8\n    {name}: u8\n'
          '  }}\n}}\n')


@pytest.mark.parametrize("word", keywords())
def test_every_keyword_is_reserved_as_a_field_name(word: str) -> None:
    with pytest.raises(SpecError) as info:
        compile_source(FIELDS.format(name=word), "k.proto-dsl")
    (d,) = info.value.diagnostics
    assert (d.span.line, d.span.col) == (4, 5)
    assert d.message == f"'{word}' is a keyword of the language and cannot name a field"


@pytest.mark.parametrize("word", keywords())
def test_every_keyword_is_reserved_in_an_expression(word: str) -> None:
    text = 'protocol p "p" {{\n  frame f when k == 1 {{\n    k: u8\n    n: u8 = 1 + {w}\n  }}\n}}\n'
    with pytest.raises(SpecError) as info:
        compile_source(text.format(w=word), "k.proto-dsl")
    (d,) = info.value.diagnostics
    if word == "match":  # it starts an operand: the parser reads on
        assert "keyword" not in d.message
    else:
        assert d.message == f"'{word}' is a keyword of the language and cannot be used as a name"


def test_rest_and_other_predefined_words_name_fields() -> None:
    """`rest`, type names, `len`: names, not keywords; a field called `rest` is that
    field wherever the frame names it."""
    protocol = compile_source(
        'protocol p "p" {\n  frame f when u8 == 1 {\n    u8: u8\n    len: u16 = len(rest)\n'
        '    rest: bytes[len]\n    list: u8\n    varint: u8\n  }\n}\n', "rest.proto-dsl")
    (frame,) = protocol.frames
    assert [e.name for e in frame.elements] == ["u8", "len", "rest", "list", "varint"]


def test_a_missing_brace_shows_where_the_parser_noticed(
        capsys: pytest.CaptureFixture[str]) -> None:
    path = ERRORS / "missing_brace_roles.proto-dsl"
    with pytest.raises(SpecError) as info:
        compile_file(path)
    (d,) = info.value.diagnostics
    ((span, note),) = d.related
    assert (span.line, span.col, note) == (17, 3, "noticed here, at 'frame'")
    assert main(["check", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[3] == f"{path}:17:3: note: noticed here, at 'frame'"
    assert lines[4] == "  17 |   frame response when kind == response {"
    assert lines[5] == " " * 9 + "^~~~~"


def test_missing_brace_at_the_end_of_the_file() -> None:
    with pytest.raises(SpecError) as info:
        compile_source('protocol p "p" {\n  frame f when k == 1 {\n    k: u8\n', "eof.proto-dsl")
    (d,) = info.value.diagnostics
    assert (d.span.line, d.span.col) == (2, 23)
    assert d.message == "missing '}': the '{' of frame 'f' is never closed"
    assert d.related[0][1] == "the file ends here"


def test_an_unknown_name_used_twice_is_one_error_with_both_places() -> None:
    path = ERRORS / "unknown_name_used_twice.proto-dsl"
    with pytest.raises(SpecError) as info:
        compile_file(path)
    (d,) = info.value.diagnostics
    assert [(s.line, s.col, what) for s, what in d.related] == [(16, 16, "also used here")]


@pytest.mark.parametrize(("name", "first"), [
    ("duplicate_field", (10, 5, "first declared here")),
    ("duplicate_frame", (8, 9, "first declared here")),
    ("max_frame_twice", (4, 3, "first set here")),
])
def test_a_duplicate_name_points_at_the_first_declaration(
        name: str, first: tuple[int, int, str]) -> None:
    with pytest.raises(SpecError) as info:
        compile_file(ERRORS / f"{name}.proto-dsl")
    (d,) = info.value.diagnostics
    assert [(s.line, s.col, what) for s, what in d.related] == [first]


def test_a_duplicate_type_name_points_at_the_first_one() -> None:
    source = ('protocol p "p" {\n  enum pair: u8 {\n    a = 1\n  }\n  record pair {\n'
              '    x: u8\n  }\n  frame f when k == 1 {\n    k: u8\n  }\n}\n')
    with pytest.raises(SpecError) as info:
        compile_source(source, "dup.proto-dsl")
    (d,) = info.value.diagnostics
    assert d.message == "duplicate type name 'pair'"
    assert [(s.line, s.col, what) for s, what in d.related] == [(2, 8, "first declared here")]
