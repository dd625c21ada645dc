"""SOFA bolt v1 and v2 (with CRC) through a real MOSN, between real Java peers.

client (com.alipay.sofa:bolt RpcClient) -> MOSN -> MOSN -> server (bolt RpcServer),
every hop recorded and every recorded frame decoded with the spec's Python codec.
Each scenario runs through the generated plugin, through the generated Go codec
compiled into MOSN and, as the control, through MOSN's native codec of the same
protocol in the same run. MOSN's native boltv2
codec cannot carry CRC frames (it leaves the trailer unread); one test shows it,
and the plugin and the Go codec carry them all."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from protodsl.codegen.wasm.backend import compile_command

from tests.e2e.conftest import Plugin
from tests.e2e.mesh import Mesh
from tests.e2e.mosn import free_port
from tests.e2e.setups import KINDS, Setup, check_mosn, mesh_config, plugin_started

pytestmark = pytest.mark.slow


def meshes() -> list[tuple[str, str]]:
    """(spec, mesh) pairs that carry traffic: not native boltv2 with CRC."""
    return [(spec, mesh) for spec in ("bolt", "boltv2") for mesh in KINDS
            if not (spec == "boltv2" and mesh == "native")]


SCENARIOS = [
    ("sync",),
    ("headers",),
    ("headers", "--no-service"),
    ("nonascii",),
    ("future", "--count", "50"),
    ("callback", "--count", "50"),
    ("inflight", "--count", "500"),
    ("large", "--bytes", str(1 << 20)),
    ("heartbeat", "--idle", "5"),
]


@pytest.mark.parametrize(("spec", "mesh"), meshes())
@pytest.mark.parametrize("scenario", SCENARIOS, ids=" ".join)
def test_scenario(setups: Callable[[str], Setup], spec: str, mesh: str,
                  scenario: tuple[str, ...]) -> None:
    setup = setups(spec)
    result = setup.client(mesh, *scenario)
    assert result["ok"], result
    assert result["connects"] == 1 and result["closes"] == 0, result
    assert setup.meshes[mesh].check_every_frame(setup.codec) > 0
    check_mosn(setup.meshes[mesh])
    if scenario[0] == "headers":
        assert result["received_headers"] == result["sent_headers"], result
    if scenario[0] == "inflight":
        assert result["answered"] == 500 and result["out_of_order"] > 0, result
    if scenario[0] == "heartbeat":  # answered by MOSN: the plugin's keepalive reply
        assert result["heartbeats_sent"] >= 3 and result["heartbeat_acks"] >= 3, result


def test_native_boltv2_fails_crc_frames(setups: Callable[[str], Setup]) -> None:
    """The control that fails: MOSN's own boltv2 codec forwards CRC frames without
    their trailer, and the Java server reports it."""
    setup = setups("boltv2")
    result = setup.client("native", "sync")
    assert not result["ok"], result
    assert "CRC check failed" in setup.server.stderr()


@pytest.mark.parametrize(("spec", "mesh"), meshes())
def test_oneway_requests_reach_the_server_and_get_no_answer(
        setups: Callable[[str], Setup], spec: str, mesh: str) -> None:
    setup = setups(spec)
    setup.oneway(mesh, 10)
    hop = setup.meshes[mesh]
    record = hop.recordings("client")[-1]  # this client's connection
    sent, _ = setup.codec.decode_all(record.data("c2s"))
    answers, _ = setup.codec.decode_all(record.data("s2c"))
    oneway = {f.request_id for f in sent if setup.codec.kind(f) == "oneway"}
    assert len(oneway) == 10
    assert not oneway & {f.request_id for f in answers}
    check_mosn(hop)


@pytest.mark.parametrize(("spec", "mesh"), meshes())
def test_upstream_timeout_is_answered_with_status_timeout(
        setups: Callable[[str], Setup], spec: str, mesh: str) -> None:
    """The server sleeps 3 s on a request whose timeout is 1 s: MOSN answers
    TIMEOUT (7) itself after about 1 s, through the plugin's hijack."""
    setup = setups(spec)
    result = setup.client(mesh, "status", "--sleep-ms", "3000", "--timeout-ms", "1000")
    assert result["from_wire"] and result["status_code"] == 7, result
    assert 900 <= result["elapsed_ms"] < 2900, result
    check_mosn(setup.meshes[mesh])


@pytest.mark.parametrize(("spec", "mesh"), meshes())
def test_server_down_is_answered_with_the_mapped_status(
        tmp_path: Path, binary: Callable[[str], Path], plugin: Callable[[str], Plugin],
        setups: Callable[[str], Setup], spec: str, mesh: str) -> None:
    """No server behind MOSN: MOSN answers NO_PROCESSOR (6), its 502 as MOSN's
    native bolt codec maps it."""
    setup = setups(spec)
    config = mesh_config(mesh, plugin(spec).config, setup.case)
    down = Mesh(binary(mesh), config, tmp_path / "mosn", free_port(), relay_server=False)
    try:
        result = setup.client(mesh, "status", "--sleep-ms", "0", "--timeout-ms", "3000",
                              port=down.entry)
        assert result["from_wire"] and result["status_code"] == 6, result
        check_mosn(down)
    finally:
        down.close()


