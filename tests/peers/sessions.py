"""The scripted client sessions: real clients (mosquitto_pub/sub, paho-mqtt,
nghttp, the h2 library) talking to real servers through a Recorder, so the
recordings hold what real implementations put on the wire. Each session is
written to reach particular packet types; test_*_peers.py asserts they did."""

from __future__ import annotations

import queue
import random
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import paho.mqtt.client as paho
from h2.settings import SettingCodes
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from tests.peers.streams import h2_frames, mqtt_packets
from tests.recorder import Direction, Recorder, Recording

HOST = "127.0.0.1"
TIMEOUT = 10.0


@dataclass(frozen=True)
class Tools:
    """Paths of the peers' binaries."""

    mosquitto: str
    mosquitto_pub: str
    mosquitto_sub: str
    nghttpd: str
    nghttp: str


Script = Callable[[Recorder, Tools, Path], None]


def record(name: str, script: Script, target: int, tools: Tools, tmp: Path) -> Recording:
    """Runs one session through its own recorder; returns the recording once
    every connection has closed both ways."""
    recorder = Recorder(target, name)
    try:
        script(recorder, tools, tmp)
        recorder.wait_closed(timeout=TIMEOUT)
    finally:
        recording = recorder.close()
    return recording


def run(argv: list[str]) -> None:
    """A client run to completion; its output goes into the failure message."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stderr}"


_SPAWNED: list[subprocess.Popen[bytes]] = []


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """A background client; reap() kills it if a failed session left it behind
    (mosquitto_sub would otherwise reconnect forever)."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _SPAWNED.append(process)
    return process


def reap() -> None:
    """Kills the background clients still running; call once no session runs."""
    while _SPAWNED:
        process = _SPAWNED.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


def finish(process: subprocess.Popen[bytes]) -> None:
    """Waits for a background client to exit by itself, successfully."""
    try:
        _, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    assert process.returncode == 0, (
        f"{process.args!r} exited {process.returncode}:\n{err.decode(errors='replace')}")


# --- MQTT -------------------------------------------------------------------

def mqtt_count(recording: Recording, ptype: int, direction: Direction = "s2c") -> int:
    """How many packets of a type crossed in a direction, over all connections."""
    return len([t for conn in recording.connections
                for t, _ in mqtt_packets(conn.data(direction)) if t == ptype])


def wait_mqtt(recorder: Recorder, ptype: int, count: int = 1,
              direction: Direction = "s2c") -> None:
    recorder.wait_until(lambda r: mqtt_count(r, ptype, direction) >= count, TIMEOUT)


CONNACK, PUBLISH, SUBACK, UNSUBACK, PINGRESP, AUTH = 2, 3, 9, 11, 13, 15


def _cli(tool: str, recorder: Recorder, version: str) -> list[str]:
    return [tool, "-h", HOST, "-p", str(recorder.port), "-V", version]


V5_CONNECT = ["-D", "connect", "session-expiry-interval", "30",
              "-D", "connect", "user-property", "client", "cli",
              "-D", "connect", "receive-maximum", "20",
              "-D", "connect", "maximum-packet-size", "100000"]
V5_PUBLISH = ["-D", "publish", "user-property", "k", "v",
              "-D", "publish", "content-type", "text/plain",
              "-D", "publish", "message-expiry-interval", "60",
              "-D", "publish", "payload-format-indicator", "1",
              "-D", "publish", "response-topic", "peers/reply",
              "-D", "publish", "correlation-data", "c0ffee"]


def cli_qos(version: str) -> Script:
    """mosquitto_sub subscribed to two filters at QoS 2 with a user name, while
    mosquitto_pub publishes at QoS 0, 1 and 2, retained and empty: PUBACK and
    the PUBREC/PUBREL/PUBCOMP exchange both ways; a late subscriber gets the
    retained message (RETAIN set by the broker)."""
    v5 = version == "mqttv5"

    def script(recorder: Recorder, tools: Tools, tmp: Path) -> None:
        topic = f"peers/{version}/qos"
        sub = _cli(tools.mosquitto_sub, recorder, version)
        pub = _cli(tools.mosquitto_pub, recorder, version) + (V5_CONNECT + V5_PUBLISH
                                                              if v5 else [])
        subscriber = spawn(sub + ["-i", f"{version}-qos-sub", "-u", "alice", "-P", "secret",
                                  "-q", "2", "-t", f"{topic}/#", "-t", f"{topic}-x/+",
                                  "-C", "5", "-v"] + (V5_CONNECT if v5 else []))
        wait_mqtt(recorder, SUBACK)
        for qos, leaf in (("0", "zero"), ("1", "one"), ("2", "two")):
            run(pub + ["-q", qos, "-t", f"{topic}/{leaf}", "-m", f"payload {leaf}"])
        run(pub + ["-r", "-q", "1", "-t", f"{topic}/kept", "-m", "retained",
                   "-u", "bob", "-P", "pw"])
        run(pub + ["-q", "2", "-t", f"{topic}-x/y", "-n"])  # the second filter; empty
        finish(subscriber)
        run(sub + ["-t", f"{topic}/kept", "-C", "1"])       # RETAIN=1 from the broker
        run(pub + ["-r", "-t", f"{topic}/kept", "-n"])      # clears the retained message
    return script


