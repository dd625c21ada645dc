"""The named properties `protodsl test` runs: the Python codec against itself
(straight path vs construct reference) and against a MOSN Wasm plugin; the
decoding ones also against the Go codec (go_properties.py)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from protodsl.host import MosnHost, PluginTrap, streams
from protodsl.ir import (
    BitMember,
    BytesField,
    Frame,
    IntField,
    KvMapField,
    ListField,
    Protocol,
    VarintField,
)
from protodsl.ir import expr as ir
from protodsl.ir.model import BytesChoice
from protodsl.testing import strategies as strat
from protodsl.testing.entropy import Entropy, from_entropy
from protodsl.testing.go_engine import GoDriver, oracle_decode, state_fields
from protodsl.testing.outcomes import (
    MALFORMED,
    NEED_MORE,
    Outcome,
    WasmTrapped,
    python_decode,
    status_outcome,
    wasm_decode,
)
from protodsl.testing.scenarios import Scenario


class Mismatch(AssertionError):
    """The two sides disagree; carries the input and what each side said."""

    def __init__(self, what: str, data: bytes | None, python: Any, other: Any,
                 engine: str = "wasm") -> None:
        self.what = what
        self.data = data
        self.python = python
        self.other = other
        super().__init__(f"{what}\n  python: {python!r}\n  {engine + ':':<7} {other!r}")


@dataclass
class Sides:
    """The Python codec, and the Wasm plugin or the Go driver when there is one;
    `covered` counts what the examples of the running property reached (frames,
    builders, codes)."""

    protocol: Protocol
    codec: ModuleType  # bound to the scenario's state (scenarios.py)
    wasm: Path | None = None
    _host: MosnHost | None = field(default=None, repr=False)
    covered: Counter[str] = field(default_factory=Counter, repr=False)
    scenario: Scenario = field(default_factory=lambda: Scenario((), True))
    go: Path | None = None  # the Go driver (codegen/mosn_go/driver.py), built
    _driver: GoDriver | None = field(default=None, repr=False)

    def reaches(self, label: str) -> bool:
        """Whether this connection state can reach what a label names (a frame)."""
        kind, _, name = label.partition(" ")
        frame = self.protocol.frame(name) if kind == "frame" else None
        return frame is None or self.scenario.reaches(frame)

    def cover_frame(self, frame: Any) -> None:
        self.covered[frame_label(self.protocol.frames[
            self.codec.FRAMES.index(type(frame))].name)] += 1

    @cached_property
    def hijack_arms(self) -> tuple[int, ...]:
        return hijack_arms(self.protocol)

    def cover_wire(self, wire: bytes) -> None:
        """The frame `wire` holds, by the Python codec (which checked it already)."""
        self.cover_frame(self.codec.decode(wire).frame)

    @property
    def host(self) -> MosnHost:
        if self._host is None:
            assert self.wasm is not None
            self._host = MosnHost.from_file(self.wasm)
        return self._host

    @property
    def driver(self) -> GoDriver:
        if self._driver is None:
            assert self.go is not None
            self._driver = GoDriver(self.go)
        return self._driver

    @cached_property
    def go_state(self) -> dict[str, int | None] | None:
        """The state the codec is bound to, as the Go driver takes it (each frame
        decodes in it, as the bound Python codec decodes every frame)."""
        return state_fields(self.protocol, self.codec)

    @property
    def engine(self) -> str:
        """What the Python codec is compared with."""
        return "go" if self.go is not None else "wasm"

    def reset(self) -> None:
        """After a trap the instance may be broken, after a panic the driver gone;
        the next check gets a new one."""
        self._host = None
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def decode(self, data: bytes) -> tuple[Outcome, Outcome]:
        """What the Python codec and the engine say about `data`, each as the
        engine can say it (a plugin: MOSN's roles; Go: the whole frame)."""
        if self.go is not None:
            return (oracle_decode(self.protocol, self.codec, data),
                    self.driver.decode(data, self.go_state))
        return (python_decode(self.codec, data),
                _wasm_call(self, lambda: wasm_decode(self.host, data)))

    def feed(self, chunks: list[bytes]) -> tuple[list[Outcome], list[Outcome]]:
        """The frames each side decodes from `chunks` delivered in turn on one
        connection: MOSN's read loop around a plugin, `_feed` around Go's Decode."""
        if self.go is not None:
            return (_feed(lambda b: oracle_decode(self.protocol, self.codec, b), chunks),
                    _feed(lambda b: self.driver.decode(b, self.go_state), chunks))
        return (_feed(lambda b: python_decode(self.codec, b), chunks),
                _wasm_call(self, lambda: _mosn_feed(self.host, chunks)))


def frame_label(name: str) -> str:
    return f"frame {name}"


def _every_frame(protocol: Protocol) -> tuple[str, ...]:
    return tuple(frame_label(f.name) for f in protocol.frames)


def _nothing(protocol: Protocol) -> tuple[str, ...]:
    return ()


def _applies_everywhere(protocol: Protocol) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Property:
    """A check over generated examples; `requires` names what at least one example
    must reach (every frame, builder, hijack code): a property whose examples never
    reached something has not tested it, and fails saying so."""

    name: str
    engine: str  # what the Python codec is compared with: "python" (itself), "wasm", "go"
    strategy: Callable[[Protocol, ModuleType], st.SearchStrategy[Any]]
    check: Callable[[Sides, Any], None]
    doc: str = ""
    requires: Callable[[Protocol], tuple[str, ...]] = _every_frame
    scale: int = 1  # examples run per example asked for: for cheap ones with many cases
    # What the property rightly leaves out (label: why), which the report says
    # instead of calling it untested.
    not_applicable: Callable[[Protocol], dict[str, str]] = _applies_everywhere


def _wasm_call(sides: Sides, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except PluginTrap as trap:
        sides.reset()
        raise WasmTrapped(f"the plugin trapped in {trap.call}: {trap.reason}") from None


# ---- 1. python round trip ----------------------------------------------------------


def _check_roundtrip(sides: Sides, frame: Any) -> None:
    codec = sides.codec
    wire = codec.encode(frame)
    reference = codec.reference_encode(frame)
    if reference != wire:
        raise Mismatch("straight encode differs from the construct reference", None,
                       wire.hex(), reference.hex())
    decoded = codec.decode(wire)
    if decoded[:2] != (frame, len(wire)):
        raise Mismatch("decode(encode(f)) != f", wire, frame, decoded)
    if codec.reference_decode(wire) != decoded:
        raise Mismatch("reference decode differs", wire, decoded, codec.reference_decode(wire))
    sides.cover_frame(frame)


# ---- 2. decode agreement -------------------------------------------------------------


def _compare_decode(sides: Sides, data: bytes) -> Outcome:
    python, other = sides.decode(data)
    if python != other:
        raise Mismatch("decode outcomes differ", data, python, other, sides.engine)
    return python


def _check_decode(sides: Sides, wire: bytes) -> None:
    outcome = _compare_decode(sides, wire)
    if outcome[0] != "frame":
        raise Mismatch("a valid frame was not decoded", wire, outcome, None)
    sides.cover_wire(wire)


# ---- 3. encode agreement ----------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    frame: Any
    new_id: int
    new_value: int | None
    headers: list[tuple[bytes, bytes]] | None
    payload: bytes | None


def _edits(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[Edit]:
    variants = [(strat.frame_maker(protocol, codec, f.name), _edit_maker(f, codec))
                for f in protocol.frames if f.roles is not None and not always_heartbeat(f)]

    def make(e: Entropy) -> Edit | None:
        frame, edit = e.choice(variants)
        f = frame(e)
        if f is None or (codec.kind(f) == "response" and codec.is_heartbeat(f)):
            return None  # MOSN consumes a heartbeat response; it never encodes one
        return edit(f, e)
    return from_entropy(make)


def _edited_frames(protocol: Protocol) -> tuple[str, ...]:
    """The frames MOSN encodes with its edits: those with roles, but a response that
    is always a heartbeat."""
    return tuple(frame_label(f.name) for f in protocol.frames
                 if f.roles is not None and not always_heartbeat(f))


def _never_edited(protocol: Protocol) -> dict[str, str]:
    return {frame_label(f.name): "a heartbeat response: MOSN consumes it, never encodes it"
            for f in protocol.frames if always_heartbeat(f)}


def always_heartbeat(frame: Frame) -> bool:
    """A response that is a heartbeat whatever its fields: its `heartbeat` reads only
    fields its `when` pins, and holds for every value pinned (`when op == Op.pong`,
    `heartbeat = op == Op.pong`). MOSN consumes a heartbeat response (its keepalive
    waits for it) and encodes one only as its keepalive_reply, so such a frame
    never goes through MOSN's edits; a response that may not be one does."""
    roles = frame.roles
    if roles is None or roles.kind != "response" or roles.heartbeat is None:
        return False
    heartbeat = roles.heartbeat
    if any(isinstance(n, ir.StateValue) for n in ir.walk(heartbeat)):
        return False
    pins = _pinned(frame.when)
    names = sorted(ir.fields_read(heartbeat))
    if not set(names) <= pins.keys():
        return False
    return all(ir.evaluate(heartbeat, dict(zip(names, values, strict=True)))
               for values in itertools.product(*(pins[n] for n in names)))


def _pinned(when: ir.Expr) -> dict[str, tuple[int, ...]]:
    """Fields a `when` holds to a few values, by a conjunct that says so plainly:
    every frame that decodes has one of them."""
    match when:
        case ir.Binary(op="and", left=left, right=right):
            return _pinned(left) | _pinned(right)
        case ir.Binary(op="==", left=ir.FieldValue(field=name), right=value) | ir.Binary(
                op="==", left=value, right=ir.FieldValue(field=name)) if ir.is_constant(value):
            return {name: (ir.evaluate(value),)}
        case ir.InSet(operand=ir.FieldValue(field=name), values=values):
            return {name: tuple(values)}
    return {}


def _header_list_edits(codec: ModuleType) -> Callable[[Any, Entropy], list[tuple[bytes, bytes]]]:
    """MOSN's edits of headers that are records: each header kept, changed, given
    twice or removed, and new ones put anywhere, now and then a key or value too
    long for its length or (a text member) not UTF-8."""
    def blob(e: Entropy) -> bytes:
        return e.text(40).encode() if e.byte() & 3 else e.blob(e.size(300))

    def make(f: Any, e: Entropy) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        for k, v in codec.headers(f):
            what = e.byte() % 4
            if what:
                out.append((k, v if what == 1 else blob(e)))
            if what == 3:
                out.append((k, blob(e)))
        for _ in range(e.size(4)):
            out.insert(e.integer(0, len(out)), (blob(e), blob(e)))
        return out
    return make


def _derived_edits(stored: Callable[[Any, Entropy], list[tuple[bytes, bytes]]] | None,
                   count: int, codec: ModuleType
                   ) -> Callable[[Any, Entropy], list[tuple[bytes, bytes]]]:
    """MOSN's edits of the stored headers (`stored`; None: there are none) and of
    the `count` derived ones that end the header map: each derived header kept,
    changed to a short text (which a field may hold), to any bytes, or removed."""
    def make(f: Any, e: Entropy) -> list[tuple[bytes, bytes]]:
        out = stored(f, e) if stored is not None else []
        for key, value in codec.headers(f)[-count:]:
            what = e.byte() % 4
            if what == 1:
                out.append((key, value))
            elif what == 2:
                out.append((key, e.text(6).encode()))
            elif what == 3:
                out.append((key, e.blob(e.size(40))))
        return out
    return make


def _edit_maker(spec: Frame, codec: ModuleType) -> Callable[[Any, Entropy], Edit]:
    """New id, timeout or status, headers and payload for a frame of `spec`."""
    roles = spec.roles
    assert roles is not None
    if roles.id_view is not None:  # a new id goes into part of a bytes field
        id_lo, id_hi = 0, roles.id_view.max
    else:
        id_node = spec.value(roles.id)
        assert id_node is not None
        id_lo, id_hi = _value_range(id_node)
    ts = roles.timeout or roles.status
    ts_node = spec.value(ts) if ts else None
    headers_el = spec.element(roles.headers) if roles.headers else None
    payload_el = spec.element(roles.payload) if roles.payload else None
    headers: Callable[[Any, Entropy], list[tuple[bytes, bytes]]] | None = None
    if isinstance(headers_el, KvMapField):
        pairs = strat.sized_maker(spec, headers_el)
        headers = lambda f, e: pairs(e)  # noqa: E731
    elif isinstance(headers_el, ListField):
        headers = _header_list_edits(codec)
    payload = (strat.sized_maker(spec, payload_el)
               if isinstance(payload_el, BytesField | KvMapField) else None)
    if roles.entries:
        headers = _derived_edits(headers, len(roles.entries), codec)

    def make(f: Any, e: Entropy) -> Edit:
        return Edit(
            f,
            e.integer(max(0, id_lo), id_hi),
            e.integer(*_abi_range(ts_node)) if ts_node is not None else None,
            headers(f, e) if headers is not None and e.byte() & 1 else None,
            payload(e) if payload is not None and e.byte() & 1 else None,
        )
    return make


def _value_range(node: IntField | BitMember | VarintField) -> tuple[int, int]:
    if isinstance(node, BitMember):
        return 0, node.mask
    if isinstance(node, VarintField):
        return 0, node.max
    return node.type.min, node.type.max


def _abi_range(node: IntField | BitMember | VarintField) -> tuple[int, int]:
    """A timeout or status as MOSN can pass it: 32 bits, within the field's range."""
    lo, hi = _value_range(node)
    signed = lo < 0
    return max(lo, -(1 << 31) if signed else 0), min(hi, (1 << 31) - 1 if signed else (1 << 32) - 1)


def _check_encode(sides: Sides, edit: Edit) -> None:
    codec = sides.codec
    wire = codec.encode(edit.frame)
    headers = edit.headers if edit.headers is not None else codec.headers(edit.frame)
    payload = edit.payload if edit.payload is not None else codec.payload(edit.frame)
    try:  # headers that are records may not hold MOSN's edits
        changed = codec.with_roles(edit.frame, id=edit.new_id, timeout_or_status=edit.new_value,
                                   headers=headers, payload=payload)
        python: bytes | None = codec.encode(changed)
    except codec.EncodeError:
        python = None
    host = sides.host
    decoded = _decode_first(sides, wire)
    value = (edit.new_value if edit.new_value is not None else
             (codec.timeout(edit.frame) if codec.timeout(edit.frame) is not None
              else codec.status(edit.frame)) or 0)
    result = _wasm_call(sides, lambda: streams.send(
        host, decoded, edit.new_id, headers=headers, payload=payload,
        timeout_or_status=value & 0xFFFFFFFF))
    wasm = result.frame.frame if result.status == 0 and result.frame is not None else None
    if python != wasm:
        raise Mismatch("encoded frames differ", wire, python.hex() if python else "EncodeError",
                       wasm.hex() if wasm else f"status {result.status}")
    sides.cover_frame(edit.frame)


# ---- 4. prefixes and chunked streams ----------------------------------------------------


def _check_prefix(sides: Sides, example: tuple[bytes, int]) -> None:
    wire, cut = example
    outcome = _compare_decode(sides, wire[:cut])
    if outcome[0] != NEED_MORE[0]:
        raise Mismatch("a strict prefix was not need-more", wire[:cut], outcome, outcome)
    sides.cover_wire(wire)


def _feed(decode: Callable[[bytes], Outcome], chunks: list[bytes]) -> list[Outcome]:
    """Deliver chunks as a connection would; decode whole frames as they complete."""
    seen: list[Outcome] = []
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while True:
            outcome = decode(buffer)
            if outcome[0] != "frame":
                break
            seen.append(outcome)
            buffer = buffer[outcome[1].drain_len:]
    return seen


def _chunks(example: tuple[list[bytes], list[int]]) -> tuple[bytes, list[bytes]]:
    """The frames' concatenation, and that stream cut at the example's points."""
    wires, cuts = example
    stream = b"".join(wires)
    bounds = [0, *cuts, len(stream)]
    return stream, [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _mosn_feed(host: MosnHost, chunks: list[bytes]) -> list[Outcome]:
    """Deliver chunks to MOSN's read loop on one connection."""
    connection = streams.Connection(host)
    seen: list[Outcome] = []
    for chunk in chunks:
        seen += [status_outcome(0, f.command) for f in connection.feed(chunk)]
        if connection.closed_with is not None:
            break
    return seen


def _check_stream(sides: Sides, example: tuple[list[bytes], list[int]]) -> None:
    wires = example[0]
    stream, chunks = _chunks(example)
    python, other = sides.feed(chunks)
    if python != other or len(python) != len(wires):
        raise Mismatch(f"chunked stream of {len(wires)} frames decoded differently", stream,
                       python, other, sides.engine)
    for wire in wires:
        sides.cover_wire(wire)


def _check_stream_python(sides: Sides, example: tuple[list[bytes], list[int]]) -> None:
    wires = example[0]
    stream, chunks = _chunks(example)
    fast = _feed(lambda b: python_decode(sides.codec, b), chunks)
    if len(fast) != len(wires):
        raise Mismatch("chunked stream lost frames", stream, len(fast), len(wires))
    for wire in wires:
        sides.cover_wire(wire)


# ---- 5. hostile bytes -------------------------------------------------------------------


def _check_hostile(sides: Sides, data: bytes) -> None:
    _compare_decode(sides, data)


def _check_hostile_python(sides: Sides, data: bytes) -> None:
    codec = sides.codec
    fast = python_decode(codec, data)
    try:
        reference = codec.reference_decode(data)
        ref: Outcome = (NEED_MORE if isinstance(reference, codec.NeedMore)
                        else ("frame", reference.consumed))
    except codec.ProtocolError:
        ref = MALFORMED
    fast_short = fast if fast[0] != "frame" else ("frame", fast[1].drain_len)
    if fast_short != ref:
        raise Mismatch("straight path and construct reference disagree", data, fast_short, ref)


# ---- 6. frames the plugin makes ------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    builder: str
    id: int
    request: Any
    code: int
    forwarded_as: int | None  # hijack: the id MOSN gave the request upstream, if it went


def hijack_arms(protocol: Protocol) -> tuple[int, ...]:
    """The codes the hijack builder tells apart: every `match code` arm."""
    builder = next((b for b in protocol.builders if b.kind == "hijack"), None)
    if builder is None or len(builder.params) < 2:
        return ()
    code = builder.params[1]
    keys = {key for _, value in builder.assignments for node in ir.walk(value)
            if isinstance(node, ir.Match) and node.subject == ir.Param(code, node.subject.span)
            for key, _ in node.cases}
    keys |= {key for _, sized in builder.sized if isinstance(sized, BytesChoice)
             and sized.subject == ir.Param(code, sized.subject.span) for key, _ in sized.cases}
    return tuple(sorted(keys))


_OTHER_CODE = "hijack code (any other)"


def _code_label(code: int, codes: tuple[int, ...]) -> str:
    return f"hijack code {code}" if code in codes else _OTHER_CODE


def _builder_labels(protocol: Protocol) -> tuple[str, ...]:
    labels = [f"builder {b.kind}" for b in protocol.builders]
    if any(b.kind == "hijack" for b in protocol.builders):
        labels += [f"hijack code {c}" for c in hijack_arms(protocol)] + [_OTHER_CODE]
    return tuple(labels)


def _made(protocol: Protocol, codec: ModuleType) -> st.SearchStrategy[Made]:
    """The builder, id and code come first, so that they are drawn, never the zeros
    past the end of the entropy a large request frame used up; a code is one of the
    hijack's arms, or any other (half of those a code MOSN uses)."""
    kinds = [b.kind for b in protocol.builders]
    requests = [f.name for f in protocol.frames if f.roles is not None
                and f.roles.kind == "request"]
    makers = [strat.frame_maker(protocol, codec, n) for n in requests]
    arms = hijack_arms(protocol)
    others = tuple(c for c in _MOSN_CODES if c not in arms)

    def other(e: Entropy) -> int:
        if others and e.byte() & 1:
            return e.choice(others)
        code = e.integer(-(1 << 31), (1 << 31) - 1)
        return code if code not in arms else min(arms) - 1

    def make(e: Entropy) -> Made | None:
        builder = e.choice(kinds)
        request_id = e.integer(0, 0xFFFFFFFF)
        pick = e.byte() % (len(arms) + 1)
        code = arms[pick] if pick < len(arms) else other(e)
        forwarded_as = e.integer(0, 0xFFFFFFFF) if e.byte() & 1 else None
        request = e.choice(makers)(e) if makers else None
        if makers and request is None:
            return None
        return Made(builder, request_id, request, code, forwarded_as)
    return from_entropy(make)


# The codes MOSN hijacks with (api.*Code of mosn.io/api), and the 0 and 3 it uses too.
_MOSN_CODES = (0, 3, 200, 403, 404, 500, 502, 503, 504, 509)


def _decode_first(sides: Sides, wire: bytes) -> streams.Decoded:
    """`wire` decoded by the plugin on a new connection, as MOSN reads it."""
    frames: list[streams.Decoded] = _wasm_call(
        sides, lambda: streams.Connection(sides.host).feed(wire))
    if not frames:
        raise Mismatch("the plugin did not decode a valid frame", wire, "frame", None)
    return frames[0]


def _check_made(sides: Sides, made: Made) -> None:
    """Keepalive, reply and hijack as MOSN asks for them (protodsl.host.streams).
    A hijack of a oneway request must write nothing: its client expects no answer."""
    codec = sides.codec
    host = sides.host
    if made.builder == "keepalive":
        expected = codec.keepalive(made.id)
        result = _wasm_call(sides, lambda: streams.keepalive(host, made.id))
        if made.id == 0:  # MOSN's probe: keepalive must be supported, nothing is encoded
            if result.status != 0:
                raise Mismatch("the keepalive probe (id 0) failed", None, 0, result.status)
            return
    elif made.builder == "keepalive_reply":
        ping = codec.keepalive(made.id) if hasattr(codec, "keepalive") else made.request
        try:
            ping_wire = codec.encode(ping)
        except codec.EncodeError:
            return  # no valid ping for MOSN to decode
        decoded = _decode_first(sides, ping_wire)
        if not codec.is_heartbeat(ping):
            return  # MOSN replies only to a heartbeat
        expected = codec.keepalive_reply(ping)
        result = _wasm_call(sides, lambda: streams.reply_keepalive(host, decoded))
    else:
        request = _decode_first(sides, codec.encode(made.request))
        if made.forwarded_as is not None:
            _wasm_call(sides, lambda: streams.send(host, request, made.forwarded_as or 0))
        expected = (None if codec.kind(made.request) == "oneway"
                    else codec.hijack(made.request, made.code))
        result = _wasm_call(sides, lambda: streams.hijack(
            host, request, made.code, forwarded_as=made.forwarded_as))
    try:
        python = codec.encode(expected) if expected is not None else b""
    except codec.EncodeError:
        python = None
    wasm = result.frame.frame if result.status == 0 and result.frame is not None else None
    if python != wasm:
        raise Mismatch(f"{made.builder} frames differ", None,
                       python.hex() if python is not None else "EncodeError",
                       wasm.hex() if wasm is not None else f"status {result.status}")
    sides.covered[f"builder {made.builder}"] += 1
    if made.builder == "hijack":
        sides.covered[_code_label(made.code, sides.hijack_arms)] += 1


PROPERTIES: tuple[Property, ...] = (
    Property("python: decode(encode(f)) == f", "python",
             lambda p, c: strat.frames(p, c), _check_roundtrip,
             "round trip, straight path and construct reference agreeing"),
    Property("python: chunked streams", "python", strat.streams, _check_stream_python),
    Property("python: hostile bytes, straight == reference", "python",
             strat.hostile_bytes, _check_hostile_python, requires=_nothing),
    Property("wasm vs python: decode", "wasm", strat.encodings, _check_decode),
    Property("wasm vs python: encode with edits", "wasm", _edits, _check_encode,
             requires=_edited_frames, not_applicable=_never_edited),
    Property("wasm vs python: prefixes need more", "wasm", strat.prefixes, _check_prefix),
    Property("wasm vs python: chunked streams", "wasm", strat.streams, _check_stream),
    Property("wasm vs python: hostile bytes", "wasm", strat.hostile_bytes, _check_hostile,
             requires=_nothing),
    Property("wasm vs python: keepalive, reply, hijack", "wasm", _made, _check_made,
             requires=_builder_labels, scale=4),
)


def wasm_ready(protocol: Protocol) -> bool:
    """Whether the Wasm target accepts this spec (no error diagnostics)."""
    from protodsl.codegen.wasm import backend

    return not any(d.severity == "error" for d in backend.check_target(protocol))


def applicable(protocol: Protocol, wasm: bool) -> tuple[Property, ...]:
    """Properties that apply: Wasm ones need a plugin; builders need builders."""
    out = []
    for prop in PROPERTIES:
        if prop.engine == "wasm" and not wasm:
            continue
        if prop.check is _check_made and not protocol.builders:
            continue
        out.append(prop)
    return tuple(out)
