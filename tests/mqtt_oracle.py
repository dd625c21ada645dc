"""What scapy's MQTT layers say of a packet, in the spec's names: the oracle of
tests/python/test_mqtt_scapy.py (packets scapy builds) and tests/peers (packets
real peers send)."""

from __future__ import annotations

from typing import Any

from scapy.contrib import mqtt as sm

ACKS = {4: sm.MQTTPuback, 5: sm.MQTTPubrec, 6: sm.MQTTPubrel, 7: sm.MQTTPubcomp,
         8: sm.MQTTSubscribe, 9: sm.MQTTSuback, 10: sm.MQTTUnsubscribe, 11: sm.MQTTUnsuback}


def scapy_fields(pkt: Any, level: int = 4) -> dict[str, Any]:
    """What scapy says, in the spec's names. scapy.contrib.mqtt knows no MQTT 5
    properties, so for level 5 only the fields before the first property list
    count: the fixed header, CONNECT's up to keep-alive, PUBLISH's topic and
    packet id, and the packet id of the others."""
    out: dict[str, Any] = {"type": pkt.type, "remaining": pkt.len}
    if pkt.type == 3:
        out |= {"dup": pkt.DUP, "qos": pkt.QOS, "retain": pkt.RETAIN}
    else:
        out["flags"] = (pkt.DUP << 3) | (pkt.QOS << 1) | pkt.RETAIN
    if pkt.type == 1 and pkt.getlayer(sm.MQTTConnect) is None:
        assert level == 5, "scapy dissects every 3.1.1 CONNECT"  # a v5 will's properties
    elif pkt.type == 1:                                            # stop scapy at the header
        c = pkt[sm.MQTTConnect]
        out |= {"protocol_name": c.protoname, "level": c.protolevel,
                "username_flag": c.usernameflag, "password_flag": c.passwordflag,
                "will_retain": c.willretainflag, "will_qos": c.willQOSflag,
                "will_flag": c.willflag, "clean_session": c.cleansess, "keep_alive": c.klive}
        if level < 5:
            out["client_id"] = c.clientId
            if c.willflag:
                out |= {"will_topic": c.willtopic, "will_message": c.willmsg}
            if c.usernameflag:
                out["username"] = c.username
            if c.passwordflag:
                out["password"] = c.password
    elif pkt.type == 2 and level < 5:
        c = pkt[sm.MQTTConnack]
        out |= {"session_present": c.sessPresentFlag, "return_code": c.retcode}
    elif pkt.type == 3:
        c = pkt[sm.MQTTPublish]
        out["topic"] = c.topic
        if pkt.QOS:
            out["packet_id"] = c.msgid
        if level < 5:
            out["payload"] = c.value
    elif pkt.type in ACKS:
        layer = pkt[ACKS[pkt.type]]
        out["packet_id"] = layer.msgid
        if level < 5 and pkt.type == 8:
            out["topics"] = [(t.topic, t.QOS) for t in layer.topics]
        elif level < 5 and pkt.type == 9:
            out["return_codes"] = list(layer.retcodes)
        elif level < 5 and pkt.type == 10:
            out["topics"] = [t.topic for t in layer.topics]
    return out