def cli_will(version: str) -> Script:
    """A client with a will subscribes, unsubscribes (-U) and is killed without
    DISCONNECT; a watcher receives its will from the broker."""
    v5 = version == "mqttv5"

    def script(recorder: Recorder, tools: Tools, tmp: Path) -> None:
        topic = f"peers/{version}/will"
        sub = _cli(tools.mosquitto_sub, recorder, version)
        watcher = spawn(sub + ["-t", f"{topic}/gone", "-C", "1", "-q", "1"])
        wait_mqtt(recorder, SUBACK)
        victim = spawn(sub + ["-t", f"{topic}/a", "-t", f"{topic}/c", "-U", f"{topic}/b",
                              "-q", "1", "--will-topic", f"{topic}/gone",
                              "--will-payload", "bye", "--will-qos", "1"]
                       + (["-D", "will", "content-type", "text/plain",
                           "-D", "will", "user-property", "w", "1"] + V5_CONNECT if v5 else []))
        wait_mqtt(recorder, UNSUBACK)
        victim.kill()
        victim.wait()
        finish(watcher)
    return script


class _PahoRun:
    """A paho client on its own network thread, with events to wait on."""

    def __init__(self, recorder: Recorder, client_id: str,
                 protocol: MQTTProtocolVersion) -> None:
        self.recorder = recorder
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=protocol)
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.acks: queue.Queue[str] = queue.Queue()
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_connect = lambda *a: self.acks.put("connack")
        self.client.on_subscribe = lambda *a: self.acks.put("suback")
        self.client.on_unsubscribe = lambda *a: self.acks.put("unsuback")

    def expect(self, what: str) -> None:
        got = self.acks.get(timeout=TIMEOUT)
        assert got == what, f"expected {what}, got {got}"

    def receive(self, count: int) -> list[paho.MQTTMessage]:
        return [self.messages.get(timeout=TIMEOUT) for _ in range(count)]


