"""Tests for protodsl.host: the MOSN host emulator, driven by real Wasm plugins.

The main subject is tests/host/plugins/echo_plugin.c (compiled here with zig cc),
a tiny but complete x-protocol plugin; small WAT modules cover the edges (WASI,
unknown imports, plugins that break the ABI contract).
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from protodsl.host import (
    FLAG_HEARTBEAT,
    FLAG_ONEWAY,
    FLAG_REQUEST,
    BufferFormatError,
    DecodedCommand,
    EncodedFrame,
    HostError,
    LogRecord,
    MosnHost,
    PluginTrap,
    Status,
)
from protodsl.host.abi import (
    command_kind,
    decode_config_map,
    decode_header_map,
    encode_config_map,
    encode_header_map,
    pack_decode_data,
    pack_encode_data,
    pack_encode_request,
    pack_hijack_request,
    parse_decode_data,
    parse_encode_data,
)

PLUGIN_SOURCE = Path(__file__).parent / "plugins" / "echo_plugin.c"
ECHO_HEADER = struct.Struct(">IBQIH")  # total_len, flag, id, timeout/status, hdr_len


@pytest.fixture(scope="session")
def echo_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plugins") / "echo.wasm"
    cmd = [
        sys.executable, "-m", "ziglang", "cc", "--target=wasm32-freestanding", "-O2",
        "-nostdlib", "-Wl,--no-entry", "-Wl,--export-dynamic", "-o", str(out), str(PLUGIN_SOURCE),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def host(echo_wasm: Path) -> MosnHost:
    return MosnHost.from_file(echo_wasm)


def echo_frame(
    flag: int,
    cid: int,
    tos: int,
    headers: list[tuple[bytes, bytes]],
    payload: bytes,
) -> bytes:
    """The echo protocol's wire frame, built independently of the plugin."""
    hmap = b"".join(
        struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v for k, v in headers
    )
    total = ECHO_HEADER.size + len(hmap) + len(payload)
    return ECHO_HEADER.pack(total, flag, cid, tos, len(hmap)) + hmap + payload


def messages(host: MosnHost) -> list[str]:
    return [record.message for record in host.logs]


def logged(host: MosnHost, prefix: str) -> list[str]:
    return [m[len(prefix) :] for m in messages(host) if m.startswith(prefix)]


# ------------------------------------------------------------------ lifecycle


def test_start_up_follows_mosn_call_order(echo_wasm: Path) -> None:
    host = MosnHost.from_file(echo_wasm, vm_config={"engine": "wasmtime"}, plugin_config={"k": "v"})
    calls = [m.split(" ")[0] for m in messages(host)]
    assert calls == [
        "initialize",
        "on_context_create",
        "on_vm_start",
        "vm_config",
        "on_configure",
        "plugin_config",
    ]
    vm_len = len(encode_config_map({"engine": "wasmtime"}))
    plugin_len = len(encode_config_map({"k": "v"}))
    assert messages(host)[1] == "on_context_create 1 0"
    assert messages(host)[2] == f"on_vm_start 1 {vm_len}"
    assert messages(host)[4] == f"on_configure 1 {plugin_len}"
    assert host.abi_version == "proxy_abi_mosn_version_0_2_0"


def test_contexts_are_created_and_completed_in_order(host: MosnHost) -> None:
    host.clear_logs()
    first, second = host.new_context(), host.new_context()
    assert (first, second) == (2, 3)
    assert host.contexts == {2, 3}
    host.complete_context(first)
    assert messages(host) == [
        "on_context_create 2 1",
        "on_context_create 3 1",
        "on_log 2 0",
        "on_done 2 0",
        "on_delete 2 0",
    ]
    assert host.contexts == {3}
    with pytest.raises(HostError, match="context 2 is not open"):
        host.decode(first, b"\x00")


def test_custom_root_id_is_passed_and_skipped_by_context_ids(echo_wasm: Path) -> None:
    host = MosnHost.from_file(echo_wasm, root_id=3)
    assert "on_context_create 3 0" in messages(host)
    assert "on_configure 3 0" in messages(host)
    assert [host.new_context() for _ in range(3)] == [2, 4, 5]
    assert messages(host)[-1] == "on_context_create 5 3"


