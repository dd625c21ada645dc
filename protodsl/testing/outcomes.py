"""What each side says about some bytes, in one comparable shape.

An outcome is ("frame", roles), ("need_more",) or ("malformed",). Roles are what
the MOSN ABI carries: flag, id, timeout or status (u32), headers, payload and
drain length, so a Python codec and any MOSN plugin can be compared."""

from __future__ import annotations

from types import ModuleType
from typing import Any, NamedTuple

from protodsl.host import (
    FLAG_HEARTBEAT,
    FLAG_LOW_BITS,
    FLAG_ONEWAY,
    FLAG_REQUEST,
    FLAG_RESPONSE,
    DecodedCommand,
    MosnHost,
    PluginTrap,
)
from protodsl.host.streams import decode_one


class Roles(NamedTuple):
    flag: int
    id: int
    timeout_or_status: int
    headers: tuple[tuple[bytes, bytes], ...]
    payload: bytes
    drain_len: int


Outcome = tuple[Any, ...]
NEED_MORE: Outcome = ("need_more",)
MALFORMED: Outcome = ("malformed",)


class WasmTrapped(AssertionError):
    """The plugin trapped: always a failure, whatever the Python side says."""


def python_flag(codec: ModuleType, frame: Any) -> int:
    """The flag a protodsl plugin reports for `frame` (docs/mosn-abi.md): the kind
    in the top two bits (oneway 0x80, as MOSN refuses 0xC0), the heartbeat bit,
    and the five low bits MOSN ignores, always set (MOSN misreads a flag byte
    without them)."""
    kind = codec.kind(frame)
    flag = {"request": FLAG_REQUEST, "oneway": FLAG_ONEWAY, "response": FLAG_RESPONSE}[kind]
    return flag | FLAG_LOW_BITS | (FLAG_HEARTBEAT if codec.is_heartbeat(frame) else 0)


def timeout_or_status(codec: ModuleType, frame: Any) -> int:
    value = codec.timeout(frame)
    if value is None:
        value = codec.status(frame)
    return (value or 0) & 0xFFFFFFFF


def python_roles(codec: ModuleType, frame: Any, consumed: int) -> Roles:
    if not isinstance(frame, codec.WITH_ROLES):  # a framing format: only the length counts
        return Roles(0, 0, 0, (), b"", consumed)
    return Roles(
        python_flag(codec, frame), codec.command_id(frame) & 0xFFFFFFFFFFFFFFFF,
        timeout_or_status(codec, frame), tuple(codec.headers(frame)), codec.payload(frame),
        consumed,
    )


def command_roles(command: DecodedCommand) -> Roles:
    return Roles(command.flag, command.id, command.timeout_or_status, tuple(command.headers),
                 command.payload, command.drain_len)


def python_decode(codec: ModuleType, data: bytes) -> Outcome:
    """Only ProtocolError counts as a rejection; any other exception propagates."""
    try:
        result = codec.decode(data)
    except codec.ProtocolError:
        return MALFORMED
    if isinstance(result, codec.NeedMore):
        return NEED_MORE
    return ("frame", python_roles(codec, result.frame, result.consumed))


def wasm_decode(host: MosnHost, data: bytes) -> Outcome:
    """`data` on a new connection, as MOSN decodes it. Only statuses 0, 10 and 99
    are answers; anything else is a failure."""
    try:
        status, frame = decode_one(host, data)
    except PluginTrap as trap:
        raise WasmTrapped(f"decode trapped: {trap.reason}") from None
    return status_outcome(status, frame.command if frame is not None else None)


def status_outcome(status: int, command: DecodedCommand | None) -> Outcome:
    if status == 99:
        return NEED_MORE
    if status == 10:
        return MALFORMED
    if status != 0 or command is None:
        raise AssertionError(f"decode returned status {status}, not 0, 10 or 99")
    return ("frame", command_roles(command))
