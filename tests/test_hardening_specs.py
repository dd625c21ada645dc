"""Hardening of the compiler against hostile specs (issue 6), beyond what
tests/test_frontend_robustness.py covers (mutations through the Python target,
in-process): mutated specs through the Wasm target too, hostile specs in a real
`protodsl` process (exit 1, diagnostics only, no traceback), names that are
keywords or unusual in C, Python and Go built by both backends and checked to
agree, and generation that is byte-identical across processes and hash seeds."""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protodsl.codegen.wasm import backend

from protodsl.cli import main
from protodsl.codecs import load_python
from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost
from protodsl.jsonview import frame_from_json
from protodsl.passes.pipeline import compile_file, compile_source
from tests.helpers import ROOT, SPECS
from tests.wasm.conftest import write_and_build

SPEC_TEXTS = {p.stem: p.read_text("utf-8") for p in sorted(SPECS.glob("*.proto-dsl"))}
ALL_SPECS = sorted(SPECS.glob("*.proto-dsl")) + sorted((ROOT / "tests").glob("*/specs/*.proto-dsl"))

# ---- mutated specs through both targets, in-process ----------------------------------

_TOKEN = re.compile(
    r'\s+|///[^\n]*|//[^\n]*|"[^"\n]*"|0x[0-9A-Fa-f_]+|\d[\d_]*|[A-Za-z_]\w*|=>|==|!=|<=|>=|<<|>>|.',
)


def run_cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue()


def gen_both(path: Path) -> None:
    """`check`, then `gen` for both targets: 0 or 1, never an exception, and a
    failure is a located diagnostic. The Wasm target may refuse a spec the
    Python one takes (an error naming what it does not support)."""
    code, err = run_cli("check", str(path))
    assert code in (0, 1) and "Traceback" not in err
    if code == 1:
        assert re.match(rf"{re.escape(str(path))}:\d+:\d+: error: \S", err), err[:500]
    with tempfile.TemporaryDirectory() as out:
        for target in ("python", "wasm"):
            gen_code, gen_err = run_cli("gen", str(path), "--target", target, "--no-build",
                                        "-o", out)
            assert gen_code in (0, 1) and "Traceback" not in gen_err
            if code == 1:
                assert gen_code == 1, gen_err[:500]
            if gen_code == 1:
                assert re.match(rf"{re.escape(str(path))}:\d+:\d+: error: \S", gen_err), \
                    gen_err[:500]


@st.composite
def mutants(draw: st.DrawFn) -> str:
    """A spec of specs/ with tokens or lines deleted, duplicated, swapped or replaced."""
    text = SPEC_TEXTS[draw(st.sampled_from(sorted(SPEC_TEXTS)))]
    if draw(st.booleans()):
        parts = _TOKEN.findall(text)
        words = sorted({t for t in parts if t.strip()})
    else:
        parts = [line + "\n" for line in text.split("\n")]
        words = [line for line in parts if line.strip()]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(parts) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
        if op == "delete":
            del parts[i]
        elif op == "duplicate":
            parts.insert(i, parts[i])
        elif op == "swap":
            j = draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
        else:
            parts[i] = draw(st.sampled_from(words))
    return "".join(parts)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hardening-specs")


@settings(suppress_health_check=list(HealthCheck), deadline=None)
@given(mutants())
def test_mutated_specs_through_both_targets(workdir: Path, text: str) -> None:
    path = workdir / "mutant.proto-dsl"
    path.write_text(text, encoding="utf-8")
    gen_both(path)


