"""protodsl.host: a MOSN host emulator on wasmtime, for testing x-protocol codec plugins.

It loads any MOSN Wasm codec plugin (protodsl-generated, hand-written C, TinyGo)
and drives it through the same calls, in the same order, with the same byte
layouts as MOSN v1.6 (``proxy_abi_mosn_version_0_2_0``, see ``docs/mosn-abi.md``),
and fails where MOSN fails. :mod:`protodsl.host.streams` makes the calls MOSN's
stream layer makes::

    from protodsl.host import MosnHost, streams

    host = MosnHost.from_file("bolt.wasm")        # refuses what MOSN refuses
    connection = streams.Connection(host)         # a context per decoded frame
    for frame in connection.feed(wire_bytes):     # whole frames; need-more waits
        cmd = frame.command                       # headers, flag, id, payload, drain_len ...
        out = streams.send(host, frame, new_id=7) # encode as MOSN does, then delete the context
        wire = out.frame.frame if out.frame else b""
    streams.keepalive(host, 42)                   # MOSN's heartbeat upstream
    streams.hijack(host, frame, 503, forwarded_as=7)
    print(host.logs, host.memory_pages)

The plain ABI calls are there too (``host.decode(ctx, data)``, ``host.encode(...)``,
``host.keepalive``, ``host.reply_keepalive``, ``host.hijack``, ``new_context``,
``delete_context``). A guest trap raises :class:`PluginTrap` (with the call name
and input bytes); a plugin that breaks the ABI raises :class:`HostError`, and
one that would make MOSN panic, refuse a buffer or hang raises
:class:`MosnFailure`. With ``fuel=True`` every operation is metered and
``host.last_fuel`` reports the Wasm fuel it consumed; an endless loop then ends
in a ``PluginTrap`` instead of hanging the test run.

Imports are what MOSN's wasmer engine provides: the proxy-wasm 0.1.0 host
functions in ``env`` (``proxy_log``, ``proxy_get_buffer_bytes``,
``proxy_set_buffer_bytes`` and ``proxy_get_current_time_nanoseconds`` are real,
the others answer Unimplemented) and WASI (``fd_write`` to stdout/stderr lands
in ``host.logs`` at levels 2 and 4; the rest are small stubs).
"""

from protodsl.host.abi import (
    FLAG_COPY_RAW_BYTES,
    FLAG_HEARTBEAT,
    FLAG_LOW_BITS,
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
from protodsl.host.errors import BufferFormatError, HostError, MosnFailure, PluginTrap

__all__ = [
    "DEFAULT_FUEL_LIMIT",
    "FLAG_COPY_RAW_BYTES",
    "FLAG_HEARTBEAT",
    "FLAG_LOW_BITS",
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
    "MosnFailure",
    "MosnHost",
    "PluginTrap",
    "Status",
]