def _properties(packet_type: int) -> Properties:
    """paho's Properties constructor is untyped."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]


def paho_v311(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """paho v3.1.1: user name, password and will; three filters at QoS 0/1/2,
    a publish at each QoS to itself (QoS 2 round trip both ways), unsubscribe,
    a keep-alive of 1 s for PINGREQ/PINGRESP, then DISCONNECT."""
    p = _PahoRun(recorder, "paho-v311", paho.MQTTv311)
    p.client.username_pw_set("carol", "pw")
    p.client.will_set("peers/paho311/will", b"gone", qos=2, retain=False)
    p.client.connect(HOST, recorder.port, keepalive=1)
    p.client.loop_start()
    try:
        p.expect("connack")
        p.client.subscribe([("peers/paho311/q0", 0), ("peers/paho311/q1", 1),
                            ("peers/paho311/q2", 2)])
        p.expect("suback")
        for qos in (0, 1, 2):
            p.client.publish(f"peers/paho311/q{qos}", f"qos {qos}".encode() * 20,
                             qos=qos).wait_for_publish(TIMEOUT)
        p.receive(3)
        p.client.unsubscribe(["peers/paho311/q0", "peers/paho311/q1"])
        p.expect("unsuback")
        wait_mqtt(recorder, PINGRESP)
        p.client.disconnect()
    finally:
        p.client.loop_stop()


def paho_v5(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """paho v5: CONNECT with properties and a will with properties; SUBSCRIBE
    with options and a subscription identifier; PUBLISH with user properties,
    content type, message expiry and a topic alias (then the alias alone, an
    empty topic); a QoS 2 round trip; UNSUBSCRIBE; PINGREQ; DISCONNECT with a
    reason code and properties."""
    p = _PahoRun(recorder, "paho-v5", paho.MQTTv5)
    connect = _properties(PacketTypes.CONNECT)
    connect.SessionExpiryInterval = 30
    connect.ReceiveMaximum = 10
    connect.MaximumPacketSize = 1 << 20
    connect.TopicAliasMaximum = 4
    connect.RequestProblemInformation = 1
    connect.UserProperty = [("client", "paho"), ("run", "peers")]
    will = _properties(PacketTypes.WILLMESSAGE)
    will.WillDelayInterval = 0
    will.ContentType = "text/plain"
    p.client.will_set("peers/paho5/will", b"gone", qos=1, properties=will)
    p.client.username_pw_set("dave", "pw")
    p.client.connect(HOST, recorder.port, keepalive=1, clean_start=True, properties=connect)
    p.client.loop_start()
    try:
        p.expect("connack")
        sub = _properties(PacketTypes.SUBSCRIBE)
        sub.SubscriptionIdentifier = 7
        sub.UserProperty = [("sub", "1")]
        p.client.subscribe([
            ("peers/paho5/a", SubscribeOptions(qos=2, noLocal=False, retainAsPublished=True,
                                               retainHandling=SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE)),
            ("peers/paho5/b/+", SubscribeOptions(qos=1, retainHandling=2)),
        ], properties=sub)
        p.expect("suback")
        pub = _properties(PacketTypes.PUBLISH)
        pub.UserProperty = [("k", "v"), ("k", "w")]
        pub.ContentType = "application/json"
        pub.MessageExpiryInterval = 120
        pub.PayloadFormatIndicator = 1
        pub.TopicAlias = 1
        p.client.publish("peers/paho5/a", b'{"n": 1}', qos=2,
                         properties=pub).wait_for_publish(TIMEOUT)
        alias = _properties(PacketTypes.PUBLISH)
        alias.TopicAlias = 1
        p.client.publish("", b'{"n": 2}', qos=1, properties=alias).wait_for_publish(TIMEOUT)
        p.client.publish("peers/paho5/b/c", b"plain", qos=0).wait_for_publish(TIMEOUT)
        p.receive(3)
        unsub = _properties(PacketTypes.UNSUBSCRIBE)
        unsub.UserProperty = [("bye", "1")]
        p.client.unsubscribe(["peers/paho5/a", "peers/paho5/b/+"], properties=unsub)
        p.expect("unsuback")
        wait_mqtt(recorder, PINGRESP)
        bye = _properties(PacketTypes.DISCONNECT)
        bye.SessionExpiryInterval = 0
        bye.ReasonString = "done"
        p.client.disconnect(ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"),
                            bye)
    finally:
        p.client.loop_stop()


def raw_v5(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """What no client here makes mosquitto (2.0) send or take, written by
    hand: an AUTH from a client that connected without a method (the broker
    just closes), and a
    PUBLISH with a topic alias over the broker's maximum, which it answers with
    a DISCONNECT (0x94): the server's DISCONNECT that 3.1.1 lacks. (A session
    takeover does not do it: mosquitto 2.0.11 closes the old socket silently.)"""
    def connect(client_id: bytes) -> bytes:
        body = bytes.fromhex("00044d515454" "05" "02" "003c" "00") + len(client_id).to_bytes(
            2, "big") + client_id
        return bytes([0x10, len(body)]) + body
    auth = bytes.fromhex("f006" "19" "04" "15000178")  # reason 0x19, method "x"
    alias = bytes.fromhex("3008" "000174" "03230064" "78")  # topic "t", alias 100, "x"
    for number, (client_id, then) in enumerate(((b"raw-auth", auth), (b"raw-alias", alias))):
        with socket.create_connection((HOST, recorder.port), timeout=TIMEOUT) as s:
            s.sendall(connect(client_id))
            wait_mqtt(recorder, CONNACK, number + 1)
            s.sendall(then)
            while s.recv(4096):
                pass


def _property(pid: int, data: bytes) -> bytes:
    """An MQTT 5 property whose value is a string or binary data."""
    return bytes([pid]) + len(data).to_bytes(2, "big") + data


def _packet(first: int, body: bytes) -> bytes:
    """A whole MQTT packet; every body here is under 128 bytes."""
    return bytes([first, len(body)]) + body


def raw_v5_auth(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """MQTT 5 enhanced authentication, which mosquitto does through a plugin
    (tests/peers/mosquitto_auth): a CONNECT naming the method "protodsl", the
    broker's AUTH challenge (reason 0x18), our AUTH response, its CONNACK;
    then a re-authentication (0x19), challenge, response, and the broker's AUTH
    with reason 0x00. Written by hand: neither client here does enhanced auth."""
    method = _property(0x15, b"protodsl")

    def auth(reason: int, data: bytes) -> bytes:
        props = method + _property(0x16, data)
        return _packet(0xF0, bytes([reason, len(props)]) + props)

    props = method + _property(0x16, b"hello")
    client_id = b"raw-enhanced-auth"  # not raw-v5's: a second CONNECT with an id takes it over
    connect = _packet(0x10, bytes.fromhex("00044d515454" "05" "02" "003c") + bytes(
        [len(props)]) + props + len(client_id).to_bytes(2, "big") + client_id)
    with socket.create_connection((HOST, recorder.port), timeout=TIMEOUT) as s:
        s.sendall(connect)
        wait_mqtt(recorder, AUTH)
        s.sendall(auth(0x18, b"response"))
        wait_mqtt(recorder, CONNACK)
        s.sendall(auth(0x19, b"hello"))
        wait_mqtt(recorder, AUTH, 2)
        s.sendall(auth(0x18, b"response"))
        wait_mqtt(recorder, AUTH, 3)
        s.sendall(bytes.fromhex("e000"))
        while s.recv(4096):
            pass


MQTT: dict[str, Script] = {
    "cli-v311-qos": cli_qos("mqttv311"),
    "cli-v311-will": cli_will("mqttv311"),
    "paho-v311": paho_v311,
    "cli-v5-qos": cli_qos("mqttv5"),
    "cli-v5-will": cli_will("mqttv5"),
    "paho-v5": paho_v5,
    "raw-v5": raw_v5,
    "raw-v5-auth": raw_v5_auth,
}
MQTT_V311 = [n for n in MQTT if "v311" in n]
MQTT_V5 = [n for n in MQTT if "v5" in n]


# --- HTTP/2 -----------------------------------------------------------------

PUSHED = "/style.css"
BIG = 300_000  # bytes: many DATA frames, past the 64 KiB initial window


def write_htdocs(docs: Path) -> None:
    """A page with assets (nghttp -a fetches them; nghttpd pushes PUSHED) and a
    large file."""
    (docs / "index.html").write_text(
        '<html><head><link rel="stylesheet" href="/style.css">'
        '<script src="/app.js"></script></head>'
        '<body><img src="/logo.png"></body></html>\n')
    (docs / "style.css").write_text("body { color: #333; }\n" * 10)
    (docs / "app.js").write_text("console.log('peers');\n")
    (docs / "logo.png").write_bytes(random.Random(1).randbytes(3000))
    (docs / "big.bin").write_bytes(random.Random(2).randbytes(BIG))


def _url(recorder: Recorder, path: str) -> str:
    return f"http://{HOST}:{recorder.port}{path}"


def nghttp_assets(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """nghttp with prior knowledge: a page and its assets (-a), with its default
    PRIORITY frames, a pushed stylesheet, and a large file: split DATA frames
    and WINDOW_UPDATE."""
    run([tools.nghttp, "-n", "-a", _url(recorder, "/index.html"), _url(recorder, "/big.bin")])


def nghttp_upload(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """nghttp POSTs a file (-d; nghttpd echoes it back) with padded frames
    (-b) and a header block too big for one frame (--continuation), and two
    more URIs on the same connection; --no-push refuses the push."""
    upload = tmp / "upload.bin"
    upload.write_bytes(random.Random(3).randbytes(100_000))
    run([tools.nghttp, "-n", "--no-push", "-b", "9", "--continuation", "-d", str(upload),
         _url(recorder, "/echo"), _url(recorder, "/app.js"), _url(recorder, "/missing")])


def h2_client(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """The h2 library over a plain socket: preface and SETTINGS, a GET whose
    header block needs CONTINUATION, PRIORITY, a POST with DATA, PING, a large
    GET cancelled with RST_STREAM, WINDOW_UPDATE for what was read, GOAWAY."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    sock = socket.create_connection((HOST, recorder.port), timeout=TIMEOUT)
    authority = f"{HOST}:{recorder.port}"

    def request(path: str, method: str = "GET", extra: list[tuple[str, str]] | None = None,
                end: bool = True) -> int:
        sid: int = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", method), (":scheme", "http"),
                                (":authority", authority), (":path", path)] + (extra or []),
                          end_stream=end)
        return sid

    with sock:
        conn.initiate_connection()
        conn.increment_flow_control_window(1 << 20)
        sock.sendall(conn.data_to_send())
        page = request("/index.html", extra=[("x-big", "q" * 40_000)])  # > 16 KiB: CONTINUATION
        conn.prioritize(page, weight=200, depends_on=0, exclusive=True)
        post = request("/echo", "POST", [("content-type", "text/plain")], end=False)
        conn.send_data(post, b"hello peers\n" * 100, end_stream=True)
        big = request("/big.bin")
        conn.ping(b"peers!!!")
        sock.sendall(conn.data_to_send())
        ended: set[int] = set()
        pinged = reset = False
        while not (pinged and reset and {page, post} <= ended):
            for event in _receive(sock, conn, "nghttpd"):
                if isinstance(event, h2.events.DataReceived):
                    if event.stream_id == big and not reset:
                        conn.reset_stream(big, error_code=0x8)  # CANCEL
                        reset = True
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
                elif isinstance(event, h2.events.PingAckReceived):
                    pinged = True
            sock.sendall(conn.data_to_send())
        _close(sock, conn)


