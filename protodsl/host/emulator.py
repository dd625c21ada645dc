"""A MOSN host emulator on wasmtime: loads a codec plugin and calls it as MOSN does.

One :class:`MosnHost` owns one wasmtime store and one plugin instance, exactly as
MOSN keeps one instance per plugin: contexts share that instance, so state
leaking between contexts shows up in tests the way it would in MOSN. It follows
MOSN v1.6's host code (pkg/protocol/xprotocol/wasm, pkg/wasm, mosn.io/proxy-wasm-
go-host's wasmer engine): it refuses a module MOSN refuses, calls ``_start`` and
the lifecycle as MOSN does and ignores their results as MOSN does, provides only
the imports MOSN provides, and reads what a plugin reports exactly as MOSN reads
it, raising :class:`MosnFailure` where MOSN would panic, refuse or hang.
:mod:`protodsl.host.streams` adds MOSN's stream layer on top (a context per
frame, ids replaced upstream, hijack, keepalive). Not thread-safe: use one host
per thread.
"""

from __future__ import annotations

import ctypes
import enum
import os
import random
import struct
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import wasmtime

from protodsl.host.abi import (
    ABI_MARKER,
    FLAG_REQUEST,
    BufferType,
    ConfigLike,
    DecodedCommand,
    EncodedFrame,
    HeadersLike,
    LogLevel,
    Status,
    encode_config_map,
    pack_encode_request,
    pack_hijack_request,
    parse_decode_data,
    parse_encode_data,
)
from protodsl.host.callbacks import define_func
from protodsl.host.calls import GuestCall, prepare
from protodsl.host.errors import BufferFormatError, HostError, MosnFailure, PluginTrap

__all__ = ["DEFAULT_FUEL_LIMIT", "DecodeResult", "EncodeResult", "LogRecord", "MosnHost"]

DEFAULT_FUEL_LIMIT = 10**10
"""Fuel granted to each operation when metering is on; running out is a PluginTrap."""

_M32 = 0xFFFFFFFF
_U32LE = struct.Struct("<I")
_U64LE = struct.Struct("<Q")
_IOVEC = struct.Struct("<II")

_WASI_MODULES = ("wasi_snapshot_preview1", "wasi_unstable")
# What wasmer's WASI import object defines (the same names in both versions).
_WASI_NAMES = frozenset("""
    args_get args_sizes_get environ_get environ_sizes_get clock_res_get clock_time_get
    fd_advise fd_allocate fd_close fd_datasync fd_fdstat_get fd_fdstat_set_flags
    fd_fdstat_set_rights fd_filestat_get fd_filestat_set_size fd_filestat_set_times fd_pread
    fd_prestat_get fd_prestat_dir_name fd_pwrite fd_read fd_readdir fd_renumber fd_seek
    fd_sync fd_tell fd_write path_create_directory path_filestat_get path_filestat_set_times
    path_link path_open path_readlink path_remove_directory path_rename path_symlink
    path_unlink_file poll_oneoff proc_exit proc_raise sched_yield random_get sock_recv
    sock_send sock_shutdown
""".split())
_ERRNO_BADF = 8
_ERRNO_FAULT = 21
_ERRNO_INVAL = 28
_ERRNO_NOSYS = 52
_ERRNO_SPIPE = 70
_STDIO_LEVEL = {1: int(LogLevel.INFO), 2: int(LogLevel.ERROR)}

_DECODE = "proxy_decode_buffer_bytes"
_ENCODE = "proxy_encode_buffer_bytes"
_KEEPALIVE = "proxy_keepalive_buffer_bytes"
_REPLY_KEEPALIVE = "proxy_reply_keepalive_buffer_bytes"
_HIJACK = "proxy_hijack_buffer_bytes"

# Expected export signatures: params, then results (None: results are not checked).
# "i" is i32 and "I" is i64.
_EXPORT_SIGNATURES: dict[str, tuple[str, str | None]] = {
    "malloc": ("i", "i"),
    "_start": ("", None),
    "proxy_on_context_create": ("ii", None),
    "proxy_on_vm_start": ("ii", "i"),
    "proxy_on_configure": ("ii", "i"),
    "proxy_on_log": ("i", None),
    "proxy_on_done": ("i", None),
    "proxy_on_delete": ("i", None),
    _DECODE: ("iii", "i"),
    _ENCODE: ("iii", "i"),
    _KEEPALIVE: ("iI", "i"),
    _REPLY_KEEPALIVE: ("iii", "i"),
    _HIJACK: ("iiii", "i"),
}

