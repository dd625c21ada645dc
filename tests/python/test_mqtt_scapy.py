"""The generated MQTT codec against scapy's MQTT layers, which both build and
dissect packets: packets scapy builds decode (both readings) to the same fields
and re-encode to the same bytes; packets we build dissect to the same fields in
scapy (SUBSCRIBE, SUBACK and UNSUBSCRIBE included: a packet id and a list of
topic filters with their QoS, return codes or topic filters). Every one of the
14 packet types of MQTT 3.1.1 is drawn. Then
the errors a len(rest) frame adds: too long a varint, a field past the frame's
end, bytes left over, and need-more at every strict prefix."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.config import conf
from scapy.contrib import mqtt as sm

from protodsl.codecs import bind_state, load_python
from protodsl.passes.pipeline import compile_file
from protodsl.testing import strategies as pst
from tests.helpers import SPECS
from tests.mqtt_oracle import scapy_fields

MQTT = compile_file(SPECS / "mqtt.proto-dsl")
_PLAIN = load_python(MQTT)
# scapy builds MQTT 3.1.1: on a connection whose CONNECT announced level 4
CODEC = bind_state(_PLAIN, _PLAIN.State(level=4))

u16 = st.integers(0, 0xFFFF)
texts = st.text(max_size=20).map(str.encode)
blobs = st.binary(max_size=200)  # past 127 bytes: a two-byte remaining length


@st.composite
def scapy_packets(draw: Any) -> Any:
    kind = draw(st.sampled_from(["connect", "connack", "publish", "puback", "pubrec", "pubrel",
                                 "pubcomp", "subscribe", "suback", "unsubscribe", "unsuback",
                                 "pingreq", "pingresp", "disconnect"]))
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
    if kind == "pubrec":
        return sm.MQTT(type=5) / sm.MQTTPubrec(msgid=draw(u16))
    if kind == "pubrel":  # the fixed header's flags are 0b0010: scapy's QOS=1 bit
        return sm.MQTT(type=6, QOS=1) / sm.MQTTPubrel(msgid=draw(u16))
    if kind == "pubcomp":
        return sm.MQTT(type=7) / sm.MQTTPubcomp(msgid=draw(u16))
    if kind == "suback":
        codes = draw(st.lists(st.sampled_from([0x00, 0x01, 0x02, 0x80]), max_size=4))
        return sm.MQTT(type=9) / sm.MQTTSuback(msgid=draw(u16), retcodes=codes)
    if kind == "unsubscribe":  # flags 0b0010, as SUBSCRIBE
        filters = draw(st.lists(st.builds(sm.MQTTTopic, topic=texts), min_size=1, max_size=4))
        return sm.MQTT(type=10, QOS=1) / sm.MQTTUnsubscribe(msgid=draw(u16), topics=filters)
    if kind == "unsuback":
        return sm.MQTT(type=11) / sm.MQTTUnsuback(msgid=draw(u16))
    if kind == "disconnect":
        return sm.MQTT(type=14)
    if kind == "subscribe":  # the fixed header's flags are 0b0010: scapy's QOS=1 bit
        topics = draw(st.lists(st.builds(sm.MQTTTopicQOS, topic=texts,
                                         QOS=st.integers(0, 2)), min_size=1, max_size=4))
        return sm.MQTT(type=8, QOS=1) / sm.MQTTSubscribe(msgid=draw(u16), topics=topics)
    return sm.MQTT(type=12 if kind == "pingreq" else 13)




def _our_fields(frame: Any, like: dict[str, Any]) -> dict[str, Any]:
    values = CODEC.field_values(frame)
    if isinstance(frame, CODEC.Subscribe):
        values["topics"] = [(t.filter.encode(), t.qos) for t in values["topics"]]
    elif isinstance(frame, CODEC.Unsubscribe):
        values["topics"] = [t.filter.encode() for t in values["topics"]]
    elif isinstance(frame, CODEC.Suback):
        values["return_codes"] = [c.code for c in values["return_codes"]]
    return {k: values[k].encode() if isinstance(values[k], str) else values[k] for k in like}


@given(scapy_packets())
def test_scapy_packets_decode_alike_and_reencode(pkt: Any) -> None:
    wire = bytes(pkt)
    expected = scapy_fields(sm.MQTT(wire))
    straight, reference = CODEC.decode(wire), CODEC.reference_decode(wire)
    assert straight == reference
    assert straight.consumed == len(wire)
    assert _our_fields(straight.frame, expected) == expected
    assert CODEC.encode(straight.frame) == wire
    assert CODEC.reference_encode(straight.frame) == wire


@given(pst.frames(MQTT, CODEC))
def test_our_frames_dissect_alike_in_scapy(frame: Any) -> None:
    if any(isinstance(v, list) and len(v) > conf.max_list_count
           for v in CODEC.field_values(frame).values()):
        return  # scapy dissects at most conf.max_list_count (100) list entries, then gives up
    wire = CODEC.encode(frame)
    pkt = sm.MQTT(wire)  # every other frame we build is one scapy can represent
    got = scapy_fields(pkt)
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
    (b"\x82\x06\x00\x01\x00\x03a/", "MalformedSection"),  # a topic filter past the packet
    (b"\x82\x06\x00\x01\x00\x02a/", "MalformedSection"),  # its QoS byte past the packet
    (b"\x82\x06\x00\x01\x00\x01\xff\x00", "InvalidText"),  # a filter that is not UTF-8
    (b"\x50\x01\x00", "FieldOverrun"),                    # pubrec's packet id cut by the size
    (b"\xe0\x01\x00", "LeftoverBytes"),                   # disconnect with a body
    (b"\xa2\x05\x00\x01\x00\x03a", "MalformedSection"),   # an unsubscribe filter past the packet
    (b"\xa2\x05\x00\x01\x00\x01\xff", "InvalidText"),    # an unsubscribe filter not UTF-8
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


def test_subscribe_both_ways() -> None:
    """SUBSCRIBE as scapy builds it decodes (both readings) and re-encodes; ours
    dissects in scapy; no topic filters is accepted, as scapy does (section 3.8.3
    calls it a protocol violation, which this spec leaves to the application)."""
    pkt = sm.MQTT(QOS=1) / sm.MQTTSubscribe(msgid=10, topics=[
        sm.MQTTTopicQOS(topic=b"a/b", QOS=1), sm.MQTTTopicQOS(topic=b"c/#", QOS=2)])
    wire = bytes(pkt)
    assert wire == bytes.fromhex("820e000a0003612f62010003632f2302")
    want = CODEC.Subscribe(packet_id=10, topics=[CODEC.TopicFilter("a/b", 1),
                                                 CODEC.TopicFilter("c/#", 2)])
    for decode, encode in ((CODEC.decode, CODEC.encode),
                           (CODEC.reference_decode, CODEC.reference_encode)):
        assert decode(wire) == CODEC.Decoded(want, len(wire), CODEC.BOUND_STATE)
        assert encode(want) == wire
    ours = CODEC.encode(CODEC.Subscribe(packet_id=7, topics=[CODEC.TopicFilter("x/+/é", 0)]))
    dissected = sm.MQTT(ours)
    assert dissected.type == 8 and dissected.QOS == 1
    assert [(t.topic, t.QOS) for t in dissected[sm.MQTTSubscribe].topics] == [
        ("x/+/é".encode(), 0)]
    empty = CODEC.Subscribe(packet_id=3, topics=[])
    assert CODEC.encode(empty) == CODEC.reference_encode(empty) == b"\x82\x02\x00\x03"
    assert CODEC.decode(b"\x82\x02\x00\x03").frame == empty
    with pytest.raises(CODEC.EncodeError):
        CODEC.encode(CODEC.Subscribe(packet_id=1, topics=[CODEC.TopicFilter("a" * 70000, 0)]))
    for decode in (CODEC.decode, CODEC.reference_decode):  # flags must be 0b0010
        with pytest.raises(CODEC.ProtocolError):
            decode(b"\x80\x02\x00\x01")


@pytest.mark.parametrize(("pkt", "hex_", "want"), [
    (sm.MQTT(type=5) / sm.MQTTPubrec(msgid=10), "5002000a", CODEC.Pubrec(packet_id=10)),
    (sm.MQTT(type=6, QOS=1) / sm.MQTTPubrel(msgid=10), "6202000a", CODEC.Pubrel(packet_id=10)),
    (sm.MQTT(type=7) / sm.MQTTPubcomp(msgid=10), "7002000a", CODEC.Pubcomp(packet_id=10)),
    (sm.MQTT(type=9) / sm.MQTTSuback(msgid=10, retcodes=[0x01, 0x80]), "9004000a0180",
     CODEC.Suback(packet_id=10, return_codes=[CODEC.ReturnCode(0x01), CODEC.ReturnCode(0x80)])),
    (sm.MQTT(type=10, QOS=1) / sm.MQTTUnsubscribe(msgid=10, topics=[
        sm.MQTTTopic(topic=b"a/b"), sm.MQTTTopic(topic="c/é".encode())]),
     "a20d000a0003612f620004632fc3a9",
     CODEC.Unsubscribe(packet_id=10, topics=[CODEC.UnsubscribeFilter("a/b"),
                                             CODEC.UnsubscribeFilter("c/é")])),
    (sm.MQTT(type=11) / sm.MQTTUnsuback(msgid=10), "b002000a", CODEC.Unsuback(packet_id=10)),
    (sm.MQTT(type=14), "e000", CODEC.Disconnect()),
], ids=["pubrec", "pubrel", "pubcomp", "suback", "unsubscribe", "unsuback", "disconnect"])
def test_acks_and_unsubscribe_both_ways(pkt: Any, hex_: str, want: Any) -> None:
    """The packet types past SUBSCRIBE, as scapy builds them, decode (both
    readings) to the frame we build and re-encode to scapy's bytes; ours dissect
    in scapy to the same fields."""
    wire = bytes(pkt)
    assert wire.hex() == hex_
    for decode, encode in ((CODEC.decode, CODEC.encode),
                           (CODEC.reference_decode, CODEC.reference_encode)):
        assert decode(wire) == CODEC.Decoded(want, len(wire), CODEC.BOUND_STATE)
        assert encode(want) == wire
    got = scapy_fields(sm.MQTT(CODEC.encode(want)))
    assert got == scapy_fields(sm.MQTT(wire)) and _our_fields(want, got) == got


def test_pubrel_and_unsubscribe_flags_are_0b0010() -> None:
    """PUBREL and UNSUBSCRIBE, like SUBSCRIBE, refuse other fixed-header flags
    (sections 3.6.1 and 3.10.1); UNSUBSCRIBE with no topic filters decodes, as
    in scapy (section 3.10.3 calls it a protocol violation)."""
    for decode in (CODEC.decode, CODEC.reference_decode):
        for wire in (b"\x60\x02\x00\x01", b"\xa0\x02\x00\x01", b"\xa6\x02\x00\x01"):
            with pytest.raises(CODEC.ProtocolError):
                decode(wire)
        assert decode(b"\xa2\x02\x00\x01").frame == CODEC.Unsubscribe(packet_id=1, topics=[])
        assert decode(b"\x90\x02\x00\x01").frame == CODEC.Suback(packet_id=1, return_codes=[])
