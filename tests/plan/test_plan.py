"""The lowering decides once what every backend prints: in what order computed
values are evaluated, which sizes can be negative, which lengths need checking,
where a checksum starts, which values choose the variant, when a payload ends
the frame; and it refuses what has no plan."""

from __future__ import annotations

import pytest

from protodsl.diagnostics import SpecError
from protodsl.ir import BitsField
from protodsl.ir import expr as ir
from protodsl.ir.model import BytesChoice
from protodsl.passes.pipeline import compile_file, compile_source
from protodsl.plan import (
    Fixed,
    FramePlan,
    IntRun,
    Measured,
    MustBeMember,
    MustEqual,
    MustMatchChecksum,
    SizedFraming,
    plan_of,
)
from tests.helpers import ROOT, SPECS

SPEC = """protocol p "x-p" {
  enum Kind: u8 {
    a = 1
    b = 2
  }

  frame f when kind in {a, b} {
    kind:  Kind
    bits u8 {
      flag:  1 default 0
      spare: 7 = 0
    }
    total: u16 = head_len + len(body)
    head_len: u8 = len(head)
    delta: i8 = len(odd)
    head:  bytes[head_len]
    odd:   bytes[delta] if flag == 1
    body:  bytes[total - head_len]
    level: Kind if flag == 1
    sum:   u32 = crc32(kind, level)
  }
}
"""


@pytest.fixture(scope="module")
def frame_plan() -> FramePlan:
    return plan_of(compile_source(SPEC, "p.proto-dsl")).frames[0]


def test_computed_values_after_what_they_read(frame_plan: FramePlan) -> None:
    assert [c.node.name for c in frame_plan.encode.computed] == ["head_len", "total", "delta"]


def test_what_decode_reads_and_checks(frame_plan: FramePlan) -> None:
    decode = frame_plan.decode
    assert decode.header_size == 6
    assert [r.name for r in decode.header] == ["kind", "_bits0", "total", "head_len", "delta"]
    kind, bits = decode.header[0], decode.header[1]
    assert [type(c) for c in kind.values[0].checks] == [MustBeMember]
    assert isinstance(bits.element, BitsField)
    assert [(v.name, v.shift, v.mask) for v in bits.values] == [("flag", 7, 1), ("spare", 0, 127)]
    assert bits.values[1].checks == (MustEqual(0, "0"),)
    framing = decode.framing
    assert isinstance(framing, SizedFraming) and framing.prefix == ()
    steps = {s.element.name: s for s in framing.sizes}
    assert not steps["head"].may_be_negative  # one unsigned field
    assert steps["odd"].may_be_negative and steps["odd"].present is not None  # signed
    assert steps["body"].may_be_negative  # a difference
    assert [r.name for r in framing.tail] == ["head", "odd", "body", "level", "sum"]
    assert isinstance(framing.tail[0].size, Measured)
    assert [r.size.may_be_negative for r in framing.tail[:3] if isinstance(r.size, Measured)
            ] == [False, True, True]
    assert framing.tail[-1].values[0].checks == (MustMatchChecksum("crc32", 0),)


def test_what_encode_checks(frame_plan: FramePlan) -> None:
    encode = frame_plan.encode
    # `head: bytes[head_len]` with `head_len = len(head)` is consistent by construction
    assert [c.element.name for c in encode.lengths] == ["body"]
    fits = {f.node.name: f for f in encode.fits}
    assert "sum" not in fits and "spare" not in fits  # a checksum, a constant
    assert fits["level"].enum is not None and fits["level"].present is not None
    assert (fits["delta"].lo, fits["delta"].hi, fits["delta"].what) == (-128, 127, "i8")
    assert (fits["flag"].hi, fits["flag"].what) == (1, "1 bits")
    assert [w.checksum for w in encode.writes][-1] == MustMatchChecksum("crc32", 0)


