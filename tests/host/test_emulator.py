"""Tests for protodsl.host.emulator: the MOSN host emulator, driven by real Wasm plugins.

The emulator behaves as MOSN v1.6.1 does, and each test says where MOSN does so
(paths relative to the Go module cache, see tests/host/support.py). The main
subject is tests/host/plugins/echo_plugin.c (compiled with zig cc), a tiny but
complete x-protocol plugin; small WAT modules cover module shapes, the exact
bytes of the buffers MOSN reads (support.MIRROR_PLUGIN) and misuse of the host
calls (support.CONTRACT_PLUGIN). Where the emulator still differs from MOSN, the
test is in test_mosn_differences.py.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
from pathlib import Path

import pytest
import wasmtime

from protodsl.host import (
    FLAG_COPY_RAW_BYTES,
    FLAG_HEARTBEAT,
    FLAG_ONEWAY,
    FLAG_REQUEST,
    FLAG_RESPONSE,
    BufferFormatError,
    DecodedCommand,
    EncodedFrame,
    HostError,
    LogRecord,
    MosnHost,
    PluginTrap,
    Status,
)
from protodsl.host import abi as host_abi
from protodsl.host.abi import (
    ABI_MARKER,
    FLAG_KIND,
    command_kind,
    decode_config_map,
    decode_header_map,
    encode_config_map,
    encode_header_map,
    mosn_decode_header,
    mosn_flag,
    pack_decode_data,
    pack_encode_data,
    pack_encode_request,
    pack_hijack_request,
    parse_decode_data,
    parse_encode_data,
)
from protodsl.host.emulator import MOSN_ENV_FUNCTIONS
from protodsl.host.errors import MosnFailure
from protodsl.host.streams import Connection, send
from tests.helpers import ROOT
from tests.host.support import (
    ECHO_HEADER,
    echo_frame,
    logged,
    messages,
    outcome,
    probed,
    wat_host,
    wat_module,
)

# ------------------------------------------------------------------ loading: what MOSN refuses

# Each module below lacks one thing MOSN needs, or has one thing it cannot
# satisfy. Where MOSN says so:
#   _start: proxy-wasm-go-host/wasmer/instance.go Start() calls
#       Exports.GetFunction("_start") and fails ("Export `_start` does not exist");
#   malloc: wasmer/instance.go Malloc() calls the export "malloc" for every buffer
#       it passes (MOSN never calls proxy_on_memory_allocate);
#   memory: wasmer/instance.go GetExportsMem("memory") behind every memory access;
#       an imported memory is an import MOSN does not provide;
#   the marker: pkg/wasm/abi/registry.go GetABI() looks for an export named
#       proxy_abi_mosn_version_0_2_0 (ext/xproxywasm020/impl.go AbiV2);
#   imports: wasmer-go's ImportObject holds only the WASI functions and
#       proxy-wasm-go-host/internal/imports/v1 HostFunctions under "env"
#       (wasmer/instance.go RegisterImports), all functions; wasmer refuses a
#       missing one ("Missing import") or one of another type.
REFUSALS = [
    pytest.param("", ("_start",), r"does not export _start: .*Export '_start' does not exist",
                 id="no-_start"),
    pytest.param('(func (export "_start") (param i32))', ("_start",),
                 r"export _start has type \(i32\) -> \(\)", id="_start-with-a-parameter"),
    # MOSN itself would fail only when it calls the export ("fail to invoke export
    # func"); the emulator refuses a protocol export of the wrong type at load.
    pytest.param('(func (export "proxy_decode_buffer_bytes") (param i32 i32) (result i32)'
                 " (i32.const 0))", (), r"export proxy_decode_buffer_bytes has type "
                 r"\(i32, i32\) -> \(i32\); the MOSN ABI expects \(i32, i32, i32\) -> \(i32\)",
                 id="protocol-export-signature"),
    pytest.param("", ("malloc",), r"does not export malloc", id="no-malloc"),
    pytest.param('(func (export "proxy_on_memory_allocate") (param i32) (result i32)'
                 " (i32.const 1024))", ("malloc",), r"does not export malloc",
                 id="proxy_on_memory_allocate-instead-of-malloc"),
    pytest.param('(func (export "proxy_abi_revision_0_2_0"))', ("marker",),
                 r"does not export proxy_abi_mosn_version_0_2_0", id="old-abi-marker"),
    pytest.param("", ("marker",), r"does not export proxy_abi_mosn_version_0_2_0",
                 id="no-abi-marker"),
    pytest.param('(memory (export "mem") 1)', ("memory",),
                 r'does not export its linear memory as "memory"', id="memory-named-mem"),
    pytest.param('(import "env" "memory" (memory 1))', ("memory",),
                 r'does not export its linear memory as "memory"', id="imported-memory"),
    pytest.param('(import "env" "memory" (memory 1)) (export "memory" (memory 0))', ("memory",),
                 r"imports env\.memory, not a function", id="imported-memory-re-exported"),
    pytest.param('(import "env" "proxy_get_log_level" (func (param i32) (result i32)))', (),
                 r"imports env\.proxy_get_log_level, which MOSN does not provide",
                 id="proxy_get_log_level"),
    pytest.param('(import "env" "abort" (func (param i32 i32 i32 i32)))', (),
                 r"imports env\.abort, which MOSN does not provide", id="unknown-env-function"),
    pytest.param('(import "env" "proxy_log" (func (param i32 i32) (result i32)))', (),
                 r"imports env\.proxy_log as \(i32, i32\) -> \(i32\); "
                 r"MOSN provides \(i32, i32, i32\) -> \(i32\)", id="env-parameters"),
    pytest.param('(import "env" "proxy_increment_metric" (func (param i32 i32) (result i32)))',
                 (), r"MOSN provides \(i32, i64\) -> \(i32\)", id="env-i64-parameter"),
    pytest.param('(import "env" "proxy_done" (func))', (),
                 r"imports env\.proxy_done as \(\) -> \(\); MOSN provides \(\) -> \(i32\)",
                 id="env-result"),
    pytest.param('(import "wasi_snapshot_preview1" "fd_write"'
                 " (func (param i32 i32 i32) (result i32)))", (),
                 r"imports wasi_snapshot_preview1\.fd_write as .*; "
                 r"WASI defines \(i32, i32, i32, i32\) -> \(i32\)", id="wasi-signature"),
    pytest.param('(import "go" "debug" (func (param i32)))', (),
                 r'imports go\.debug: MOSN provides only "env" and WASI imports',
                 id="other-module"),
    pytest.param('(import "env" "table" (table 1 funcref))', (),
                 r"imports env\.table, not a function", id="imported-table"),
    pytest.param('(import "env" "g" (global i32))', (), r"imports env\.g, not a function",
                 id="imported-global"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "without", "reason"), REFUSALS)
def test_loading_refuses_what_mosn_refuses(
    body: str, without: tuple[str, ...], reason: str
) -> None:
    with pytest.raises(HostError, match=reason) as info:
        MosnHost.from_file(wat_module(body, without=without))
    assert not isinstance(info.value, PluginTrap | MosnFailure)


def test_the_smallest_module_mosn_loads_is_accepted() -> None:
    host = wat_host()
    assert host.abi_version == ABI_MARKER == "proxy_abi_mosn_version_0_2_0"
    assert {"_start", "malloc", "memory", ABI_MARKER} <= host.exports
    assert host.logs == []
    with pytest.raises(HostError, match="does not export proxy_decode_buffer_bytes"):
        host.decode(host.new_context(), b"x")


def test_a_module_may_import_every_env_function_mosn_provides() -> None:
    wat_type = {"i": "i32", "I": "i64"}
    imports = " ".join(
        f'(import "env" "{name}" (func (param {" ".join(wat_type[c] for c in params)})'
        " (result i32)))"
        for name, params in MOSN_ENV_FUNCTIONS.items()
    )
    host = MosnHost.from_file(wat_module(imports))
    assert host.abi_version == ABI_MARKER


def proxy_wasm_go_host() -> Path:
    """The source of the proxy-wasm-go-host MOSN is built with (tests/e2e/mosnd/go.mod),
    from the Go module proxy or the module cache."""
    version = re.search(r"mosn\.io/proxy-wasm-go-host (\S+)",
                        (ROOT / "tests/e2e/mosnd/go.mod").read_text())
    assert version is not None
    proc = subprocess.run(["go", "mod", "download", "-json",
                           f"mosn.io/proxy-wasm-go-host@{version.group(1)}"],
                          capture_output=True, text=True, check=True)
    return Path(json.loads(proc.stdout)["Dir"])


def test_env_functions_are_those_of_proxy_wasm_go_host() -> None:
    """proxy_get_log_level is not among them."""
    source = proxy_wasm_go_host() / "internal" / "imports" / "v1"
    text = "".join(path.read_text() for path in sorted(source.glob("*.go")))
    methods = dict(re.findall(r'hostFuncs\["(\w+)"\] = h\.(\w+)', text))
    params: dict[str, str] = {}
    for method, args in re.findall(
        r"func \(h \*host\) (\w+)\(ctx context\.Context,?(.*?)\) int32 \{", text, re.S
    ):
        kinds = re.findall(r"\w+(?:\s+(int32|int64))?\s*(?:,|$)", args.strip())
        # "a, b int32" gives the type once, for the last name: fill it in backwards.
        filled: list[str] = []
        for kind in reversed(kinds):
            filled.append(kind or filled[-1])
        params[method] = "".join("I" if k == "int64" else "i" for k in reversed(filled))
    assert {name: params[method] for name, method in methods.items()} == MOSN_ENV_FUNCTIONS


# ------------------------------------------------------------------ start-up


def test_start_up_runs_start_then_the_protocol_lifecycle(echo_wasm: Path) -> None:
    # wasmer/instance.go Start() runs _start; then the codec's OnPluginStart
    # (pkg/protocol/xprotocol/wasm/factory.go) calls proxy_on_context_create(root, 0),
    # proxy_on_vm_start(root, vm_len) and proxy_on_configure(root, plugin_len).
    # _initialize is not called.
    vm, plugin = {"engine": "wasmtime"}, {"k": "v"}
    host = MosnHost.from_file(echo_wasm, vm_config=vm, plugin_config=plugin)
    vm_bytes, plugin_bytes = encode_config_map(vm), encode_config_map(plugin)
    assert messages(host) == [
        "on_context_create 1 0",
        "_start calls 1",
        f"on_vm_start 1 {len(vm_bytes)}",
        f"vm_config rc=0 {vm_bytes.hex()}",
        "on_vm_start returns 1",
        f"on_configure 1 {len(plugin_bytes)}",
        f"plugin_config rc=0 {plugin_bytes.hex()}",
        "on_configure returns 1",
    ]
    assert host.abi_version == "proxy_abi_mosn_version_0_2_0"
    assert host.root_id == 1


def test_lifecycle_results_are_ignored(host: MosnHost) -> None:
    # factory.go OnPluginStart discards what on_vm_start and on_configure return
    # (`_, err = exports.ProxyOnVmStart(...)`): a plugin built with MOSN's Go SDK
    # returns 0 for an empty configuration, and MOSN runs it all the same.
    assert logged(host, "on_vm_start returns ") == ["0"]
    assert logged(host, "on_configure returns ") == ["0"]
    assert host.decode(host.new_context(), echo_frame(FLAG_REQUEST, 1, 0, [], b"")).ok


def test_lifecycle_exports_returning_0_and_missing_ones_do_not_stop_loading() -> None:
    # Each call records a tag at 64 + 4 * n; on_configure also its arguments at
    # 32 and 36. No proxy_on_context_create, no proxy_on_vm_start: MOSN only logs
    # their absence (factory.go). _initialize is exported and never called.
    host = MosnHost.from_file(wat_module(
        """
      (global $n (mut i32) (i32.const 0))
      (func $record (param $tag i32)
        (i32.store (i32.add (i32.const 64) (i32.shl (global.get $n) (i32.const 2)))
          (local.get $tag))
        (global.set $n (i32.add (global.get $n) (i32.const 1))))
      (func (export "_start") (call $record (i32.const 1)))
      (func (export "_initialize") (call $record (i32.const 9)))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (call $record (i32.const 3))
        (i32.store (i32.const 32) (local.get 0))
        (i32.store (i32.const 36) (local.get 1))
        (i32.const 0))""",
        without=("_start",),
    ), root_id=7)  # fmt: skip
    assert struct.unpack("<4I", host.read_memory(64, 16)) == (1, 3, 0, 0)
    assert struct.unpack("<2I", host.read_memory(32, 8)) == (7, 4)


def test_vm_configuration_is_empty_and_plugin_configuration_an_encoded_map(
    host: MosnHost,
) -> None:
    # factory.go: GetVmConfig() is an empty EOF buffer when the codec takes its
    # plugin from wasm_global_plugins; GetPluginConfig() is EncodeMap(...) of the
    # codec's string settings, an empty map being its count (4 zero bytes).
    # proxy_get_buffer_bytes on an existing empty buffer is OK with 0 bytes
    # (internal/imports/v1/buffer.go), never Empty (7).
    assert "on_vm_start 1 0" in messages(host)
    assert logged(host, "vm_config rc=") == ["0 "]
    assert "on_configure 1 4" in messages(host)
    assert logged(host, "plugin_config rc=") == ["0 00000000"]


def test_config_maps_reach_the_plugin_in_proxy_wasm_encoding(echo_wasm: Path) -> None:
    host = MosnHost.from_file(
        echo_wasm,
        vm_config={"engine": "wasmtime"},
        plugin_config={"max_frame": "1024", "mode": "strict"},
    )
    # wasm/utils.go EncodeMap: little-endian pair count, key and value lengths
    # pair by pair, then each key and value followed by a NUL byte.
    expected_plugin = (
        struct.pack("<I", 2)
        + struct.pack("<II", 9, 4)
        + struct.pack("<II", 4, 6)
        + b"max_frame\x001024\x00mode\x00strict\x00"
    )
    expected_vm = struct.pack("<III", 1, 6, 8) + b"engine\x00wasmtime\x00"
    assert logged(host, "plugin_config rc=0 ") == [expected_plugin.hex()]
    assert logged(host, "vm_config rc=0 ") == [expected_vm.hex()]
    assert f"on_configure 1 {len(expected_plugin)}" in messages(host)


def test_proc_exit_nonzero_in_start_is_a_trap() -> None:
    body = """
      (import "wasi_unstable" "proc_exit" (func $exit (param i32)))
      (func (export "_start") (call $exit (i32.const 2)))"""
    with pytest.raises(PluginTrap, match=r"_start.*proc_exit\(2\)"):
        MosnHost.from_file(wat_module(body, without=("_start",)))


def test_proc_exit_in_a_protocol_call_is_a_trap() -> None:
    host = wat_host("""
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (func (export "proxy_decode_buffer_bytes") (param i32 i32 i32) (result i32)
        (call $exit (i32.const 3)) (i32.const 0))""")
    with pytest.raises(PluginTrap, match=r"proc_exit\(3\)") as info:
        host.decode(host.new_context(), b"xyz")
    assert info.value.call == "proxy_decode_buffer_bytes" and info.value.input == b"xyz"


def test_malloc_is_the_allocator_even_with_proxy_on_memory_allocate() -> None:
    # wasmer/instance.go Malloc() calls "malloc"; proxy_on_memory_allocate
    # (here a pointer to nowhere) is never used.
    host = wat_host("""
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const -64))
      (func (export "proxy_decode_buffer_bytes") (param i32 i32 i32) (result i32)
        (if (i32.ne (local.get 1) (i32.const 1024)) (then (return (i32.const 10))))
        (i32.load8_u offset=1 (local.get 1)))""")
    assert host.decode(host.new_context(), b"\x00\x07").status == 7


# ------------------------------------------------------------------ contexts


def test_contexts_count_from_1_and_delete_calls_only_on_delete(host: MosnHost) -> None:
    # protocol.go NewContext: `contextId: atomic.AddInt32(&contextId, 1)`, a
    # counter from 1 whatever the root id (so the first context may have the
    # root's id); newWasmContext calls proxy_on_context_create(ctx, root).
    # The only call that ends a context is proxy_on_delete (command.go clean());
    # nothing in MOSN calls proxy_on_log or proxy_on_done on protocol contexts.
    host.clear_logs()
    first, second = host.new_context(), host.new_context()
    assert (first, second) == (1, 2)
    assert host.contexts == {1, 2}
    host.delete_context(first)
    assert messages(host) == [
        "on_context_create 1 1",
        "on_context_create 2 1",
        "on_delete 1 0",
    ]
    assert host.contexts == {2}
    assert not hasattr(host, "complete_context")
    with pytest.raises(HostError, match="context 1 is not open"):
        host.decode(first, b"\x00")
    with pytest.raises(HostError, match="context 1 is not open"):
        host.delete_context(first)


def test_context_ids_do_not_depend_on_the_root_id(echo_wasm: Path) -> None:
    host = MosnHost.from_file(echo_wasm, root_id=3)
    assert messages(host)[0] == "on_context_create 3 0"
    assert "on_configure 3 4" in messages(host)
    assert [host.new_context() for _ in range(4)] == [1, 2, 3, 4]
    assert logged(host, "on_context_create ")[1:] == ["1 3", "2 3", "3 3", "4 3"]


# ------------------------------------------------------------------ decode (echo plugin)


def test_decode_reports_every_field(host: MosnHost) -> None:
    ctx = host.new_context()
    headers = [(b"service", b"com.example.Echo"), (b"x", b""), (b"service", b"dup")]
    cid = (1 << 63) + 5
    frame = echo_frame(FLAG_REQUEST, cid, 3000, headers, b"hello")
    result = host.decode(ctx, frame + b"next frame bytes")
    assert result.ok and result.status == Status.OK
    assert result.command == DecodedCommand(
        headers=headers,
        flag=FLAG_REQUEST | FLAG_COPY_RAW_BYTES,
        id=cid,
        timeout_or_status=3000,
        drain_len=len(frame),
        payload=b"hello",
    )
    cmd = result.command
    assert cmd.kind == "request" and cmd.is_request and not cmd.heartbeat and not cmd.is_oneway
    assert cmd.mosn_flag == FLAG_REQUEST
    assert cmd.header("service") == b"com.example.Echo"
    assert cmd.header(b"missing") is None


@pytest.mark.parametrize(
    ("wire_flag", "kind", "heartbeat", "passed_back"),
    [
        (0x00, "response", False, 0x00),
        (0x40, "request", False, 0x40),
        (FLAG_ONEWAY, "oneway", False, 0x40),
        (FLAG_REQUEST | FLAG_HEARTBEAT, "request", True, 0x60),
        (FLAG_ONEWAY | FLAG_HEARTBEAT, "oneway", True, 0x60),
        (FLAG_HEARTBEAT, "response", True, 0x20),
    ],
)
def test_decoded_kind_follows_flag(
    host: MosnHost, wire_flag: int, kind: str, heartbeat: bool, passed_back: int
) -> None:
    # decode.go decode(): kinds 0 (response), 1 (request) and 2 (oneway) are
    # accepted. decodeWasmRequest marks a request oneway only for 0xC0 bits both
    # set, so MOSN treats a oneway request as a two-way one and encodes it with
    # 0x40 (exports.go ProxyEncodeRequestBufferBytes).
    ctx = host.new_context()
    cmd = host.decode(ctx, echo_frame(wire_flag, 1, 0, [], b"")).command
    assert cmd is not None
    assert cmd.flag == wire_flag | FLAG_COPY_RAW_BYTES
    assert (cmd.kind, cmd.heartbeat, cmd.is_request) == (kind, heartbeat, kind != "response")
    assert cmd.is_oneway == (kind == "oneway")
    assert cmd.mosn_flag == passed_back


@pytest.mark.parametrize("wire_flag", [0xC0, 0xE0, 0xFF])
def test_flag_kind_3_is_refused_by_mosn(host: MosnHost, wire_flag: int) -> None:
    # decode.go decode(): `default:` of the switch on flag >> 6 returns
    # "unknown protocol flag type" and MOSN closes the connection.
    with pytest.raises(MosnFailure, match="kind 3") as info:
        host.decode(host.new_context(), echo_frame(wire_flag, 1, 0, [], b""))
    assert "unknown protocol flag type" in str(info.value)


# MOSN's decode() runs DecodeHeader (mosn.io/pkg@v1.6.0 header/bytes.go) over
# everything after header_bytes' own field (`content[4:]`), not over the
# header_bytes the plugin declared: after the declared entries it goes on
# reading the flag, the id ... as further `u32 length | bytes` entries.
#
# The echo plugin reports a frame with the single header ("raw-flag", "") (map of
# 4 + 8 + 4 + 0 = 16 bytes) and no payload, flag byte as on the wire. After the
# map come flag (1), id (8), timeout (4), drain_len (4), payload_len (4).
#  - the first bogus key length is the flag byte and the id's top 3 bytes: with
#    flag 0x00 and an id below 2**40 it is 0, an empty key;
#  - the value length is the id's next 4 bytes, (id >> 8) & 0xFFFFFFFF = V;
#  - 13 bytes are left after those 8 (id's last byte, timeout, drain_len,
#    payload_len). V = 10 (id 2560) leaves 3 bytes for the next key length and
#    DecodeHeader panics (`binary.BigEndian.Uint32(bytes[index:])`, index out of
#    range); V = 13 (id 3328) makes a second header ("", 13 bytes); V = 14 (id
#    3584) runs past the end, so DecodeHeader stops there (its error is ignored).
# With bit 0 of the flag set (0x01), the first bogus key length is at least
# 0x01000000, past the end: the reader stops at the flag, whatever the id.
QUIRK = [(b"raw-flag", b"")]


@pytest.mark.parametrize(
    ("cid", "reason"),
    [(2560, r"3 bytes are left for a key length"), (3328, r"sees 2 headers")],
)
def test_a_flag_without_bit_0_lets_mosn_read_the_id_as_headers(
    host: MosnHost, cid: int, reason: str
) -> None:
    frame = echo_frame(0x00, cid, 0, QUIRK, b"")
    with pytest.raises(MosnFailure, match=reason):
        host.decode(host.new_context(), frame)


@pytest.mark.parametrize("cid", [2560, 3328, 3584, 2**40 - 1])
def test_a_flag_with_bit_0_stops_mosn_header_reader(host: MosnHost, cid: int) -> None:
    for frame, flag in [
        (echo_frame(0x01, cid, 0, QUIRK, b""), 0x01),  # reported as on the wire
        (echo_frame(0x00, cid, 0, [(b"k", b"v")], b""), 0x01),  # the plugin sets bit 0
        (echo_frame(0x41, cid, 0, QUIRK, b""), 0x41),
    ]:
        cmd = host.decode(host.new_context(), frame).command
        assert cmd is not None and (cmd.flag, cmd.id) == (flag, cid)
        assert cmd.headers == decode_header_map(frame[ECHO_HEADER.size :])


def test_a_flag_without_bit_0_is_fine_when_the_id_stops_the_reader(host: MosnHost) -> None:
    cmd = host.decode(host.new_context(), echo_frame(0x00, 3584, 0, QUIRK, b"")).command
    assert cmd is not None and cmd.flag == 0x00 and cmd.headers == QUIRK


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
    assert result.command is None and not result.ok and not result.need_more


def test_concatenated_frames_decode_one_at_a_time(host: MosnHost) -> None:
    # MOSN's Dispatch loop (pkg/stream/xprotocol/conn.go) decodes frame after
    # frame from the unread bytes, each on a context of its own.
    frames = [echo_frame(FLAG_REQUEST, i, 0, [], bytes([i]) * i) for i in range(1, 6)]
    decoded = Connection(host).feed(b"".join(frames))
    assert [d.command.id for d in decoded] == [1, 2, 3, 4, 5]
    assert [d.wire for d in decoded] == frames
    assert [d.ctx for d in decoded] == [1, 2, 3, 4, 5]
    assert logged(host, "decode id=") == ["1", "2", "3", "4", "5"]
    assert {r.level for r in host.logs if r.message.startswith("decode")} == {1}


# ------------------------------------------------------------------ DecodeData as MOSN reads it

# support.MIRROR_PLUGIN reports the DecodeData the test builds, after one byte
# with the status it returns. MOSN's reads are in decode.go decode() and
# decodeWasmRequest / decodeWasmResponse.
COMMAND = DecodedCommand([(b"service", b"svc")], 0x41, 7, 3000, 30, b"body")


def mirror_decode(mirror: MosnHost, data: bytes, status: int = 0) -> object:
    return outcome(lambda: mirror.decode(mirror.new_context(), bytes([status]) + data))


def test_decode_data_is_read_field_by_field(mirror: MosnHost) -> None:
    result = mirror.decode(mirror.new_context(), b"\x00" + pack_decode_data(COMMAND))
    assert result.ok and result.command == COMMAND


def test_bytes_after_the_payload_are_ignored(mirror: MosnHost) -> None:
    # rawBytesLen bytes are copied from byteIndex; nothing checks what follows.
    result = mirror_decode(mirror, pack_decode_data(COMMAND) + b"trailing bytes")
    assert getattr(result, "command", None) == COMMAND


def test_payload_len_past_the_end_is_a_mosn_failure(mirror: MosnHost) -> None:
    # `content[byteIndex:byteIndex+rawBytesLen]` past the end of the buffer.
    result = mirror_decode(mirror, pack_decode_data(COMMAND)[:-1])
    assert isinstance(result, MosnFailure) and "payload_len 4 runs past" in str(result)


def test_every_strict_prefix_of_decode_data_is_a_mosn_failure(mirror: MosnHost) -> None:
    # Go panics on every fixed read past the end (binary.BigEndian.Uint32 / Uint64
    # on a short slice, content[4+headerBytes]); the empty prefix is a decode
    # that reported nothing. (A cut inside the header map: test_mosn_differences.)
    data = pack_decode_data(DecodedCommand([], 0x41, 7, 3000, 30, b"body"))
    for cut in range(len(data)):
        assert isinstance(mirror_decode(mirror, data[:cut]), MosnFailure), cut


def test_drain_len_0_is_a_mosn_failure(mirror: MosnHost) -> None:
    # Nothing is drained and Dispatch decodes the same bytes again, forever.
    cmd = DecodedCommand([], 0x41, 7, 0, 0, b"")
    result = mirror_decode(mirror, pack_decode_data(cmd))
    assert isinstance(result, MosnFailure) and "drain_len 0" in str(result)


def test_drain_len_beyond_the_input_is_a_mosn_failure(mirror: MosnHost) -> None:
    cmd = DecodedCommand([], 0x41, 7, 0, 1000, b"")
    result = mirror_decode(mirror, pack_decode_data(cmd))
    assert isinstance(result, MosnFailure) and "drain_len 1000" in str(result)


def test_ok_without_decode_data_is_a_mosn_failure(mirror: MosnHost) -> None:
    # decodeCommand: `if wasmCtx.decodeWasmBuffer == nil { return nil, nil }`, the
    # answer for "need more data": MOSN waits for bytes that may never come.
    result = mirror_decode(mirror, b"")
    assert isinstance(result, MosnFailure) and "never reported" in str(result)


def test_kind_3_in_decode_data_is_a_mosn_failure(mirror: MosnHost) -> None:
    for flag in (0xC0, 0xC1, 0xE1):
        cmd = DecodedCommand([], flag, 7, 0, 30, b"")
        result = mirror_decode(mirror, pack_decode_data(cmd))
        assert isinstance(result, MosnFailure) and "kind 3" in str(result), flag


def test_header_bytes_is_only_where_the_flag_is(mirror: MosnHost) -> None:
    # With header_bytes 0, MOSN reads no header at all (`if headerBytes > 0`).
    data = struct.pack(">I", 0) + struct.pack(">BQIII", 0x00, 2560, 0, 10, 0)
    result = mirror.decode(mirror.new_context(), b"\x00" + data)
    assert result.command == DecodedCommand([], 0x00, 2560, 0, 10, b"")
    # With header_bytes > 0 the reader runs to the end (see QUIRK above): 2560
    # behind a 10-byte map leaves 13 - 10 = 3 bytes, and MOSN panics.
    cmd = DecodedCommand([(b"k", b"v")], 0x00, 2560, 0, 30, b"")
    assert isinstance(mirror_decode(mirror, pack_decode_data(cmd)), MosnFailure)


@pytest.mark.parametrize("status", [Status.NEED_MORE_DATA, Status.INTERNAL_FAILURE, 1, 2])
def test_decode_statuses_other_than_0_report_no_command(mirror: MosnHost, status: int) -> None:
    # exports.go ProxyDecodeBufferBytes: 99 is "need more data"; any status other
    # than 0 and 99 is an error, and conn.go Dispatch closes the connection.
    result = mirror.decode(mirror.new_context(), bytes([status]))
    assert (result.status, result.command) == (status, None)
    assert result.need_more == (status == Status.NEED_MORE_DATA)


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
    assert logged(host, "encode ") == [f"ctx={ctx} flag=64 replaced=77 command=5 tos=2500"]


def test_decode_encode_round_trip(host: MosnHost) -> None:
    ctx = host.new_context()
    original = echo_frame(0x00, 123456789012, 404, [(b"a", b"b")], b"\x00\xff" * 100)
    cmd = host.decode(ctx, original).command
    assert cmd is not None
    encoded = host.encode(
        ctx, cmd.headers, cmd.mosn_flag, cmd.id, cmd.id, cmd.timeout_or_status, cmd.payload
    )
    assert encoded.frame is not None and encoded.frame.frame == original


def test_encode_accepts_mappings_and_str_headers(host: MosnHost) -> None:
    ctx = host.new_context()
    result = host.encode(ctx, {"service": "svc"}, FLAG_REQUEST, 1, 1, 0, b"")
    assert result.frame is not None
    assert result.frame.frame == echo_frame(FLAG_REQUEST, 1, 0, [(b"service", b"svc")], b"")


def test_encode_failure_reports_no_frame(host: MosnHost) -> None:
    # The echo plugin refuses headers over 65535 bytes (status 10).
    result = host.encode(host.new_context(), [(b"k", b"v" * 70_000)], FLAG_REQUEST, 1, 1, 0, b"")
    assert (result.status, result.frame, result.ok) == (Status.INTERNAL_FAILURE, None, False)


# support.MIRROR_PLUGIN reports the payload of the encode call as EncodeData.
# MOSN's reads are in encode.go encode(): DecodeHeader over content[4:] when
# header_bytes > 0, then frame_len at 17 + header_bytes and the frame after it.
def mirror_encode(mirror: MosnHost, data: bytes) -> object:
    return outcome(
        lambda: mirror.encode(mirror.new_context(), [], FLAG_REQUEST, 1, 1, 0, data).frame
    )


def test_encode_data_is_read_as_mosn_reads_it(mirror: MosnHost) -> None:
    frame = EncodedFrame(0x41, 9, 3000, b"wire bytes", [(b"k", b"v")])
    assert mirror_encode(mirror, pack_encode_data(frame)) == frame
    # Bytes after the frame are ignored; a frame_len past the end is Go's panic.
    assert mirror_encode(mirror, pack_encode_data(frame) + b"tail") == frame
    result = mirror_encode(mirror, pack_encode_data(frame)[:-1])
    assert isinstance(result, MosnFailure) and "frame_len 10 runs past" in str(result)


def test_every_strict_prefix_of_encode_data_is_a_mosn_failure(mirror: MosnHost) -> None:
    data = pack_encode_data(EncodedFrame(0x41, 9, 3000, b"wire"))
    for cut in range(len(data)):
        assert isinstance(mirror_encode(mirror, data[:cut]), MosnFailure), cut


# The same header reader quirk on encode. Behind a 10-byte map ("k", "v"): flag
# (1), id (8), timeout (4), frame_len (4), frame (none here). With flag 0x00 and
# an id below 2**40 the first bogus key is empty and the value length is
# (id >> 8) & 0xFFFFFFFF = V, with 9 bytes left after it (id's last byte,
# timeout, frame_len): V = 6 (id 1536) leaves 3 bytes for a length, a panic;
# V = 9 (id 2304) makes a second header ("", 9 bytes).
@pytest.mark.parametrize(
    ("cid", "reason"), [(1536, r"3 bytes are left for a key length"), (2304, r"sees 2 headers")]
)
def test_encode_data_flag_without_bit_0_lets_mosn_read_the_id_as_headers(
    mirror: MosnHost, cid: int, reason: str
) -> None:
    frame = EncodedFrame(0x00, cid, 0, b"", [(b"k", b"v")])
    result = mirror_encode(mirror, pack_encode_data(frame))
    assert isinstance(result, MosnFailure) and re.search(reason, str(result))
    with_bit_0 = EncodedFrame(0x01, cid, 0, b"", [(b"k", b"v")])
    assert mirror_encode(mirror, pack_encode_data(with_bit_0)) == with_bit_0
    without_headers = EncodedFrame(0x00, cid, 0, b"")
    assert mirror_encode(mirror, pack_encode_data(without_headers)) == without_headers


# ------------------------------------------------------------------ keepalive and hijack


def test_keepalive_then_encode_serialises_a_heartbeat(host: MosnHost) -> None:
    ctx = host.new_context()
    assert host.keepalive(ctx, 42) == Status.OK
    result = host.encode(ctx, [], FLAG_REQUEST | FLAG_HEARTBEAT, 42, 42, 3000, b"")
    assert result.frame is not None
    assert result.frame.heartbeat and result.frame.kind == "request"
    assert result.frame.frame == echo_frame(0x60, 42, 0, [], b"ping")
    decoded = host.decode(host.new_context(), result.frame.frame).command
    assert decoded is not None and decoded.heartbeat and decoded.id == 42


def test_reply_keepalive_answers_the_last_heartbeat(host: MosnHost) -> None:
    ctx = host.new_context()
    assert host.reply_keepalive(ctx) == Status.INTERNAL_FAILURE  # nothing decoded yet
    assert host.decode(ctx, echo_frame(0x60, 9001, 0, [], b"")).ok
    host.clear_logs()
    assert host.reply_keepalive(ctx) == Status.OK
    # exports.go ProxyReplyKeepAliveBufferBytes: `ff.Call(contextId, 0, 0)`.
    assert messages(host) == ["reply_keepalive ptr=0 len=0"]
    result = host.encode(ctx, [], FLAG_HEARTBEAT, 9001, 9001, 0, b"")
    assert result.frame is not None
    assert result.frame.frame == echo_frame(FLAG_HEARTBEAT, 9001, 0, [], b"pong")


def test_hijack_buffer_layout_and_response(host: MosnHost) -> None:
    # exports.go ProxyHijackBufferBytes: header_bytes 0, flag, the request's id
    # (GetRequestId) twice, timeout, the raw frame's length and bytes.
    ctx = host.new_context()
    request = echo_frame(FLAG_REQUEST, 31337, 1500, [(b"service", b"svc")], b"req")
    host.clear_logs()
    status = host.hijack(ctx, 503, request, command_id=31337, timeout=1500)
    assert status == Status.OK
    expected = struct.pack(">IBQQII", 0, FLAG_REQUEST, 31337, 31337, 1500, len(request)) + request
    assert logged(host, "hijack ") == [expected.hex()]
    result = host.encode(ctx, [], FLAG_RESPONSE, 31337, 31337, 0, b"")
    assert result.frame is not None
    assert result.frame.frame == echo_frame(0x00, 31337, 503, [], b"hijacked")


def test_a_failing_hijack_is_a_mosn_failure(host: MosnHost) -> None:
    # hijacker.go: on an error from ProxyHijackBufferBytes (any status but 0) it
    # returns nil before `wasmCtx.instance.Unlock()`: the instance stays locked
    # and every later call on it waits forever.
    ctx = host.new_context()
    request = echo_frame(FLAG_REQUEST, 1, 0, [], b"")
    with pytest.raises(MosnFailure, match=r"returned 10 for status code 599.*waits forever"):
        host.hijack(ctx, 599, request, command_id=1)


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


# ------------------------------------------------------------------ host calls


def test_host_calls_refuse_bad_arguments_with_a_status(contract_host: MosnHost) -> None:
    # A bad pointer or buffer type is a status to the plugin, never an exception
    # in the host. (The exact status for proxy_log and proxy_get_buffer_bytes:
    # test_mosn_differences.)
    for selector in (b"d", b"f"):
        assert contract_host.decode(contract_host.new_context(), selector).status == 10
        assert probed(contract_host) not in (Status.OK, Status.EMPTY), selector


@pytest.mark.parametrize(
    ("selector", "status"),
    [
        # proxy-wasm-go-host/internal/imports/v1/buffer.go ProxySetBufferBytes:
        # GetMemory fails -> WasmResultInvalidMemoryAccess (6).
        (b"e", 6),
        # GetBuffer(99): Context.GetCustomBuffer (wasm/context.go) has no such
        # buffer -> WasmResultNotFound (1).
        (b"g", Status.NOT_FOUND),
        # GetBuffer(6) during a protocol call: Context's GetVmConfig() is nil -> 1.
        (b"i", Status.NOT_FOUND),
    ],
)
def test_host_calls_answer_as_mosn(contract_host: MosnHost, selector: bytes, status: int) -> None:
    assert contract_host.decode(contract_host.new_context(), selector).status == 10
    assert probed(contract_host) == status


def test_decode_data_set_twice_keeps_the_second(contract_host: MosnHost) -> None:
    # context.go GetCustomBuffer makes a new, empty DecodeData buffer on each
    # get or set, so a set replaces what an earlier one wrote (frame 1000 here).
    result = contract_host.decode(contract_host.new_context(), b"l")
    assert result.command == DecodedCommand([], 0x41, 2, 0, 1, b"")


def test_get_decode_data_replaces_it_with_an_empty_buffer(contract_host: MosnHost) -> None:
    # The plugin reports frame 2, then fetches DecodeData: MOSN hands out a new,
    # empty buffer (status OK, 0 bytes) and then reads that one: nothing.
    with pytest.raises(MosnFailure):
        contract_host.decode(contract_host.new_context(), b"k")


def test_short_decode_data_is_a_mosn_failure(contract_host: MosnHost) -> None:
    with pytest.raises(MosnFailure, match="ends inside the id"):
        contract_host.decode(contract_host.new_context(), b"b")


def test_ok_without_decode_data_is_a_mosn_failure_in_a_plugin(contract_host: MosnHost) -> None:
    with pytest.raises(MosnFailure, match="never reported"):
        contract_host.decode(contract_host.new_context(), b"a")


def test_drain_len_beyond_input_is_a_mosn_failure_in_a_plugin(contract_host: MosnHost) -> None:
    with pytest.raises(MosnFailure, match="drain_len 1000"):
        contract_host.decode(contract_host.new_context(), b"c" * 10)


def test_endless_loop_is_cut_by_fuel(contract_host: MosnHost) -> None:
    with pytest.raises(PluginTrap) as info:
        contract_host.decode(contract_host.new_context(), b"h")
    assert info.value.input == b"h"
    assert info.value.call == "proxy_decode_buffer_bytes"
    assert info.value.trap_code == "OUT_OF_FUEL"


def test_other_statuses_pass_through(contract_host: MosnHost) -> None:
    assert contract_host.decode(contract_host.new_context(), b"z").status == 10


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
        assert host.decode(host.new_context(), big).ok
    assert host.memory_pages == grown  # the plugin's arena is reset per call


def test_many_frames_on_one_instance_keep_memory_flat(host: MosnHost) -> None:
    # As MOSN runs it: a context per frame, encoded upstream, then deleted.
    connection = Connection(host)
    wire = echo_frame(FLAG_REQUEST, 7, 100, [(b"service", b"s")], b"p" * 64)
    [first] = connection.feed(wire)
    send(host, first, 1)
    pages = host.memory_pages
    for i in range(1500):
        [frame] = connection.feed(wire)
        out = send(host, frame, i)
        assert out.frame is not None and out.frame.id == i
    assert host.memory_pages == pages
    assert host.contexts == frozenset()


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


# ------------------------------------------------------------------ WASI

WASI_PLUGIN = """
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
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
    (i32.store (i32.const 32) (call $poll (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0)))
    (i32.store (i32.const 48) (call $random (i32.const 60) (i32.const 8)))
    (i32.store (i32.const 52) (call $fd_write (i32.const 7) (i32.const 0) (i32.const 1)
      (i32.const 16))))
