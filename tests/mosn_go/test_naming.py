"""Go names of spec names: a frame's members that share a CamelCase are told
apart in declaration order, the later ones suffixed with `_`; so are the
package's names (enums, records, frames and their helpers, enum members), after
the identifiers the runtime, the codec and the MOSN layer declare and Go's own.
A spec of every such clash builds, gofmt-clean and vet-clean."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from protodsl.codegen.mosn_go import backend
from protodsl.codegen.mosn_go.naming import (
    GO_KEYWORDS,
    GO_PREDECLARED,
    RESERVED,
    claimed,
    go_names,
    members,
)
from protodsl.codegen.mosn_go.toolchain import go_binary, run_go

from protodsl.passes.pipeline import compile_file, compile_source

ROOT = Path(__file__).resolve().parents[2]
GO = go_binary()

# Names that clash in Go in every way the package's scope allows: across kinds
# (an enum and a frame `point`; an enum taking the New<Frame> of frame `x`),
# by case only (`point`, `Point`), with the runtime, the codec and the MOSN
# layer (`protocol_error`, `Frame`, `codec`, `state`), and Go keywords and
# predeclared names (`func`, `map`, `nil`, `int`).
CLASHES = """
protocol clashes "x-clashes" {
  byte_order big

  enum point: u8 { func = 0  map = 1 }
  enum Point: u8 { nil = 0  int = 1 }
  enum new_x: u8 { a = 0 }
  enum protocol_error: u8 { Frame = 0 }

  record state {
    func: u8
    map:  u8
  }

  frame x when func == 0 {
    func: u8
    id:   u32
    roles {
      kind = request
      id   = id
    }
  }

  frame Point when func == 1 {
    func: u8
    id:   u32
    kind: point
    Kind: Point
    roles {
      kind = response
      id   = id
    }
  }

  frame Frame when func == 2 {
    func:   u8
    n:      u16 = count(states)
    states: list(state)[n]
  }

  frame codec when func == 3 {
    func: u8
    p:    protocol_error
    x:    new_x
  }
}
"""


def test_clashing_members_are_suffixed_in_declaration_order() -> None:
    protocol = compile_file(ROOT / "tests/wasm/specs/hostile.proto-dsl")
    frame = next(f for f in protocol.frames if f.name == "return")
    names = members(frame)
    assert (names["int"], names["Int"], names["INT"]) == ("Int", "Int_", "Int__")
    assert names["pd_alloc"] == "PdAlloc" and names["while"] == "While"
    assert len(set(names.values())) == len(names)


def test_a_taken_name_is_never_handed_out() -> None:
    assert claimed(["frame_name", "a", "A"], frozenset({"FrameName"})) == {
        "frame_name": "FrameName_", "a": "A", "A": "A_"}


def test_names_differing_only_by_case_are_suffixed_in_declaration_order() -> None:
    pkg = go_names(compile_file(ROOT / "tests/specs/hostile_names.proto-dsl"))
    assert (pkg.enum("type"), pkg.enum("Type")) == ("Type", "Type_")
    assert (pkg.is_member("type"), pkg.is_member("Type")) == ("isType", "isType_")
    assert (pkg.member("type", "None"), pkg.member("Type", "int")) == ("TypeNone", "Type_Int")
    assert (pkg.frame("class"), pkg.new("class"), pkg.mosn("def")) == ("Class", "NewClass",
                                                                       "MosnDef")


def test_a_clash_across_kinds_suffixes_the_later_name_and_all_its_helpers() -> None:
    pkg = go_names(compile_source(CLASHES))
    # types first (enums, records, frames), each with every identifier it gives
    assert (pkg.enum("point"), pkg.enum("Point"), pkg.frame("Point")) == (
        "Point", "Point_", "Point__")
    assert pkg.enum("new_x") == "NewX"
    assert (pkg.frame("x"), pkg.new("x"), pkg.decoder("x"), pkg.mosn("x"), pkg.fuzz("x")) == (
        "X_", "NewX_", "decodeX_", "MosnX_", "FuzzDecodeX_")
    # then enum members, which take what the types left
    assert (pkg.member("point", "func"), pkg.member("Point", "nil")) == ("PointFunc",
                                                                        "Point_Nil")


def test_the_runtimes_and_the_mosn_layers_names_are_never_handed_out() -> None:
    pkg = go_names(compile_source(CLASHES))
    assert (pkg.enum("protocol_error"), pkg.record("state"), pkg.frame("Frame"),
            pkg.frame("codec")) == ("ProtocolError_", "State_", "Frame_", "Codec_")
    assert pkg.member("protocol_error", "Frame") == "ProtocolError_Frame"
    # read off the runtime files: each kind of declaration they make
    assert {"ErrNeedMore", "needMore", "KV", "EncodeError", "noOffset", "wireRoom", "kvTake",
            "Uint128", "two128"} <= RESERVED


def test_go_keywords_and_predeclared_names_are_reserved() -> None:
    assert {"func", "map", "type", "range"} <= GO_KEYWORDS
    assert {"nil", "int", "len", "error", "any"} <= GO_PREDECLARED
    assert GO_KEYWORDS | GO_PREDECLARED <= RESERVED
    pkg = go_names(compile_source(CLASHES))
    assert (pkg.member("point", "map"), pkg.member("Point", "int")) == ("PointMap", "Point_Int")


@pytest.mark.slow
@pytest.mark.skipif(GO is None, reason="needs Go")
@pytest.mark.parametrize("spec", ["clashes", "hostile_names"])
def test_a_spec_of_clashing_names_builds(spec: str, tmp_path: Path) -> None:
    protocol = (compile_source(CLASHES) if spec == "clashes"
                else compile_file(ROOT / "tests/specs/hostile_names.proto-dsl"))
    for rel, text in backend.generate(protocol).items():
        (tmp_path / rel).write_text(text, encoding="utf-8")
    gofmt = shutil.which("gofmt") or str(Path(str(GO)).parent / "gofmt")
    listed = subprocess.run([gofmt, "-l", "."], cwd=tmp_path, capture_output=True, text=True,
                            check=False)
    assert listed.returncode == 0 and listed.stdout == "", listed.stdout + listed.stderr
    vet = run_go(["vet", "./..."], tmp_path)
    assert vet.returncode == 0, vet.stdout + vet.stderr
