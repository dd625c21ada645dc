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
from protodsl.frontend.parser import _expected, _parser
from protodsl.passes.pipeline import compile_file

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