"""


def test_wasi_imports_are_provided() -> None:
    host = MosnHost.from_file(wat_module(WASI_PLUGIN, without=("_start", "memory")))
    assert host.logs == [
        LogRecord(2, "hello from wasi"),
        LogRecord(4, "oops"),
        LogRecord(2, "partial"),
    ]
    assert host.abi_version == ABI_MARKER

    def peek(at: int) -> int:
        (value,) = struct.unpack("<I", host.read_memory(at, 4))
        return int(value)

    assert peek(16) == 23 and peek(20) == 5  # nwritten
    assert peek(40) == 0 and peek(44) == 0  # fd_write succeeded
    assert peek(32) == 52  # a WASI call the emulator does not implement: ENOSYS
    assert peek(48) == 0  # random_get succeeded
    assert host.read_memory(60, 8) != bytes(8)
    assert peek(52) == 8  # fd 7 is not open: EBADF
    with pytest.raises(HostError, match="out of bounds"):
        host.read_memory(65536 - 2, 4)


def test_old_tinygo_wasi_unstable_is_provided() -> None:
    host = MosnHost.from_file(wat_module(
        """
      (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "old tinygo\\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 11))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))""",
        without=("_start", "memory"),
    ))  # fmt: skip
    assert host.logs == [LogRecord(2, "old tinygo")]