def test_discriminators_and_roles_of_the_shipped_specs() -> None:
    bolt = plan_of(compile_file(SPECS / "bolt.proto-dsl"))
    assert [(d.value.name, d.offset) for d in bolt.discriminators] == [("type", 1)]
    assert all(f.roles is not None and f.roles.payload_ends_frame for f in bolt.frames)
    assert bolt.request_fields == ("codec", "request_id")
    assert [f.name for f in bolt.request_frames] == ["request"]
    # a u32 length's null marker is past max_frame: the frame size refuses it
    assert not any(w.refuse_null for f in bolt.frames for w in f.encode.writes)
    small = plan_of(compile_source(
        (SPECS / "bolt.proto-dsl").read_text().replace("kvmap(u32, null_drop)",
                                                       "kvmap(u16, null_drop)"), "b.proto-dsl"))
    assert [w.element.name for w in small.frame("request").encode.writes
            if w.refuse_null] == ["headers"]
    v2 = plan_of(compile_file(SPECS / "boltv2.proto-dsl"))
    assert not any(f.roles is not None and f.roles.payload_ends_frame for f in v2.frames)
    dubbo = plan_of(compile_file(SPECS / "dubbo.proto-dsl"))
    (chooser,) = dubbo.discriminators
    assert (chooser.value.name, chooser.offset, chooser.value.shift) == ("is_request", 2, 7)
    memcached = plan_of(compile_file(SPECS / "memcached.proto-dsl"))
    assert memcached.frames[0].decode.header[0].values[0].checks == (MustEqual(0x80, "0x80"),)
    assert isinstance(memcached.frames[0].decode.framing, SizedFraming)
    assert all(isinstance(r.size, Fixed | Measured) for r in memcached.frames[0].decode
               .framing.tail)


def test_records_carry_their_checks() -> None:
    source = """protocol p "x-p" {
  record Tag {
    marker: u8 = 0x7E
    key:    u16
  }
  frame f when kind == 1 {
    kind: u8 = 1
    n:    u16 = len(tags)
    tags: list(Tag)[n]
  }
}
"""
    (tag,) = plan_of(compile_source(source, "p.proto-dsl")).records
    assert [(v.name, v.checks) for v in tag.values] == [
        ("marker", (MustEqual(0x7E, "0x7E"),)), ("key", ())]


def test_records_carry_how_an_entry_is_read_and_written() -> None:
    """Integers back to back are one step (their constants checked once the
    entry holds all of them); encode fits every value not constant and every
    member's length; an open enum is a plain integer in a record."""
    source = """protocol p "x-p" {
  enum E: u8 open {
    a = 1
  }
  record Tag {
    version: u8 = 1
    n:       u16 = len(name)
    name:    text[n]
    kind:    E
    flags:   u8
    data_n:  u8 = len(data)
    data:    bytes[data_n]
  }
  frame f when t == 1 {
    t:    u8 = 1
    size: u16 = len(tags)
    tags: list(Tag)[size]
  }
}
"""
    (tag,) = plan_of(compile_source(source, "p.proto-dsl")).records
    runs = [[e.name for e in s.elements] if isinstance(s, IntRun) else s.name
            for s in tag.steps]
    assert runs == [["version", "n"], "name", ["kind", "flags", "data_n"], "data"]
    assert [s.width for s in tag.steps if isinstance(s, IntRun)] == [3, 3]
    assert [(v.name, v.checks) for v in tag.values if v.checks] == [
        ("version", (MustEqual(1, "1"),))]
    assert [(f.node.name, f.what, f.enum) for f in tag.fits] == [
        ("n", "u16", None), ("kind", "u8", None), ("flags", "u8", None), ("data_n", "u8", None)]
    assert [c.element.name for c in tag.lengths] == ["name", "data"]
    assert [c.node.name for c in tag.computed] == ["n", "data_n"]


def test_a_value_that_reads_itself_has_no_plan() -> None:
    source = SPEC.replace("head_len: u8 = len(head)", "head_len: u8 = head_len + 1")
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    assert "computed value 'head_len' reads itself" in str(caught.value)


def test_what_builders_copy_of_the_request() -> None:
    """The request's bytes and text fields builders copy (a plugin keeps them
    between a heartbeat's decode and its reply), and the literals a match chooses."""
    plan = plan_of(compile_file(ROOT / "tests" / "language" / "specs"
                                / "builder_copies.proto-dsl"))
    assert plan.request_bytes == ("token", "tran_code")
    assert plan.request_fields == ("seq",)
    hijack = plan.builder("hijack")
    assert hijack is not None
    sized = dict(hijack.builder.sized)
    assert [name for name, _ in hijack.builder.sized] == ["tran_code", "msg", "token", "marker"]
    assert sized["tran_code"] == ir.ParamField("req", "tran_code", sized["tran_code"].span)
    msg = sized["msg"]
    assert isinstance(msg, BytesChoice)
    assert (msg.cases, msg.default) == (((404, b"E404"), (503, b"E503"), (200, b"")), b"E500")
    bolt = plan_of(compile_file(SPECS / "bolt.proto-dsl"))
    assert bolt.request_bytes == ()
