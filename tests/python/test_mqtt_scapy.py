"""The generated MQTT codec against scapy's MQTT layers, which both build and
dissect packets: packets scapy builds decode (both readings) to the same fields
and re-encode to the same bytes; packets we build dissect to the same fields in
scapy. Then the errors a len(rest) frame adds: too long a varint, a field past
the frame's end, bytes left over, and need-more at every strict prefix."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.contrib import mqtt as sm

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst
from tests.helpers import SPECS

MQTT = compile_file(SPECS / "mqtt.proto-dsl")
CODEC = load_python(MQTT)

u16 = st.integers(0, 0xFFFF)
texts = st.text(max_size=20).map(str.encode)
blobs = st.binary(max_size=200)  # past 127 bytes: a two-byte remaining length


@st.composite
def scapy_packets(draw: Any) -> Any:
    kind = draw(st.sampled_from(["connect", "connack", "publish", "puback", "pingreq",
                                 "pingresp"]))
    if kind == "connect":
        will, user, password = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
        return sm.MQTT(type=1) / sm.MQTTConnect(
            protoname=b"MQTT", protolevel=4, usernameflag=int(user), passwordflag=int(password),
            willretainflag=draw(st.integers(0, 1)), willQOSflag=draw(st.integers(0, 2)),
            willflag=int(will), cleansess=draw(st.integers(0, 1)), klive=draw(u16),
            clientId=draw(texts), willtopic=draw(texts), willmsg=draw(blobs),
            username=draw(texts), password=draw(blobs))
    if kind == "connack":
        return sm.MQTT(type=2) / sm.MQTTConnack(sessPresentFlag=draw(st.integers(0, 1)),
                                                retcode=draw(st.integers(0, 5)))
    if kind == "publish":
        qos = draw(st.integers(0, 1))
        return sm.MQTT(type=3, QOS=qos, DUP=draw(st.integers(0, 1)),
                       RETAIN=draw(st.integers(0, 1))) / sm.MQTTPublish(
            topic=draw(texts), msgid=draw(u16) if qos else None, value=draw(blobs))
    if kind == "puback":
        return sm.MQTT(type=4) / sm.MQTTPuback(msgid=draw(u16))
    return sm.MQTT(type=12 if kind == "pingreq" else 13)


def _scapy_fields(pkt: Any) -> dict[str, Any]:
    """What scapy says, in the spec's names (text as bytes, as scapy keeps it)."""
    out: dict[str, Any] = {"type": pkt.type, "remaining": pkt.len}
    if pkt.type == 1:
        c = pkt[sm.MQTTConnect]
        out |= {"protocol_name": c.protoname, "level": c.protolevel,
                "username_flag": c.usernameflag, "password_flag": c.passwordflag,
                "will_retain": c.willretainflag, "will_qos": c.willQOSflag,
                "will_flag": c.willflag, "clean_session": c.cleansess,
                "keep_alive": c.klive, "client_id": c.clientId}
        if c.willflag:
            out |= {"will_topic": c.willtopic, "will_message": c.willmsg}
        if c.usernameflag:
            out["username"] = c.username
        if c.passwordflag:
            out["password"] = c.password
    elif pkt.type == 2:
        c = pkt[sm.MQTTConnack]
        out |= {"session_present": c.sessPresentFlag, "return_code": c.retcode}
    elif pkt.type == 3:
        c = pkt[sm.MQTTPublish]
        out |= {"dup": pkt.DUP, "qos": pkt.QOS, "retain": pkt.RETAIN, "topic": c.topic,
                "payload": c.value}
        if pkt.QOS:
            out["packet_id"] = c.msgid
    elif pkt.type == 4:
        out["packet_id"] = pkt[sm.MQTTPuback].msgid
    return out


def _our_fields(frame: Any, like: dict[str, Any]) -> dict[str, Any]:
    values = CODEC.field_values(frame)
    return {k: values[k].encode() if isinstance(values[k], str) else values[k] for k in like}


@given(scapy_packets())
def test_scapy_packets_decode_alike_and_reencode(pkt: Any) -> None:
    wire = bytes(pkt)
    expected = _scapy_fields(sm.MQTT(wire))
    straight, reference = CODEC.decode(wire), CODEC.reference_decode(wire)
    assert straight == reference
    assert straight.consumed == len(wire)
    assert _our_fields(straight.frame, expected) == expected
    assert CODEC.encode(straight.frame) == wire
    assert CODEC.reference_encode(straight.frame) == wire


@given(pst.frames(MQTT, CODEC))
def test_our_frames_dissect_alike_in_scapy(frame: Any) -> None:
    wire = CODEC.encode(frame)
    pkt = sm.MQTT(wire)  # every frame we build is one scapy can represent
    got = _scapy_fields(pkt)
    assert _our_fields(frame, got) == got
    assert bytes(pkt) == wire


@given(scapy_packets())
def test_every_strict_prefix_needs_more(pkt: Any) -> None:
    wire = bytes(pkt)
    for cut in range(len(wire)):
        assert isinstance(CODEC.decode(wire[:cut]), CODEC.NeedMore)
        assert isinstance(CODEC.reference_decode(wire[:cut]), CODEC.NeedMore)


@pytest.mark.parametrize(("wire", "error"), [
    (b"\x30\xff\xff\xff\xff\x01", "MalformedVarint"),     # a fifth remaining-length byte
    (b"\x30\x80\x00", "MalformedVarint"),                 # not in its shortest form
    (b"\x30\x02\x00\x05", "FieldOverrun"),                # topic runs past the frame
    (b"\x40\x01\x00", "FieldOverrun"),                    # puback's packet id cut by the size
    (b"\x40\x03\x00\x05\x00", "LeftoverBytes"),           # a byte after puback's packet id
    (b"\xc0\x01\x00", "LeftoverBytes"),                   # pingreq with a body
])
def test_malformed_in_both_readings(wire: bytes, error: str) -> None:
    for decode in (CODEC.decode, CODEC.reference_decode):
        with pytest.raises(getattr(CODEC, error)):
            decode(wire)
        for cut in range(1, len(wire)):  # a prefix is short, or already malformed alike
            try:
                a = CODEC.decode(wire[:cut])
            except CODEC.ProtocolError as exc:
                with pytest.raises(type(exc)):
                    CODEC.reference_decode(wire[:cut])
            else:
                assert isinstance(a, CODEC.NeedMore)
                assert isinstance(CODEC.reference_decode(wire[:cut]), CODEC.NeedMore)


def test_remaining_length_limits() -> None:
    """268,435,455 is the largest remaining length: it decodes as need-more;
    encoding refuses what four varint bytes cannot hold."""
    assert isinstance(CODEC.decode(b"\x30\xff\xff\xff\x7f"), CODEC.NeedMore)
    big = CODEC.Publish(topic="t", payload=b"")
    assert CODEC.encode(big) == b"\x30\x03\x00\x01t"
