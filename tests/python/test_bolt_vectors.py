"""The generated bolt codec against the golden frames: both readings (straight
path and construct reference) decode, re-encode and reject alike."""

from __future__ import annotations

import hashlib
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import load_vectors

V1 = load_vectors("bolt-v1.json")
UPSTREAM = load_vectors("bolt-upstream.json")
POSITIVE = [pytest.param(bytes.fromhex(f["hex"]), f["expect"], id=f["name"]) for f in V1["frames"]]
BAD = [pytest.param(bytes.fromhex(f["hex"]), f["expect"]["result"], id=f["name"])
       for f in V1["malformed_or_partial"]]


def _readings(codec: ModuleType) -> list[tuple[Any, Any]]:
    return [(codec.decode, codec.encode), (codec.reference_decode, codec.reference_encode)]


def _check_fields(codec: ModuleType, frame: Any, expect: dict[str, Any]) -> None:
    assert codec.kind(frame) == expect["kind"]
    assert codec.command_id(frame) == expect["request_id"]
    assert codec.is_heartbeat(frame) is expect["heartbeat"]
    fields = codec.field_values(frame)
    assert fields["cmd_code"] == expect["cmd_code"]
    assert fields["codec"] == expect["codec"]
    assert fields["version"] == expect.get("version", expect.get("ver2"))
    assert fields["class"] == expect["class"].encode()
    assert codec.headers(frame) == [(k.encode(), v.encode()) for k, v in expect["headers"]]
    if "timeout" in expect:
        assert codec.timeout(frame) == expect["timeout"] and codec.status(frame) is None
    if "status" in expect:
        assert codec.status(frame) == expect["status"] and codec.timeout(frame) is None


@pytest.mark.parametrize(("data", "expect"), POSITIVE)
def test_vector_decodes_and_reencodes(
    bolt: ModuleType, data: bytes, expect: dict[str, Any]
) -> None:
    for decode, encode in _readings(bolt):
        result = decode(data)
        assert isinstance(result, bolt.Decoded)
        assert result.consumed == len(data) == expect["mosn"]["drain_len"]
        _check_fields(bolt, result.frame, expect)
        assert bolt.payload(result.frame).hex() == expect["content_hex"]
        assert encode(result.frame) == data