# Host functions the emulator implements: name -> (params, results, method name).
_ENV_FUNCS: dict[str, tuple[str, str, str]] = {
    "proxy_log": ("iii", "i", "_proxy_log"),
    "proxy_get_buffer_bytes": ("iiiii", "i", "_proxy_get_buffer_bytes"),
    "proxy_set_buffer_bytes": ("iiiii", "i", "_proxy_set_buffer_bytes"),
    "proxy_get_current_time_nanoseconds": ("i", "i", "_proxy_get_current_time_nanoseconds"),
}
# The rest of what MOSN's wasmer engine offers in "env" (proxy-wasm 0.1.0's host
# functions, mosn.io/proxy-wasm-go-host internal/imports/v1): name -> params; each
# returns an i32. Here they answer Unimplemented; a module importing anything
# else from "env", or with another signature, does not instantiate in MOSN.
_ENV_OTHER: dict[str, str] = {
    "proxy_set_effective_context": "i",
    "proxy_get_property": "iiii",
    "proxy_set_property": "iiii",
    "proxy_get_header_map_pairs": "iii",
    "proxy_set_header_map_pairs": "iii",
    "proxy_get_header_map_value": "iiiii",
    "proxy_replace_header_map_value": "iiiii",
    "proxy_add_header_map_value": "iiiii",
    "proxy_remove_header_map_value": "iii",
    "proxy_set_tick_period_milliseconds": "i",
    "proxy_resume_downstream": "",
    "proxy_resume_upstream": "",
    "proxy_open_grpc_stream": "iiiiiii",
    "proxy_send_grpc_call_message": "iiii",
    "proxy_cancel_grpc_call": "i",
    "proxy_close_grpc_call": "i",
    "proxy_grpc_call": "iiiiiiiiii",
    "proxy_dispatch_grpc_call": "iiiiiiiiii",
    "proxy_resume_http_request": "",
    "proxy_resume_http_response": "",
    "proxy_send_http_response": "iiiiiiii",
    "proxy_http_call": "iiiiiiiiii",
    "proxy_dispatch_http_call": "iiiiiiiiii",
    "proxy_define_metric": "iiii",
    "proxy_remove_metric": "i",
    "proxy_increment_metric": "iI",
    "proxy_record_metric": "iI",
    "proxy_get_metric": "ii",
    "proxy_register_shared_queue": "iii",
    "proxy_remove_shared_queue": "i",
    "proxy_resolve_shared_queue": "iii",
    "proxy_dequeue_shared_queue": "iii",
    "proxy_enqueue_shared_queue": "iii",
    "proxy_get_shared_data": "iiiii",
    "proxy_set_shared_data": "iiiii",
    "proxy_done": "",
    "proxy_call_foreign_function": "iiiiii",
}
MOSN_ENV_FUNCTIONS: dict[str, str] = {
    **{name: params for name, (params, _, _) in _ENV_FUNCS.items()}, **_ENV_OTHER,
}
"""Every function MOSN offers in "env": name -> parameters ("i" i32, "I" i64); each
returns an i32."""
_UNIMPLEMENTED = 12  # proxy-wasm's WasmResultUnimplemented
_INVALID_MEMORY_ACCESS = 6


class _Phase(enum.Enum):
    """Whose import handler MOSN has installed: none while _start runs, the codec's
    protocolWrapper during start-up, a protocol Context during protocol calls."""

    START = "start"
    LIFECYCLE = "lifecycle"
    PROTOCOL = "protocol"


def _int32(value: int) -> int:
    """A value as Go's int32 arithmetic sees it."""
    value &= _M32
    return value - (1 << 32) if value >= 1 << 31 else value
_WASI_FUNCS: dict[str, tuple[str, str, str]] = {
    "fd_write": ("iiii", "i", "_wasi_fd_write"),
    "fd_read": ("iiii", "i", "_wasi_fd_read"),
    "fd_close": ("i", "i", "_wasi_fd_close"),
    "fd_seek": ("iIii", "i", "_wasi_fd_seek"),
    "fd_fdstat_get": ("ii", "i", "_wasi_fd_fdstat_get"),
    "fd_prestat_get": ("ii", "i", "_wasi_badf2"),
    "fd_prestat_dir_name": ("iii", "i", "_wasi_badf3"),
    "proc_exit": ("i", "", "_wasi_proc_exit"),
    "clock_time_get": ("iIi", "i", "_wasi_clock_time_get"),
    "clock_res_get": ("ii", "i", "_wasi_clock_res_get"),
    "random_get": ("ii", "i", "_wasi_random_get"),
    "args_sizes_get": ("ii", "i", "_wasi_sizes_get"),
    "environ_sizes_get": ("ii", "i", "_wasi_sizes_get"),
    "args_get": ("ii", "i", "_wasi_noop2"),
    "environ_get": ("ii", "i", "_wasi_noop2"),
    "sched_yield": ("", "i", "_wasi_noop0"),
}

_Ctx = wasmtime.Store | wasmtime.Caller


class LogRecord(NamedTuple):
    """One line the plugin logged (``proxy_log``, or stdout/stderr via WASI ``fd_write``)."""

    level: int
    message: str


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """Outcome of ``proxy_decode_buffer_bytes``: the status and, on OK, the command."""

    status: int
    command: DecodedCommand | None

    @property
    def ok(self) -> bool:
        """True when a whole frame was decoded."""
        return self.status == Status.OK

    @property
    def need_more(self) -> bool:
        """True when the plugin asked for more bytes (status 99)."""
        return self.status == Status.NEED_MORE_DATA


@dataclass(frozen=True, slots=True)
class EncodeResult:
    """Outcome of ``proxy_encode_buffer_bytes``: the status and, on OK, the frame."""

    status: int
    frame: EncodedFrame | None

    @property
    def ok(self) -> bool:
        """True when the plugin produced a frame."""
        return self.status == Status.OK


class _ProcExit(Exception):
    """Raised by WASI ``proc_exit`` to unwind the guest; never leaves the emulator."""

    def __init__(self, code: int) -> None:
        super().__init__(f"proc_exit({code})")
        self.code = code


