"""`^`, `<<`, `>>`, `%` and `/` in computed fields and conditions: precedence as
in C and Python, truncating division, and the same values from the Python
codec, the construct reference and the Wasm plugin (which recomputes every
computed field when MOSN asks it to encode)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.host import MosnHost, streams
from protodsl.ir import Binary, Protocol
from protodsl.ir.expr import spelled

SPEC = Path(__file__).parent / "specs" / "operators.proto-dsl"


def _expected(a: int, b: int) -> dict[str, int]:
    """What the spec's expressions mean, written out with C's operators."""
    q = abs(b - 100) // 7 * (1 if b >= 100 else -1)
    return {
        "mixed": ((a << 3) ^ (b % 7)) | ((a >> 2) & 0xFF),
        "parity": (a ^ b ^ 0x5A) & 0xFF,
        "quot": q,
        "rem": (b - 100) - 7 * q,
    }


def test_precedence_of_xor_between_or_and_and(protocol: Protocol) -> None:
    mixed = protocol.frames[0].value("mixed")
    assert mixed is not None and isinstance(mixed.value, Binary)
    assert mixed.value.op == "|"
    assert isinstance(mixed.value.left, Binary) and mixed.value.left.op == "^"
    assert spelled(mixed.value) == "a << 3 ^ b % 7 | a >> 2 & 0xFF"


CASES = [(0, 0), (1, 1), (0x1234, 0x56), (0xFFFF, 0xFF), (0x8000, 3), (7, 99), (9, 100)]


@pytest.mark.parametrize(("a", "b"), CASES)
def test_every_engine_computes_the_same_values(
    a: int, b: int, codec: ModuleType, wasm: Path
) -> None:
    tail = b"t" if (b ^ 1) == 0 or a >> 15 == 1 else b""
    data = codec.encode(codec.Call(id=5, a=a, b=b, tail=tail))
    frame = codec.decode(data).frame
    values = codec.field_values(frame)
    assert {k: values[k] for k in _expected(a, b)} == _expected(a, b)
    assert codec.reference_encode(frame) == data
    # The plugin recomputes the computed fields of a frame that carries zeros there.
    zeroed = codec.encode(frame)[:8] + bytes(4 + 1 + 2 + 2) + data[17:]
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(zeroed)
    result = streams.send(host, decoded, decoded.command.id)
    assert result.status == 0 and result.frame is not None, host.logs[-1:]
    assert result.frame.frame == data

