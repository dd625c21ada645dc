"""The frontend on hostile input: mutated specs, random bytes, deep nesting, a
10 MB spec, bad encodings, empty files, awkward names. `protodsl check` and
`protodsl gen --target python` must return 0 or 1, never raise, never print a
traceback, and every failure is a located diagnostic.

PROTODSL_LONG=1 (the `long` Hypothesis profile of conftest.py) runs many more
examples and a dense 10 MB spec."""

from __future__ import annotations

import io
import os
import re
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from protodsl.cli import main
from protodsl.codecs import load_python
from protodsl.diagnostics import SpecError
from protodsl.frontend.parser import MAX_EXPR_DEPTH
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file, compile_source

TESTS = Path(__file__).resolve().parent
BOLT_PATH = TESTS.parent / "specs" / "bolt.proto-dsl"
BOLT = BOLT_PATH.read_text("utf-8")
HOSTILE = TESTS / "specs" / "hostile_names.proto-dsl"
LONG = bool(os.environ.get("PROTODSL_LONG"))

# ---- running the CLI in-process ----------------------------------------------


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def check_and_gen(path: Path) -> int:
    """`check` then `gen --target python`; both 0 or both 1, nothing raised, and a
    failure is reported as `file:line:col: error: ...`. Returns check's code."""
    return check_and_gen_err(path)[0]


def check_and_gen_err(path: Path) -> tuple[int, str]:
    """check_and_gen, and what check printed on stderr."""
    code, out, err = run("check", str(path))
    assert code in (0, 1)
    assert "Traceback" not in err
    if code == 1:
        assert re.match(rf"{re.escape(str(path))}:\d+:\d+: error: \S", err), err[:500]
    else:
        assert out.startswith(f"{path}: ok: protocol ")
    with tempfile.TemporaryDirectory() as out_dir:
        gen_code, _, gen_err = run("gen", str(path), "--target", "python", "-o", out_dir)
        assert "Traceback" not in gen_err
        assert gen_code == code, gen_err[:500]
        if gen_code == 0:
            assert list(Path(out_dir).glob("*.py"))
    return code, err


def write(tmp: Path, name: str, data: str | bytes) -> Path:
    path = tmp / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("robustness")


def test_bolt_itself(workdir: Path) -> None:
    assert check_and_gen(write(workdir, "bolt.proto-dsl", BOLT)) == 0


# ---- mutations of the bolt spec -------------------------------------------------

_TOKEN = re.compile(
    r'\s+|///[^\n]*|//[^\n]*|"[^"\n]*"|0x[0-9A-Fa-f_]+|\d[\d_]*|[A-Za-z_]\w*|=>|==|!=|<=|>=|<<|>>|.',
)
TOKENS = _TOKEN.findall(BOLT)
assert "".join(TOKENS) == BOLT
WORDS = sorted({t for t in TOKENS if t.strip()})
LINES = BOLT.split("\n")


@st.composite
def token_mutants(draw: st.DrawFn) -> str:
    tokens = list(TOKENS)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert"]))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "replace":
            tokens[i] = draw(st.sampled_from(WORDS))
        else:
            tokens.insert(i, " " + draw(st.sampled_from(WORDS)) + " ")
    return "".join(tokens)


@st.composite
def line_mutants(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "move"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(draw(st.integers(0, len(lines))), lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(draw(st.integers(0, len(lines) - 1)), lines.pop(i))
    return "\n".join(lines)


@st.composite
def byte_mutants(draw: st.DrawFn) -> bytes:
    data = BOLT.encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["insert", "overwrite", "truncate"]))
        i = draw(st.integers(0, len(data)))
        if op == "insert":
            data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
        elif op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=4))
            data = data[:i] + chunk + data[i + len(chunk):]
        else:
            data = data[:i]
    return data


_MUTANT_SETTINGS = settings(suppress_health_check=[HealthCheck.filter_too_much,
                                                   HealthCheck.too_slow])


