"""Every `protodsl` command form README.md and the guide pages in docs/ show
(tests.helpers.GUIDE) runs as written.

The forms are read from the pages themselves: the synopsis lines of its code blocks
(`protodsl decode SPEC [--engine python|wasm] (--hex HEX | FILE | -)`), expanded
into concrete commands (each choice of each alternative, optional parts all
present and all absent, placeholders filled in); the `$ protodsl ...` examples,
whose shown output must match; the `.venv/bin/protodsl ...` commands of the
quick start; and the inline `protodsl ...` commands of the prose (a pipeline
runs through a real shell). A form added to the README is tested without an
edit here; a placeholder this file does not know fails the test."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SPECS, guide_text, load_vectors, run_cli

README = guide_text()  # README.md and the guide pages in docs/
BOLT_FRAMES = [bytes.fromhex(f["hex"]) for f in load_vectors("bolt-v1.json")["frames"]]
HEARTBEAT = next(f["hex"] for f in load_vectors("bolt-v1.json")["frames"]
                 if f["name"] == "heartbeat_request")
COMMANDS = ("check", "gen", "decode", "encode", "explain", "test", "fmt")


# ------------------------------------------------------------- reading the README


def code_blocks(text: str) -> list[list[str]]:
    return [block.splitlines() for block in re.findall(r"^```[^\n]*\n(.*?)^```", text,
                                                          re.MULTILINE | re.DOTALL)]


def synopses(text: str) -> list[str]:
    """Lines of code blocks that start with `protodsl COMMAND`, comments cut."""
    out = []
    for block in code_blocks(text):
        for line in block:
            line = line.split("  #", 1)[0].strip()
            if line.startswith("protodsl ") and line.split()[1] in COMMANDS:
                out.append(line)
    return out


@dataclass(frozen=True)
class Example:
    command: str
    output: list[str]


def examples(text: str) -> list[Example]:
    """`$ protodsl ...` lines and the output lines shown after each."""
    out: list[Example] = []
    for block in code_blocks(text):
        current: Example | None = None
        for line in block:
            if line.startswith("$ "):
                current = Example(line[2:].strip(), [])
                out.append(current)
            elif current is not None and line.strip():
                current.output.append(line)
    return [e for e in out if e.command.startswith("protodsl ")]


def quick_start(text: str) -> list[str]:
    """The `.venv/bin/protodsl ...` parts of the quick start's command chains."""
    out = []
    for block in code_blocks(text):
        for line in block:
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith(".venv/bin/protodsl "):
                    out.append(part.removeprefix(".venv/bin/"))
    return out


def inline(text: str) -> list[str]:
    """Inline code spans of the prose that are a whole command: `protodsl gen SPEC ...`."""
    spans = re.findall(r"`(protodsl [^`]+)`", text)
    return [s for s in spans if len(s.split()) >= 3 and s.split()[1] in COMMANDS]


# ------------------------------------------------------------- synopsis grammar


def _tokens(form: str) -> list[str]:
    out: list[str] = []
    for word in form.split():
        lead = re.match(r"^[\[(]*", word)
        trail = re.search(r"[\])]*$", word)
        assert lead is not None and trail is not None
        core = word[lead.end():trail.start()] if trail.start() >= lead.end() else ""
        out += list(word[:lead.end()]) + ([core] if core else []) + list(word[trail.start():])
    return out


Node = Any  # a word (str), ("opt", [seq]) or ("alt", [[seq], ...])


def _parse(tokens: list[str], i: int = 0, until: str = "") -> tuple[list[Node], int]:
    seq: list[Node] = []
    while i < len(tokens):
        t = tokens[i]
        if t in ("]", ")", "|") and until:
            return seq, i
        if t == "[":
            inner, i = _parse(tokens, i + 1, "]")
            assert tokens[i] == "]", tokens
            seq.append(("opt", inner))
        elif t == "(":
            choices = []
            while True:
                inner, i = _parse(tokens, i + 1, ")")
                choices.append(inner)
                if tokens[i] == ")":
                    break
                assert tokens[i] == "|", tokens
            seq.append(("alt", choices))
        else:
            seq.append(t)
        i += 1
    return seq, i


def expand(form: str) -> list[list[str]]:
    """Concrete word lists: optional parts all absent or all present; every choice
    of every alternative and of every `a|b` word, in all combinations."""
    seq, _ = _parse(_tokens(form))
    out: list[list[str]] = []
    for with_optional in (False, True):
        for words in _expand(seq, with_optional):
            if words not in out:
                out.append(words)
    return out


def _expand(seq: list[Node], with_optional: bool) -> Iterator[list[str]]:
    options: list[list[list[str]]] = []
    for node in seq:
        if isinstance(node, str):
            options.append([[w] for w in node.split("|")] if "|" in node[1:] else [[node]])
        elif node[0] == "opt":
            options.append(list(_expand(node[1], True)) if with_optional else [[]])
        else:
            options.append([w for choice in node[1] for w in _expand(choice, with_optional)])
    for combo in itertools.product(*options):
        yield [w for part in combo for w in part]


# ------------------------------------------------------------- running the forms


