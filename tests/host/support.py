"""Helpers shared by the tests of protodsl.host: the echo plugin's wire format and
logs, WAT modules of the shape MOSN loads, and a way to catch a HostError as a value.

Paths of MOSN's source cited in the tests are relative to the Go module cache
(``/root/go/pkg/mod``): ``mosn.io/mosn@v1.6.1/pkg/...``, ``mosn.io/pkg@v1.6.0/...``
and ``mosn.io/proxy-wasm-go-host@v0.2.1-0.20230626122511-25a9e133320e/...``
(shortened below to ``proxy-wasm-go-host/...``).
"""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime

from protodsl.host import HostError, MosnHost

PLUGIN_SOURCE = Path(__file__).parent / "plugins" / "echo_plugin.c"
ECHO_HEADER = struct.Struct(">IBQIH")  # total_len, flag, id, timeout/status, hdr_len


def build_echo(out: Path) -> Path:
    """Compile echo_plugin.c with zig cc into `out`."""
    cmd = [
        sys.executable, "-m", "ziglang", "cc", "--target=wasm32-freestanding", "-O2",
        "-nostdlib", "-Wl,--no-entry", "-Wl,--export-dynamic", "-o", str(out), str(PLUGIN_SOURCE),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    return out


def header_map(headers: list[tuple[bytes, bytes]]) -> bytes:
    """``u32 key_len | key | u32 value_len | value`` per entry, big-endian."""
    return b"".join(
        struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v for k, v in headers
    )


def echo_frame(
    flag: int,
    cid: int,
    tos: int,
    headers: list[tuple[bytes, bytes]],
    payload: bytes,
) -> bytes:
    """The echo protocol's wire frame, built independently of the plugin."""
    hmap = header_map(headers)
    total = ECHO_HEADER.size + len(hmap) + len(payload)
    return ECHO_HEADER.pack(total, flag, cid, tos, len(hmap)) + hmap + payload


def messages(host: MosnHost) -> list[str]:
    """Every line the plugin logged, oldest first."""
    return [record.message for record in host.logs]


def logged(host: MosnHost, prefix: str) -> list[str]:
    """The rest of every logged line that starts with `prefix`."""
    return [m[len(prefix) :] for m in messages(host) if m.startswith(prefix)]


def calls(host: MosnHost, *names: str) -> list[str]:
    """The logged lines of the echo plugin's context calls (e.g. on_context_create,
    on_delete) and encodes, in order: what MOSN called, on which context."""
    return [m for m in messages(host) if m.split(" ")[0] in names]


# The exports MOSN needs from every module (see test_emulator's refusal tests):
# _start (proxy-wasm-go-host/wasmer/instance.go Start), the ABI marker
# (pkg/wasm/abi/registry.go GetABI), malloc (wasmer/instance.go Malloc) and the
# memory named "memory" (wasmer/instance.go GetExportsMem("memory")).
SHAPE: dict[str, str] = {
    "_start": '(func (export "_start"))',
    "marker": '(func (export "proxy_abi_mosn_version_0_2_0"))',
    "malloc": '(func (export "malloc") (param i32) (result i32) (i32.const 1024))',
    "memory": '(memory (export "memory") 1)',
}


def wat_module(body: str = "", *, without: tuple[str, ...] = ()) -> bytes:
    """A module of the shape MOSN loads (minus the parts named in `without`), plus `body`
    (first, so that its imports come before every definition, as WAT requires)."""
    parts = [text for name, text in SHAPE.items() if name not in without]
    return bytes(wasmtime.wat2wasm(f"(module {body} {' '.join(parts)})"))


def wat_host(body: str = "", **kwargs: Any) -> MosnHost:
    """Load `body` inside a module of the shape MOSN loads."""
    return MosnHost.from_file(wat_module(body), **kwargs)


def outcome(call: Callable[[], Any]) -> Any:
    """The value `call` returns, or the HostError it raises."""
    try:
        return call()
    except HostError as exc:
        return exc


# A plugin whose decode reports exactly the DecodeData a test builds, and whose
# encode reports exactly the EncodeData a test builds: it checks how the host
# reads those buffers, byte by byte.
#   decode input: u8 status | DecodeData -> reports the DecodeData (if there is
#       any) with proxy_set_buffer_bytes(13) and returns the status;
#   encode input: the host's encode buffer of a command without headers -> reports
#       the command's payload (from offset 29 on) as EncodeData and returns 0.
MIRROR_PLUGIN = """
  (import "env" "proxy_set_buffer_bytes"
    (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (func (export "proxy_decode_buffer_bytes") (param $ctx i32) (param $ptr i32) (param $len i32)
    (result i32)
    (if (i32.gt_u (local.get $len) (i32.const 1)) (then
      (drop (call $set (i32.const 13) (i32.const 0) (i32.sub (local.get $len) (i32.const 1))
        (i32.add (local.get $ptr) (i32.const 1)) (i32.sub (local.get $len) (i32.const 1))))))
    (i32.load8_u (local.get $ptr)))
  (func (export "proxy_encode_buffer_bytes") (param $ctx i32) (param $ptr i32) (param $len i32)
    (result i32)
    (call $set (i32.const 14) (i32.const 0) (i32.sub (local.get $len) (i32.const 29))
      (i32.add (local.get $ptr) (i32.const 29)) (i32.sub (local.get $len) (i32.const 29))))
"""

# A plugin that misuses the host calls on purpose, chosen by the first input byte
# of decode. Probes store the status a host call returned at address 0 (read it
# with probed()) and return 10. Pointer 131072 is past its one page of memory.
#   a: returns 0 (OK) without reporting anything
#   b: reports a 6-byte DecodeData (shorter than MOSN's fixed reads)
#   c: reports a frame with drain_len 1000
#   d: probe proxy_log(2, 131072, 100)
#   e: probe proxy_set_buffer_bytes(13, 0, 100, 131072, 100)
#   f: probe proxy_get_buffer_bytes(13, 0, 10, 131072, 64): return pointer out of bounds
#   g: probe proxy_get_buffer_bytes(99, ...): a buffer type MOSN does not know
#   h: loops forever
#   i: probe proxy_set_buffer_bytes(6, ...): the VM configuration
#   k: reports frame 2, then fetches DecodeData (a fresh, empty buffer in MOSN) and
#      returns that call's status
#   l: reports frame 1000, then frame 2, and returns the second call's status
#   m: probe proxy_get_buffer_bytes(7, ...): the plugin configuration, during decode
#   n: reports frame 2, then calls proxy_set_buffer_bytes(13) with a pointer out of
#      bounds, and returns 0
#   anything else: returns 10
# Frame 1000 (at 400) and frame 2 (at 500): no headers, flag 0x41, id 1 / 2,
# timeout 0, drain_len 1000 / 1, no payload.
# _start stores what proxy_log returns there at address 12; on_configure stores
# what proxy_get_buffer_bytes(13) and proxy_set_buffer_bytes(13) return then at
# 4 and 8.
CONTRACT_PLUGIN = """
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes"
    (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes"
    (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 4096))
  (data (i32.const 300) "\\00\\00\\00\\00\\01\\02")
  (data (i32.const 400) "\\00\\00\\00\\00\\41\\00\\00\\00\\00\\00\\00\\00\\01"
                        "\\00\\00\\00\\00\\00\\00\\03\\e8\\00\\00\\00\\00")
  (data (i32.const 500) "\\00\\00\\00\\00\\41\\00\\00\\00\\00\\00\\00\\00\\02"
                        "\\00\\00\\00\\00\\00\\00\\00\\01\\00\\00\\00\\00")
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func (export "_start")
    (i32.store (i32.const 12) (call $log (i32.const 2) (i32.const 300) (i32.const 1))))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (i32.store (i32.const 4)
      (call $get (i32.const 13) (i32.const 0) (i32.const 10) (i32.const 60) (i32.const 64)))
    (i32.store (i32.const 8)
      (call $set (i32.const 13) (i32.const 0) (i32.const 6) (i32.const 300) (i32.const 6)))
    (i32.const 1))
  (func $probe (param $status i32) (result i32)
    (i32.store (i32.const 0) (local.get $status))
    (i32.const 10))
  (func $report (param $at i32) (result i32)
    (call $set (i32.const 13) (i32.const 0) (i32.const 25) (local.get $at) (i32.const 25)))
  (func (export "proxy_decode_buffer_bytes") (param $ctx i32) (param $ptr i32) (param $len i32)
    (result i32)
    (local $c i32)
    (local.set $c (i32.load8_u (local.get $ptr)))
    (if (i32.eq (local.get $c) (i32.const 97)) (then (return (i32.const 0))))
    (if (i32.eq (local.get $c) (i32.const 98)) (then (return
      (call $set (i32.const 13) (i32.const 0) (i32.const 6) (i32.const 300) (i32.const 6)))))
    (if (i32.eq (local.get $c) (i32.const 99)) (then (return (call $report (i32.const 400)))))
    (if (i32.eq (local.get $c) (i32.const 100)) (then (return (call $probe
      (call $log (i32.const 2) (i32.const 131072) (i32.const 100))))))
    (if (i32.eq (local.get $c) (i32.const 101)) (then (return (call $probe
      (call $set (i32.const 13) (i32.const 0) (i32.const 100) (i32.const 131072)
        (i32.const 100))))))
    (if (i32.eq (local.get $c) (i32.const 102)) (then (return (call $probe
      (call $get (i32.const 13) (i32.const 0) (i32.const 10) (i32.const 131072)
        (i32.const 64))))))
    (if (i32.eq (local.get $c) (i32.const 103)) (then (return (call $probe
      (call $get (i32.const 99) (i32.const 0) (i32.const 10) (i32.const 60) (i32.const 64))))))
    (if (i32.eq (local.get $c) (i32.const 104)) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $c) (i32.const 105)) (then (return (call $probe
      (call $set (i32.const 6) (i32.const 0) (i32.const 1) (i32.const 300) (i32.const 1))))))
    (if (i32.eq (local.get $c) (i32.const 107)) (then
      (drop (call $report (i32.const 500)))
      (return
        (call $get (i32.const 13) (i32.const 0) (i32.const 25) (i32.const 60) (i32.const 64)))))
    (if (i32.eq (local.get $c) (i32.const 108)) (then
      (drop (call $report (i32.const 400)))
      (return (call $report (i32.const 500)))))
    (if (i32.eq (local.get $c) (i32.const 109)) (then (return (call $probe
      (call $get (i32.const 7) (i32.const 0) (i32.const 10) (i32.const 60) (i32.const 64))))))
    (if (i32.eq (local.get $c) (i32.const 110)) (then
      (drop (call $report (i32.const 500)))
      (drop (call $set (i32.const 13) (i32.const 0) (i32.const 100) (i32.const 131072)
        (i32.const 100)))
      (return (i32.const 0))))
    (i32.const 10))
"""


def contract_module() -> bytes:
    return wat_module(CONTRACT_PLUGIN, without=("_start", "malloc", "memory"))


def probed(host: MosnHost, at: int = 0) -> int:
    """The status the contract plugin stored at `at`."""
    return int(struct.unpack("<I", host.read_memory(at, 4))[0])