@pytest.mark.parametrize(("data", "expect"), POSITIVE)
def test_every_strict_prefix_needs_more(bolt: ModuleType, data: bytes, expect: Any) -> None:
    step = max(1, len(data) // 300)  # the 16 KiB frame: every header prefix, then sampled
    cuts = sorted(set(range(min(len(data), 64))) | set(range(0, len(data), step)))
    for decode, _ in _readings(bolt):
        for cut in cuts:
            result = decode(data[:cut])
            assert isinstance(result, bolt.NeedMore), (cut, result)
            assert result.have == cut


def test_concatenated_frames_decode_one_by_one(bolt: ModuleType) -> None:
    frames = [bytes.fromhex(f["hex"]) for f in V1["frames"]]
    stream = b"".join(frames) + frames[0][:7]
    decoded, rest = bolt.decode_all(stream)
    assert [bolt.encode(f) for f in decoded] == frames
    assert rest == frames[0][:7]
    offset = 0
    for frame in frames:
        result = bolt.reference_decode(stream[offset:])
        assert result.consumed == len(frame)
        offset += result.consumed


@pytest.mark.parametrize(("data", "result"), BAD)
def test_malformed_and_partial_vectors(bolt: ModuleType, data: bytes, result: str) -> None:
    for decode, _ in _readings(bolt):
        if result == "need_more":
            assert isinstance(decode(data), bolt.NeedMore)
        else:
            with pytest.raises(bolt.ProtocolError) as info:
                decode(data)
            assert info.value.field and isinstance(info.value.offset, int)


def test_malformed_errors_name_field_and_offset(bolt: ModuleType) -> None:
    bad = {f["name"]: bytes.fromhex(f["hex"]) for f in V1["malformed_or_partial"]}
    with pytest.raises(bolt.UnknownVariant, match="type=7") as variant:
        bolt.decode(bad["unknown_cmd_type"])
    assert (variant.value.field, variant.value.offset) == ("type", 1)
    with pytest.raises(bolt.MalformedSection) as section:
        bolt.decode(bad["header_key_length_past_section"])
    assert (section.value.field, section.value.offset) == ("headers", 22)
    # content_len is Java's int: 0xffffffff is -1, not a size
    with pytest.raises(bolt.NegativeSize, match="negative size -1") as negative:
        bolt.decode(bad["content_length_over_max_frame"])
    assert (negative.value.field, negative.value.offset) == ("content", 22)
    largest = bad["content_length_over_max_frame"][:18] + b"\x7f\xff\xff\xff"
    with pytest.raises(bolt.FrameTooLarge, match="2147483669 bytes"):
        bolt.decode(largest)


UPSTREAM_V1 = [pytest.param(f, id=f["name"]) for f in UPSTREAM["frames"] if f["version"] == 1]
UPSTREAM_V2 = [pytest.param(f, id=f["name"]) for f in UPSTREAM["frames"] if f["version"] == 2]


@pytest.mark.parametrize("vector", UPSTREAM_V1)
def test_upstream_v1_frames(bolt: ModuleType, vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    expect = vector["decoded"]
    for decode, encode in _readings(bolt):
        result = decode(data)
        assert result.consumed == len(data)
        frame = result.frame
        _check_fields(bolt, frame, expect | {"heartbeat": False})
        content = bolt.payload(frame)
        assert len(content) == expect["content_len"]
        assert hashlib.sha256(content).hexdigest() == expect["content_sha256"]
        assert encode(frame) == data


@pytest.mark.parametrize("vector", UPSTREAM_V2)
def test_upstream_v2_frames_are_not_v1(bolt: ModuleType, vector: dict[str, Any]) -> None:
    for decode, _ in _readings(bolt):
        with pytest.raises(bolt.ProtocolError):
            decode(bytes.fromhex(vector["hex"]))


@pytest.mark.parametrize("vector", UPSTREAM["header_maps"], ids=lambda v: v["hex"][:24])
def test_upstream_header_maps(bolt: ModuleType, vector: dict[str, Any]) -> None:
    """Each header map, framed as a bolt request, decodes to its pairs and back."""
    assert any(None in pair for v in UPSTREAM["header_maps"] for pair in v["pairs"])
    section = bytes.fromhex(vector["hex"])
    frame = bolt.Request(cmd_code=bolt.CmdCode.rpc_request, request_id=3, codec=1,
                         timeout=100)
    frame.headers = bolt.decode(bolt.encode(frame)).frame.headers  # empty, round-tripped
    data = bytearray(bolt.encode(frame))
    data[16:18] = len(section).to_bytes(2, "big")
    wire = bytes(data) + section
    kept = [(k.encode(), v.encode()) for k, v in vector["pairs"] if None not in (k, v)]
    for decode, encode in _readings(bolt):
        decoded = decode(wire).frame
        assert decoded.headers == kept  # a pair with a null (length -1) is dropped
        if len(kept) == len(vector["pairs"]):
            assert encode(decoded) == wire


def test_null_header_lengths_drop_the_pair(bolt: ModuleType) -> None:
    null = b"\xff\xff\xff\xff"
    section = (null + b"\x00\x00\x00\x01v" + b"\x00\x00\x00\x01k" + null
               + b"\x00\x00\x00\x01a\x00\x00\x00\x01b")
    data = bytearray(bolt.encode(bolt.Request(cmd_code=bolt.CmdCode.rpc_request, request_id=1)))
    data[16:18] = len(section).to_bytes(2, "big")
    for decode, _ in _readings(bolt):
        assert decode(bytes(data) + section).frame.headers == [(b"a", b"b")]


def test_keepalive_reply_and_hijack(bolt: ModuleType) -> None:
    vectors = {f["name"]: bytes.fromhex(f["hex"]) for f in V1["frames"]}
    ping = bolt.keepalive(11)
    assert bolt.kind(ping) == "request" and bolt.is_heartbeat(ping)
    assert (ping.request_id, ping.codec, ping.timeout, ping.cmd_code) == (11, 1, -1, 0)
    assert bolt.encode(ping) == vectors["heartbeat_request"]
    pong = bolt.keepalive_reply(bolt.decode(vectors["heartbeat_request"]).frame)
    assert bolt.kind(pong) == "response" and bolt.is_heartbeat(pong)
    assert (pong.request_id, pong.status, pong.codec) == (11, 0, 1)
    assert bolt.encode(pong) == vectors["heartbeat_response"]
    request = bolt.decode(bytes.fromhex(V1["frames"][0]["hex"])).frame
    # As MOSN's native bolt codec maps them (Mapping in pkg/protocol/xprotocol/bolt).
    mapping = {200: 0, 404: 6, 502: 6, 503: 4, 0: 9, 3: 0x12, 504: 7, 500: 3, 403: 2, 509: 3}
    for code, status in mapping.items():
        answer = bolt.hijack(request, code)
        assert bolt.kind(answer) == "response" and not bolt.is_heartbeat(answer)
        assert (answer.status, answer.request_id, answer.cmd_code) == (status, 1, 2)
        assert bolt.decode(bolt.encode(answer)).frame == answer


def test_encode_errors_name_the_field(bolt: ModuleType) -> None:
    call = bolt.CmdCode.rpc_request
    with pytest.raises(bolt.EncodeError, match="request_id"):
        bolt.encode(bolt.Request(cmd_code=call, request_id=1 << 32))
    with pytest.raises(bolt.EncodeError, match="class_len"):
        bolt.encode(bolt.Request(cmd_code=call, class_=b"x" * 70000))
    with pytest.raises(bolt.EncodeError, match="cmd_code"):
        bolt.encode(bolt.Request(cmd_code=9))
    with pytest.raises(bolt.EncodeError):
        bolt.reference_encode(bolt.Request(cmd_code=call, request_id=-1))


def test_a_field_that_decides_the_meaning_has_no_silent_default(bolt: ModuleType) -> None:
    """An enum takes no first member by default: without `cmd_code` a request used
    to be a heartbeat. `type` has the default the spec names (`default request`)."""
    with pytest.raises(TypeError, match="cmd_code"):
        bolt.Request(request_id=7, codec=1, timeout=3000)
    call = bolt.Request(cmd_code=bolt.CmdCode.rpc_request, request_id=7)
    assert call.type == bolt.CmdType.request and not bolt.is_heartbeat(call)
    assert bolt.Response(cmd_code=bolt.CmdCode.rpc_response).status == bolt.Status.SUCCESS
