"""The bolt plugin decodes the shared vectors exactly as MOSN expects: roles,
headers in wire order, payload; malformed is 10 with a log line, short is 99."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from protodsl.host import MosnHost, Status
from protodsl.host.streams import Connection
from tests.helpers import load_vectors

V1 = load_vectors("bolt-v1.json")
UPSTREAM = load_vectors("bolt-upstream.json")


def _pairs(headers: list[list[str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers]


@pytest.mark.parametrize("vector", V1["frames"], ids=lambda v: v["name"])
def test_v1_vectors_decode_to_their_roles(host: MosnHost, vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    expect = vector["expect"]
    result = host.decode(host.new_context(), data)
    assert result.status == Status.OK
    cmd = result.command
    assert cmd is not None
    mosn = expect["mosn"]
    # The vectors give a oneway request kind 3 (the ABI's 0xC0); MOSN refuses
    # kind 3 and takes 2 (0x80) as oneway, so the plugin reports 0x81.
    assert cmd.flag >> 6 == {3: 2}.get(mosn["flag_kind"], mosn["flag_kind"])
    assert cmd.flag & 0x1F == 0x1F  # the bits MOSN ignores, in every flag
    assert bool(cmd.flag & 0x20) == mosn["heartbeat_bit"]
    assert cmd.drain_len == mosn["drain_len"] == len(data)
    assert cmd.timeout_or_status == mosn["timeout_or_status_u32"]
    assert cmd.id == expect["request_id"]
    assert cmd.headers == _pairs(expect["headers"])
    assert cmd.payload == bytes.fromhex(expect["content_hex"])


@pytest.mark.parametrize("vector", [f for f in UPSTREAM["frames"] if f["version"] == 1],
                         ids=lambda v: v["name"])
def test_upstream_v1_frames_decode(host: MosnHost, vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    decoded = vector["decoded"]
    result = host.decode(host.new_context(), data)
    assert result.status == Status.OK
    cmd = result.command
    assert cmd is not None
    assert cmd.kind == decoded["kind"]
    assert cmd.id == decoded["request_id"]
    assert cmd.drain_len == len(data)
    want = decoded["timeout"] if decoded["kind"] != "response" else decoded["status"]
    assert cmd.timeout_or_status == want & 0xFFFFFFFF
    assert cmd.headers == _pairs(decoded["headers"])
    assert len(cmd.payload) == decoded["content_len"]
    assert hashlib.sha256(cmd.payload).hexdigest() == decoded["content_sha256"]


@pytest.mark.parametrize("vector", [f for f in UPSTREAM["frames"] if f["version"] == 2],
                         ids=lambda v: v["name"])
def test_v2_frames_are_malformed_for_the_v1_plugin(host: MosnHost, vector: Any) -> None:
    assert host.decode(host.new_context(), bytes.fromhex(vector["hex"])).status == 10
    assert any("proto" in line.message for line in host.logs)


@pytest.mark.parametrize("vector", V1["malformed_or_partial"], ids=lambda v: v["name"])
def test_malformed_and_partial_vectors(host: MosnHost, vector: dict[str, Any]) -> None:
    result = host.decode(host.new_context(), bytes.fromhex(vector["hex"]))
    if vector["expect"]["result"] == "need_more":
        assert result.status == Status.NEED_MORE_DATA
        assert host.logs == []
    else:
        assert result.status == Status.INTERNAL_FAILURE
        assert [line.level for line in host.logs] in ([3], [4])


def test_malformed_logs_name_the_field(host: MosnHost) -> None:
    ctx = host.new_context()
    cases = {m["name"]: bytes.fromhex(m["hex"]) for m in V1["malformed_or_partial"]}
    host.decode(ctx, cases["unknown_cmd_type"])
    host.decode(ctx, cases["header_key_length_past_section"])
    host.decode(ctx, cases["content_length_over_max_frame"])
    host.decode(ctx, cases["content_length_over_max_frame"][:18] + b"\x7f\xff\xff\xff")
    messages = [line.message for line in host.logs]
    assert "no frame variant matches at offset 0" in messages[0]
    assert "request.headers at offset 22" in messages[1]
    assert "request.content" in messages[2] and "negative size -1" in messages[2]  # an i32
    assert "request" in messages[3] and "max_frame" in messages[3]


def test_bad_constant_and_closed_enum_are_malformed(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    basic = frames["request_basic"]
    assert host.decode(ctx, b"\x02" + basic[1:]).status == 10  # proto
    assert host.decode(ctx, basic[:2] + b"\x00\x07" + basic[4:]).status == 10  # cmd_code
    response = frames["response_ok"]
    assert host.decode(ctx, response[:10] + b"\x00\x13" + response[12:]).status == 10  # status
    messages = [line.message for line in host.logs]
    assert "request.proto at offset 0" in messages[0]
    assert "request.cmd_code at offset 2: not a CmdCode: 7" in messages[1]
    assert "response.status at offset 10: not a Status: 19" in messages[2]


def test_a_bad_constant_wins_over_a_short_buffer(host: MosnHost, frames: dict[str, bytes]) -> None:
    """Checks run field by field: a wrong proto byte is malformed even when short."""
    assert host.decode(host.new_context(), b"\x05\x01").status == 10
    assert host.decode(host.new_context(), b"\x01\x01\x00").status == 99
    assert host.decode(host.new_context(), b"\x01\x01\x00\x09").status == 10


def test_every_strict_prefix_needs_more(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    for name, data in frames.items():
        step = 1 if len(data) < 400 else 97
        for cut in range(0, len(data), step):
            assert host.decode(ctx, data[:cut]).status == 99, (name, cut)
    assert host.logs == []


def test_concatenated_frames_decode_one_at_a_time(host: MosnHost, frames: dict[str, bytes]) -> None:
    """MOSN's read loop: one frame per decode call, each on a context of its own."""
    connection = Connection(host)
    seen = connection.feed(b"".join(frames.values()))
    assert [frame.wire for frame in seen] == list(frames.values())
    assert len({frame.ctx for frame in seen}) == len(seen)
    assert connection.unread == b"" and connection.closed_with is None


def test_null_header_pairs_are_dropped(host: MosnHost, frames: dict[str, bytes]) -> None:
    null = b"\xff\xff\xff\xff"
    section = (b"\x00\x00\x00\x01a" + null + null + b"\x00\x00\x00\x01b"
               + b"\x00\x00\x00\x01c\x00\x00\x00\x00")
    head = bytearray(frames["request_no_class_no_header_no_content"])
    head[16:18] = len(section).to_bytes(2, "big")
    result = host.decode(host.new_context(), bytes(head) + section)
    assert result.status == 0 and result.command is not None
    assert result.command.headers == [(b"c", b"")]
