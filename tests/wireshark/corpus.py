"""The bytes the dissectors are tried on: the golden vectors, frames drawn from
the spec's strategies (the same ones every run), HTTP/2 frames hyperframe
writes, and the fuzz corpus; each laid out as TCP streams: a frame per
segment, frames coalesced, frames split across segments."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from functools import cache
from types import ModuleType
from typing import Any

from hyperframe import frame as h2

from protodsl.codecs import bind_state, load_python
from protodsl.ir import Protocol
from protodsl.testing import strategies as pst
from tests.helpers import ROOT, VECTORS
from tests.wireshark.dissect import PORT
from tests.wireshark.pcap import CLIENT, SERVER, Stream

Segments = list[tuple[str, bytes]]
DRAWN = 25  # frames drawn from the strategies, per spec
HOSTILE = 60  # fuzz corpus inputs, per spec
# A minimal MQTT 5 CONNECT (level 5, clean start, keep alive 60, no properties, empty
# client id): the connection's level, for the frames drawn at level 5 after it.
MQTT5_CONNECT = bytes.fromhex("100d00044d5154540502003c000000")


# Text that is not UTF-8 as Python reads it (a bad byte, an overlong form, a
# surrogate, past U+10FFFF) in MQTT CONNECT's protocol name; tagged-rpc's service.
BAD_UTF8 = (b"\xff\xfeTT", b"\xc0\xafTT", b"\xed\xa0\x80T", b"\xf4\x90\x80\x80")


def invalid_text(protocol: Protocol) -> list[bytes]:
    """Frames whose only fault is text that is not UTF-8."""
    if protocol.name == "mqtt":
        return [bytes.fromhex("100c0004") + bad + bytes.fromhex("0402003c0000")
                for bad in BAD_UTF8]
    if protocol.name == "tagged_rpc":
        request = next(f for _, f in good_frames(protocol) if f[6] >> 7 == 0)
        return [request[:30] + bad + request[30 + len(bad):] for bad in BAD_UTF8]
    return []


@cache
def _prepare() -> ModuleType:
    """fuzz/prepare.py, whose corpus the fuzzers start from."""
    spec = importlib.util.spec_from_file_location("fuzz_prepare", ROOT / "fuzz" / "prepare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vector_hexes(node: Any, good: bool) -> Iterator[bytes]:
    """Every frame's hex of a vector file: the well-formed ones, or (good False)
    the malformed and partial ones."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "malformed_or_partial":
                if not good:
                    yield from (bytes.fromhex(v["hex"]) for v in value)
            elif key == "hex" and isinstance(value, str):
                if good:
                    yield bytes.fromhex(value)
            else:
                yield from _vector_hexes(value, good)
    elif isinstance(node, list):
        for item in node:
            yield from _vector_hexes(item, good)


def _vectors(protocol: Protocol, good: bool) -> list[bytes]:
    files = {"bolt": ["bolt-v1.json", "bolt-upstream.json"], "boltv2": ["bolt-upstream.json"],
             "dubbo": ["dubbo.json"], "memcached": ["memcached.json"], "mqtt": ["mqtt.json"]}
    out: list[bytes] = []
    for name in files.get(protocol.name, []):
        data = json.loads((VECTORS / name).read_text("utf-8"))
        if name == "bolt-upstream.json":  # v1 and v2 frames, one file
            proto = 1 if protocol.name == "bolt" else 2
            data = [f for f in data["frames"] if f["hex"][:2] == f"{proto:02x}"]
        out += _vector_hexes(data, good)
    return out


