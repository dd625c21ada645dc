"""protodsl.host: a MOSN host emulator on wasmtime, for testing x-protocol codec plugins.

It loads any MOSN Wasm codec plugin (protodsl-generated, hand-written C, TinyGo)
and drives it through the same calls, in the same order, with the same byte
layouts as MOSN (``proxy_abi_mosn_version_0_2_0``, see ``docs/mosn-abi.md``)::

    from protodsl.host import MosnHost, Status

    host = MosnHost.from_file("bolt.wasm", plugin_config={"max_frame": "16777216"})
    ctx = host.new_context()                      # one context per connection
    r = host.decode(ctx, wire_bytes)
    if r.status == Status.NEED_MORE_DATA:
        ...                                       # read more, call decode again
    elif r.ok:
        cmd = r.command                           # headers, flag, id, payload, drain_len ...
        out = host.encode(ctx, cmd.headers, cmd.flag, replaced_id=7,
                          command_id=cmd.id, timeout_or_status=cmd.timeout_or_status,
                          payload=cmd.payload)
        wire = out.frame.frame if out.frame else b""
    host.keepalive(ctx, 42)                       # then host.encode(...) serialises it
    host.hijack(ctx, 503, request_frame, command_id=cmd.id)
    host.complete_context(ctx)
    print(host.logs, host.memory_pages)

A guest trap raises :class:`PluginTrap` (with the call name and input bytes); a
plugin that breaks the ABI (e.g. reports a malformed DecodeData buffer) raises
:class:`HostError`. With ``fuel=True`` every operation is metered and
``host.last_fuel`` reports the Wasm fuel it consumed; an endless loop then ends
in a ``PluginTrap`` instead of hanging the test run.

Imports are satisfied permissively so any plugin loads: the proxy-wasm 0.1.0 host
functions a codec needs (``proxy_log``, ``proxy_get_buffer_bytes``,
``proxy_set_buffer_bytes``) are real, WASI ``fd_write`` to stdout/stderr lands in
``host.logs`` (levels 2 and 4), and unknown imports are stubs returning zero
(``ENOSYS`` for unknown WASI calls).
"""

from protodsl.host.abi import (
    FLAG_COPY_RAW_BYTES,
    FLAG_HEARTBEAT,
    FLAG_ONEWAY,
    FLAG_REQUEST,
    FLAG_RESPONSE,
    BufferType,
    CommandKind,
    DecodedCommand,
    EncodedFrame,
    LogLevel,
    Status,
)
from protodsl.host.emulator import (
    DEFAULT_FUEL_LIMIT,
    DecodeResult,
    EncodeResult,
    LogRecord,
    MosnHost,
)
from protodsl.host.errors import BufferFormatError, HostError, PluginTrap

__all__ = [
    "DEFAULT_FUEL_LIMIT",
    "FLAG_COPY_RAW_BYTES",
    "FLAG_HEARTBEAT",
    "FLAG_ONEWAY",
    "FLAG_REQUEST",
    "FLAG_RESPONSE",
    "BufferFormatError",
    "BufferType",
    "CommandKind",
    "DecodeResult",
    "DecodedCommand",
    "EncodeResult",
    "EncodedFrame",
    "HostError",
    "LogLevel",
    "LogRecord",
    "MosnHost",
    "PluginTrap",
    "Status",
]