@settings(suppress_health_check=list(HealthCheck), deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_through_both_targets(workdir: Path, data: bytes) -> None:
    path = workdir / "random.proto-dsl"
    path.write_bytes(data)
    gen_both(path)


# ---- hostile specs in a real process ---------------------------------------------------


def _hostile_files(tmp: Path) -> dict[str, Path]:
    bolt = SPEC_TEXTS["bolt"]
    rng = random.Random(6)
    specs: dict[str, bytes] = {
        "deep_sum": ('protocol p "p" { frame f when x == 1 { x: u8  y: u16 = '
                     + "(x + " * 10_000 + "x" + ")" * 10_000 + " } }").encode(),
        "deep_match": ('protocol p "p" { frame f when x == 1 { x: u8  y: u16 = '
                       + "match x { _ => " * 2_000 + "x" + " }" * 2_000 + " } }").encode(),
        "ten_mb_junk": (bolt + "\n" + "frame { " * 1_350_000).encode(),
        "random_bytes": rng.randbytes(100_000),
        "latin1": bolt.replace("SOFA", "S\xd6FA").encode("latin-1", "replace"),
        "nul_bytes": bolt.replace("frame request", "frame re\x00quest", 1).encode(),
        "utf16": bolt.encode("utf-16"),
    }
    out = {}
    for name, data in specs.items():
        out[name] = tmp / f"{name}.proto-dsl"
        out[name].write_bytes(data)
    return out


@pytest.mark.slow
def test_hostile_specs_in_a_real_process(tmp_path: Path) -> None:
    """Exit 1, `file:line:col: error:` lines, no traceback, for each command."""
    files = _hostile_files(tmp_path)
    assert len(files["ten_mb_junk"].read_bytes()) >= 10 << 20
    script = (
        "import sys\nfrom protodsl.cli import main\n"
        "codes = [main(a.split('\\x1f')) for a in sys.argv[1:]]\n"
        "print('codes', codes)\n"
    )
    runs = []
    for path in files.values():
        runs.append(f"check\x1f{path}")
        runs.append(f"gen\x1f{path}\x1f--target\x1fwasm\x1f--no-build\x1f-o\x1f{tmp_path}")
    result = subprocess.run([sys.executable, "-c", script, *runs], capture_output=True,
                            text=True, timeout=600, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"codes {[1] * len(runs)}" in result.stdout
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    for path in files.values():
        assert any(line.startswith(f"{path}:") for line in errors), path.name


@pytest.mark.slow
def test_cli_exit_code_in_a_real_process(tmp_path: Path) -> None:
    """The installed entry point itself: exit status 1 and no traceback."""
    path = tmp_path / "deep.proto-dsl"
    path.write_text('protocol p "p" { frame f when x == 1 { x: u8  y: u16 = '
                    + "- " * 10_000 + "x } }")
    result = subprocess.run([sys.executable, "-m", "protodsl.cli", "check", str(path)],
                            capture_output=True, text=True, timeout=300, check=False)
    if "No module named protodsl.cli.__main__" in result.stderr or result.returncode == 0:
        result = subprocess.run([sys.executable, "-c", "import sys\nfrom protodsl.cli import "
                                 "main\nsys.exit(main())", "check", str(path)],
                                capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}:1:")


# ---- names that are keywords somewhere -------------------------------------------------

C_NAMES = """auto break case char const continue default do double else enum extern float for
goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while bool true false NULL main errno asm typeof
malloc free memcpy memset memmove abort exit printf stdin proxy_log proxy_set_buffer_bytes
proxy_decode_buffer_bytes pd_alloc pd_u8 pd_u32 pd_bytes pd_frame pd_values pd_cmd PD_OK fr buf
p end out size total at st bits ctx cmd slot kept data""".split()
PYTHON_NAMES = """False None True and as assert async await class def del elif except finally
from global import in is lambda nonlocal not or pass raise try with yield self cls str bytes
list dict type object enum cs construct match print id len range Decoded NeedMore ProtocolError
EncodeError FRAMES MAX_FRAME decode encode""".split()
GO_NAMES = """chan defer fallthrough func go interface map package select var nil string byte
rune error uint8 uint32 cap make new append""".split()
CASE_NAMES = ["Int", "INT", "iNT", "Class", "CLASS", "Type", "TYPE", "Return", "RETURN"]
LONG_NAME = "n" + "ame_" * 49 + "xyz"  # 200 characters
assert len(LONG_NAME) == 200


def _usable(name: str) -> bool:
    """Whether the spec language takes `name` as a field name (some are its keywords)."""
    text = (f'protocol p "x-p" {{ frame f when k == 1 {{ k: u8  {name}: u8  id: u32 '
            f'roles {{ kind = request  id = id }} }} }}')
    try:
        compile_source(text)
    except SpecError:
        return False
    return True


def keyword_spec() -> tuple[str, list[str]]:
    """A spec whose frames, enum, members and fields are named like keywords."""
    names = [n for n in dict.fromkeys(C_NAMES + PYTHON_NAMES + GO_NAMES + CASE_NAMES + [LONG_NAME])
             if _usable(n)]
    assert LONG_NAME in names and {"int", "class", "type", "return", "Int", "INT"} <= set(names)
    frame_a, frame_b, enum, kind, ident, length, body, headers, hlen = (
        "class", "return", "type", "int", "id", "len", "bytes", "map", "struct")
    # Not fields too: a field named like a member of the enum an expression expects
    # is an ambiguity error (`when int == while`).
    reserved = {frame_a, frame_b, enum, kind, ident, length, body, headers, hlen, "while",
                "else", "for"}
    fields = [n for n in names if n not in reserved]

    def frame(name: str, member: str, role: str) -> str:
        plain = "".join(f"    {n}: u8\n" for n in fields)
        return (f"  frame {name} when {kind} == {member} {{\n"
                f"    {kind}: {enum}\n    {ident}: u32\n{plain}"
                f"    {length}: u16 = len({body})\n    {hlen}: u16 = len({headers})\n"
                f"    {body}: bytes[{length}]\n    {headers}: kvmap(u16)[{hlen}]\n"
                f"    roles {{\n      kind = {role}\n      id = {ident}\n"
                f"      payload = {body}\n      headers = {headers}\n    }}\n  }}\n")

    text = (f'protocol switch "x-switch */ ??/" {{\n'
            f"  enum {enum}: u8 {{\n    while = 1\n    else = 2\n  }}\n"
            + frame(frame_a, "while", "request") + frame(frame_b, "else", "response")
            + f"  keepalive {frame_a}(for) {{\n    {kind} = while\n    {ident} = for\n  }}\n"
            + "}\n")
    return text, fields


@pytest.mark.slow
def test_keyword_names_build_and_agree(tmp_path: Path) -> None:
    text, fields = keyword_spec()
    path = tmp_path / "keywords.proto-dsl"
    path.write_text(text)
    protocol = compile_file(path)
    codec = load_python(protocol, name="hardening_keywords")
    wasm = write_and_build(tmp_path / "wasm", protocol)
    strict = backend.compile_command(tmp_path / "wasm" / "switch.c", tmp_path / "strict.wasm",
                                     ("-Wall", "-Wextra", "-Werror"))
    result = subprocess.run(strict, cwd=tmp_path / "wasm", capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]

    # Every field a distinct value: a collision anywhere would mix two of them up.
    values = {n: i % 250 + 1 for i, n in enumerate(fields)}
    frame = frame_from_json(codec, protocol, {
        "frame": "class",
        "fields": {"int": "while", "id": 77, **values, "bytes": "body",
                   "map": [["return", "None"], ["int", "*/"]]},
    })
    wire = codec.encode(frame)
    decoded = codec.decode(wire)
    assert decoded.frame == frame and decoded.consumed == len(wire)
    assert {k: codec.field_values(decoded.frame)[k] for k in values} == values

    host = MosnHost.from_file(wasm)
    ctx = host.new_context()
    cmd = host.decode(ctx, wire).command
    assert cmd is not None
    assert (cmd.id, cmd.payload, cmd.headers) == (77, b"body", [(b"return", b"None"),
                                                               (b"int", b"*/")])
    out = host.encode(ctx, cmd.headers, cmd.flag, 77, 77, cmd.timeout_or_status, cmd.payload)
    assert out.frame is not None and out.frame.frame == wire
    assert host.keepalive(ctx, 9) == 0
    ping = host.encode(ctx, [], 0x60, 9, 9, 0, b"")
    assert ping.frame is not None and ping.frame.frame == codec.encode(codec.keepalive(9))


@pytest.mark.slow
@pytest.mark.parametrize("path", [ROOT / "tests" / "specs" / "hostile_names.proto-dsl",
                                  ROOT / "tests" / "wasm" / "specs" / "hostile.proto-dsl"],
                         ids=["hostile_names", "wasm-hostile"])
def test_hostile_specs_build_with_both_backends(path: Path, tmp_path: Path) -> None:
    """Each hostile-names spec through both backends: Python imports, C builds
    warning-free, and the two decode the same frame alike."""
    protocol = compile_file(path)
    codec = load_python(protocol, name=f"hardening_{path.stem}")
    wasm = write_and_build(tmp_path, protocol)
    strict = backend.compile_command(tmp_path / f"{protocol.name}.c", tmp_path / "strict.wasm",
                                     ("-Wall", "-Wextra", "-Werror"))
    result = subprocess.run(strict, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    names = [v.name for f in protocol.frames for v in f.values()]
    if path.stem == "hostile_names":
        assert any(len(n) == 200 for n in names)
    frame = codec.keepalive(5)
    wire = codec.encode(frame)
    host = MosnHost.from_file(wasm)
    ctx = host.new_context()
    cmd = host.decode(ctx, wire).command
    assert cmd is not None and cmd.id == codec.command_id(frame) == 5
    assert cmd.drain_len == len(wire) and cmd.heartbeat == codec.is_heartbeat(frame)
    assert host.keepalive(ctx, 5) == 0
    built = host.encode(ctx, [], cmd.flag, 5, 5, cmd.timeout_or_status, b"")
    assert built.frame is not None and built.frame.frame == wire


# ---- deterministic generation ----------------------------------------------------------

_DIGEST_SCRIPT = """
import hashlib, json, sys
from protodsl.codegen.python import backend as py
from protodsl.codegen.wasm import backend as wasm
from protodsl.diagnostics import SpecError
from protodsl.passes.pipeline import compile_file
out = {}
for path in sys.argv[1:]:
    protocol = compile_file(path)
    for target, gen in (("python", py.generate), ("wasm", wasm.generate)):
        try:
            files = gen(protocol)
        except SpecError as exc:
            files = {"error": exc.render()}
        for rel, text in sorted(files.items()):
            out[f"{path} {target} {rel}"] = hashlib.sha256(text.encode()).hexdigest()
print(json.dumps(out, sort_keys=True))
"""


@pytest.mark.slow
def test_generation_is_byte_identical_across_processes() -> None:
    """Every spec, both targets, in two processes with different hash seeds."""
    digests = []
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT, *map(str, ALL_SPECS)],
                                capture_output=True, text=True, env=env, timeout=600,
                                check=True, cwd=ROOT)
        digests.append(json.loads(result.stdout))
    first, second = digests
    assert first == second
    assert len(first) >= 2 * len(ALL_SPECS)


def _files(protocol: Any) -> dict[str, str]:
    from protodsl.codegen.python import backend as py

    out = {f"python/{k}": v for k, v in py.generate(protocol).items()}
    try:
        out.update({f"wasm/{k}": v for k, v in backend.generate(protocol).items()})
    except SpecError:
        pass
    return out


@pytest.mark.parametrize("path", ALL_SPECS, ids=[p.stem for p in ALL_SPECS])
def test_generation_is_byte_identical_twice(path: Path) -> None:
    assert _files(compile_file(path)) == _files(compile_file(path))
