"""Apache Dubbo (dubbo protocol, hessian2) through a real MOSN, between a real
Dubbo consumer and provider (Dubbo 3.3 from Maven Central), every hop recorded
and decoded with the spec's Python codec, through the generated plugin and the
generated Go codec compiled into MOSN; MOSN's native dubbo codec is the control
in the same run."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.e2e.conftest import Plugin
from tests.e2e.mesh import Mesh
from tests.e2e.mosn import free_port
from tests.e2e.setups import KINDS, Setup, check_mosn, mesh_config, with_route

pytestmark = pytest.mark.slow

MESHES = list(KINDS)

SCENARIOS = [
    ("sync",),
    ("attachments",),
    ("nonascii",),
    ("async", "--count", "50"),
    ("inflight", "--count", "500"),
    ("large", "--bytes", str(1 << 20)),
    ("heartbeat", "--idle", "5"),
]


@pytest.mark.parametrize("mesh", MESHES)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=" ".join)
def test_scenario(setups: Callable[[str], Setup], mesh: str, scenario: tuple[str, ...]) -> None:
    setup = setups("dubbo")
    result = setup.client(mesh, *scenario)
    assert result["ok"], result
    assert len(result["wire"]["local_addresses"]) <= 1, result  # one connection
    assert setup.meshes[mesh].check_every_frame(setup.codec) > 0
    check_mosn(setup.meshes[mesh])
    if scenario[0] == "attachments":
        sent = result["sent"]
        assert {k: result["received"].get(k) for k in sent} == sent, result
    if scenario[0] == "heartbeat":  # answered by MOSN: the plugin's keepalive reply
        wire = result["wire"]
        assert wire["heartbeats_sent"] >= 3, result
        assert wire["heartbeat_responses"] == wire["heartbeats_sent"], result
        assert result["reconnects"] == 0 and result["same_connection"], result


@pytest.mark.parametrize("mesh", MESHES)
def test_oneway_calls_reach_the_provider(setups: Callable[[str], Setup], mesh: str) -> None:
    setup = setups("dubbo")
    setup.oneway(mesh, 10)
    check_mosn(setup.meshes[mesh])


@pytest.mark.parametrize("mesh", MESHES)
def test_provider_down_gives_an_error_the_consumer_can_read(
        tmp_path: Path, binary: Callable[[str], Path], plugin: Callable[[str], Plugin],
        setups: Callable[[str], Setup], mesh: str) -> None:
    """No provider: MOSN answers SERVICE_NOT_FOUND (60) for its 502, with a
    hessian2 string body the consumer reads as the error message (an empty body
    made it fail with HessianProtocolException)."""
    setup = setups("dubbo")
    config = mesh_config(mesh, plugin("dubbo").config, setup.case)
    down = Mesh(binary(mesh), config, tmp_path / "mosn", free_port(), relay_server=False)
    try:
        result = setup.client(mesh, "status", "--sleep-ms", "0", "--timeout-ms", "3000",
                              port=down.entry)
        assert result["status_code"] == 60, result
        assert not result["decode_error"], result
        expected = "502|no health" if mesh == "native" else "MOSN answered the call itself"
        assert expected in result["error"], result
        check_mosn(down)
    finally:
        down.close()


@pytest.mark.parametrize("mesh", MESHES)
def test_upstream_timeout_gives_a_timeout_error(
        tmp_path: Path, binary: Callable[[str], Path], plugin: Callable[[str], Plugin],
        setups: Callable[[str], Setup], mesh: str) -> None:
    """Dubbo frames carry no timeout MOSN reads: with a route timeout of 1 s, MOSN
    answers CLIENT_TIMEOUT (30, its 504) after it, and the consumer reads the
    error message."""
    setup = setups("dubbo")
    config = mesh_config(mesh, with_route(plugin("dubbo").config, timeout="1s"), setup.case)
    timed = Mesh(binary(mesh), config, tmp_path / "mosn", setup.server.port)
    try:
        result = setup.client(mesh, "status", "--sleep-ms", "3000", "--timeout-ms", "10000",
                              port=timed.entry)
        assert result["status_code"] == 30, result
        assert not result["decode_error"], result
        assert 900 <= result["elapsed_ms"] < 2900, result
        timed.check_every_frame(setup.codec)
        check_mosn(timed)
    finally:
        timed.close()


def test_a_oneway_call_held_past_its_timeout_gets_no_answer(
        tmp_path: Path, binary: Callable[[str], Path], plugin: Callable[[str], Plugin],
        setups: Callable[[str], Setup], codec: Callable[[str], ModuleType]) -> None:
    """MOSN takes a oneway call from a plugin as a two-way one and holds it until
    the route's timeout, then answers it itself. The plugin answers with nothing,
    so the client sees no response; MOSN's native dubbo codec sends one. The
    generated Go codec tells MOSN the call is oneway: MOSN holds nothing and
    sends nothing."""
    setup = setups("dubbo")
    dubbo = codec("dubbo")
    assert setup.client("plugin", "oneway", "--count", "1")["ok"]
    sent = setup.meshes["plugin"].frames(dubbo, "client", "upstream")
    oneway = next(f for f in sent if dubbo.kind(f) == "oneway")
    config = with_route(plugin("dubbo").config, timeout="1s")
    answers = {}
    for kind in MESHES:
        mesh = Mesh(binary(kind), mesh_config(kind, config, setup.case), tmp_path / kind,
                    setup.server.port)
        try:
            with socket.create_connection(("127.0.0.1", mesh.entry)) as s:
                s.sendall(dubbo.encode(oneway))
                s.settimeout(3)
                try:
                    answers[kind] = s.recv(1 << 16)
                except TimeoutError:
                    answers[kind] = b""
            check_mosn(mesh)
        finally:
            mesh.close()
    assert answers["plugin"] == answers["go"] == b"", answers
    frames, _ = dubbo.decode_all(answers["native"])
    assert [f.request_id for f in frames] == [oneway.request_id], answers


@pytest.mark.parametrize("mesh", MESHES)
def test_load_of_20000_calls_has_no_error(setups: Callable[[str], Setup], mesh: str) -> None:
    setup = setups("dubbo")
    result = setup.client(mesh, "load", "--count", "20000", "--concurrency", "16")
    assert result["ok"] and result["errors"] == 0 and result["wrong"] == 0, result
    assert setup.meshes[mesh].check_every_frame(setup.codec) >= 4 * 20000
    check_mosn(setup.meshes[mesh])