def _receive(sock: socket.socket, conn: h2.connection.H2Connection, peer: str
             ) -> list[h2.events.Event]:
    """The events of the peer's next bytes, the DATA among them acknowledged
    (flow control)."""
    data = sock.recv(1 << 16)
    assert data, f"{peer} closed the connection early"
    events: list[h2.events.Event] = conn.receive_data(data)
    for event in events:
        if isinstance(event, h2.events.DataReceived):
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
    return events


def _close(sock: socket.socket, conn: h2.connection.H2Connection) -> None:
    """GOAWAY, then read until the peer closes too."""
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(1 << 16):
        pass


def h2_errors(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """What nghttpd sends only when the client errs: RST_STREAM and GOAWAY.
    The h2 library (outbound checks off) POSTs more DATA than its
    content-length says: a stream error, RST_STREAM. Then a WINDOW_UPDATE of
    zero on stream 0, which h2 will not send, written by hand: a connection
    error, GOAWAY. (nghttp2 makes most other errors connection errors.)"""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=True, validate_outbound_headers=False))
    with socket.create_connection((HOST, recorder.port), timeout=TIMEOUT) as sock:
        conn.initiate_connection()
        conn.send_headers(1, [(":method", "POST"), (":scheme", "http"),
                              (":authority", f"{HOST}:{recorder.port}"), (":path", "/echo"),
                              ("content-length", "5")])
        conn.send_data(1, b"0123456789", end_stream=True)
        sock.sendall(conn.data_to_send())
        recorder.wait_until(lambda r: any(t == 0x3 for t, *_ in h2_frames(
            r.connections[0].data("s2c"))) if r.connections else False, TIMEOUT)
        sock.sendall(bytes.fromhex("000004" "08" "00" "00000000" "00000000"))
        while sock.recv(1 << 16):
            pass


