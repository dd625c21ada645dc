"""Derived headers (`headers = tags(key, value) + { service = a + ":" + b, method = m }`):
every engine reports them after the stored headers; MOSN's edit of one that is a
single field goes back into it alike, an edit of any other is ignored alike, and
a value the field cannot hold is refused alike."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.passes.pipeline import compile_source

SPEC = Path(__file__).parent / "specs" / "derived_headers.proto-dsl"


def _call(codec: ModuleType) -> object:
    return codec.Call(id=3, service_name="com.pay.Order", version="1.0", method="pay",
                      body=b"!", tags=[codec.Tag(key="svc", value=b"x")])


def _both(codec: ModuleType, wasm: Path, edited: list[tuple[bytes, bytes]]
          ) -> tuple[bytes | None, bytes | None, MosnHost]:
    """The call encoded with MOSN's `edited` headers by the Python codec (both
    engines agreeing) and by the plugin; None where refused."""
    data = codec.encode(_call(codec))
    try:
        changed = codec.with_roles(codec.decode(data).frame, headers=edited)
        python: bytes | None = codec.encode(changed)
        assert python == codec.reference_encode(changed)
    except codec.EncodeError:
        python = None
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(data)
    result = streams.send(host, decoded, 3, headers=edited)
    wasm_out = result.frame.frame if result.status == 0 and result.frame is not None else None
    assert result.status in (0, 10)
    return python, wasm_out, host


def test_every_engine_reports_the_derived_headers(codec: ModuleType, wasm: Path) -> None:
    data = codec.encode(_call(codec))
    want = [(b"svc", b"x"), (b"service", b"com.pay.Order:1.0"), (b"method", b"pay")]
    for decode in (codec.decode, codec.reference_decode):
        assert codec.headers(decode(data).frame) == want
    (decoded,) = streams.Connection(MosnHost.from_file(wasm)).feed(data)
    assert decoded.command.headers == want
    answer = codec.encode(codec.Answer(id=3, code=0, zone=b"eu-1"))
    assert codec.headers(codec.decode(answer).frame) == [(b"zone", b"eu-1"),
                                                         (b"origin", b"derived")]
    (decoded,) = streams.Connection(MosnHost.from_file(wasm)).feed(answer)
    assert decoded.command.headers == [(b"zone", b"eu-1"), (b"origin", b"derived")]


def test_a_writable_edit_goes_into_its_field_alike(codec: ModuleType, wasm: Path) -> None:
    python, plugin, _ = _both(codec, wasm, [(b"svc", b"x"), (b"method", b"refund")])
    assert python == plugin == codec.encode(codec.Call(
        id=3, service_name="com.pay.Order", version="1.0", method="refund", body=b"!",
        tags=[codec.Tag(key="svc", value=b"x")]))


@pytest.mark.parametrize("edited", [
    [(b"svc", b"x"), (b"service", b"other:2.0"), (b"method", b"pay")],  # read-only: ignored
    [(b"svc", b"x"), (b"service", b"com.pay.Order:1.0")],  # method deleted: the field stays
])
def test_read_only_edits_and_deletions_leave_the_fields_alike(
        codec: ModuleType, wasm: Path, edited: list[tuple[bytes, bytes]]) -> None:
    python, plugin, _ = _both(codec, wasm, edited)
    assert python == plugin == codec.encode(_call(codec))


def test_derived_keys_stay_out_of_the_stored_headers(codec: ModuleType, wasm: Path) -> None:
    """MOSN's last pair with a derived key is the derived header; an earlier one
    is a stored header like any other."""
    edited = [(b"method", b"a"), (b"svc", b"x"), (b"method", b"b")]
    python, plugin, _ = _both(codec, wasm, edited)
    assert python == plugin == codec.encode(codec.Call(
        id=3, service_name="com.pay.Order", version="1.0", method="b", body=b"!",
        tags=[codec.Tag(key="svc", value=b"x"), codec.Tag(key="method", value=b"a")]))


@pytest.mark.parametrize("value", [b"m" * 17, b"pay ", b"\xff"])
def test_a_value_the_field_cannot_hold_is_refused_alike(codec: ModuleType, wasm: Path,
                                                        value: bytes) -> None:
    python, plugin, host = _both(codec, wasm, [(b"method", value)])
    assert python is None and plugin is None
    assert "call.method" in host.logs[-1].message


def test_not_utf8_is_refused_in_the_same_words(codec: ModuleType, wasm: Path) -> None:
    data = codec.encode(_call(codec))
    with pytest.raises(codec.EncodeError) as refused:
        codec.with_roles(codec.decode(data).frame, headers=[(b"method", b"a\xff")])
    assert str(refused.value) == "call.method: not UTF-8 at byte 1"
    _, _, host = _both(codec, wasm, [(b"method", b"a\xff")])
    assert host.logs[-1].message == "derived_headers: encode: call.method: not UTF-8 at byte 1"


_MISUSE = """protocol mini "mini" {{
  frame call when kind == 1 {{
    kind: u8
    id:   u32
    name: text(pad=0x20)[8]
    roles {{ kind = request  id = id  headers = {{ {entries} }} }}
  }}
}}
"""


@pytest.mark.parametrize(("entries", "where", "message"), [
    ("svc = nmae", "6:56", "unknown field 'nmae'"),
    ("svc = name + id", "6:63", "header entry 'svc' reads 'id', an integer; an entry joins "
     "string literals and text or bytes fields"),
    ("svc = name, svc = \"x\"", "6:62", "header entry 'svc' given twice"),
    ("svc = trim(name)", "6:56", "a header entry calls no functions; 'trim' is not one"),
])
def test_misuse_is_a_spec_error(entries: str, where: str, message: str) -> None:
    with pytest.raises(SpecError) as refused:
        compile_source(_MISUSE.format(entries=entries), "mini.proto-dsl")
    first = refused.value.diagnostics[0]
    assert f"{first.span.line}:{first.span.col}" == where
    assert first.span.file == "mini.proto-dsl"
    assert first.message == message