def test_config_maps_reach_the_plugin_in_proxy_wasm_encoding(echo_wasm: Path) -> None:
    host = MosnHost.from_file(
        echo_wasm,
        vm_config={"engine": "wasmtime"},
        plugin_config={"max_frame": "1024", "mode": "strict"},
    )
    expected_plugin = (
        struct.pack("<I", 2)
        + struct.pack("<II", 9, 4)
        + struct.pack("<II", 4, 6)
        + b"max_frame\x001024\x00mode\x00strict\x00"
    )
    expected_vm = struct.pack("<III", 1, 6, 8) + b"engine\x00wasmtime\x00"
    assert logged(host, "plugin_config rc=0 ") == [expected_plugin.hex()]
    assert logged(host, "vm_config rc=0 ") == [expected_vm.hex()]
    assert messages(host)[4] == f"on_configure 1 {len(expected_plugin)}"


def test_missing_configuration_is_reported_as_empty(host: MosnHost) -> None:
    assert "on_vm_start 1 0" in messages(host)
    assert logged(host, "plugin_config rc=") == [f"{int(Status.EMPTY)} "]


# ------------------------------------------------------------------ decode


def test_decode_reports_every_field(host: MosnHost) -> None:
    ctx = host.new_context()
    headers = [(b"service", b"com.example.Echo"), (b"x", b""), (b"service", b"dup")]
    cid = (1 << 63) + 5
    frame = echo_frame(FLAG_REQUEST, cid, 3000, headers, b"hello")
    result = host.decode(ctx, frame + b"next frame bytes")
    assert result.ok and result.status == Status.OK
    assert result.command == DecodedCommand(
        headers=headers,
        flag=FLAG_REQUEST,
        id=cid,
        timeout_or_status=3000,
        drain_len=len(frame),
        payload=b"hello",
    )
    cmd = result.command
    assert cmd.kind == "request" and cmd.is_request and not cmd.heartbeat
    assert cmd.header("service") == b"com.example.Echo"
    assert cmd.header(b"missing") is None


@pytest.mark.parametrize(
    ("flag", "kind", "heartbeat"),
    [
        (0x00, "response", False),
        (0x40, "request", False),
        (0x80, "oneway", False),
        (FLAG_ONEWAY, "oneway", False),
        (FLAG_REQUEST | FLAG_HEARTBEAT, "request", True),
        (FLAG_HEARTBEAT, "response", True),
    ],
)
def test_decoded_kind_follows_flag(host: MosnHost, flag: int, kind: str, heartbeat: bool) -> None:
    ctx = host.new_context()
    cmd = host.decode(ctx, echo_frame(flag, 1, 0, [], b"")).command
    assert cmd is not None
    assert (cmd.kind, cmd.heartbeat, cmd.is_request) == (kind, heartbeat, kind != "response")


def test_every_strict_prefix_needs_more_data(host: MosnHost) -> None:
    ctx = host.new_context()
    frame = echo_frame(FLAG_REQUEST, 9, 10, [(b"k", b"v")], b"payload")
    for cut in range(len(frame)):
        result = host.decode(ctx, frame[:cut])
        assert result.status == Status.NEED_MORE_DATA and result.need_more, cut
        assert result.command is None
    assert host.decode(ctx, frame).ok


@pytest.mark.parametrize(
    "data",
    [
        struct.pack(">I", (1 << 20) + 1) + b"\x00" * 40,  # over the 1 MiB limit
        struct.pack(">I", 5) + b"\x00" * 40,  # shorter than the fixed header
        ECHO_HEADER.pack(27, 0x40, 1, 0, 8) + struct.pack(">I", 99) + b"abcd",  # bad header map
    ],
)
def test_malformed_frames_are_internal_failure(host: MosnHost, data: bytes) -> None:
    result = host.decode(host.new_context(), data)
    assert result.status == Status.INTERNAL_FAILURE
    assert result.command is None