@_MUTANT_SETTINGS
@given(token_mutants())
@example(BOLT.replace("proto:       u8 = 1", "proto:       u8 = 1 << 99", 1))
@example(BOLT.replace("len(class)", "len(class) / 0", 1))
@example(BOLT.replace("= len(class)", "= 0" + "9" * 5000, 1))
def test_token_mutations(workdir: Path, text: str) -> None:
    check_and_gen(write(workdir, "tokens.proto-dsl", text))


@_MUTANT_SETTINGS
@given(line_mutants())
def test_line_mutations(workdir: Path, text: str) -> None:
    check_and_gen(write(workdir, "lines.proto-dsl", text))


@_MUTANT_SETTINGS
@given(byte_mutants())
@example(BOLT.encode()[:1])
@example(b"\xff" + BOLT.encode())
@example(BOLT.encode() + b"\x00")
def test_byte_mutations(workdir: Path, data: bytes) -> None:
    check_and_gen(write(workdir, "bytes.proto-dsl", data))


@_MUTANT_SETTINGS
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_random_text(workdir: Path, text: str) -> None:
    assert check_and_gen(write(workdir, "random.proto-dsl", text)) == 1


# ---- deep nesting ----------------------------------------------------------------


def _frame(when: str, value: str = "0") -> str:
    return (f'protocol p "p" {{\n  frame f when {when} {{\n    x: u8\n'
            f'    y: u16 = {value}\n  }}\n}}\n')


def _nested(kind: str, depth: int) -> str:
    """A frame whose `y` value is nested `depth` levels deep."""
    if kind == "parens":
        return _frame("x == 1", "(" * depth + "x" + ")" * depth)
    if kind == "sum":
        return _frame("x == 1", "(x + " * depth + "x" + ")" * depth)
    if kind == "chain":
        return _frame("x == 1", " + ".join(["x"] * (depth + 1)))
    if kind == "minus":
        return _frame("x == 1", "- " * depth + "x")
    if kind == "not":
        return _frame("not " * depth + "x == 1")
    if kind == "and":
        return _frame(" and ".join(["x == 1"] * (depth + 1)))
    if kind == "match":
        return _frame("x == 1", "match x { _ => " * depth + "x" + " }" * depth)
    if kind == "in":
        return _frame("x in {" * 1 + ", ".join(["(1 + " * depth + "1" + ")" * depth]) + "}")
    raise AssertionError(kind)


KINDS = ["sum", "chain", "minus", "not", "and", "match", "in"]


@pytest.mark.parametrize(
    ("kind", "depth"), [("sum", 10_000), *((k, 2_000) for k in KINDS if k != "sum")]
)
def test_deep_nesting_is_a_diagnostic(workdir: Path, kind: str, depth: int) -> None:
    path = write(workdir, f"deep_{kind}.proto-dsl", _nested(kind, depth))
    code, err = check_and_gen_err(path)
    assert code == 1
    assert f"expression nested too deeply (more than {MAX_EXPR_DEPTH} levels)" in err
    assert len(err) < 2000  # the long line is cut around the caret


@pytest.mark.parametrize("kind", KINDS)
def test_nesting_just_under_the_limit_compiles_and_generates(workdir: Path, kind: str) -> None:
    depth = MAX_EXPR_DEPTH - 5
    if kind == "match":  # a match and its case are two levels
        depth = MAX_EXPR_DEPTH // 2 - 5
    path = write(workdir, f"deep_ok_{kind}.proto-dsl", _nested(kind, depth))
    assert check_and_gen(path) == 0


def test_10000_parentheses_add_no_depth(workdir: Path) -> None:
    path = write(workdir, "parens.proto-dsl", _nested("parens", 10_000))
    assert check_and_gen(path) == 0