@pytest.fixture(scope="module")
def plugin() -> Path:
    from protodsl.codecs import build_wasm
    from protodsl.passes.pipeline import compile_file

    return build_wasm(compile_file(SPECS / "bolt.proto-dsl"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with the README's relative paths: specs/, a frames file."""
    (tmp_path / "specs").symlink_to(SPECS)
    (tmp_path / "frames.bin").write_bytes(b"".join(BOLT_FRAMES))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _decoded_json() -> str:
    code, out, err = run_cli(["decode", "specs/bolt.proto-dsl", "frames.bin"])
    assert code == 0, err
    return out.decode()


def fill(words: list[str], plugin: Path) -> tuple[list[str], bytes | None]:
    """Placeholders replaced by real arguments; `-` gets what stdin should hold."""
    command = words[1]
    out: list[str] = []
    stdin: bytes | None = None
    previous = ""
    for w in words[1:]:
        if w == "SPEC":
            w = "specs/bolt.proto-dsl"
        elif w == "SPEC...":  # fmt rewrites it: a copy, not the repository's spec
            w = "bolt.proto-dsl"
            Path(w).write_text((SPECS / w).read_text("utf-8"), encoding="utf-8")
        elif w == "DIR":
            w = "out"
        elif w == "HEX":
            w = HEARTBEAT
        elif w == "FILE":
            w = "frames.bin"
        elif w == "JSON":
            w = _decoded_json()
        elif w in ("N", "S", "JOBS"):
            w = {"N": "200", "S": "1", "JOBS": "1"}[w]
        elif w == "PLUGIN.wasm":
            w = str(plugin)
        elif w == "-" and previous not in ("-o",):
            stdin = (_decoded_json().encode() if command == "encode"
                     else (SPECS / "bolt.proto-dsl").read_bytes() if command == "fmt"
                     else b"".join(BOLT_FRAMES))
        else:
            assert not re.fullmatch(r"[A-Z][A-Z0-9_.]*", w), \
                f"README placeholder {w!r} has no value in tests/test_cli_readme.py"
        out.append(w)
        previous = w
    return out, stdin


def check_output(argv: list[str], raw: bytes) -> None:
    """What each command prints when it works."""
    command = argv[0]
    if command == "encode" and "--raw" in argv:
        assert raw == b"".join(BOLT_FRAMES)
        return
    out = raw.decode()
    if command == "check":
        assert ": ok: protocol bolt" in out
    elif command == "gen":
        paths = out.split()
        assert paths and all(Path(p).exists() for p in paths), out
    elif command == "decode":
        lines = [json.loads(line) for line in out.splitlines()]
        assert lines and all("frame" in obj or "need_more" in obj for obj in lines)
        assert ("--offsets" in argv) == all("offsets" in obj for obj in lines if "frame" in obj)
    elif command == "explain":
        assert "=> consumed" in out and ("\x1b[" in out) == ("always" in argv), out
    elif command == "encode":
        hexes = out.split()
        assert hexes and all(re.fullmatch(r"[0-9a-f]+", h) for h in hexes), out
    elif command == "test":
        assert " 0 failed" in out, out
    elif command == "fmt":  # bolt is formatted: printed as it is from stdin, else nothing
        assert out == ((SPECS / "bolt.proto-dsl").read_text("utf-8")
                       if argv[-1] == "-" and "--check" not in argv else ""), out


FORMS = list({" ".join(words): (form, words)
              for form in synopses(README) + [c for c in inline(README) if " | " not in c]
              for words in expand(form)}.values())


def test_the_readme_shows_every_command() -> None:
    assert {form.split()[1] for form in synopses(README)} == set(COMMANDS)
    assert len(FORMS) >= 20
    decode = [" ".join(w) for _, w in FORMS if w[1] == "decode"]
    assert "protodsl decode SPEC --engine python FILE" in decode  # the example
    assert "protodsl decode SPEC --engine wasm -" in decode


@pytest.mark.parametrize(("form", "words"), FORMS, ids=[" ".join(w) for _, w in FORMS])
def test_synopsis_form_runs(form: str, words: list[str], workdir: Path, plugin: Path) -> None:
    argv, stdin = fill(words, plugin)
    code, out, err = run_cli(argv, stdin)
    assert code == 0, f"{' '.join(words)} (from `{form}`): exit {code}\n{err}"
    check_output(argv, out)


@pytest.mark.parametrize("example", examples(README), ids=lambda e: e.command[:60])
def test_example_prints_what_the_readme_shows(example: Example, workdir: Path) -> None:
    code, out, err = run_cli(shlex.split(example.command)[1:])
    assert code == 0, err
    shown = re.sub(r"\s*\n\s*", " ", "\n".join(example.output)).strip()
    pattern = ".*".join(re.escape(part) for part in shown.split("..."))
    got = re.sub(r"\s*\n\s*", " ", out.decode()).strip()
    assert re.fullmatch(pattern, got), f"README shows:\n{shown}\nprotodsl prints:\n{got}"


@pytest.mark.parametrize("command", quick_start(README))
def test_quick_start_commands_run(command: str, workdir: Path) -> None:
    argv = shlex.split(command)[1:]
    code, out, err = run_cli(argv)
    assert code == 0, f"{command}: exit {code}\n{err}"
    check_output(argv, out)


@pytest.mark.parametrize("pipeline", [c for c in inline(README) if " | " in c])
def test_prose_pipelines_run_in_a_shell(pipeline: str, workdir: Path) -> None:
    """`protodsl decode SPEC FILE | protodsl encode SPEC --raw - | cmp - FILE`, as a
    shell runs it, with the installed `protodsl` script."""
    command = re.sub(r"\bSPEC\b", "specs/bolt.proto-dsl", pipeline)
    command = re.sub(r"\bFILE\b", "frames.bin", command)
    assert not re.search(r"\b[A-Z]{3,}\b", command), command
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["sh", "-c", f"set -e; {command}"], cwd=workdir, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