def test_concatenated_frames_decode_one_at_a_time(host: MosnHost) -> None:
    ctx = host.new_context()
    frames = [echo_frame(FLAG_REQUEST, i, 0, [], bytes([i]) * i) for i in range(1, 6)]
    stream = b"".join(frames)
    ids = []
    while stream:
        result = host.decode(ctx, stream)
        assert result.command is not None
        ids.append(result.command.id)
        stream = stream[result.command.drain_len :]
    assert ids == [1, 2, 3, 4, 5]
    assert logged(host, "decode id=") == ["1", "2", "3", "4", "5"]
    assert {r.level for r in host.logs if r.message.startswith("decode")} == {1}


# ------------------------------------------------------------------ encode


def test_encode_rebuilds_the_frame_with_the_replaced_id(host: MosnHost) -> None:
    ctx = host.new_context()
    headers = [(b"service", b"svc"), (b"added", b"1")]
    result = host.encode(ctx, headers, FLAG_REQUEST, 77, 5, 2500, b"body")
    assert result.ok
    assert result.frame == EncodedFrame(
        flag=FLAG_REQUEST,
        id=77,
        timeout_or_status=2500,
        frame=echo_frame(FLAG_REQUEST, 77, 2500, headers, b"body"),
    )


def test_decode_encode_round_trip(host: MosnHost) -> None:
    ctx = host.new_context()
    original = echo_frame(0x00, 123456789012, 404, [(b"a", b"b")], b"\x00\xff" * 100)
    cmd = host.decode(ctx, original).command
    assert cmd is not None
    encoded = host.encode(
        ctx, cmd.headers, cmd.flag, cmd.id, cmd.id, cmd.timeout_or_status, cmd.payload
    )
    assert encoded.frame is not None and encoded.frame.frame == original


def test_encode_accepts_mappings_and_str_headers(host: MosnHost) -> None:
    ctx = host.new_context()
    result = host.encode(ctx, {"service": "svc"}, FLAG_REQUEST, 1, 1, 0, b"")
    assert result.frame is not None
    assert result.frame.frame == echo_frame(FLAG_REQUEST, 1, 0, [(b"service", b"svc")], b"")


# ------------------------------------------------------------------ keepalive and hijack


def test_keepalive_then_encode_serialises_a_heartbeat(host: MosnHost) -> None:
    ctx = host.new_context()
    assert host.keepalive(ctx, 42) == Status.OK
    result = host.encode(ctx, [], FLAG_REQUEST | FLAG_HEARTBEAT, 42, 42, 0, b"")
    assert result.frame is not None
    assert result.frame.heartbeat and result.frame.kind == "request"
    assert result.frame.frame == echo_frame(0x60, 42, 0, [], b"ping")
    decoded = host.decode(ctx, result.frame.frame).command
    assert decoded is not None and decoded.heartbeat and decoded.id == 42


def test_reply_keepalive_answers_the_last_heartbeat(host: MosnHost) -> None:
    ctx = host.new_context()
    assert host.reply_keepalive(ctx) == Status.INTERNAL_FAILURE  # nothing decoded yet
    assert host.decode(ctx, echo_frame(0x60, 9001, 0, [], b"")).ok
    host.clear_logs()
    assert host.reply_keepalive(ctx) == Status.OK
    assert messages(host) == ["reply_keepalive ptr=0 len=0"]
    result = host.encode(ctx, [], FLAG_HEARTBEAT, 9001, 9001, 0, b"")
    assert result.frame is not None
    assert result.frame.frame == echo_frame(FLAG_HEARTBEAT, 9001, 0, [], b"pong")


def test_hijack_buffer_layout_and_response(host: MosnHost) -> None:
    ctx = host.new_context()
    request = echo_frame(FLAG_REQUEST, 31337, 1500, [(b"service", b"svc")], b"req")
    host.clear_logs()
    status = host.hijack(ctx, 503, request, command_id=31337, timeout=1500)
    assert status == Status.OK
    expected = struct.pack(">IBQQII", 0, FLAG_REQUEST, 31337, 31337, 1500, len(request)) + request
    assert logged(host, "hijack ") == [expected.hex()]
    result = host.encode(ctx, [], 0x00, 31337, 31337, 503, b"")
    assert result.frame is not None
    assert result.frame.frame == echo_frame(0x00, 31337, 503, [], b"hijacked")


