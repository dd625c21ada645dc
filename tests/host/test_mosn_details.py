"""The finer points of MOSN v1.6.1's host the emulator follows: each test says
what MOSN does, with the source that says so (paths as in tests/host/support.py);
each failed once, when the emulator did something else."""

from __future__ import annotations

import pytest

from protodsl.host import FLAG_REQUEST, HostError, MosnHost
from protodsl.host.abi import DecodedCommand, pack_decode_data
from protodsl.host.errors import MosnFailure
from protodsl.host.streams import Connection, decode_one, send
from tests.host.support import (
    calls,
    contract_module,
    echo_frame,
    messages,
    outcome,
    probed,
    wat_module,
)

REQUEST = echo_frame(FLAG_REQUEST, 5, 1500, [(b"service", b"svc")], b"req")

# ------------------------------------------------------------------ loading


def test_proc_exit_0_in_start_keeps_mosn_from_loading_the_plugin() -> None:
    body = """
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (func (export "_start") (call $exit (i32.const 0)))"""
    result = outcome(lambda: MosnHost.from_file(wat_module(body, without=("_start",))))
    assert isinstance(result, HostError) and "proc_exit(0)" in str(result)


@pytest.mark.parametrize(
    "imports",
    [
        # wasmer-go's GenerateImportObject provides the functions of one WASI
        # version, detected from the module: the others are missing imports.
        '(import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32)))'
        ' (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))',
        # A name WASI does not define is a missing import.
        '(import "wasi_snapshot_preview1" "no_such_call" (func (param i32) (result i32)))',
    ],
    ids=["two-wasi-versions", "unknown-wasi-function"],
)
def test_wasi_imports_mosn_cannot_satisfy_are_refused(imports: str) -> None:
    assert isinstance(outcome(lambda: MosnHost.from_file(wat_module(imports))), HostError)


def test_host_calls_in_start_cannot_reach_memory() -> None:
    host = MosnHost.from_file(contract_module())
    assert probed(host, 12) == 6


def test_decode_and_encode_data_are_not_found_during_start_up() -> None:
    host = MosnHost.from_file(contract_module())
    assert (probed(host, 4), probed(host, 8)) == (1, 1)


# ------------------------------------------------------------------ host calls


def test_proxy_log_past_memory_is_invalid_memory_access(contract_host: MosnHost) -> None:
    contract_host.decode(contract_host.new_context(), b"d")
    assert probed(contract_host) == 6


def test_get_buffer_bytes_return_pointer_past_memory_is_invalid_memory_access(
    contract_host: MosnHost,
) -> None:
    contract_host.decode(contract_host.new_context(), b"f")
    assert probed(contract_host) == 6


def test_configuration_is_not_found_during_protocol_calls(contract_host: MosnHost) -> None:
    contract_host.decode(contract_host.new_context(), b"m")
    assert probed(contract_host) == 1


def test_a_failed_set_still_replaces_decode_data(contract_host: MosnHost) -> None:
    result = outcome(lambda: contract_host.decode(contract_host.new_context(), b"n"))
    assert isinstance(result, MosnFailure)


# ------------------------------------------------------------------ decode


def test_need_more_data_with_decode_data_still_decodes_it(mirror: MosnHost) -> None:
    cmd = DecodedCommand([], 0x41, 7, 0, 10, b"")
    result = mirror.decode(mirror.new_context(), b"\x63" + pack_decode_data(cmd))
    assert result.command == cmd


def test_decode_data_cut_inside_the_header_map_is_a_mosn_failure(mirror: MosnHost) -> None:
    data = pack_decode_data(DecodedCommand([(b"service", b"svc")], 0x41, 7, 0, 10, b""))
    for cut in range(5, 4 + 18):  # inside the 18-byte map
        prefix = b"\0" + data[:cut]
        result = outcome(lambda: mirror.decode(mirror.new_context(), prefix))  # noqa: B023
        assert isinstance(result, MosnFailure), cut


# ------------------------------------------------------------------ streams: proxy_on_delete

# MOSN calls proxy_on_delete in exactly four places (grep ProxyOnDelete / clean()
# in pkg/): after a successful encode (encode.go), after decoding a heartbeat
# response (decode.go), after the keepalive probe with id 0 (keepalive.go), and
# in wasmRpcBuffer's Reset (buffer.go), whose request / response never hold a
# context (decode.go fills a copy: `req := poolCmd.request`). OnProxyDelete and
# finishWasmContext (protocol.go) are never called.


def test_a_failed_decode_leaves_its_context(host: MosnHost) -> None:
    host.clear_logs()
    Connection(host).feed(b"\x00\x00\x00\x05" + b"\x00" * 20)
    assert calls(host, "on_context_create", "on_delete") == ["on_context_create 1 1"]


def test_a_heartbeat_response_context_is_deleted_after_decode(host: MosnHost) -> None:
    host.clear_logs()
    [pong] = Connection(host).feed(echo_frame(0x20, 9, 0, [], b"pong"))
    assert messages(host) == ["on_context_create 1 1", "decode id=9", "on_delete 1 0"]
    assert pong.ctx not in host.contexts


def test_a_failed_encode_leaves_its_context(host: MosnHost) -> None:
    [frame] = Connection(host).feed(REQUEST)
    result = send(host, frame, 9, headers=[(b"k", b"v" * 70_000)])  # the plugin refuses
    assert result.frame is None
    assert "on_delete 1 0" not in messages(host) and frame.ctx in host.contexts


def test_contexts_nothing_encoded_are_never_deleted(host: MosnHost) -> None:
    host.clear_logs()
    Connection(host).feed(REQUEST[:7])
    decode_one(host, REQUEST)
    assert calls(host, "on_delete") == []
