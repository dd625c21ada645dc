"""Go names of spec names: a frame's members that share a CamelCase are told
apart in declaration order, the later ones suffixed with `_`."""

from __future__ import annotations

from pathlib import Path

from protodsl.codegen.mosn_go.naming import claimed, members

from protodsl.passes.pipeline import compile_file

ROOT = Path(__file__).resolve().parents[2]


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