def test_guest_trap_becomes_plugin_trap(host: MosnHost) -> None:
    ctx = host.new_context()
    request = echo_frame(FLAG_REQUEST, 1, 0, [], b"")
    with pytest.raises(PluginTrap) as info:
        host.hijack(ctx, 999, request, command_id=1)
    trap = info.value
    assert isinstance(trap, HostError)
    assert not isinstance(trap, wasmtime.Trap | wasmtime.WasmtimeError)
    assert trap.call == "proxy_hijack_buffer_bytes"
    assert trap.input == pack_hijack_request(FLAG_REQUEST, 1, 0, request)
    assert trap.trap_code == "UNREACHABLE"
    assert "proxy_hijack_buffer_bytes" in str(trap)
    # The instance survives a trap, so the test run can go on and report more.
    assert host.decode(ctx, request).ok


# ------------------------------------------------------------------ memory and fuel


def test_memory_pages_track_guest_growth(host: MosnHost) -> None:
    ctx = host.new_context()
    before = host.memory_pages
    assert before >= 1
    big = echo_frame(FLAG_REQUEST, 1, 0, [], b"x" * 900_000)
    assert host.decode(ctx, big).ok
    grown = host.memory_pages
    assert grown >= before + (2 * 900_000) // 65536
    for _ in range(3):
        assert host.decode(ctx, big).ok
    assert host.memory_pages == grown  # the plugin's arena is reset per call


def test_many_calls_on_one_instance_keep_memory_flat(host: MosnHost) -> None:
    ctx = host.new_context()
    frame = echo_frame(FLAG_REQUEST, 7, 100, [(b"service", b"s")], b"p" * 64)
    host.decode(ctx, frame)
    pages = host.memory_pages
    for i in range(1500):
        cmd = host.decode(ctx, frame).command
        assert cmd is not None
        out = host.encode(ctx, cmd.headers, cmd.flag, i, cmd.id, 100, cmd.payload)
        assert out.frame is not None and out.frame.id == i
    assert host.memory_pages == pages


def test_fuel_metering_counts_guest_work(echo_wasm: Path) -> None:
    host = MosnHost.from_file(echo_wasm, fuel=True)
    ctx = host.new_context()
    host.decode(ctx, echo_frame(FLAG_REQUEST, 1, 0, [], b"a" * 10))
    small = host.last_fuel
    host.decode(ctx, echo_frame(FLAG_REQUEST, 1, 0, [], b"a" * 10_000))
    large = host.last_fuel
    assert isinstance(small, int) and small > 0
    assert isinstance(large, int) and large > small
    assert MosnHost.from_file(echo_wasm).last_fuel is None


def test_fuel_limit_turns_runaway_work_into_a_trap(echo_wasm: Path) -> None:
    host = MosnHost.from_file(echo_wasm, fuel=True, fuel_limit=50_000)
    ctx = host.new_context()
    with pytest.raises(PluginTrap) as info:
        host.decode(ctx, echo_frame(FLAG_REQUEST, 1, 0, [], b"a" * 100_000))
    assert info.value.trap_code == "OUT_OF_FUEL"
    assert host.last_fuel == 50_000


# ------------------------------------------------------------------ WAT plugins: imports

WASI_PLUGIN = """
(module
  (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "some_unknown_fn" (func $unknown (param i32 i64) (result i64)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello from wasi\\npartial")
  (data (i32.const 200) "oops\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 23))
    (i32.store (i32.const 40) (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1)
      (i32.const 16)))
    (i32.store (i32.const 8) (i32.const 200))
    (i32.store (i32.const 12) (i32.const 5))
    (i32.store (i32.const 44) (call $fd_write (i32.const 2) (i32.const 8) (i32.const 1)
      (i32.const 20)))
    (i64.store (i32.const 24) (call $unknown (i32.const 1) (i64.const 2)))
    (i32.store (i32.const 32) (call $poll (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0)))
    (i32.store (i32.const 48) (call $random (i32.const 60) (i32.const 8)))
    (i32.store (i32.const 52) (call $fd_write (i32.const 7) (i32.const 0) (i32.const 1)
      (i32.const 16)))))
"""