class _Metering:
    """The ``with host._metered():`` block around one operation.

    A plain class rather than a generator context manager, which costs a few
    microseconds per operation on the hot path.
    """

    __slots__ = ("_host",)

    def __init__(self, host: MosnHost) -> None:
        self._host = host

    def __enter__(self) -> None:
        """Grant fuel before the operation."""
        host = self._host
        if host._fuel:
            host._store.set_fuel(host._fuel_limit)

    def __exit__(self, *exc_info: object) -> None:
        """Record the fuel used and flush partial stdio lines, also when the operation raised."""
        host = self._host
        if host._fuel:
            host._last_fuel = host._fuel_limit - host._store.get_fuel()
        host._flush_stdio()


_VALTYPES: dict[str, wasmtime.ValType] = {
    "i": wasmtime.ValType.i32(),
    "I": wasmtime.ValType.i64(),
}


def _types(spec: str) -> list[wasmtime.ValType]:
    return [_VALTYPES[c] for c in spec]


def _signature(params: list[wasmtime.ValType], results: list[wasmtime.ValType]) -> str:
    return f"({', '.join(map(str, params))}) -> ({', '.join(map(str, results))})"


_ENGINES: dict[bool, wasmtime.Engine] = {}


def _engine(fuel: bool) -> wasmtime.Engine:
    """Share one engine per fuel setting so compiled modules can be cached."""
    engine = _ENGINES.get(fuel)
    if engine is None:
        config = wasmtime.Config()
        config.consume_fuel = fuel
        engine = wasmtime.Engine(config)
        _ENGINES[fuel] = engine
    return engine


@lru_cache(maxsize=16)
def _compile(wasm: bytes, fuel: bool) -> wasmtime.Module:
    """Compile once per (module bytes, metering): tests create many hosts of one plugin."""
    try:
        return wasmtime.Module(_engine(fuel), wasm)
    except wasmtime.WasmtimeError as exc:
        raise HostError(f"not a valid WebAssembly module: {exc}") from None


def _load_bytes(wasm: bytes | bytearray | memoryview | str | os.PathLike[str]) -> bytes:
    if isinstance(wasm, bytes | bytearray | memoryview):
        return bytes(wasm)
    path = Path(wasm)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise HostError(f"cannot read plugin {path}: {exc.strerror or exc}") from None


def _zero(ty: wasmtime.ValType) -> int | float | None:
    text = str(ty)
    if text in ("i32", "i64"):
        return 0
    if text in ("f32", "f64"):
        return 0.0
    return None


def _check_module_as_mosn(module: wasmtime.Module) -> None:
    """Refuse a module that MOSN v1.6 would not run as a protocol plugin."""
    exports = {e.name: e.type for e in module.exports}
    missing = [
        (name, why) for name, why in (
            ("_start", "MOSN's wasmer engine runs _start on every instance and refuses a "
                       "module without it (\"Export '_start' does not exist\")"),
            (ABI_MARKER, "MOSN picks the protocol ABI by this export and fails without it"),
            ("malloc", "MOSN copies every argument buffer into memory from malloc"),
        ) if not isinstance(exports.get(name), wasmtime.FuncType)
    ]
    if missing:
        name, why = missing[0]
        raise HostError(f"plugin does not export {name}: {why}")
    if not isinstance(exports.get("memory"), wasmtime.MemoryType):
        raise HostError("plugin does not export its linear memory as \"memory\", where MOSN "
                        "reads and writes it")
    wasi = {imp.module for imp in module.imports if imp.module in _WASI_MODULES}
    if len(wasi) > 1:
        raise HostError("plugin imports from both wasi_unstable and wasi_snapshot_preview1: "
                        "MOSN's wasmer engine detects no WASI version and provides neither")
    for imp in module.imports:
        mod, name, ty = imp.module, imp.name or "", imp.type
        where = f"plugin imports {mod}.{name}"
        if not isinstance(ty, wasmtime.FuncType):
            raise HostError(f"{where}, not a function: MOSN provides only functions")
        have = _signature(list(ty.params), list(ty.results))
        if mod == "env":
            known = _ENV_FUNCS.get(name)
            params = known[0] if known is not None else _ENV_OTHER.get(name)
            if params is None:
                raise HostError(f"{where}, which MOSN does not provide: the module does "
                                f"not instantiate in MOSN")
            want = _signature(_types(params), _types("i"))
            if have != want:
                raise HostError(f"{where} as {have}; MOSN provides {want}")
        elif mod in _WASI_MODULES:
            if name not in _WASI_NAMES:
                raise HostError(f"{where}, which WASI does not define: a missing import in "
                                f"MOSN's wasmer engine")
            known_wasi = _WASI_FUNCS.get(name)
            if known_wasi is not None:
                want = _signature(_types(known_wasi[0]), _types(known_wasi[1]))
                if have != want:
                    raise HostError(f"{where} as {have}; WASI defines {want}")
        else:
            raise HostError(f"{where}: MOSN provides only \"env\" and WASI imports")


def _weak_method(host: MosnHost, name: str) -> Callable[..., Any]:
    """A host function that does not keep the host alive: wasmtime holds host
    functions until their store goes, and the host owns the store."""
    ref = weakref.WeakMethod(getattr(host, name))

    def call(caller: wasmtime.Caller, *args: Any) -> Any:
        method = ref()
        if method is None:
            raise HostError(f"the host behind {name} is gone")
        return method(caller, *args)

    return call