def test_invalid_module_is_a_host_error(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="not a valid WebAssembly module"):
        MosnHost.from_file(b"\x00asm\x01\x00\x00\x00garbage")
    with pytest.raises(HostError, match="cannot read plugin"):
        MosnHost.from_file(tmp_path / "missing.wasm")


# ------------------------------------------------------------------ abi helpers


def test_only_mosn_abi_marker_is_known() -> None:
    assert ABI_MARKER == "proxy_abi_mosn_version_0_2_0"
    assert not hasattr(host_abi, "ABI_MARKER_OLD")


def test_flag_constants_and_kinds() -> None:
    # wasm/types.go: HeartBeatFlag 1<<5, RpcRequestFlag 1<<6, RpcResponseFlag 0;
    # decode accepts flag >> 6 of 0, 1, 2 only.
    assert (FLAG_COPY_RAW_BYTES, FLAG_HEARTBEAT, FLAG_REQUEST, FLAG_RESPONSE) == (1, 0x20, 0x40, 0)
    assert (FLAG_ONEWAY, FLAG_KIND) == (0x80, 0xC0)
    kinds = [command_kind(f) for f in (0x00, 0x40, 0x80, 0xC0)]
    assert kinds == ["response", "request", "oneway", "refused"]
    assert [command_kind(f | 0x21) for f in (0x00, 0x40, 0x80, 0xC0)] == kinds