def test_wasi_and_unknown_imports_are_provided(tmp_path: Path) -> None:
    path = tmp_path / "wasi.wasm"
    path.write_bytes(wasmtime.wat2wasm(WASI_PLUGIN))
    host = MosnHost.from_file(path)
    assert host.logs == [
        LogRecord(2, "hello from wasi"),
        LogRecord(4, "oops"),
        LogRecord(2, "partial"),
    ]
    assert host.abi_version is None

    def peek(at: int) -> int:
        (value,) = struct.unpack("<I", host.read_memory(at, 4))
        return int(value)

    assert peek(16) == 23 and peek(20) == 5  # nwritten
    assert peek(40) == 0 and peek(44) == 0  # fd_write succeeded
    assert peek(32) == 52  # unknown WASI call: ENOSYS
    assert peek(48) == 0  # random_get succeeded
    assert host.read_memory(60, 8) != bytes(8)
    assert peek(52) == 8  # fd 7 is not open: EBADF
    with pytest.raises(HostError, match="out of bounds"):
        host.read_memory(65536 - 2, 4)
    with pytest.raises(HostError, match="does not export proxy_decode_buffer_bytes"):
        host.decode(host.new_context(), b"x")


# ------------------------------------------------------------------ WAT plugins: contract

CONTRACT_PLUGIN = """
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes"
    (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes"
    (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 4096))
  (data (i32.const 300) "\\00\\00\\00\\00\\01\\02")
  (data (i32.const 400) "\\00\\00\\00\\00\\40\\00\\00\\00\\00\\00\\00\\00\\01"
                        "\\00\\00\\00\\00\\00\\00\\03\\e8\\00\\00\\00\\00")
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func (export "proxy_abi_mosn_version_0_2_0"))
  (func (export "proxy_decode_buffer_bytes") (param $ctx i32) (param $ptr i32) (param $len i32)
    (result i32)
    (local $c i32)
    (local.set $c (i32.load8_u (local.get $ptr)))
    (if (i32.eq (local.get $c) (i32.const 97)) (then (return (i32.const 0))))
    (if (i32.eq (local.get $c) (i32.const 98)) (then (return
      (call $set (i32.const 13) (i32.const 0) (i32.const 6) (i32.const 300) (i32.const 6)))))
    (if (i32.eq (local.get $c) (i32.const 99)) (then (return
      (call $set (i32.const 13) (i32.const 0) (i32.const 25) (i32.const 400) (i32.const 25)))))
    (if (i32.eq (local.get $c) (i32.const 100)) (then (return
      (call $log (i32.const 2) (i32.const -16) (i32.const 100)))))
    (if (i32.eq (local.get $c) (i32.const 101)) (then (return
      (call $set (i32.const 13) (i32.const 0) (i32.const 100) (i32.const -16) (i32.const 100)))))
    (if (i32.eq (local.get $c) (i32.const 102)) (then (return
      (call $get (i32.const 7) (i32.const 0) (i32.const 10) (i32.const -2) (i32.const 64)))))
    (if (i32.eq (local.get $c) (i32.const 103)) (then (return
      (call $get (i32.const 99) (i32.const 0) (i32.const 10) (i32.const 60) (i32.const 64)))))
    (if (i32.eq (local.get $c) (i32.const 104)) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $c) (i32.const 105)) (then (return
      (call $set (i32.const 6) (i32.const 0) (i32.const 1) (i32.const 300) (i32.const 1)))))
    (i32.const 10)))
"""


@pytest.fixture
def contract_host(tmp_path: Path) -> MosnHost:
    path = tmp_path / "contract.wasm"
    path.write_bytes(wasmtime.wat2wasm(CONTRACT_PLUGIN))
    return MosnHost.from_file(path, plugin_config={"k": "v"}, fuel=True, fuel_limit=10**6)


