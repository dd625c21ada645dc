"""Headers that are a list of records (`headers = tags(key, value)`): the Python
codec (both engines) and the plugin report the entries' keys and values as
MOSN's headers in wire order, merge MOSN's edits back into the entries alike
(changed in place, dropped, appended), and refuse what entries cannot hold with
the same words."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from protodsl.host import MosnHost, streams

SPEC = Path(__file__).parent / "specs" / "header_records.proto-dsl"


def _call(codec: ModuleType) -> object:
    return codec.Call(id=3, body=b"!", tags=[
        codec.Tag(key="svc", value=b"pay"), codec.Tag(key="zone", flags=5, value=b"a"),
        codec.Tag(key="svc", value=b"x")])


def _tag(key: bytes, flags: int, value: bytes) -> bytes:
    return bytes([len(key)]) + key + bytes([1, flags]) + len(value).to_bytes(2, "big") + value


def test_every_engine_reports_the_entries_as_headers(codec: ModuleType, wasm: Path) -> None:
    data = codec.encode(_call(codec))
    tags = _tag(b"svc", 0, b"pay") + _tag(b"zone", 5, b"a") + _tag(b"svc", 0, b"x")
    assert data == b"\x01\x00\x00\x00\x03\x03" + len(tags).to_bytes(2, "big") + (
        b"\x00\x00\x00\x01" + tags + b"!")
    want = [(b"svc", b"pay"), (b"zone", b"a"), (b"svc", b"x")]
    for decode in (codec.decode, codec.reference_decode):
        assert codec.headers(decode(data).frame) == want
    (decoded,) = streams.Connection(MosnHost.from_file(wasm)).feed(data)
    assert decoded.command.headers == want


@pytest.mark.parametrize(("edited", "tags"), [
    # unchanged
    ([(b"svc", b"pay"), (b"zone", b"a"), (b"svc", b"x")],
     [(b"svc", 0, b"pay"), (b"zone", 5, b"a"), (b"svc", 0, b"x")]),
    # a value changed in place; the other members of its entry stay
    ([(b"zone", b"bb"), (b"svc", b"pay"), (b"svc", b"x")],
     [(b"svc", 0, b"pay"), (b"zone", 5, b"bb"), (b"svc", 0, b"x")]),
    # the second svc removed; a key added, appended with its constant and 0 flags
    ([(b"svc", b"pay"), (b"region", b"eu"), (b"zone", b"a")],
     [(b"svc", 0, b"pay"), (b"zone", 5, b"a"), (b"region", 0, b"eu")]),
    # svc three times: the two entries take the first two values, the third is new
    ([(b"svc", b"1"), (b"svc", b"2"), (b"svc", b"3")],
     [(b"svc", 0, b"1"), (b"svc", 0, b"2"), (b"svc", 0, b"3")]),
    # everything removed
    ([], []),
])
def test_edits_merge_alike(codec: ModuleType, wasm: Path, edited: list[tuple[bytes, bytes]],
                           tags: list[tuple[bytes, int, bytes]]) -> None:
    data = codec.encode(_call(codec))
    body = b"".join(_tag(*t) for t in tags)
    want = (b"\x01\x00\x00\x00\x03" + bytes([len(tags)]) + len(body).to_bytes(2, "big")
            + b"\x00\x00\x00\x01" + body + b"!")
    changed = codec.with_roles(codec.decode(data).frame, headers=edited)
    assert codec.encode(changed) == codec.reference_encode(changed) == want
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(data)
    result = streams.send(host, decoded, 3, headers=edited)
    assert result.frame is not None and result.frame.frame == want, host.logs[-1:]


def test_a_retry_merges_into_the_entries_decoded(codec: ModuleType, wasm: Path) -> None:
    """A request stays for MOSN's retry: its second encode starts again from the
    entries decoded, not from the first encode's merge."""
    data = codec.encode(_call(codec))
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(data)
    frame = codec.decode(data).frame
    first = streams.send(host, decoded, 1, headers=[(b"zone", b"z")])
    assert first.frame is not None
    assert first.frame.frame == codec.encode(codec.with_roles(frame, id=1, headers=[
        (b"zone", b"z")]))
    retry = streams.resend(host, decoded, previous_id=1, new_id=5)
    assert retry.frame is not None
    assert retry.frame.frame == codec.encode(codec.with_roles(frame, id=5))


@pytest.mark.parametrize(("edited", "message"), [
    ([(b"k" * 256, b"v")], "call.tags: key_len does not fit u8: 256"),
    ([(b"svc", b"v" * 65536)], "call.tags: value_len does not fit u16: 65536"),
    ([(b"ok", b""), (b"\xe2\x82", b"v")], "call.tags: key is not UTF-8 at byte 0"),
])
def test_headers_entries_cannot_hold_are_refused_alike(
        codec: ModuleType, wasm: Path, edited: list[tuple[bytes, bytes]], message: str) -> None:
    data = codec.encode(_call(codec))
    with pytest.raises(codec.EncodeError) as refused:
        codec.with_roles(codec.decode(data).frame, headers=edited)
    assert str(refused.value) == message
    host = MosnHost.from_file(wasm)
    (decoded,) = streams.Connection(host).feed(data)
    result = streams.send(host, decoded, 3, headers=edited)
    assert result.status == 10
    assert host.logs[-1].message == f"header_records: encode: {message}"


def test_a_list_past_its_section_reads_alike(codec: ModuleType, wasm: Path) -> None:
    data = bytearray(codec.encode(_call(codec)))
    data[12] = 0x30  # the first key's length: past the tags' section
    message = "call.tags at offset 12: a Tag entry runs past its section"
    for decode in (codec.decode, codec.reference_decode):
        with pytest.raises(codec.ProtocolError) as refused:
            decode(bytes(data))
        assert str(refused.value) == message
    host = MosnHost.from_file(wasm)
    assert host.decode(host.new_context(), bytes(data)).status == 10
    assert host.logs[-1].message == f"header_records: {message}"
