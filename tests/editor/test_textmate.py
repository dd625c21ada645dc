"""The VS Code extension's TextMate grammar, run by the engine VS Code runs
(vscode-textmate on vscode-oniguruma, versions pinned in package-lock.json here)
over every spec of the repository that parses.

The npm packages are installed once, with `npm ci`, into a cache folder keyed
by the lock file (PROTODSL_EDITOR_CACHE, default ~/.cache/protodsl/editor);
the tests skip only where there is no Node.js."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lark import Lark
from lark.lexer import PatternRE, PatternStr

from protodsl.passes.builders import SIGNATURES
from protodsl.passes.types import BUILTIN_TYPES
from tests.helpers import parses, spec_files

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GRAMMAR = ROOT / "editors/vscode/syntaxes/protodsl.tmLanguage.json"
LARK = ROOT / "grammars/protodsl.lark"
EVERYTHING = HERE / "specs/everything.proto-dsl"
CACHE = Path(os.environ.get("PROTODSL_EDITOR_CACHE", Path.home() / ".cache/protodsl/editor"))

Token = dict[str, Any]  # {"text": ..., "scopes": [...]}, as tokenize.mjs prints it


SPECS = [p for p in spec_files() if parses(p)]


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """vscode-textmate and vscode-oniguruma, installed by `npm ci` on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.skip("Node.js is not installed: the grammar runs on vscode-textmate, in node")
    if npm is None:
        pytest.fail("node is installed but npm is not: cannot install vscode-textmate")
    manifest = [HERE / "package.json", HERE / "package-lock.json"]
    key = hashlib.sha256(b"".join(p.read_bytes() for p in manifest)).hexdigest()[:16]
    home = CACHE / key
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:  # one installer at a time (pytest -n)
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = home / "node_modules" / ".protodsl-installed"
        if not done.exists():
            for path in manifest:
                shutil.copy(path, home / path.name)
            run = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                                 cwd=home, capture_output=True, text=True, check=False)
            if run.returncode != 0:
                pytest.fail(f"npm ci in {home} failed:\n{run.stderr[-2000:]}")
            done.touch()
    return home / "node_modules"


BAD = 'protocol bad "a\\b" {\n  x: u8 @ 1\n}\n'