def test_mosn_flag_is_what_mosn_passes_back() -> None:
    # exports.go ProxyEncodeRequestBufferBytes / ProxyHijackBufferBytes write
    # RpcRequestFlag (0x40) plus the heartbeat bit for every request (decode.go
    # never makes a oneway one out of kind 2); the response encode writes 0 plus
    # the heartbeat bit. Bit 0 and the other low bits are not passed back.
    assert [mosn_flag(f) for f in (0x41, 0x81, 0x61, 0xA1, 0x5F)] == [0x40, 0x40, 0x60, 0x60, 0x40]
    assert [mosn_flag(f) for f in (0x00, 0x01, 0x21, 0x3F)] == [0x00, 0x00, 0x20, 0x20]


def test_mosn_decode_header_follows_decode_header() -> None:
    # header/bytes.go DecodeHeader / decodeStr.
    pair = encode_header_map([(b"a", b"b")])
    # A length of 0xFFFFFFFF skips its 4 bytes and drops a half-read entry.
    assert mosn_decode_header(struct.pack(">I", 0xFFFFFFFF) + pair) == [(b"a", b"b")]
    key_then_minus_1 = struct.pack(">I", 1) + b"k" + struct.pack(">I", 0xFFFFFFFF)
    assert mosn_decode_header(key_then_minus_1 + pair) == [(b"a", b"b")]
    # A length past the end stops the reader (its error is ignored).
    assert mosn_decode_header(pair + struct.pack(">I", 5) + b"abc") == [(b"a", b"b")]
    # Fewer than 4 bytes for a length: Go panics on the slice.
    for tail in (b"\x00", b"\x00\x00\x00", struct.pack(">I", 0)):
        with pytest.raises(MosnFailure, match="bytes are left"):
            mosn_decode_header(pair + tail)
    assert mosn_decode_header(b"") == []


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
    # No map (MOSN's EOF VM configuration) is empty; an empty map is its count.
    assert encode_config_map(None) == b""
    assert encode_config_map({}) == b"\0\0\0\0"
    assert decode_config_map(b"") == [] == decode_config_map(b"\0\0\0\0")
    data = encode_config_map({"a": "xyz", "bb": ""})
    assert decode_config_map(data) == [(b"a", b"xyz"), (b"bb", b"")]
    with pytest.raises(BufferFormatError):
        decode_config_map(data[:-1])