@pytest.mark.parametrize(("spec", "mesh"), meshes())
def test_load_of_20000_requests_has_no_error(
        setups: Callable[[str], Setup], spec: str, mesh: str) -> None:
    setup = setups(spec)
    result = setup.client(mesh, "load", "--count", "20000", "--concurrency", "16")
    assert result["ok"] and result["errors"] == 0 and result["wrong"] == 0, result
    assert setup.meshes[mesh].check_every_frame(setup.codec) >= 4 * 20000
    check_mosn(setup.meshes[mesh])


@pytest.mark.parametrize("spec", ["bolt", "boltv2"])
def test_mosn_keepalive_reaches_the_server(
        tmp_path: Path, binary: Callable[[str], Path], plugin: Callable[[str], Plugin],
        setups: Callable[[str], Setup], spec: str) -> None:
    """MOSN sends a heartbeat (the plugin's or Go codec's keepalive) to an upstream
    connection idle for about 15 s, and the server answers it. Fresh meshes, so
    that no other test's traffic keeps the connection busy."""
    setup = setups(spec)
    config = plugin(spec).config
    kinds = [mesh for s, mesh in meshes() if s == spec]
    fresh = {kind: Mesh(binary(kind), mesh_config(kind, config, setup.case),
                        tmp_path / kind, setup.server.port) for kind in kinds}
    try:
        for kind, mesh in fresh.items():
            assert setup.client(kind, "sync", port=mesh.entry)["ok"]
        time.sleep(17)
        for kind, mesh in fresh.items():
            pings = [f for f in mesh.frames(setup.codec, "server", "upstream")
                     if setup.codec.is_heartbeat(f) and setup.codec.kind(f) == "request"]
            pongs = [f for f in mesh.frames(setup.codec, "server", "downstream")
                     if setup.codec.is_heartbeat(f) and setup.codec.kind(f) == "response"]
            assert pings, f"{kind}: no heartbeat from MOSN in 17 s of idleness"
            assert {f.request_id for f in pings} <= {f.request_id for f in pongs}, kind
            mesh.check_every_frame(setup.codec)
            check_mosn(mesh)
    finally:
        for mesh in fresh.values():
            mesh.close()


def test_a_broken_plugin_breaks_the_traffic(
        tmp_path: Path, mosnd: Path, plugin: Callable[[str], Plugin],
        setups: Callable[[str], Setup]) -> None:
    """The plugin really is the codec in use: the same config with a plugin whose
    decode refuses every frame carries nothing."""
    setup = setups("bolt")
    good = plugin("bolt")
    broken = tmp_path / "broken"
    shutil.copytree(good.dir, broken)
    source = broken / "bolt.c"
    text = source.read_text()
    entry = "int proxy_decode_buffer_bytes(pd_u32 ctx, const pd_u8 *buf, pd_u32 len)\n{\n"
    assert entry in text
    source.write_text(text.replace(entry, entry + "    if (len) return PD_MALFORMED;\n"))
    subprocess.run(compile_command(source, broken / "bolt.wasm"), cwd=broken, check=True)
    config = json.loads(json.dumps(good.config).replace(str(good.wasm), str(broken / "bolt.wasm")))
    mesh = Mesh(mosnd, config, tmp_path / "mosn", setup.server.port)
    try:
        plugin_started(mesh, "bolt")
        result = setup.client("plugin", "sync", port=mesh.entry)
        assert not result["ok"], result
    finally:
        mesh.close()


def test_mosn_holds_a_oneway_request_and_the_plugin_never_answers_it(
        setups: Callable[[str], Setup]) -> None:
    """MOSN takes a oneway request from a plugin as a two-way one (it refuses kind
    3): it waits for an answer until the request's timeout, then answers it itself.
    A Java oneway request carries timeout -1, for which MOSN sets no timer at all
    and holds the stream until the connection closes; with a timeout of 1 s MOSN's
    own answer comes after 1 s, and the plugin turns it into no bytes at all.
    MOSN's native bolt codec and the generated Go codec know oneway and hold
    nothing."""
    setup = setups("bolt")
    bolt = setup.codec
    assert setup.client("plugin", "oneway", "--count", "1")["ok"]
    java = next(f for f in setup.meshes["plugin"].frames(bolt, "client", "upstream")
                if bolt.kind(f) == "oneway")
    assert java.timeout == -1
    for kind in KINDS:
        mesh = setup.meshes[kind]
        timeouts = mesh.mosn.log().count("send hijack, reason UpstreamGlobalTimeout")
        with socket.create_connection(("127.0.0.1", mesh.direct)) as s:
            s.sendall(bolt.encode(bolt.with_roles(java, timeout_or_status=1000)))
            s.settimeout(3)
            with pytest.raises(TimeoutError):
                s.recv(1 << 16)  # no answer, and the connection stays open
        held = mesh.mosn.log().count("send hijack, reason UpstreamGlobalTimeout") - timeouts
        assert held == (2 if kind == "plugin" else 0), kind  # both MOSN hops time out
        check_mosn(mesh)


def test_the_go_codec_is_what_carries_its_mosn_name(
        tmp_path: Path, mosnd: Path, plugin: Callable[[str], Plugin],
        setups: Callable[[str], Setup]) -> None:
    """The generated Go codec really is the codec in use: its config on a MOSN
    without it (mosnd) starts but carries nothing, as no codec there has the
    name "x-bolt"."""
    setup = setups("bolt")
    config = mesh_config("go", plugin("bolt").config, setup.case)
    mesh = Mesh(mosnd, config, tmp_path / "mosn", setup.server.port)
    try:
        result = setup.client("go", "sync", port=mesh.entry)
        assert not result["ok"], result
    finally:
        mesh.close()
