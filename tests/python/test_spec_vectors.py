"""Real bytes produced by someone else, for every spec that has them: each frame
decodes to the listed fields through both readings and re-encodes byte for byte."""

from __future__ import annotations

from typing import Any

import pytest

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS, load_vectors

CASES = [
    pytest.param(spec, vector, id=f"{spec}: {vector['name']}")
    for spec, file in (("memcached", "memcached.json"),)
    for vector in load_vectors(file)["frames"]
]


@pytest.mark.parametrize(("spec", "vector"), CASES)
def test_vector(spec: str, vector: dict[str, Any]) -> None:
    protocol = compile_file(SPECS / f"{spec}.proto-dsl")
    codec = load_python(protocol)
    data = bytes.fromhex(vector["hex"])
    expect = vector["expect"]
    for decode, encode in ((codec.decode, codec.encode),
                           (codec.reference_decode, codec.reference_encode)):
        result = decode(data)
        assert result.consumed == len(data)
        frame = result.frame
        assert protocol.frames[codec.FRAMES.index(type(frame))].name == expect["frame"]
        assert codec.kind(frame) == expect["kind"]
        assert codec.command_id(frame) == expect["id"]
        values = codec.field_values(frame)
        for name, want in expect["fields"].items():
            if name.endswith("_hex"):
                assert values[name[:-4]].hex() == want, name
            else:
                assert values[name] == want, name
        assert encode(frame) == data
