"""Fixed-width padded fields: padded on encode, the padding stripped on decode,
in the Python codec's two engines and the plugin alike; a value too long for
the width, or one ending with the pad byte (it would read back shorter), is an
EncodeError."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.passes.pipeline import compile_source

SPEC = Path(__file__).parent / "specs" / "padded.proto-dsl"


def test_padded_on_write_trimmed_on_read(codec: ModuleType, wasm: Path) -> None:
    call = codec.Call(id=1, service="pay.Order", method="get", token=b"ab", body=b"")
    data = codec.encode(call)
    assert data[5:21] == b"pay.Order" + bytes(7)
    assert data[21:29] == b"get     " and data[29:33] == b"ab  "
    assert codec.reference_encode(call) == data
    for decode in (codec.decode, codec.reference_decode):
        assert decode(data).frame == call
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(data)
    result = streams.send(host, decoded, 1)
    assert result.status == 0 and result.frame is not None
    assert result.frame.frame == data


@pytest.mark.parametrize(("fields", "message"), [
    ({"method": "too-long!"}, "method: 9 bytes do not fit its width 8"),
    ({"service": "x" * 17}, "service: 17 bytes do not fit its width 16"),
    ({"method": "get "}, "method: ends with its pad byte 0x20, so it would read back shorter"),
    ({"service": "a\0"}, "service: ends with its pad byte 0x00, so it would read back "
                         "shorter"),
    ({"token": b"a "}, "token: ends with its pad byte 0x20, so it would read back shorter"),
])
def test_what_does_not_fit_is_refused(
    codec: ModuleType, fields: dict[str, object], message: str
) -> None:
    call = codec.Call(id=1, **{"service": "s", "method": "m", "token": b"t", "body": b"",
                                **fields})
    for encode in (codec.encode, codec.reference_encode):
        with pytest.raises(codec.EncodeError) as caught:
            encode(call)
        assert str(caught.value) == message


@pytest.mark.parametrize(("literal", "message"), [
    ('"E4 "', "'msg' is padded with 0x20; a literal ending with it would read back shorter"),
    ('"E4040"', "'msg' is 4 bytes wide; this literal is 5"),
])
def test_a_builder_literal_fits_its_padding(literal: str, message: str) -> None:
    source = f"""protocol p "x-p" {{
  frame call when kind == 1 {{
    kind: u8
    id:   u32
    roles {{ kind = request  id = id }}
  }}
  frame answer when kind == 2 {{
    kind: u8
    id:   u32
    msg:  text(pad=0x20)[4]
    roles {{ kind = response  id = id }}
  }}
  hijack answer(req, code) {{
    id  = req.id
    msg = {literal}
  }}
}}
"""
    with pytest.raises(SpecError) as caught:
        compile_source(source, "p.proto-dsl")
    assert message in str(caught.value)


def test_header_text_is_checked_once_the_header_is_there(codec: ModuleType, wasm: Path) -> None:
    """A short header with bad text needs more in every engine; whole, it is malformed."""
    call = codec.Call(id=1, service="s", method="m", token=b"t", body=b"")
    data = bytearray(codec.encode(call))
    data[5] = 0xFF  # the service's first byte: not UTF-8
    short = bytes(data[:30])
    assert isinstance(codec.decode(short), codec.NeedMore)
    assert isinstance(codec.reference_decode(short), codec.NeedMore)
    assert streams.decode_one(MosnHost.from_file(wasm), short)[0] == 99
    for decode in (codec.decode, codec.reference_decode):
        with pytest.raises(codec.InvalidText):
            decode(bytes(data))
