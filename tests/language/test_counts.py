"""`count(list)`: the number of records, written on encode, checked on decode
(`CountMismatch`, the same in the straight path and the construct reference),
and a clear error where it does not count a list."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.diagnostics import SpecError
from protodsl.passes.pipeline import compile_source

SPEC = Path(__file__).parent / "specs" / "counts.proto-dsl"


def _frame(codec: ModuleType) -> object:
    return codec.Call(id=7, tags=[codec.Tag(key="k", value=b"vv"), codec.Tag(key="", value=b"")],
                      pairs=[codec.Pair(a=1, b=2)])


def test_counts_are_written(codec: ModuleType) -> None:
    data = codec.encode(_frame(codec))
    # kind, id, tag_count, tags_len, both, pairs_len
    assert data[:11] == bytes.fromhex("01 00000007 02 000b 0003 04")
    assert codec.reference_encode(_frame(codec)) == data
    assert codec.decode(data).frame == _frame(codec)


@pytest.mark.parametrize(("at", "value", "field", "message"), [
    (5, b"\x03", "tag_count", "call.tag_count at offset 5: counts 3 records, but 2 were read"),
    (8, b"\x00\x02", "both", "call.both at offset 8: counts 2 records, but 3 were read"),
])
def test_a_count_that_disagrees_is_malformed(
    codec: ModuleType, at: int, value: bytes, field: str, message: str
) -> None:
    data = bytearray(codec.encode(_frame(codec)))
    data[at:at + len(value)] = value
    for decode in (codec.decode, codec.reference_decode):
        with pytest.raises(codec.CountMismatch) as caught:
            decode(bytes(data))
        assert caught.value.field == field
        assert str(caught.value) == message


@pytest.mark.parametrize(("expr", "message"), [
    ("count(id)", "count() counts the records of a list; 'id' is not a list"),
    ("count(body)", "count() counts the records of a list; 'body' is not a list"),
    ("count(tgs)", "unknown field 'tgs'"),
    ("count(1)", "count() takes the name of one list field"),
])
def test_count_of_what_is_not_a_list(expr: str, message: str) -> None:
    source = f"""protocol p "x-p" {{
  record Tag {{
    a: u8
  }}
  frame f when kind == 1 {{
    kind: u8
    id:   u32
    n:    u8 = {expr}
    blen: u8 = len(body)
    tlen: u8 = len(tags)
    body: bytes[blen]
    tags: list(Tag)[tlen]
  }}
}}
"""
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    assert message in str(caught.value)
