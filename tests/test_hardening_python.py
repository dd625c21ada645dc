"""Hardening of the generated Python decoders (issue 6): any bytes give a frame,
NeedMore or a ProtocolError, nothing else; and a length field that claims a
huge size makes no allocation of that size: with a short buffer the answer is
NeedMore (or ProtocolError past max_frame), quickly and in little memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protodsl.codecs import load_python
from protodsl.ir import Protocol
from protodsl.ir.model import IntField, VarintField
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst
from protodsl.testing.scenarios import scenarios
from tests.helpers import ROOT, SPECS

SPEC_FILES = sorted(SPECS.glob("*.proto-dsl")) + sorted(
    (ROOT / "tests").glob("*/specs/*.proto-dsl"))
# Each spec in each connection state worth trying (one for a stateless spec).
CASES = [(p, i, s.label) for p in SPEC_FILES for i, s in enumerate(scenarios(compile_file(p)))]
IDS = [f"{p.parent.parent.name}/{p.stem}" + (f" [{label}]" if i else "")
       for p, i, label in CASES]
CASE_PARAMS = [(p, i) for p, i, _ in CASES]
# Peak Python allocation allowed for decoding a header that claims a huge frame.
SMALL = 256 * 1024

_LOADED: dict[tuple[Path, int], tuple[Protocol, ModuleType]] = {}


def loaded(path: Path, scenario: int = 0) -> tuple[Protocol, ModuleType]:
    """The spec and its codec bound to a connection state (0: a new connection's;
    a stateful spec's strategies read the state its codec is bound to)."""
    if (path, scenario) not in _LOADED:
        protocol = compile_file(path)
        _LOADED[path, scenario] = (
            protocol, scenarios(protocol)[scenario].bind(load_python(protocol)))
    return _LOADED[path, scenario]


def outcome(codec: ModuleType, decode: Any, data: bytes) -> str:
    """'frame', 'need_more' or 'malformed'; any other exception propagates."""
    try:
        result = decode(data)
    except codec.ProtocolError:
        return "malformed"
    if isinstance(result, codec.NeedMore):
        return "need_more"
    assert isinstance(result, codec.Decoded)
    assert 0 < result.consumed <= min(len(data), codec.MAX_FRAME)
    return "frame"


@pytest.mark.parametrize(("path", "scenario"), CASE_PARAMS, ids=IDS)
def test_any_bytes_raise_only_protocol_error(path: Path, scenario: int) -> None:
    protocol, codec = loaded(path, scenario)

    @settings(suppress_health_check=list(HealthCheck), deadline=None)
    @given(st.one_of(pst.hostile_bytes(protocol, codec), st.binary(max_size=64)))
    def check(data: bytes) -> None:
        fast = outcome(codec, codec.decode, data)
        assert outcome(codec, codec.reference_decode, data) == fast
        try:
            frames, rest = codec.decode_all(data)
        except codec.ProtocolError:
            return
        assert len(rest) <= len(data)
        for frame in frames:
            codec.encode(frame)  # what decoded encodes (or raises EncodeError, a ProtocolError)

    check()


def _claims(protocol: Protocol, codec: ModuleType, count: int) -> list[tuple[str, bytes]]:
    """Headers of valid frames with one integer or varint field set to a huge size,
    cut short."""
    wires: list[bytes] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(pst.encodings(protocol, codec))
    def collect(wire: bytes) -> None:
        wires.append(wire)

    collect()
    fields = sorted({
        (v.name, v.offset, v.type.width, v.type.byte_order)
        for f in protocol.frames for v in f.values()
        if isinstance(v, IntField) and v.offset is not None and not v.constant
    }, key=lambda t: (t[1] or 0, t[0]))
    huge = (protocol.max_frame - 1, protocol.max_frame, protocol.max_frame + 1,
            0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
    varints = sorted({(v.name, v.offset, v.max_bytes) for f in protocol.frames
                      for v in f.values() if isinstance(v, VarintField) and v.offset is not None},
                     key=lambda t: (t[1] or 0, t[0]))
    out = []
    for wire in wires:
        for name, offset, most in varints:
            assert offset is not None
            size = next((i + 1 for i in range(offset, len(wire)) if wire[i] < 0x80), None)
            if size is None:
                continue
            for value in (protocol.max_frame - 1, protocol.max_frame, (1 << 7 * most) - 1):
                data = wire[:offset] + _leb128(value) + wire[size:]
                for cut in (size + 4, len(data)):
                    out.append((f"{name}={value:#x} cut {cut}", data[:cut]))
            overlong = wire[:offset] + b"\xff" * most + b"\x01" + wire[size:]
            out.append((f"{name} overlong", overlong))
        end = max((o + w for _, o, w, _ in fields if o is not None and o + w <= len(wire)),
                  default=0)
        for name, offset, width, order in fields:
            assert offset is not None
            if offset + width > len(wire):
                continue
            for value in huge:
                raw = (value % (1 << 8 * width)).to_bytes(width, order)
                data = wire[:offset] + raw + wire[offset + width:]
                for cut in (end, end + 3, len(data)):
                    out.append((f"{name}={value:#x} cut {cut}", data[:cut]))
    return out


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@pytest.mark.parametrize(("path", "scenario"), CASE_PARAMS, ids=IDS)
def test_huge_length_claims_allocate_nothing(path: Path, scenario: int) -> None:
    protocol, codec = loaded(path, scenario)
    claims = _claims(protocol, codec, 8)
    assert claims
    for what, data in claims:
        for decode in (codec.decode, codec.reference_decode, codec.decode_all):
            tracemalloc.start()
            try:
                result = decode(data)
            except codec.ProtocolError:
                result = None
            finally:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
            assert peak < SMALL, f"{what}: {decode.__name__} allocated {peak} bytes"
            if isinstance(result, codec.Decoded):
                assert result.consumed <= len(data)


def test_tinygo_trap_inputs_are_protocol_errors() -> None:
    """The two inputs that trap MOSN's TinyGo bolt plugin."""
    _, codec = loaded(SPECS / "bolt.proto-dsl")
    key_past_section = bytes.fromhex("0101000101000000010100000bb80000000800000000ffffff0061626364")
    content_ffffffff = bytes.fromhex("010100010100000001010000000000000000ffffffff")
    for data in (key_past_section, content_ffffffff):
        for decode in (codec.decode, codec.reference_decode):
            with pytest.raises(codec.ProtocolError):
                decode(data)