BIG_FRAME_SETTING = 65_536  # the SETTINGS_MAX_FRAME_SIZE both ends of h2_big_frames announce
BIG_BODY = bytes(range(256)) * 160  # 40,960 bytes: one DATA frame each way, past 16 KiB


def h2_big_frames(recorder: Recorder, tools: Tools, tmp: Path) -> None:
    """The h2 library on both ends (tests/peers/h2_server.py serves), each
    announcing SETTINGS_MAX_FRAME_SIZE 65,536 in a second SETTINGS; once the
    server's has arrived and a PING has come back (the h2 server applies its
    setting once it has read our ACK, in an earlier read than the big frame), a
    POST whose body goes in one DATA frame, answered with one as large: frames
    a decoder may accept only once the receiver's SETTINGS has passed."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    with socket.create_connection((HOST, recorder.port), timeout=TIMEOUT) as sock:
        conn.initiate_connection()
        conn.update_settings({SettingCodes.MAX_FRAME_SIZE: BIG_FRAME_SETTING})
        sock.sendall(conn.data_to_send())
        sid = 0
        pinged = acked = ended = False
        while not ended:
            for event in _receive(sock, conn, "the h2 server"):
                acked |= isinstance(event, h2.events.PingAckReceived)
                ended |= isinstance(event, h2.events.StreamEnded) and event.stream_id == sid
            if not pinged and conn.max_outbound_frame_size == BIG_FRAME_SETTING:
                conn.ping(b"settings")
                pinged = True
            if acked and not sid:
                sid = conn.get_next_available_stream_id()
                conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"),
                                        (":authority", f"{HOST}:{recorder.port}"),
                                        (":path", "/upload")])
                conn.send_data(sid, BIG_BODY, end_stream=True)
            sock.sendall(conn.data_to_send())
        _close(sock, conn)


HTTP2: dict[str, Script] = {
    "nghttp-assets": nghttp_assets,
    "nghttp-upload": nghttp_upload,
    "h2-client": h2_client,
    "h2-errors": h2_errors,
}
