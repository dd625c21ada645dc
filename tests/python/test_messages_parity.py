"""The Python codec and the Wasm plugin word a decode error the same way: for
every spec the plugin builds, on mutated frames and hostile bytes that both
reject, `str(ProtocolError)` is the plugin's log line after its `PROTOCOL: `."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protodsl.codegen.wasm import backend

from protodsl.codecs import build_wasm, load_python
from protodsl.host import MosnHost
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file
from protodsl.testing.scenarios import scenarios
from protodsl.testing.strategies import hostile_bytes, mutations
from tests.helpers import ROOT, SPECS


def _plugin_specs() -> list[Path]:
    paths = sorted(SPECS.glob("*.proto-dsl")) + sorted(
        (ROOT / "tests" / "wasm" / "specs").glob("*.proto-dsl"))
    out = []
    for path in paths:
        protocol = compile_file(path)
        if not any(p.severity == "error" for p in backend.check_target(protocol)):
            out.append(path)
    return out


SPEC_PATHS = _plugin_specs()


def test_the_plugin_specs_are_many() -> None:
    names = {p.name for p in SPEC_PATHS}
    assert {"bolt.proto-dsl", "boltv2.proto-dsl", "dubbo.proto-dsl",
            "memcached.proto-dsl"} <= names and len(names) >= 8


def _messages(codec: ModuleType, host: MosnHost, protocol: Protocol, data: bytes
              ) -> tuple[str | None, str | None]:
    try:
        codec.decode(data)
        python = None
    except codec.ProtocolError as exc:
        python = str(exc)
    host.clear_logs()
    result = host.decode(host.new_context(), data)
    wasm = None
    if result.status == 10:
        wasm = "; ".join(r.message.removeprefix(f"{protocol.name}: ") for r in host.logs)
    return python, wasm


@pytest.mark.parametrize("path", SPEC_PATHS, ids=lambda p: p.name)
def test_both_engines_word_an_error_alike(path: Path) -> None:
    protocol = compile_file(path)
    # A plugin's context starts in a new connection's state: the codec too (a
    # stateful spec's strategies read the state its codec is bound to).
    codec = scenarios(protocol)[0].bind(load_python(protocol))
    host = MosnHost.from_file(build_wasm(protocol))
    both = []

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(mutations(protocol, codec), hostile_bytes(protocol, codec)))
    def agree(data: bytes) -> None:
        python, wasm = _messages(codec, host, protocol, data)
        if python is not None and wasm is not None:
            both.append(data)
            assert python == wasm, data.hex()

    agree()
    assert len(both) >= 50  # the property saw errors, not only frames