def test_buffer_pack_parse_round_trips() -> None:
    cmd = DecodedCommand([(b"k", b"v")], 0x41, 2**64 - 1, 2**32 - 1, 40, b"payload")
    assert parse_decode_data(pack_decode_data(cmd)) == cmd
    assert parse_decode_data(pack_decode_data(cmd) + b"extra") == cmd  # trailing ignored
    frame = EncodedFrame(0x20, 5, 6, b"wire")
    packed = pack_encode_data(frame)
    assert packed == struct.pack(">IBQII", 0, 0x20, 5, 6, 4) + b"wire"
    assert parse_encode_data(packed) == frame
    with_headers = EncodedFrame(0x21, 5, 6, b"wire", [(b"k", b"v")])
    assert parse_encode_data(pack_encode_data(with_headers)) == with_headers
    request = pack_encode_request([(b"k", b"v")], 0x40, 9, 8, 7, b"p")
    assert request == (
        struct.pack(">I", 10) + encode_header_map([(b"k", b"v")])
        + struct.pack(">BQQII", 0x40, 9, 8, 7, 1) + b"p"
    )  # fmt: skip
    hijack = pack_hijack_request(0x40, 77, 1500, b"raw")
    assert hijack == struct.pack(">IBQQII", 0, 0x40, 77, 77, 1500, 3) + b"raw"
    with pytest.raises(MosnFailure, match="kind 3"):
        parse_decode_data(pack_decode_data(DecodedCommand([], 0xC1, 1, 0, 1, b"")))


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