class MosnHost:
    """Loads a MOSN codec plugin and calls it the way MOSN does.

    Construction refuses what MOSN refuses (no ``_start``, no ``malloc``, no
    exported ``memory``, no ``proxy_abi_mosn_version_0_2_0`` marker, an import
    MOSN does not provide) and runs MOSN's start-up: instantiate, ``_start``,
    ``proxy_on_context_create(root_id, 0)``, ``proxy_on_vm_start(root_id,
    vm_conf_len)``, ``proxy_on_configure(root_id, plugin_conf_len)``. MOSN
    ignores what the last three return, and so does the emulator. MOSN passes
    an empty VM configuration (the codec takes the plugin from
    ``wasm_global_plugins``) and, as plugin configuration, the string values of
    the codec's ``config`` (``from_wasm_plugin``, ``protocol`` ...).
    """

    def __init__(
        self,
        wasm: bytes | bytearray | memoryview | str | os.PathLike[str],
        *,
        vm_config: ConfigLike | None = None,
        plugin_config: ConfigLike | None = None,
        root_id: int = 1,
        fuel: bool = False,
        fuel_limit: int = DEFAULT_FUEL_LIMIT,
    ) -> None:
        self._root_id = root_id
        self._fuel = fuel
        self._fuel_limit = fuel_limit
        self._last_fuel: int | None = None
        self._logs: list[LogRecord] = []
        self._stdio: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self._rng = random.Random(0)
        self._buffers: dict[int, bytes] = {
            BufferType.VM_CONFIGURATION: encode_config_map(vm_config),
            BufferType.PLUGIN_CONFIGURATION: encode_config_map(plugin_config or {}),
        }
        self._contexts: set[int] = set()
        self._next_ctx = 0  # MOSN counts contexts from 1, whatever the root id
        self._phase = _Phase.START
        self._memory: wasmtime.Memory | None = None
        self._metering = _Metering(self)

        module = _compile(_load_bytes(wasm), fuel)
        _check_module_as_mosn(module)
        self._store = wasmtime.Store(_engine(fuel))
        linker = wasmtime.Linker(self._store.engine)
        self._define_imports(linker, module)

        with self._metered():
            try:
                instance = linker.instantiate(self._store, module)
            except _ProcExit as exc:
                raise PluginTrap("instantiate", b"", f"proc_exit({exc.code})") from None
            except wasmtime.Trap as exc:
                raise PluginTrap("instantiate", b"", exc.message) from exc
            except wasmtime.WasmtimeError as exc:
                raise HostError(f"cannot instantiate plugin: {exc}") from None

        exports = instance.exports(self._store)
        self._funcs: dict[str, wasmtime.Func] = {
            name: item for name, item in exports.items() if isinstance(item, wasmtime.Func)
        }
        self._export_names = frozenset(exports.keys())
        memory = exports.get("memory")
        assert isinstance(memory, wasmtime.Memory)  # _check_module_as_mosn made sure
        self._memory = memory
        self._check_export_signatures()
        self._calls: dict[str, GuestCall] = {
            name: prepare(func, self._store)
            for name, func in self._funcs.items()
            if name in _EXPORT_SIGNATURES
        }
        self._alloc = self._calls["malloc"]
        self._start_up()

    @classmethod
    def from_file(
        cls,
        wasm: bytes | bytearray | memoryview | str | os.PathLike[str],
        *,
        vm_config: ConfigLike | None = None,
        plugin_config: ConfigLike | None = None,
        root_id: int = 1,
        fuel: bool = False,
        fuel_limit: int = DEFAULT_FUEL_LIMIT,
    ) -> MosnHost:
        """Load a plugin from a path, or from module bytes (binary or WAT text)."""
        return cls(
            wasm,
            vm_config=vm_config,
            plugin_config=plugin_config,
            root_id=root_id,
            fuel=fuel,
            fuel_limit=fuel_limit,
        )

    # ----------------------------------------------------------------- properties

    @property
    def root_id(self) -> int:
        """The root context id passed to the lifecycle calls."""
        return self._root_id

    @property
    def abi_version(self) -> str:
        """The ABI marker export the plugin carries (MOSN loads no plugin without it)."""
        return ABI_MARKER

    @property
    def exports(self) -> frozenset[str]:
        """Names of everything the plugin exports."""
        return self._export_names

    @property
    def contexts(self) -> frozenset[int]:
        """Ids of the contexts currently open."""
        return frozenset(self._contexts)

    @property
    def logs(self) -> list[LogRecord]:
        """A copy of every line logged so far, oldest first."""
        return list(self._logs)

    def clear_logs(self) -> None:
        """Forget captured log lines (long property runs would otherwise accumulate them)."""
        self._logs.clear()

    @property
    def memory_pages(self) -> int:
        """Current size of the plugin's linear memory in 64 KiB pages."""
        assert self._memory is not None
        return int(self._memory.size(self._store))

    @property
    def last_fuel(self) -> int | None:
        """Fuel the last operation consumed (including guest ``malloc``), or None if unmetered."""
        return self._last_fuel

    def read_memory(self, ptr: int, size: int) -> bytes:
        """Copy ``size`` bytes of guest memory at ``ptr`` (for debugging a plugin's state)."""
        data = self._read(self._store, ptr, size) if ptr >= 0 and size >= 0 else None
        if data is None:
            raise HostError(f"guest memory [{ptr}, {ptr}+{size}) is out of bounds")
        return data

    # ----------------------------------------------------------------- contexts

    def new_context(self) -> int:
        """Open a context: ``proxy_on_context_create(ctx_id, root_id)``. MOSN opens
        one for each frame it decodes and each frame it has the plugin build, with
        ids counted from 1 (the first may equal the root id)."""
        self._next_ctx += 1
        ctx = self._next_ctx
        call = self._calls.get("proxy_on_context_create")
        with self._metered():
            if call is not None:
                self._invoke("proxy_on_context_create", call, (ctx, self._root_id), b"")
        self._contexts.add(ctx)
        return ctx

    def delete_context(self, ctx: int) -> None:
        """Close a context with ``proxy_on_delete``, MOSN's only call for it (after
        the encode of the context's command, or when its stream goes); MOSN
        never calls ``proxy_on_log`` or ``proxy_on_done`` on protocol contexts."""
        self._check_ctx(ctx)
        self._contexts.discard(ctx)
        call = self._calls.get("proxy_on_delete")
        if call is not None:
            with self._metered():
                self._invoke("proxy_on_delete", call, (ctx,), b"")

    # ----------------------------------------------------------------- protocol calls

    def decode(self, ctx: int, data: bytes | bytearray | memoryview) -> DecodeResult:
        """Offer the connection's unread bytes to ``proxy_decode_buffer_bytes``."""
        call = self._require(_DECODE)
        self._check_ctx(ctx)
        data = bytes(data)
        self._buffers.pop(BufferType.DECODE_DATA, None)
        with self._metered():
            ptr = self._copy_in(_DECODE, data)
            status = self._status(self._invoke(_DECODE, call, (ctx, ptr, len(data)), data))
        raw = self._buffers.pop(BufferType.DECODE_DATA, None)
        # MOSN reads a DecodeData buffer after 0 and after 99 alike (exports.go
        # returns nil for both, decode.go then looks only at the buffer).
        if status not in (Status.OK, Status.NEED_MORE_DATA) or (
                raw is None and status == Status.NEED_MORE_DATA):
            return DecodeResult(status, None)
        if raw is None:
            raise MosnFailure(
                f"{_DECODE} returned 0 (OK) for {len(data)} input bytes but never reported "
                "its result with proxy_set_buffer_bytes(13, ...)",
                "decode takes that as 'need more data' and waits for bytes that may never come",
            )
        try:
            command = parse_decode_data(raw)
        except BufferFormatError as exc:
            raise BufferFormatError(
                f"{_DECODE} returned 0 (OK) but reported a malformed DecodeData buffer: "
                f"{exc} (buffer: {_preview(raw)})"
            ) from None
        if command.drain_len > len(data):
            raise MosnFailure(
                f"{_DECODE} reported drain_len {command.drain_len} for {len(data)} input bytes",
                "slicing the input panics and the connection is lost",
            )
        if command.drain_len == 0:
            raise MosnFailure(
                f"{_DECODE} reported a frame with drain_len 0",
                "nothing is drained and the same bytes decode again, forever",
            )
        return DecodeResult(Status.OK, command)

    def encode(
        self,
        ctx: int,
        headers: HeadersLike | None,
        flag: int,
        replaced_id: int,
        command_id: int,
        timeout_or_status: int,
        payload: bytes,
    ) -> EncodeResult:
        """Ask ``proxy_encode_buffer_bytes`` for the wire frame of a command.

        ``replaced_id`` is the id the frame must carry now; ``command_id`` the id it
        had when decoded (or that keepalive/hijack produced).
        """
        call = self._require(_ENCODE)
        self._check_ctx(ctx)
        buf = pack_encode_request(
            headers, flag, replaced_id, command_id, timeout_or_status, bytes(payload)
        )
        self._buffers.pop(BufferType.ENCODE_DATA, None)
        with self._metered():
            ptr = self._copy_in(_ENCODE, buf)
            status = self._status(self._invoke(_ENCODE, call, (ctx, ptr, len(buf)), buf))
        raw = self._buffers.pop(BufferType.ENCODE_DATA, None)
        if status != Status.OK:
            return EncodeResult(status, None)
        if raw is None:
            raise HostError(
                f"{_ENCODE} returned 0 (OK) but never reported its result with "
                "proxy_set_buffer_bytes(14, ...)"
            )
        try:
            frame = parse_encode_data(raw)
        except BufferFormatError as exc:
            raise BufferFormatError(
                f"{_ENCODE} returned 0 (OK) but reported a malformed EncodeData buffer: "
                f"{exc} (buffer: {_preview(raw)})"
            ) from None
        return EncodeResult(status, frame)

    def keepalive(self, ctx: int, command_id: int) -> int:
        """``proxy_keepalive_buffer_bytes``: build a heartbeat request; encode() serialises it."""
        call = self._require(_KEEPALIVE)
        self._check_ctx(ctx)
        with self._metered():
            result = self._invoke(_KEEPALIVE, call, (ctx, command_id), b"")
        return self._status(result)

    def reply_keepalive(self, ctx: int) -> int:
        """``proxy_reply_keepalive_buffer_bytes(ctx, 0, 0)`` as MOSN calls it."""
        call = self._require(_REPLY_KEEPALIVE)
        self._check_ctx(ctx)
        with self._metered():
            result = self._invoke(_REPLY_KEEPALIVE, call, (ctx, 0, 0), b"")
        return self._status(result)

    def hijack(
        self,
        ctx: int,
        status_code: int,
        request_frame: bytes,
        flag: int = FLAG_REQUEST,
        command_id: int = 0,
        timeout: int = 0,
    ) -> int:
        """``proxy_hijack_buffer_bytes``: answer ``request_frame`` with an error response.

        ``status_code`` is HTTP-like (403, 404, 503 ...); ``command_id`` is the
        request's id now (MOSN's, once it forwarded the request), written twice
        as MOSN does; encode() then serialises the response the plugin built. A
        status other than 0 raises :class:`MosnFailure`: MOSN returns from its
        hijack without unlocking the plugin's instance, and every later call on
        the instance then waits forever.
        """
        call = self._require(_HIJACK)
        self._check_ctx(ctx)
        buf = pack_hijack_request(flag, command_id, timeout, bytes(request_frame))
        with self._metered():
            ptr = self._copy_in(_HIJACK, buf)
            result = self._status(
                self._invoke(_HIJACK, call, (ctx, status_code, ptr, len(buf)), buf))
        if result != Status.OK:
            raise MosnFailure(
                f"{_HIJACK} returned {result} for status code {status_code}",
                "hijack returns without unlocking the plugin's instance: every later call "
                "on it waits forever",
            )
        return result

    # ----------------------------------------------------------------- internals: calls

    def _start_up(self) -> None:
        """Run MOSN's start-up: ``_start`` (the wasmer engine's Start), then the
        protocol layer's OnPluginStart; a missing lifecycle export is an error
        MOSN only logs, and it ignores what the calls return."""
        with self._metered():
            self._phase = _Phase.START
            try:
                self._invoke("_start", self._calls["_start"], (), b"")
            except _ProcExit as exc:
                raise PluginTrap(
                    "_start", b"", f"proc_exit({exc.code}): MOSN's wasmer engine fails _start "
                    f"with 'WASI exited with code: {exc.code}' and drops the instance") from None
            self._phase = _Phase.LIFECYCLE
            for name, args in (
                ("proxy_on_context_create", (self._root_id, 0)),
                ("proxy_on_vm_start",
                 (self._root_id, len(self._buffers[BufferType.VM_CONFIGURATION]))),
                ("proxy_on_configure",
                 (self._root_id, len(self._buffers[BufferType.PLUGIN_CONFIGURATION]))),
            ):
                call = self._calls.get(name)
                if call is None:
                    continue
                try:
                    self._invoke(name, call, args, b"")
                except PluginTrap as trap:  # MOSN logs it and goes on (factory.go)
                    self._logs.append(LogRecord(int(LogLevel.ERROR), f"{name}: {trap.reason}"))
            self._phase = _Phase.PROTOCOL

    def _invoke(self, name: str, call: GuestCall, args: tuple[int, ...], data: bytes) -> Any:
        """Call a guest export, turning traps into PluginTrap (``_start`` may see _ProcExit)."""
        try:
            return call(self._store, *args)
        except _ProcExit as exc:
            if name == "_start":
                raise
            raise PluginTrap(name, data, f"proc_exit({exc.code})") from None
        except wasmtime.Trap as exc:
            code = exc.trap_code
            raise PluginTrap(name, data, exc.message, code.name if code else None) from exc
        except wasmtime.WasmtimeError as exc:
            raise PluginTrap(name, data, str(exc)) from exc

    def _metered(self) -> _Metering:
        """Grant fuel before an operation, record its use after; flush partial stdio lines."""
        return self._metering

    def _require(self, name: str) -> GuestCall:
        call = self._calls.get(name)
        if call is None:
            raise HostError(f"plugin does not export {name}")
        return call

    def _check_ctx(self, ctx: int) -> None:
        if ctx not in self._contexts:
            raise HostError(
                f"context {ctx} is not open (new_context() opens one, delete_context() closes it)"
            )

    @staticmethod
    def _status(result: Any) -> int:
        if not isinstance(result, int):
            raise HostError(f"plugin returned {result!r} where a status code was expected")
        return result & _M32

    def _copy_in(self, call: str, data: bytes) -> int:
        """Copy an argument buffer into guest memory obtained from the guest's malloc."""
        if not data:
            return 0
        try:
            ptr = self._alloc(self._store, len(data))
        except (wasmtime.Trap, wasmtime.WasmtimeError, _ProcExit) as exc:
            raise PluginTrap(call, data, f"guest allocator trapped: {exc}") from None
        ptr = ptr & _M32 if isinstance(ptr, int) else 0
        if ptr == 0 or not self._write(self._store, ptr, data):
            raise HostError(f"guest malloc({len(data)}) for {call} returned unusable pointer {ptr}")
        return ptr

    def _check_export_signatures(self) -> None:
        for name, (params, results) in _EXPORT_SIGNATURES.items():
            func = self._funcs.get(name)
            if func is None:
                continue
            ty = func.type(self._store)
            want_params = _types(params)
            ok = list(ty.params) == want_params
            if results is not None:
                ok = ok and list(ty.results) == _types(results)
            if not ok:
                want = _signature(want_params, _types(results or ""))
                raise HostError(
                    f"export {name} has type {_signature(list(ty.params), list(ty.results))}; "
                    f"the MOSN ABI expects {want}"
                )

    # ----------------------------------------------------------------- internals: memory

    def _write(self, ctx: _Ctx, ptr: int, data: bytes) -> bool:
        """Bounds-checked write into guest memory; False instead of raising."""
        mem = self._memory
        if mem is None:
            return False
        ptr &= _M32
        if ptr + len(data) > mem.data_len(ctx):
            return False
        if data:
            ctypes.memmove(ctypes.addressof(mem.data_ptr(ctx).contents) + ptr, data, len(data))
        return True

    def _fits(self, ctx: _Ctx, ptr: int, size: int) -> bool:
        mem = self._memory
        return mem is not None and (ptr & _M32) + (size & _M32) <= mem.data_len(ctx)

    def _read(self, ctx: _Ctx, ptr: int, size: int) -> bytes | None:
        """Bounds-checked read from guest memory; None instead of raising."""
        mem = self._memory
        if mem is None:
            return None
        ptr &= _M32
        size &= _M32
        if ptr + size > mem.data_len(ctx):
            return None
        if size == 0:
            return b""
        return ctypes.string_at(ctypes.addressof(mem.data_ptr(ctx).contents) + ptr, size)

    def _guest_alloc(self, ctx: _Ctx, size: int) -> int | None:
        ptr = self._alloc(ctx, size)
        if not isinstance(ptr, int) or ptr == 0:
            return None
        return ptr & _M32

    # ----------------------------------------------------------------- internals: imports

    def _define_imports(self, linker: wasmtime.Linker, module: wasmtime.Module) -> None:
        """Satisfy the imports as MOSN does: its "env" host functions and WASI."""
        for imp in module.imports:
            ty = imp.type
            assert isinstance(ty, wasmtime.FuncType)  # _check_module_as_mosn made sure
            define_func(linker, imp.module, imp.name or "", ty,
                        self._host_func(imp.module, imp.name or "", ty))

    def _host_func(self, mod: str, name: str, ty: wasmtime.FuncType) -> Callable[..., Any]:
        known = (_ENV_FUNCS if mod == "env" else _WASI_FUNCS).get(name)
        if known is not None:
            return _weak_method(self, known[2])
        results = list(ty.results)
        value = _UNIMPLEMENTED if mod == "env" else _ERRNO_NOSYS
        zeros = [value if str(t) == "i32" else _zero(t) for t in results]

        def stub(caller: wasmtime.Caller, *args: Any) -> Any:
            if not zeros:
                return None
            return zeros[0] if len(zeros) == 1 else list(zeros)

        return stub

    # proxy-wasm (env) -------------------------------------------------------------

    def _proxy_log(self, caller: wasmtime.Caller, level: int, ptr: int, size: int) -> int:
        data = self._read(caller, ptr, size) if self._phase != _Phase.START else None
        if data is None:
            return _INVALID_MEMORY_ACCESS
        self._logs.append(LogRecord(level, data.decode("utf-8", "replace")))
        return int(Status.OK)

    def _buffer(self, btype: int) -> bytes | None:
        """The buffer MOSN's import handler of the moment finds for `btype`, or None
        (NotFound): none while _start runs (the instance is not started), the
        configurations during start-up (protocolWrapper), DecodeData and
        EncodeData during protocol calls (Context), each time a fresh, empty one."""
        if self._phase == _Phase.LIFECYCLE and btype in (
                BufferType.VM_CONFIGURATION, BufferType.PLUGIN_CONFIGURATION):
            return self._buffers[btype]
        if self._phase == _Phase.PROTOCOL and btype in (
                BufferType.DECODE_DATA, BufferType.ENCODE_DATA):
            self._buffers[btype] = b""
            return b""
        return None

    def _proxy_get_buffer_bytes(
        self,
        caller: wasmtime.Caller,
        btype: int,
        start: int,
        length: int,
        ret_ptr: int,
        ret_len: int,
    ) -> int:
        """As proxy-wasm-go-host's ProxyGetBufferBytes: int32 arithmetic, a copy from
        the buffer's first byte whatever `start` says, malloc even for 0 bytes."""
        buf = self._buffer(btype)
        if buf is None:
            return int(Status.NOT_FOUND)
        start, length = _int32(start), _int32(length)
        if start > _int32(start + length):
            return int(Status.BAD_ARGUMENT)
        if start + length > len(buf):
            length = len(buf) - start
        try:
            addr = self._alloc(caller, length)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
            # wasmer stops the trap at this nested call: MOSN logs it, the host
            # function fails and the guest goes on.
            self._logs.append(LogRecord(int(LogLevel.ERROR), f"malloc({length}) trapped: {trap}"))
            return _INVALID_MEMORY_ACCESS
        addr = addr & _M32 if isinstance(addr, int) else 0
        if length < 0 or not self._write(caller, addr, buf[:length]):
            return int(Status.INTERNAL_FAILURE)
        if not (self._write(caller, ret_ptr, _U32LE.pack(addr))
                and self._write(caller, ret_len, _U32LE.pack(length))):
            return _INVALID_MEMORY_ACCESS
        return int(Status.OK)

    def _proxy_set_buffer_bytes(
        self, caller: wasmtime.Caller, btype: int, start: int, length: int, ptr: int, size: int
    ) -> int:
        """As ProxySetBufferBytes: DecodeData and EncodeData are fresh, empty
        buffers on every call (even one that then fails), so each call replaces
        what an earlier one set."""
        buf = self._buffer(btype)
        if buf is None:
            return int(Status.NOT_FOUND)
        data = self._read(caller, ptr, size)
        if data is None:
            return _INVALID_MEMORY_ACCESS
        start, length = _int32(start), _int32(length)
        if start == 0 and (length == 0 or length >= len(buf)):
            self._buffers[btype] = data
        elif start >= len(buf):
            self._buffers[btype] = buf + data
        else:
            return int(Status.BAD_ARGUMENT)
        return int(Status.OK)

    def _proxy_get_current_time_nanoseconds(self, caller: wasmtime.Caller, ret_ptr: int) -> int:
        if self._phase == _Phase.START or not self._write(
                caller, ret_ptr, _U64LE.pack(time.time_ns())):
            return _INVALID_MEMORY_ACCESS
        return int(Status.OK)

    # WASI ---------------------------------------------------------------------------

    def _wasi_fd_write(
        self, caller: wasmtime.Caller, fd: int, iovs: int, iovs_len: int, nwritten: int
    ) -> int:
        if fd not in self._stdio:
            return _ERRNO_BADF
        count = iovs_len & _M32
        table = self._read(caller, iovs, count * _IOVEC.size)
        if table is None:
            return _ERRNO_FAULT
        chunks: list[bytes] = []
        for i in range(count):
            ptr, size = _IOVEC.unpack_from(table, i * _IOVEC.size)
            chunk = self._read(caller, ptr, size)
            if chunk is None:
                return _ERRNO_FAULT
            chunks.append(chunk)
        data = b"".join(chunks)
        if not self._write(caller, nwritten, _U32LE.pack(len(data))):
            return _ERRNO_FAULT
        pending = self._stdio[fd]
        pending += data
        while (newline := pending.find(b"\n")) >= 0:
            line = bytes(pending[:newline])
            del pending[: newline + 1]
            self._logs.append(LogRecord(_STDIO_LEVEL[fd], line.decode("utf-8", "replace")))
        return 0

    def _flush_stdio(self) -> None:
        """Emit partial stdout/stderr lines at the end of an operation so none are lost."""
        for fd, pending in self._stdio.items():
            if pending:
                self._logs.append(LogRecord(_STDIO_LEVEL[fd], pending.decode("utf-8", "replace")))
                pending.clear()

    def _wasi_fd_read(
        self, caller: wasmtime.Caller, fd: int, iovs: int, iovs_len: int, nread: int
    ) -> int:
        if fd != 0:
            return _ERRNO_BADF
        return 0 if self._write(caller, nread, _U32LE.pack(0)) else _ERRNO_FAULT

    def _wasi_fd_close(self, caller: wasmtime.Caller, fd: int) -> int:
        return 0 if fd in (0, 1, 2) else _ERRNO_BADF

    def _wasi_fd_seek(
        self, caller: wasmtime.Caller, fd: int, offset: int, whence: int, ret_ptr: int
    ) -> int:
        return _ERRNO_SPIPE if fd in (0, 1, 2) else _ERRNO_BADF

    def _wasi_fd_fdstat_get(self, caller: wasmtime.Caller, fd: int, ret_ptr: int) -> int:
        if fd not in (0, 1, 2):
            return _ERRNO_BADF
        # filetype character_device, no flags, rights fd_read | fd_write (a tty).
        stat = struct.pack("<BxHxxxxQQ", 2, 0, 0x42, 0x42)
        return 0 if self._write(caller, ret_ptr, stat) else _ERRNO_FAULT

    def _wasi_badf2(self, caller: wasmtime.Caller, a: int, b: int) -> int:
        return _ERRNO_BADF

    def _wasi_badf3(self, caller: wasmtime.Caller, a: int, b: int, c: int) -> int:
        return _ERRNO_BADF

    def _wasi_proc_exit(self, caller: wasmtime.Caller, code: int) -> None:
        raise _ProcExit(code)

    def _wasi_clock_time_get(
        self, caller: wasmtime.Caller, clock_id: int, precision: int, ret_ptr: int
    ) -> int:
        clocks: dict[int, Callable[[], int]] = {
            0: time.time_ns,
            1: time.monotonic_ns,
            2: time.process_time_ns,
            3: time.thread_time_ns,
        }
        clock = clocks.get(clock_id)
        if clock is None:
            return _ERRNO_INVAL
        return 0 if self._write(caller, ret_ptr, _U64LE.pack(clock())) else _ERRNO_FAULT

    def _wasi_clock_res_get(self, caller: wasmtime.Caller, clock_id: int, ret_ptr: int) -> int:
        return 0 if self._write(caller, ret_ptr, _U64LE.pack(1000)) else _ERRNO_FAULT

    def _wasi_random_get(self, caller: wasmtime.Caller, ptr: int, size: int) -> int:
        # Seeded, so runs (and TinyGo map iteration order) are reproducible.
        if not self._fits(caller, ptr, size):
            return _ERRNO_FAULT
        self._write(caller, ptr, self._rng.randbytes(size & _M32))
        return 0

    def _wasi_sizes_get(self, caller: wasmtime.Caller, count_ptr: int, size_ptr: int) -> int:
        zero = _U32LE.pack(0)
        ok = self._write(caller, count_ptr, zero) and self._write(caller, size_ptr, zero)
        return 0 if ok else _ERRNO_FAULT

    def _wasi_noop2(self, caller: wasmtime.Caller, a: int, b: int) -> int:
        return 0

    def _wasi_noop0(self, caller: wasmtime.Caller) -> int:
        return 0

    def __repr__(self) -> str:
        return (
            f"<MosnHost root_id={self._root_id} contexts={sorted(self._contexts)} "
            f"abi={self.abi_version}>"
        )


def _preview(data: bytes) -> str:
    return data[:64].hex() + ("..." if len(data) > 64 else "")