def test_recursion_error_is_a_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last resort: if something still recurses too deep, a diagnostic."""
    import protodsl.frontend.parser as parser

    monkeypatch.setattr(parser, "MAX_EXPR_DEPTH", 1_000_000)
    with pytest.raises(SpecError) as info:
        compile_source(_nested("sum", 5_000), "deep.proto-dsl")
    (d,) = info.value.diagnostics
    assert (d.span.line, d.span.col) == (1, 1)
    assert d.message == "the spec is nested too deeply to compile"


# ---- size ----------------------------------------------------------------------


def _big_spec(target: int) -> str:
    """Bolt grown to `target` bytes: doc and plain comments, blank lines, a field
    with a 100,000-character name, and an enum of 2,000 members."""
    long_name = "n" * 100_000
    members = "".join(f"    m{i} = {i}\n" for i in range(2_000))
    extra = (
        f"  enum Many: u16 {{\n{members}  }}\n"
        + "  /// " + "d" * 70 + "\n"
    )
    spec = BOLT.replace("  enum CmdType", extra + "  enum CmdType", 1).replace(
        "    codec:       u8                /// serializer: 1 hessian2, 11 protobuf\n",
        f"    codec:       u8\n    {long_name}: Many default m0\n", 1,
    )
    assert long_name in spec  # the line replaced is bolt's as written
    filler = ("  // " + "c" * 75 + "\n") * 40 + ("  /// " + "d" * 74 + "\n") * 40 + "\n" * 20
    head, tail = spec.split("  /// An RPC request", 1)
    count = (target - len(spec)) // len(filler) + 1
    return head + filler * count + "  /// An RPC request" + tail


def test_ten_megabyte_spec(workdir: Path) -> None:
    text = _big_spec(10 << 20)
    assert len(text) >= 10 << 20
    path = write(workdir, "big.proto-dsl", text)
    assert check_and_gen(path) == 0
    protocol = compile_file(path)
    assert any(len(v.name) == 100_000 for v in protocol.frames[0].values())


def test_ten_megabyte_spec_with_an_error_at_the_end(workdir: Path) -> None:
    text = _big_spec(10 << 20)
    text = text.replace("    timeout    = -1\n", "    timeout    = -1\n    nope       = 1\n")
    path = write(workdir, "big_bad.proto-dsl", text)
    code, err = check_and_gen_err(path)
    assert code == 1
    line = text[: text.index("    nope       = 1")].count("\n") + 1
    assert err.startswith(f"{path}:{line}:5: error: 'nope' is not a field of frame 'request'")


@pytest.mark.skipif(not LONG, reason="PROTODSL_LONG: a dense 10 MB spec takes about a minute")
def test_dense_ten_megabyte_spec(workdir: Path) -> None:
    members = "".join(f"    member_{i:07d} = {i}\n" for i in range(500_000))
    text = BOLT.replace("  enum CmdType", f"  enum Huge: u32 {{\n{members}  }}\n  enum CmdType", 1)
    assert len(text) >= 10 << 20
    code, _, err = run("check", str(write(workdir, "dense.proto-dsl", text)))
    assert code == 0, err[:500]


# ---- encodings, empty files, line endings, control characters -------------------


@pytest.mark.parametrize(
    ("data", "line", "col", "byte"),
    [
        (BOLT.encode().replace(b"SOFA", b"S\xd6FA", 1), 1, 6, 0xD6),  # Latin-1
        ("\ufeff".encode("utf-16-le") + BOLT.encode("utf-16-le"), 1, 1, 0xFF),  # UTF-16
        (BOLT.encode().replace(b'bolt "x-bolt"', b'bolt "x-b\x80lt"'), 4, 19, 0x80),  # continuation
        (BOLT.encode() + "é".encode()[:1], len(BOLT.split("\n")), 1, 0xC3),  # cut at EOF
        # a surrogate encoded in UTF-8, after a two-byte character on the same line
        (BOLT.encode().replace(b"Request header", b"R\xc3\xa9q\xed\xa0\x80", 1), 2, 8, 0xED),
    ],
    ids=["latin1", "utf16", "continuation", "truncated", "surrogate"],
)
def test_not_utf8(workdir: Path, data: bytes, line: int, col: int, byte: int) -> None:
    path = write(workdir, "encoding.proto-dsl", data)
    code, err = check_and_gen_err(path)
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == f"{path}:{line}:{col}: error: the spec is not UTF-8 text (byte 0x{byte:02x})"
    if len(lines) > 1:  # the line, readable, with the caret under the bad byte
        caret = lines[2].index("^") - len(f"{line:>4} | ")
        assert lines[1][len(f"{line:>4} | "):][caret] == "\ufffd"


@pytest.mark.parametrize(
    "text", ["", " \n\t\n", "// only a comment\n", "/// only a doc comment", "\ufeff", "\n" * 50],
    ids=["empty", "blank", "comment", "doc", "bom", "newlines"],
)
def test_empty_spec(workdir: Path, text: str) -> None:
    path = write(workdir, "empty.proto-dsl", text)
    code, err = check_and_gen_err(path)
    assert code == 1
    assert "error: unexpected end of file; expected 'protocol'" in err.splitlines()[0]


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_line_endings(workdir: Path, newline: str) -> None:
    assert check_and_gen(write(workdir, "crlf.proto-dsl", BOLT.replace("\n", newline))) == 0
    bad = BOLT.replace("    version:     u8 ", "    version:     u9 ", 1)
    path = write(workdir, "crlf_bad.proto-dsl", bad.replace("\n", newline))
    _, _, err = run("check", str(path))
    line = bad[: bad.index("u9")].count("\n") + 1
    assert err.splitlines()[:2] == [
        f"{path}:{line}:18: error: unknown type 'u9'",
        f"{line:>4} |     version:     u9                /// ver2, the command version",
    ]


def test_utf8_bom_is_accepted(workdir: Path) -> None:
    assert check_and_gen(write(workdir, "bom.proto-dsl", "\ufeff" + BOLT)) == 0


def test_control_characters_do_not_shift_or_leak(workdir: Path) -> None:
    """Lines are counted as the parser counts them (only \\n), and the shown line
    carries no control character: one replacement character for each."""
    text = BOLT.replace(
        "/// SOFA bolt v1", "/// SOFA\u2028bolt\x0cv1\x1b[2J\x85", 1
    ).replace("    version:     u8 ", "    version:     u9 ", 1)
    path = write(workdir, "control.proto-dsl", text)
    _, _, err = run("check", str(path))
    line = text[: text.index("u9")].count("\n") + 1
    lines = err.splitlines()
    assert lines[0] == f"{path}:{line}:18: error: unknown type 'u9'"
    assert "u9" in lines[1]
    assert "\x1b" not in err
    path = write(workdir, "control2.proto-dsl", "protocol p \"\x1b[2J\" {\x1b[31m")
    _, _, err = run("check", str(path))
    assert "\x1b" not in err
    assert "unexpected character '\\x1b'" in err


def test_long_tokens_are_cut_in_messages(workdir: Path) -> None:
    text = BOLT.replace("protocol bolt", "protocol bolt " + "z" * 100_000, 1)
    _, _, err = run("check", str(write(workdir, "longtoken.proto-dsl", text)))
    assert len(err) < 1000
    assert "error: unexpected 'zzzz" in err


# ---- names that are keywords somewhere -----------------------------------------


@pytest.fixture(scope="module")
def hostile() -> tuple[Protocol, ModuleType]:
    protocol = compile_file(HOSTILE)
    return protocol, load_python(protocol)


def test_hostile_names_compile(hostile: tuple[Protocol, ModuleType]) -> None:
    protocol, _ = hostile
    assert [f.name for f in protocol.frames] == ["class", "def"]
    assert [e.name for e in protocol.enums] == ["type", "Type"]
    request = protocol.frames[0]
    names = [v.name for v in request.values()]
    assert {"type", "int", "ID", "id", "def", "self", "map"} <= set(names)
    assert any(len(n) == 200 for n in names)
    assert request.roles is not None and request.roles.id == "int"
    assert request.roles.timeout == "def" and request.roles.payload == "None"
    assert [b.kind for b in protocol.builders] == ["keepalive", "keepalive_reply", "hijack"]


def _spec_fields(codec: ModuleType, frame: Any) -> dict[str, Any]:
    values: dict[str, Any] = codec.field_values(frame)
    return values


def test_hostile_names_python_codec_round_trip(hostile: tuple[Protocol, ModuleType]) -> None:
    from protodsl.jsonview import frame_from_json

    protocol, codec = hostile
    long_name = next(v.name for v in protocol.frames[0].values() if len(v.name) == 200)
    request = frame_from_json(codec, protocol, {
        "frame": "class",
        "fields": {
            "type": "True", "int": 7, "ID": 1, "id": 2, "def": -5, long_name: 9,
            "None": {"hex": "00ff"}, "dict": [["return", "None"]],
        },
    })
    wire = codec.encode(request)
    decoded = codec.decode(wire)
    assert isinstance(decoded, codec.Decoded) and decoded.consumed == len(wire)
    assert decoded.frame == request
    assert codec.reference_decode(wire).frame == request
    fields = _spec_fields(codec, decoded.frame)
    assert fields["int"] == 7 and fields["ID"] == 1 and fields["id"] == 2
    assert fields["def"] == -5 and fields[long_name] == 9
    assert fields["self"] == 2 and fields["None"] == b"\x00\xff"
    assert codec.command_id(request) == 7
    assert codec.timeout(request) == -5
    assert codec.headers(request) == [(b"return", b"None")]
    assert codec.payload(request) == b"\x00\xff"

    response = frame_from_json(codec, protocol, {
        "frame": "def",
        "fields": {"type": "False", "int": 7, "return": "class", "Return": 3, "None": "ok"},
    })
    wire = codec.encode(response)
    decoded = codec.decode(wire)
    assert decoded.frame == response and decoded.consumed == len(wire)
    fields = _spec_fields(codec, decoded.frame)
    assert fields["return"] == 1 and fields["Return"] == 3 and fields["len"] == 2
    assert codec.status(response) == 1

    keepalive = codec.keepalive(5)
    assert codec.command_id(keepalive) == 5 and codec.is_heartbeat(keepalive)
    assert codec.decode(codec.encode(keepalive)).frame == keepalive
    assert codec.command_id(codec.keepalive_reply(request)) == 7
    assert codec.status(codec.hijack(request, 404)) == 1
    assert codec.status(codec.hijack(request, 500)) == 2


def test_hostile_names_cli(workdir: Path) -> None:
    assert check_and_gen(HOSTILE) == 0


# ---- names that once broke the Python backend (found with hostile_names.proto-dsl) --


def _hostile_variant(old: str, new: str) -> Protocol:
    text = HOSTILE.read_text("utf-8")
    assert old in text
    return compile_source(text.replace(old, new), "hostile.proto-dsl")


def _generate(protocol: Protocol) -> ModuleType:
    return load_python(protocol, name=f"hostile_variant_{id(protocol)}")


def test_python_builder_parameters_named_like_keywords() -> None:
    protocol = _hostile_variant("keepalive_reply def(req) {\n    type   = False\n"
                                "    int    = req.int",
                                "keepalive_reply def(class) {\n    type   = False\n"
                                "    int    = class.int")
    codec = _generate(protocol)
    assert codec.command_id(codec.keepalive_reply(codec.keepalive(3))) == 3


def test_python_field_named_like_an_imported_module() -> None:
    protocol = _hostile_variant("dict", "struct")
    codec = _generate(protocol)
    frame = codec.FRAMES[0](int=1 << 40)
    with pytest.raises(codec.EncodeError):
        codec.encode(frame)


def test_python_field_named_like_its_frame_class() -> None:
    protocol = _hostile_variant("    Return: u8", "    Def:    u8\n    Return: u8")
    codec = _generate(protocol)
    wire = codec.encode(codec.FRAMES[1]())
    assert codec.decode(wire).consumed == len(wire)


def test_python_enums_differing_only_by_case() -> None:
    protocol = compile_source(
        'protocol p "p" {\n  enum Kind: u8 {\n    a = 0\n  }\n  enum KIND: u8 {\n    x = 5\n'
        '  }\n  frame f when k == a {\n    k: Kind\n    K: KIND default x\n  }\n}\n'
    )
    codec = _generate(protocol)
    frame = codec.FRAMES[0]()
    assert codec.decode(codec.encode(frame)).frame == frame
