"""What a record cannot hold yet is a spec error naming it, never a generator
crash or a value nobody checks."""

from __future__ import annotations

import pytest

from protodsl.diagnostics import SpecError
from protodsl.passes.pipeline import compile_source


@pytest.mark.parametrize(("members", "message"), [
    ("bits u8 { a: 1  b: 7 }\n key: u16",
     "record 'R' holds integers, text and bytes; bits are not supported in a record yet"),
    ("key: u24", "record 'R' holds integers of 1, 2, 4 or 8 bytes; 'key' is 24 bits"),
    ("key: u16le", "the integers of record 'R' are in the protocol's byte order (big); 'key' "
                   "is not"),
])
def test_what_a_record_cannot_hold(members: str, message: str) -> None:
    source = f"""protocol p "x-p" {{
  enum Level: u8 {{
    low  = 1
    high = 2
  }}
  record R {{
    {members}
  }}
  frame f when kind == 1 {{
    kind:  u8
    n:     u8 = len(items)
    items: list(R)[n]
  }}
}}
"""
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    assert message in str(caught.value)


def test_an_open_enum_and_little_endian_lengths_are_fine() -> None:
    compile_source("""protocol p "x-p" {
  enum Level: u8 open {
    low = 1
  }
  record R {
    lvl:  Level
    n:    u16le = len(name)
    name: text[n]
  }
  frame f when kind == 1 {
    kind:  u8
    n:     u8 = len(items)
    items: list(R)[n]
  }
}
""", "p.proto-dsl")
