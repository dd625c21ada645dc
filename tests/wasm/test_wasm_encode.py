"""Encode through the host emulator: remembered fields survive, the id, headers
and payload MOSN passes are applied, lengths are recomputed, and commands are
kept per (context, id) so any number may be in flight."""

from __future__ import annotations

import struct

import pytest

from protodsl.host import MosnHost, Status, emulator
from protodsl.host.abi import encode_header_map
from tests.wasm.bolt_wire import parse, with_id


def _roundtrip(host: MosnHost, ctx: int, data: bytes, new_id: int) -> bytes:
    cmd = host.decode(ctx, data).command
    assert cmd is not None
    result = host.encode(ctx, cmd.headers, cmd.flag, new_id, cmd.id, cmd.timeout_or_status,
                         cmd.payload)
    assert result.status == Status.OK and result.frame is not None
    return result.frame.frame


def test_unchanged_encode_gives_the_frame_with_only_the_id_replaced(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    for name, data in frames.items():
        out = _roundtrip(host, ctx, data, 0x01020304)
        assert out == with_id(data, 0x01020304), name


def test_encode_reports_flag_id_and_timeout(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    cmd = host.decode(ctx, frames["request_timeout_minus_one"]).command
    assert cmd is not None
    result = host.encode(ctx, cmd.headers, cmd.flag, 77, cmd.id, cmd.timeout_or_status,
                         cmd.payload)
    assert result.frame is not None
    assert (result.frame.flag, result.frame.id, result.frame.timeout_or_status) == (
        0x40, 77, 0xFFFFFFFF)
    assert parse(result.frame.frame).timeout_or_status == -1


def test_header_and_payload_edits_recompute_lengths(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    original = parse(frames["request_many_headers"])
    cmd = host.decode(ctx, frames["request_many_headers"]).command
    assert cmd is not None
    headers = [(k, b"changed" if k == b"service" else v) for k, v in cmd.headers
               if k != b"empty"]
    headers.append((b"added", b"\x00\xffbinary"))
    payload = b"a different payload" * 3
    result = host.encode(ctx, headers, cmd.flag, 9, cmd.id, 1500, payload)
    assert result.status == 0 and result.frame is not None
    edited = parse(result.frame.frame)
    assert edited.headers == headers
    assert edited.content == payload
    assert edited.klass == original.klass
    assert (edited.request_id, edited.timeout_or_status, edited.codec) == (9, 1500, 1)
    again = host.decode(host.new_context(), result.frame.frame).command
    assert again is not None
    assert again.headers == headers and again.payload == payload


def test_all_headers_removed(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    cmd = host.decode(ctx, frames["request_basic"]).command
    assert cmd is not None
    result = host.encode(ctx, [], cmd.flag, 1, cmd.id, 3000, b"")
    assert result.frame is not None
    edited = parse(result.frame.frame)
    assert edited.headers == [] and edited.content == b""
    assert struct.unpack_from(">HHI", result.frame.frame, 14) == (len(edited.klass), 0, 0)


def test_interleaved_commands_on_one_context(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    a, b = frames["request_basic"], frames["request_unicode_header"]
    cmd_a = host.decode(ctx, a).command
    cmd_b = host.decode(ctx, b).command
    assert cmd_a is not None and cmd_b is not None
    out_b = host.encode(ctx, cmd_b.headers, cmd_b.flag, 200, cmd_b.id,
                        cmd_b.timeout_or_status, cmd_b.payload)
    out_a = host.encode(ctx, cmd_a.headers, cmd_a.flag, 100, cmd_a.id,
                        cmd_a.timeout_or_status, cmd_a.payload)
    assert out_b.frame is not None and out_b.frame.frame == with_id(b, 200)
    assert out_a.frame is not None and out_a.frame.frame == with_id(a, 100)


def test_encode_on_another_context_finds_the_newest_command(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    downstream, upstream = host.new_context(), host.new_context()
    older = host.decode(downstream, frames["response_ok"]).command
    newer = host.decode(host.new_context(), frames["request_basic"]).command
    assert older is not None and newer is not None and older.id == newer.id == 1
    result = host.encode(upstream, newer.headers, newer.flag, 5, 1, 3000, newer.payload)
    assert result.frame is not None
    assert result.frame.frame == with_id(frames["request_basic"], 5)
    same_ctx = host.encode(downstream, older.headers, older.flag, 6, 1, 0, older.payload)
    assert same_ctx.frame is not None
    assert same_ctx.frame.frame == with_id(frames["response_ok"], 6)


def test_unknown_or_already_encoded_command_is_an_error(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    assert host.encode(ctx, [], 0x40, 1, 12345, 0, b"").status == 10
    assert "nothing remembered under id 12345" in host.logs[-1].message
    cmd = host.decode(ctx, frames["request_basic"]).command
    assert cmd is not None
    args = (cmd.headers, cmd.flag, 1, cmd.id, cmd.timeout_or_status, cmd.payload)
    assert host.encode(ctx, *args).status == 0
    assert host.encode(ctx, *args).status == 10


def test_the_oldest_command_of_a_context_is_evicted_past_64(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    basic = frames["request_basic"]
    for i in range(70):
        assert host.decode(ctx, with_id(basic, 1000 + i)).status == 0
    outcomes = [host.encode(ctx, [], 0x40, i, 1000 + i, 3000, b"").status for i in range(70)]
    assert outcomes == [10] * 6 + [0] * 64


def test_deleting_a_context_forgets_its_commands(host: MosnHost, frames: dict[str, bytes]) -> None:
    doomed, other = host.new_context(), host.new_context()
    assert host.decode(doomed, frames["request_basic"]).status == 0
    host.complete_context(doomed)
    assert host.encode(other, [], 0x40, 1, 1, 3000, b"").status == 10


def test_a_redecoded_id_replaces_the_remembered_command(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_basic"])
    host.decode(ctx, frames["response_ok"])  # also id 1
    result = host.encode(ctx, [], 0, 1, 1, 0, b"x")
    assert result.frame is not None and parse(result.frame.frame).type == 0
    assert host.encode(ctx, [], 0, 1, 1, 0, b"x").status == 10


def test_values_that_do_not_fit_are_refused(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    cmd = host.decode(ctx, frames["response_ok"]).command
    assert cmd is not None
    assert host.encode(ctx, [], 0, 1, 1, 0x10000, b"").status == 10  # status is u16
    assert host.encode(ctx, [], 0, 1, 1, 0x13, b"").status == 10  # not a Status
    assert "response.status" in host.logs[-1].message
    assert host.encode(ctx, [], 0, 1, 1, 0x12, b"").status == 0


def test_replaced_ids_wider_than_the_field_are_refused(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    """As the Python codec refuses them (MOSN could not match the response anyway)."""
    ctx = host.new_context()
    cmd = host.decode(ctx, frames["request_basic"]).command
    assert cmd is not None
    assert host.encode(ctx, cmd.headers, cmd.flag, 1 << 32, 1, 3000, cmd.payload).status == 10
    assert "request.request_id: does not fit u32: 4294967296" in host.logs[-1].message
    result = host.encode(ctx, cmd.headers, cmd.flag, (1 << 32) - 1, 1, 3000, cmd.payload)
    assert result.frame is not None and result.frame.id == (1 << 32) - 1


def test_oversized_payload_is_refused(host: MosnHost, frames: dict[str, bytes]) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_basic"])
    assert host.encode(ctx, [], 0x40, 1, 1, 3000, bytes(16 << 20)).status == 10
    assert "max_frame" in host.logs[-1].message


def test_header_values_too_long_for_the_length_field_are_refused(
    host: MosnHost, frames: dict[str, bytes]
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_basic"])
    assert host.encode(ctx, [(b"k", bytes(70000))], 0x40, 1, 1, 3000, b"").status == 10
    assert "request.header_len: does not fit u16: 70009" in host.logs[-1].message


def _raw_encode(host: MosnHost, ctx: int, buf: bytes, monkeypatch: pytest.MonkeyPatch) -> int:
    """Call proxy_encode_buffer_bytes with an arbitrary buffer, as a broken host might."""
    monkeypatch.setattr(emulator, "pack_encode_request", lambda *args: buf)
    return host.encode(ctx, [], 0, 0, 0, 0, b"").status


@pytest.mark.parametrize("buf", [
    b"",
    b"\x00\x00",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x08" + b"\x00\x00\x00\x05abc",
    b"\x00\x00\x00\x00" + bytes(20),
    b"\x00\x00\x00\x00" + bytes(25) + b"\x00\x00\x00\x05ab",
    b"\x00\x00\x00\x00" + bytes(25) + b"\x00\x00\x00\x01ab",
    b"\x00\x00\x00\x04" + b"\xff\xff\xff\xff" + bytes(29),
], ids=range(8))
def test_malformed_encode_buffers_are_refused(
    host: MosnHost, frames: dict[str, bytes], buf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_no_class_no_header_no_content"])
    assert _raw_encode(host, ctx, buf, monkeypatch) == 10
    assert host.logs[-1].level in (3, 4)


def test_well_formed_raw_encode_buffer(
    host: MosnHost, frames: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = host.new_context()
    host.decode(ctx, frames["request_no_class_no_header_no_content"])
    headers = encode_header_map([(b"a", b"b")])
    buf = (len(headers).to_bytes(4, "big") + headers + b"\x40" + (5).to_bytes(8, "big")
           + (5).to_bytes(8, "big") + (1).to_bytes(4, "big") + (0).to_bytes(4, "big"))
    assert _raw_encode(host, ctx, buf, monkeypatch) == 0