@pytest.fixture(scope="session")
def tokenized(node_modules: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, list[list[Token]]]:
    """Every spec's tokens, line by line, and those of BAD (at key "bad")."""
    bad = tmp_path_factory.mktemp("editor") / "bad.proto-dsl"
    bad.write_text(BAD)
    run = subprocess.run(["node", str(HERE / "tokenize.mjs"), str(node_modules), str(GRAMMAR),
                          *map(str, SPECS), str(bad)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    result: dict[str, list[list[Token]]] = json.loads(run.stdout)
    result["bad"] = result.pop(str(bad))
    return result


def _scope(token: Token) -> str:
    return str(token["scopes"][-1])


def _tokens_of(tokenized: dict[str, list[list[Token]]], path: Path) -> list[Token]:
    return [t for line in tokenized[str(path)] for t in line if t["text"].strip()]


def test_every_spec_is_tokenized(tokenized: dict[str, list[list[Token]]]) -> None:
    assert EVERYTHING in SPECS and ROOT / "specs/bolt.proto-dsl" in SPECS
    assert set(tokenized) == {str(p) for p in SPECS} | {"bad"}


def test_no_valid_spec_has_an_invalid_token(tokenized: dict[str, list[list[Token]]]) -> None:
    invalid = [f"{path}:{n}: {t['text']!r} {t['scopes']}"
               for path, lines in tokenized.items() if path != "bad"
               for n, line in enumerate(lines, 1) for t in line
               if any("invalid" in s for s in t["scopes"])]
    assert invalid == []


def test_what_cannot_be_lexed_is_invalid(tokenized: dict[str, list[list[Token]]]) -> None:
    """The check above can fail: a backslash in a string and a stray '@' are flagged."""
    flagged = [t["text"] for line in tokenized["bad"] for t in line
               if any("invalid" in s for s in t["scopes"])]
    assert flagged == ["\\", "@"]


def _grammar_keywords() -> set[str]:
    """Every word of the Lark grammar's terminals: `"frame"`, and the words of
    the regular ones, `state` `set` `per` `side` (`/set\\s+state\\s*\\./`)."""
    words: set[str] = set()
    for terminal in Lark(LARK.read_text("utf-8"), parser="lalr").terminals:
        pattern = terminal.pattern
        if isinstance(pattern, PatternStr) and re.fullmatch(r"[a-z_]+", pattern.value):
            words.add(pattern.value)
        elif isinstance(pattern, PatternRE):
            words.update(re.findall(r"(?<![\\A-Za-z])[a-z]{2,}", pattern.value))
    return words - {"_"}


def test_every_keyword_of_the_grammar_is_highlighted(
        tokenized: dict[str, list[list[Token]]]) -> None:
    keywords = _grammar_keywords() | set(SIGNATURES)  # and the builders' kinds
    assert {"frame", "when", "otherwise", "state", "set", "per", "side", "not",
            "keepalive_reply"} <= keywords
    highlighted = {t["text"] for lines in tokenized.values() for line in lines for t in line
                   if _scope(t).startswith("keyword.")}
    assert sorted(keywords - highlighted) == []


def _scopes_in(tokenized: dict[str, list[list[Token]]], text: str) -> set[str]:
    return {_scope(t) for t in _tokens_of(tokenized, EVERYTHING) if t["text"] == text}


# text in everything.proto-dsl -> the innermost scope every occurrence of it has
EXPECTED = {
    "protocol": "keyword.declaration.protocol.protodsl",
    "everything": "entity.name.type.protocol.protodsl",
    "x-everything": "string.quoted.double.protodsl",
    "byte_order": "keyword.other.byte-order.protodsl",
    "little": "constant.language.byte-order.protodsl",
    "max_frame": "keyword.other.protodsl",
    "GiB": "keyword.other.unit.protodsl",
    "0b0000_0101": "constant.numeric.binary.protodsl",
    "16_384": "constant.numeric.decimal.protodsl",
    "0x02": "constant.numeric.hex.protodsl",
    "per": "keyword.other.per-side.protodsl",
    "Flag": "entity.name.type.enum.protodsl",
    "none": "variable.other.enummember.protodsl",
    "open": "keyword.other.open.protodsl",
    "when": "keyword.control.protodsl",
    "otherwise": "keyword.control.protodsl",
    "match": "keyword.control.protodsl",
    "if": "keyword.control.protodsl",
    "default": "keyword.other.protodsl",
    "not": "keyword.operator.word.protodsl",
    "in": "keyword.operator.word.protodsl",
    "and": "keyword.operator.word.protodsl",
    "or": "keyword.operator.word.protodsl",
    "as": "keyword.other.as.protodsl",
    "bits": "keyword.declaration.bits.protodsl",
    "roles": "keyword.declaration.protodsl",
    "set": "keyword.other.set.protodsl",
    "keepalive": "keyword.declaration.builder.protodsl",
    "keepalive_reply": "keyword.declaration.builder.protodsl",
    "hijack": "keyword.declaration.builder.protodsl",
    "u24": "support.type.builtin.protodsl",
    "u64le": "support.type.builtin.protodsl",
    "u16be": "support.type.builtin.protodsl",
    "i64": "support.type.builtin.protodsl",
    "i8": "support.type.builtin.protodsl",
    "varint": "support.type.builtin.protodsl",
    "bytes": "support.type.builtin.protodsl",
    "text": "support.type.builtin.protodsl",
    "kvmap": "support.type.builtin.protodsl",
    "list": "support.type.builtin.protodsl",
    "len": "support.function.builtin.protodsl",
    "last": "support.function.builtin.protodsl",
    "rest": "variable.language.rest.protodsl",
    "pad": "variable.parameter.protodsl",
    "sender": "variable.language.side.protodsl",
    "x": "storage.type.string.protodsl",
    "_": "variable.language.wildcard.protodsl",
    "==": "keyword.operator.comparison.protodsl",
    ">=": "keyword.operator.comparison.protodsl",
    "<<": "keyword.operator.bitwise.shift.protodsl",
    "=>": "keyword.operator.arrow.protodsl",
    "..": "keyword.operator.range.protodsl",
    "%": "keyword.operator.arithmetic.protodsl",
    "^": "keyword.operator.bitwise.protodsl",
    "///": "punctuation.definition.comment.protodsl",
}


def test_representative_scopes(tokenized: dict[str, list[list[Token]]]) -> None:
    wrong = {text: _scopes_in(tokenized, text) for text in EXPECTED
             if _scopes_in(tokenized, text) != {EXPECTED[text]}}
    assert wrong == {}


def test_names_after_their_keyword(tokenized: dict[str, list[list[Token]]]) -> None:
    """A frame, record, enum or builder's frame name is a type's name where declared;
    a field's name at the start of its line is a member."""
    lines = tokenized[str(EVERYTHING)]
    by_line = {"".join(t["text"] for t in line).strip(): line for line in lines}

    def scope_of(line: str, text: str) -> str:
        return next(_scope(t) for t in by_line[line] if t["text"] == text)

    assert scope_of("frame answer otherwise {", "answer") == "entity.name.type.frame.protodsl"
    assert scope_of("keepalive call(id) {", "call") == "entity.name.type.frame.protodsl"
    assert scope_of("kind:  Kind default call", "kind") == "variable.other.member.field.protodsl"
    assert scope_of("kind:  Kind default call", "Kind") == "entity.name.type.protodsl"
    assert scope_of("state {", "state") == "keyword.declaration.state.protodsl"
    assert scope_of("set state.level = 5", "state") == "variable.language.state.protodsl"
    assert scope_of("record Pair {", "Pair") == "entity.name.type.record.protodsl"
    assert scope_of("enum Kind: u8 {", "Kind") == "entity.name.type.enum.protodsl"
    assert scope_of("answer = 0x02", "answer") == "variable.other.enummember.protodsl"
    assert scope_of("window: u32 = 16_384 per side", "window") == (
        "variable.other.member.field.protodsl")
    assert scope_of("flag:  2 as Flag default fast", "Flag") == "entity.name.type.enum.protodsl"
    assert scope_of("kind    = request", "kind") == "variable.other.member.protodsl"


def test_literals_and_comments(tokenized: dict[str, list[list[Token]]]) -> None:
    toks = _tokens_of(tokenized, EVERYTHING)
    scopes = {t["text"]: t["scopes"] for t in toks}
    assert scopes["1"][-1] == "constant.numeric.decimal.protodsl"
    assert "string.quoted.double.hex.protodsl" in scopes["ff 00"]
    assert scopes["ff 00"][-1] == "constant.numeric.hex.protodsl"
    doc = "comment.line.triple-slash.documentation.protodsl"
    assert scopes[" an odd width"][-1] == doc
    assert scopes[" a bound that reads the state"][-1] == "comment.line.double-slash.protodsl"
    assert scopes[" a comment of the other kind"][-1] == "comment.line.number-sign.protodsl"
    assert scopes["answered by the proxy"][-1] == "string.quoted.double.protodsl"


def test_builtin_types_are_types(tokenized: dict[str, list[list[Token]]]) -> None:
    """Every type the compiler knows by name, as everything.proto-dsl uses it."""
    for name in (*BUILTIN_TYPES, "varint"):
        assert _scopes_in(tokenized, name) == {"support.type.builtin.protodsl"}, name