def _http2_frames() -> Segments:
    """A client's preface, SETTINGS raising its max frame size, a request and
    pings; the server's SETTINGS (a larger frame size too), the response."""
    def w(f: h2.Frame) -> bytes:
        return bytes(f.serialize())

    big = 20000  # past the default 16384: only the SETTINGS before make it legal
    settings = h2.SettingsFrame(0, settings={h2.SettingsFrame.MAX_FRAME_SIZE: 32768,
                                             h2.SettingsFrame.INITIAL_WINDOW_SIZE: 65535})
    return [
        (CLIENT, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        (CLIENT, w(settings)),
        (SERVER, w(settings)),
        (SERVER, w(h2.SettingsFrame(0, flags=["ACK"]))),
        (CLIENT, w(h2.SettingsFrame(0, flags=["ACK"]))),
        (CLIENT, w(h2.HeadersFrame(1, data=b"\x82\x86\x84", flags=["END_HEADERS", "PRIORITY"],
                                   depends_on=0, stream_weight=15, exclusive=True))),
        (CLIENT, w(h2.DataFrame(1, data=b"x" * big, flags=["END_STREAM"]))),
        (CLIENT, w(h2.DataFrame(3, data=b"padded", pad_length=3, flags=["PADDED"]))),
        (SERVER, w(h2.HeadersFrame(1, data=b"\x88", flags=["END_HEADERS"]))),
        (SERVER, w(h2.DataFrame(1, data=b"y" * big, flags=["END_STREAM"]))),
        (SERVER, w(h2.PushPromiseFrame(1, promised_stream_id=2, data=b"\x82",
                                       flags=["END_HEADERS"]))),
        (CLIENT, w(h2.PingFrame(0, opaque_data=b"12345678"))),
        (SERVER, w(h2.PingFrame(0, opaque_data=b"12345678", flags=["ACK"]))),
        (CLIENT, w(h2.WindowUpdateFrame(0, window_increment=1000))),
        (CLIENT, w(h2.PriorityFrame(5, depends_on=1, stream_weight=3))),
        (CLIENT, w(h2.RstStreamFrame(3, error_code=8))),
        (SERVER, w(h2.ContinuationFrame(1, data=b"\x88", flags=["END_HEADERS"]))),
        (SERVER, w(h2.GoAwayFrame(0, last_stream_id=5, error_code=0, additional_data=b"bye"))),
    ]


def good_frames(protocol: Protocol) -> Segments:
    """Well-formed frames in the order a connection carries them."""
    if protocol.name == "http2":
        return _http2_frames()
    prepare = _prepare()
    codec = load_python(protocol)
    frames = _vectors(protocol, good=True)
    if protocol.name == "mqtt":  # the vectors' CONNECT sets level 4; frames at level 5 follow
        bound = bind_state(codec, codec.State(level=5))
        drawn = [f for f in prepare.drawn(pst.encodings(protocol, bound), DRAWN * 2)
                 if f[0] >> 4 != 1][:DRAWN]
        frames += [MQTT5_CONNECT, *drawn]
    else:
        frames += prepare.drawn(pst.encodings(protocol, codec), DRAWN)
    return [(CLIENT, f) for f in frames]


def good_streams(protocol: Protocol) -> list[Stream]:
    """The good frames three ways: a segment each; consecutive frames of a side
    coalesced into one segment; each frame split across two or three segments."""
    frames = good_frames(protocol)
    coalesced: Segments = []
    for side, data in frames:
        if coalesced and coalesced[-1][0] == side:
            coalesced[-1] = (side, coalesced[-1][1] + data)
        else:
            coalesced.append((side, data))
    split: Segments = []
    for side, data in frames:
        cuts = sorted({0, len(data), min(len(data), 3), len(data) // 2} if len(data) > 1
                      else {0, len(data)})
        split += [(side, data[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]
    return [Stream(PORT, frames), Stream(PORT, coalesced), Stream(PORT, split)]


def bad_streams(protocol: Protocol) -> list[Stream]:
    """The malformed and partial vectors and the fuzz corpus's inputs, each a
    stream of its own: after a malformed frame the framing of a stream is lost."""
    prepare = _prepare()
    inputs = _vectors(protocol, good=False) + invalid_text(protocol)
    starts: dict[str, tuple[bytes, dict[str, Any]]] = {
        "mqtt": (MQTT5_CONNECT, {"level": 5}),
              "http2": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {"side": "client"})}
    if protocol.name in starts:  # the corpus fuzz/prepare.py draws, in a state that has it
        start, state = starts[protocol.name]
        codec = bind_state(load_python(protocol), load_python(protocol).State(**state))
        drawn = prepare.drawn(pst.mutations(protocol, codec), HOSTILE // 2)
        drawn += prepare.drawn(pst.encodings(protocol, codec), HOSTILE // 4)
        inputs += [i for raw in drawn for i in (raw, start + raw)]
    else:
        inputs += prepare.seeds(protocol, HOSTILE // 2)[-HOSTILE:]
    return [Stream(PORT, [(CLIENT, raw)]) for raw in inputs if raw]