def test_ok_without_decode_data_is_a_host_error(contract_host: MosnHost) -> None:
    with pytest.raises(HostError, match="never reported"):
        contract_host.decode(contract_host.new_context(), b"a")


def test_malformed_decode_data_is_a_host_error(contract_host: MosnHost) -> None:
    with pytest.raises(BufferFormatError, match="malformed DecodeData"):
        contract_host.decode(contract_host.new_context(), b"b")


def test_drain_len_beyond_input_is_a_host_error(contract_host: MosnHost) -> None:
    with pytest.raises(HostError, match="drain_len 1000"):
        contract_host.decode(contract_host.new_context(), b"c" * 10)


@pytest.mark.parametrize(
    ("selector", "status"),
    [
        (b"d", Status.BAD_ARGUMENT),  # proxy_log reads past the end of memory
        (b"e", Status.BAD_ARGUMENT),  # proxy_set_buffer_bytes reads past the end
        (b"f", Status.BAD_ARGUMENT),  # proxy_get_buffer_bytes return pointer out of bounds
        (b"g", Status.NOT_FOUND),  # unknown buffer type
        (b"i", Status.BAD_ARGUMENT),  # configuration buffers are read-only
        (b"z", Status.INTERNAL_FAILURE),
    ],
)
def test_host_calls_report_bad_arguments_instead_of_raising(
    contract_host: MosnHost, selector: bytes, status: Status
) -> None:
    assert contract_host.decode(contract_host.new_context(), selector).status == status


def test_endless_loop_is_cut_by_fuel(contract_host: MosnHost) -> None:
    with pytest.raises(PluginTrap) as info:
        contract_host.decode(contract_host.new_context(), b"h")
    assert info.value.input == b"h"
    assert info.value.call == "proxy_decode_buffer_bytes"


def _wat_host(tmp_path: Path, body: str) -> MosnHost:
    path = tmp_path / "m.wasm"
    path.write_bytes(wasmtime.wat2wasm(f'(module {body} (memory (export "memory") 1))'))
    return MosnHost.from_file(path)


def test_lifecycle_failure_is_a_host_error(tmp_path: Path) -> None:
    body = """(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 0))"""
    with pytest.raises(HostError, match=r"proxy_on_configure\(1, 0\) returned 0"):
        _wat_host(tmp_path, body)


def test_wrong_export_signature_is_rejected_at_load(tmp_path: Path) -> None:
    body = """(func (export "proxy_decode_buffer_bytes") (param i32 i32) (result i32)
      (i32.const 0))"""
    with pytest.raises(HostError, match=r"expects \(i32, i32, i32\) -> \(i32\)"):
        _wat_host(tmp_path, body)


def test_wrong_import_signature_is_rejected_at_load(tmp_path: Path) -> None:
    body = """(import "env" "proxy_log" (func (param i32 i32) (result i32)))"""
    with pytest.raises(HostError, match=r"imports env.proxy_log as \(i32, i32\) -> \(i32\)"):
        _wat_host(tmp_path, body)


def test_proc_exit_zero_in_start_is_a_normal_exit(tmp_path: Path) -> None:
    body = """
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (func (export "_start") (call $exit (i32.const 0)))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_decode_buffer_bytes") (param i32 i32 i32) (result i32)
        (call $exit (i32.const 3)) (i32.const 0))"""
    host = _wat_host(tmp_path, body)
    with pytest.raises(PluginTrap, match=r"proc_exit\(3\)"):
        host.decode(host.new_context(), b"xyz")


def test_proc_exit_nonzero_in_start_is_a_trap(tmp_path: Path) -> None:
    body = """
      (import "wasi_unstable" "proc_exit" (func $exit (param i32)))
      (func (export "_start") (call $exit (i32.const 2)))"""
    with pytest.raises(PluginTrap, match=r"_start.*proc_exit\(2\)"):
        _wat_host(tmp_path, body)


