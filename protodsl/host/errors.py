"""Exceptions raised by the MOSN host emulator.

Every failure the emulator reports is a :class:`HostError`, so callers that only
care about "the plugin misbehaved" can catch one type. Raw wasmtime exceptions
never escape a protocol call: a guest trap becomes :class:`PluginTrap`, which
keeps the call name and the input bytes so a failing case can be replayed.
"""

from __future__ import annotations

__all__ = ["BufferFormatError", "HostError", "MosnFailure", "PluginTrap"]


class HostError(Exception):
    """The plugin could not be loaded or broke the MOSN ABI contract."""


class BufferFormatError(HostError, ValueError):
    """A buffer does not follow the byte layout the MOSN ABI prescribes."""


class MosnFailure(HostError):
    """What the plugin did makes MOSN itself fail: its Go code panics, refuses the
    buffer and closes the connection, or waits forever. ``mosn`` says which, in
    MOSN's terms, so the message points at the line of MOSN that fails."""

    def __init__(self, what: str, mosn: str) -> None:
        self.what = what
        self.mosn = mosn
        super().__init__(f"{what}: in MOSN, {mosn}")


class PluginTrap(HostError):
    """The guest trapped (or called ``proc_exit``) during a call into the plugin.

    In MOSN a trap takes down the Wasm instance that serves every connection, so
    tests treat it as a hard failure; ``call`` and ``input`` say how to reproduce it.
    """

    def __init__(self, call: str, input: bytes, reason: str, trap_code: str | None = None) -> None:
        self.call = call
        self.input = bytes(input)
        self.reason = reason
        self.trap_code = trap_code
        preview = self.input[:64].hex()
        more = "..." if len(self.input) > 64 else ""
        super().__init__(
            f"plugin trapped in {call} (input {len(self.input)} bytes: {preview}{more}): {reason}"
        )
