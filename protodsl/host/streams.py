"""MOSN's stream layer over a :class:`MosnHost`: which plugin calls MOSN makes, on
which context, with which ids, for each thing a proxy does with a frame.

Read from MOSN v1.6 (pkg/stream/xprotocol conn.go and stream.go,
pkg/protocol/xprotocol/wasm): MOSN decodes every frame on a context of its own
(a frame that needs more bytes keeps it), encodes a command on the context it
was decoded or built on with the id it carries now, and deletes that context
after a successful encode; it deletes the context of a decoded heartbeat
response at once, and no other (a frame that is never encoded, a failed
decode or encode, a closed connection: their contexts stay). A request sent
upstream gets a new id; its response comes back under that id and goes
downstream under the request's first id. A hijack answers a request with a
response the plugin builds from the request's bytes, under the request's id
now. Tests drive plugins through these functions so that a plugin that only
works when called some other way fails here, not in MOSN.
"""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.host.abi import (
    FLAG_HEARTBEAT,
    FLAG_KIND,
    FLAG_REQUEST,
    FLAG_RESPONSE,
    DecodedCommand,
    Status,
)
from protodsl.host.emulator import EncodeResult, MosnHost

__all__ = [
    "KEEPALIVE_TIMEOUT",
    "Connection",
    "Decoded",
    "decode_one",
    "hijack",
    "keepalive",
    "reply_keepalive",
    "resend",
    "send",
]

KEEPALIVE_TIMEOUT = 3000
"""The timeout MOSN passes when it encodes a keepalive (NewWasmRequestWithId)."""


@dataclass(frozen=True)
class Decoded:
    """A command MOSN decoded: its context, what the plugin reported, its bytes."""

    ctx: int
    command: DecodedCommand
    wire: bytes


@dataclass
class Connection:
    """The read side of one connection: MOSN's Dispatch loop over its bytes."""

    host: MosnHost
    closed_with: int | None = None  # the status that made MOSN close it
    _ctx: int | None = None
    _buffer: bytes = b""

    @property
    def unread(self) -> bytes:
        """Bytes received and not yet part of a decoded frame."""
        return self._buffer

    def feed(self, data: bytes) -> list[Decoded]:
        """Receive bytes and decode every whole frame at the front, each on a new
        context; a decode status other than 0 and 99 closes the connection. A
        heartbeat response's context is deleted at once (decode.go)."""
        if self.closed_with is not None:
            raise ValueError(f"the connection was closed (decode status {self.closed_with})")
        self._buffer += data
        out: list[Decoded] = []
        while self._buffer:
            if self._ctx is None:
                self._ctx = self.host.new_context()
            result = self.host.decode(self._ctx, self._buffer)
            if result.need_more:
                break
            if result.command is None:
                self._ctx = None
                self.closed_with = result.status
                break
            cmd = result.command
            if not cmd.flag & FLAG_KIND and cmd.heartbeat:
                self.host.delete_context(self._ctx)
            drain = cmd.drain_len
            out.append(Decoded(self._ctx, cmd, self._buffer[:drain]))
            self._buffer = self._buffer[drain:]
            self._ctx = None
        return out

def decode_one(host: MosnHost, data: bytes) -> tuple[int, Decoded | None]:
    """Offer `data` on a new connection: the status, and the first frame if one
    decoded (nothing encodes it, so its context stays, as in MOSN)."""
    connection = Connection(host)
    frames = connection.feed(data)
    if frames:
        return Status.OK, frames[0]
    return (Status.NEED_MORE_DATA if connection.closed_with is None
            else connection.closed_with), None


def send(
    host: MosnHost,
    frame: Decoded,
    new_id: int,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    payload: bytes | None = None,
    timeout_or_status: int | None = None,
) -> EncodeResult:
    """Send a decoded command on: a request upstream under the id MOSN gives it
    there, a response downstream under its request's first id. MOSN passes the
    flag of the command it made (a oneway request is a two-way one to it), the
    headers and payload after its filters, then deletes the context."""
    cmd = frame.command
    result = host.encode(
        frame.ctx,
        cmd.headers if headers is None else headers,
        cmd.mosn_flag,
        new_id,
        cmd.id,
        cmd.timeout_or_status if timeout_or_status is None else timeout_or_status,
        cmd.payload if payload is None else payload,
    )
    _done(host, frame.ctx, result)
    return result


def _done(host: MosnHost, ctx: int, result: EncodeResult) -> None:
    """MOSN deletes a command's context after its encode, if the encode worked."""
    if result.status == Status.OK:
        host.delete_context(ctx)


def resend(host: MosnHost, frame: Decoded, previous_id: int, new_id: int) -> EncodeResult:
    """Retry a request that went upstream as `previous_id` (after an upstream
    failure): MOSN encodes it on a context of the new stream, with the previous
    attempt's id as the command id."""
    ctx = host.new_context()
    cmd = frame.command
    result = host.encode(ctx, cmd.headers, cmd.mosn_flag, new_id, previous_id,
                         cmd.timeout_or_status, cmd.payload)
    _done(host, ctx, result)
    return result


def hijack(host: MosnHost, frame: Decoded, code: int, *,
           forwarded_as: int | None = None) -> EncodeResult:
    """MOSN answers a request itself with an HTTP-like `code`. Before the request
    went upstream, on its context under its own id; after it went upstream as
    `forwarded_as`, on a new context under that id (the request's context was
    deleted by its encode). The answer is encoded downstream under the request's
    first id, from a blank response (no headers, no payload, status 0)."""
    cmd = frame.command
    if forwarded_as is None:
        ctx, current = frame.ctx, cmd.id
    else:
        ctx, current = host.new_context(), forwarded_as
    host.hijack(ctx, code, frame.wire, cmd.mosn_flag, current, cmd.timeout_or_status)
    result = host.encode(ctx, [], FLAG_RESPONSE, cmd.id, current, 0, b"")
    _done(host, ctx, result)
    return result


def keepalive(host: MosnHost, request_id: int) -> EncodeResult:
    """MOSN's heartbeat to an idle upstream: the plugin builds it on a new
    context, MOSN encodes it from a blank request (timeout 3000). Id 0 is MOSN's
    probe for keepalive support: nothing is encoded, the context is deleted."""
    ctx = host.new_context()
    status = host.keepalive(ctx, request_id)
    if status != Status.OK or request_id == 0:
        if status == Status.OK:
            host.delete_context(ctx)
        return EncodeResult(status, None)
    result = host.encode(ctx, [], FLAG_REQUEST | FLAG_HEARTBEAT, request_id, request_id,
                         KEEPALIVE_TIMEOUT, b"")
    _done(host, ctx, result)
    return result


def reply_keepalive(host: MosnHost, ping: Decoded) -> EncodeResult:
    """MOSN answers a decoded heartbeat request: the plugin builds the answer on
    the ping's context; MOSN encodes it (even if building failed, which it only
    logs) from a blank response under the ping's id."""
    host.reply_keepalive(ping.ctx)
    cmd = ping.command
    result = host.encode(ping.ctx, [], FLAG_RESPONSE | FLAG_HEARTBEAT, cmd.id, cmd.id, 0, b"")
    _done(host, ping.ctx, result)
    return result