def test_allocator_falls_back_to_proxy_on_memory_allocate(tmp_path: Path) -> None:
    body = """
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 2048))
      (func (export "proxy_decode_buffer_bytes") (param i32 i32 i32) (result i32)
        (if (i32.ne (local.get 1) (i32.const 2048)) (then (return (i32.const 10))))
        (i32.load8_u offset=1 (local.get 1)))"""
    host = _wat_host(tmp_path, body)
    assert host.decode(host.new_context(), b"\x00\x07").status == 7


def test_imported_memory_is_provided(tmp_path: Path) -> None:
    wat = """(module
      (import "env" "memory" (memory 1))
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (func (export "malloc") (param i32) (result i32) (i32.const 512))
      (func (export "proxy_decode_buffer_bytes") (param i32 i32 i32) (result i32)
        (drop (call $log (i32.const 3) (local.get 1) (local.get 2))) (i32.const 99)))"""
    host = MosnHost.from_file(wasmtime.wat2wasm(wat))
    assert host.decode(host.new_context(), b"via imported memory").need_more
    assert host.logs == [LogRecord(3, "via imported memory")]
    assert host.memory_pages == 1


def test_invalid_module_is_a_host_error(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="not a valid WebAssembly module"):
        MosnHost.from_file(b"\x00asm\x01\x00\x00\x00garbage")
    with pytest.raises(HostError, match="cannot read plugin"):
        MosnHost.from_file(tmp_path / "missing.wasm")


# ------------------------------------------------------------------ abi helpers


def test_header_map_round_trip_and_truncation() -> None:
    pairs = [(b"a", b"1"), (b"", b""), (b"a", b"2")]
    data = encode_header_map(pairs)
    assert data == b"\0\0\0\x01a\0\0\0\x011" + b"\0" * 8 + b"\0\0\0\x01a\0\0\0\x012"
    assert decode_header_map(data) == pairs
    for cut in range(1, len(data)):
        if cut in (10, 18):  # pair boundaries
            continue
        with pytest.raises(BufferFormatError):
            decode_header_map(data[:cut])


def test_config_map_round_trip() -> None:
    assert encode_config_map(None) == b"" == encode_config_map({})
    data = encode_config_map({"a": "xyz", "bb": ""})
    assert decode_config_map(data) == [(b"a", b"xyz"), (b"bb", b"")]
    with pytest.raises(BufferFormatError):
        decode_config_map(data[:-1])


def test_buffer_pack_parse_round_trips() -> None:
    cmd = DecodedCommand([(b"k", b"v")], 0xC0, 2**64 - 1, 2**32 - 1, 40, b"payload")
    assert parse_decode_data(pack_decode_data(cmd)) == cmd
    frame = EncodedFrame(0x20, 5, 6, b"wire")
    packed = pack_encode_data(frame)
    assert packed == struct.pack(">IBQII", 0, 0x20, 5, 6, 4) + b"wire"
    assert parse_encode_data(packed) == frame
    with pytest.raises(BufferFormatError, match="payload_len"):
        parse_decode_data(pack_decode_data(cmd) + b"extra")
    request = pack_encode_request([(b"k", b"v")], 0x40, 9, 8, 7, b"p")
    assert request == (
        struct.pack(">I", 10) + encode_header_map([(b"k", b"v")])
        + struct.pack(">BQQII", 0x40, 9, 8, 7, 1) + b"p"
    )  # fmt: skip
    assert [command_kind(f) for f in (0x00, 0x40, 0x80, 0xC0)] == [
        "response",
        "request",
        "oneway",
        "oneway",
    ]


def test_a_dropped_host_is_freed_with_its_store(echo_wasm: Path) -> None:
    """Wasmtime keeps host functions until their store goes; they must not keep the
    host (which owns the store) alive, or every reset would leak an instance."""
    import gc
    import weakref

    host = MosnHost.from_file(echo_wasm)
    ctx = host.new_context()
    assert host.decode(ctx, echo_frame(0x40, 7, 100, [(b"k", b"v")], b"hi")).status == 0
    gone = weakref.ref(host)
    del host
    gc.collect()
    assert gone() is None
