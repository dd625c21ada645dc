"""`protodsl fmt`: it never changes what a spec means, it is idempotent, and the
specs in specs/ are in its layout."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from protodsl.cli import main
from protodsl.diagnostics import Span, SpecError
from protodsl.fmt import format_source, tokens
from protodsl.passes.pipeline import compile_source
from tests.helpers import parses, spec_files

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.proto-dsl"))
ALL_SPECS = spec_files()


PARSED = [p for p in ALL_SPECS if parses(p)]
IDS = [str(p.relative_to(ROOT)) for p in PARSED]


def _words(source: str) -> list[tuple[str, str]]:
    """The token stream less whitespace: inside a token (`state {` may be written
    `state\\n{`) and after a comment; a comment's own spacing must stay."""
    return [(kind, text.rstrip() if kind in ("COMMENT", "DOC") else "".join(text.split()))
            for kind, text in tokens(source)]


def _meaning(obj: Any) -> Any:
    """The IR with its spans dropped: the layout moves them, nothing else may change."""
    if isinstance(obj, Span):
        return None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__name__,
                tuple((f.name, _meaning(getattr(obj, f.name))) for f in dataclasses.fields(obj)))
    if isinstance(obj, (list, tuple)):
        return tuple(_meaning(o) for o in obj)
    if isinstance(obj, dict):
        return tuple((k, _meaning(v)) for k, v in obj.items())
    return obj


def test_every_spec_file_is_checked() -> None:
    """The error specs that do not parse are the only ones left out."""
    assert len(PARSED) > len(ALL_SPECS) // 2
    assert set(SPECS) <= set(PARSED)


@pytest.mark.parametrize("path", PARSED, ids=IDS)
def test_fmt_keeps_every_token_and_is_idempotent(path: Path) -> None:
    source = path.read_text("utf-8")
    once = format_source(source)
    assert _words(once) == _words(source)
    assert format_source(once) == once


@pytest.mark.parametrize("path", PARSED, ids=IDS)
def test_fmt_keeps_the_ir(path: Path) -> None:
    source = path.read_text("utf-8")
    try:
        before = compile_source(source, "spec")
    except SpecError as exc:  # an error spec: the same diagnostics, moved at most
        with pytest.raises(SpecError) as again:
            compile_source(format_source(source), "spec")
        assert [d.message for d in again.value.diagnostics] == [
            d.message for d in exc.diagnostics]
        return
    assert _meaning(compile_source(format_source(source), "spec")) == _meaning(before)


def test_the_specs_are_formatted() -> None:
    assert main(["fmt", "--check", *map(str, SPECS)]) == 0


MESSY = """\
/// doc of the protocol
protocol  p "p"{
byte_order   little


    max_frame 16 MiB   // a bound
  state
  {
      level : u8=1  per   side
  }
  enum Kind:u8 { a=1  bb = 2 }
  frame call when kind in { a , bb } and state.sender.level>=(1+2) {
  kind: Kind /// trailing
    /// doc of the next
    longer_name : text ( pad = 0x20 ) [ 8 ]   # hash comment
    n: u8 = count( xs )
    xs: list(Kind)[n]
    set   state . level = last(xs, kind == a, 1,
 state.level)
    roles { kind = request  id = n }
  }
  hijack answer ( req , code ) { status = match code { - 1 => 1  200 => 0  _ => 2 } }
  keepalive call(id) {
    n = - 1
    longer = x"00 01" "text"
  }
}

"""

TIDY = """\
/// doc of the protocol
protocol p "p" {
  byte_order little

  max_frame 16MiB  // a bound
  state {
    level: u8 = 1 per side
  }
  enum Kind: u8 { a = 1  bb = 2 }
  frame call when kind in {a, bb} and state.sender.level >= (1 + 2) {
    kind:        Kind               /// trailing
    /// doc of the next
    longer_name: text(pad=0x20)[8]  # hash comment
    n:           u8 = count(xs)
    xs:          list(Kind)[n]
    set state.level = last(xs, kind == a, 1,
                           state.level)
    roles { kind = request  id = n }
  }
  hijack answer(req, code) { status = match code { -1 => 1  200 => 0  _ => 2 } }
  keepalive call(id) {
    n      = -1
    longer = x"00 01" "text"
  }
}
"""


def test_fmt_layout() -> None:
    """Spacing, indentation, alignment, comments and blank lines, in one spec."""
    assert format_source(MESSY) == TIDY
    assert _words(TIDY) == _words(MESSY)


def test_fmt_continuation_and_closing_lines() -> None:
    source = ("protocol p \"p\" {\n  frame f when kind == 1\n  and 1 == 1 {\n"
              "    kind: u8 if kind in {\n1,\n2\n}\n  }\n}\n")
    assert format_source(source) == (
        "protocol p \"p\" {\n  frame f when kind == 1\n      and 1 == 1 {\n"
        "    kind: u8 if kind in {\n      1,\n      2\n    }\n  }\n}\n")


def test_fmt_aligns_only_keys_that_start_their_line() -> None:
    """Two builders on one line each are no run: the keys inside them stay as they are."""
    source = ("protocol p \"p\" {\n  keepalive call(id) { n = 1 }\n"
              "  hijack answer(req, code) { longer = 2 }\n}\n")
    assert format_source(source) == source


def test_fmt_check_writes_nothing_and_prints_a_diff(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "messy.proto-dsl"
    spec.write_text(MESSY)
    assert main(["fmt", "--check", str(spec)]) == 1
    out = capsys.readouterr().out
    assert f"--- {spec} (as written)" in out and "+  max_frame 16MiB  // a bound" in out
    assert spec.read_text() == MESSY
    assert main(["fmt", str(spec)]) == 0
    assert spec.read_text() == TIDY
    assert main(["fmt", "--check", str(spec)]) == 0
    assert capsys.readouterr().out == ""


def test_fmt_stdin_to_stdout() -> None:
    run = subprocess.run([sys.executable, "-m", "protodsl.cli", "fmt", "-"], input=MESSY,
                         capture_output=True, text=True, check=False)
    assert (run.returncode, run.stdout, run.stderr) == (0, TIDY, "")


def test_fmt_reports_a_syntax_error(tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.proto-dsl"
    spec.write_text("protocol p \"p\" {\n  frame f when {\n}\n")
    assert main(["fmt", str(spec)]) == 1
    assert f"{spec}:2:" in capsys.readouterr().err
    assert spec.read_text() == "protocol p \"p\" {\n  frame f when {\n}\n"


def test_fmt_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "no/such.proto-dsl"]) == 1
    assert "no such spec file: no/such.proto-dsl" in capsys.readouterr().err
