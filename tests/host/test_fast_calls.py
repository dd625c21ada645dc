"""The emulator's fast guest calls and host callbacks against wasmtime-py's public path.

protodsl.host.calls and protodsl.host.callbacks bypass wasmtime-py's per-call
type work through private internals, falling back to the public API when those
are missing. Every test here runs on both paths (the fallback forced with
monkeypatch) and checks they are indistinguishable: values, fuel, logs, errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import wasmtime

from protodsl.codecs import build_wasm
from protodsl.host import HostError, LogRecord, MosnHost, PluginTrap, callbacks, calls
from protodsl.host.abi import encode_config_map
from protodsl.host.streams import Connection, send
from protodsl.ir import Protocol
from tests.helpers import load_vectors
from tests.host.support import wat_module

PATHS = ["fast", "fallback"]


def use_path(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Force the public wasmtime-py path for calls and callbacks when path is 'fallback'."""
    if path == "fallback":
        monkeypatch.setattr(calls, "FAST_PATH", False)
        monkeypatch.setattr(callbacks, "FAST_CALLBACKS", False)


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    use_path(monkeypatch, request.param)
    return str(request.param)


@pytest.fixture(scope="session")
def bolt_wasm(bolt_protocol: Protocol) -> Path:
    return build_wasm(bolt_protocol)


def wat_host(body: str, **kwargs: Any) -> MosnHost:
    """`body` in a module of the shape MOSN loads (_start, marker, malloc, memory);
    a body with an allocator of its own keeps it."""
    without = ("malloc",) if '(export "malloc")' in body else ()
    return MosnHost.from_file(wat_module(body, without=without), **kwargs)


# ------------------------------------------------------------------ the emulator on both paths


def attempt(call: Any, *args: Any) -> Any:
    """What `call(*args)` returns, or the HostError it raises as (type name, message)."""
    try:
        return call(*args)
    except HostError as exc:
        return type(exc).__name__, str(exc)


def bolt_session(wasm: Path) -> list[Any]:
    """Offer every v1 vector (whole and halved) on a connection of its own, as MOSN's
    Dispatch does, and send every frame that decodes on under a new id; record
    everything, failures included."""
    vectors = load_vectors("bolt-v1.json")
    wires = [bytes.fromhex(v["hex"]) for v in vectors["frames"] + vectors["malformed_or_partial"]]
    host = MosnHost.from_file(wasm, fuel=True)
    seen: list[Any] = [host.last_fuel]
    for wire in wires + [w[: len(w) // 2] for w in wires]:
        connection = Connection(host)
        frames = attempt(connection.feed, wire)
        seen += [frames, connection.closed_with, host.last_fuel]
        for frame in frames if isinstance(frames, list) else []:
            seen += [attempt(send, host, frame, frame.command.id + 1), host.last_fuel]
    seen += [host.last_fuel, host.logs, host.memory_pages, sorted(host.contexts)]
    return seen


def test_fast_path_is_used_when_available(bolt_wasm: Path) -> None:
    if not (calls.FAST_PATH and callbacks.FAST_CALLBACKS):
        pytest.skip("this wasmtime-py lacks the internals; the public path is in use")
    host = MosnHost.from_file(bolt_wasm)
    assert all(isinstance(c, calls.PreparedCall) for c in host._calls.values())


def test_fallback_decodes_and_encodes_like_the_fast_path(
    bolt_wasm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = bolt_session(bolt_wasm)
    use_path(monkeypatch, "fallback")
    host = MosnHost.from_file(bolt_wasm)
    assert all(isinstance(c, wasmtime.Func) for c in host._calls.values())
    fallback = bolt_session(bolt_wasm)
    assert fast == fallback
    assert any(getattr(item, "ok", False) for item in fast)  # frames really went through


def test_traps_become_plugin_traps(path: str) -> None:
    host = wat_host("""
      (func (export "proxy_decode_buffer_bytes") (param i32 i32 i32) (result i32) unreachable)""")
    with pytest.raises(PluginTrap) as info:
        host.decode(host.new_context(), b"abc")
    assert info.value.trap_code == "UNREACHABLE"
    assert info.value.input == b"abc"


def test_exception_in_a_host_callback_unwinds_the_guest(path: str) -> None:
    host = wat_host("""
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (func (export "proxy_decode_buffer_bytes") (param i32 i32 i32) (result i32)
        (call $exit (i32.const 3)) (i32.const 0))""")
    with pytest.raises(PluginTrap, match=r"proc_exit\(3\)"):
        host.decode(host.new_context(), b"xyz")


def test_i32_results_and_i64_arguments_keep_their_values(path: str) -> None:
    host = wat_host("""
      (func (export "proxy_keepalive_buffer_bytes") (param i32 i64) (result i32)
        (i32.wrap_i64 (i64.shr_u (local.get 1) (i64.const 32))))
      (func (export "proxy_reply_keepalive_buffer_bytes") (param i32 i32 i32) (result i32)
        (i32.const -1))""")
    ctx = host.new_context()
    assert host.keepalive(ctx, 0xFFFF_FFFE_0000_0001) == 0xFFFF_FFFE
    assert host.keepalive(ctx, -(1 << 32)) == 0xFFFF_FFFF
    assert host.reply_keepalive(ctx) == 0xFFFF_FFFF


def test_guest_allocator_runs_inside_a_host_callback(path: str) -> None:
    # proxy_on_configure fetches its configuration: the host calls malloc from
    # within proxy_get_buffer_bytes, then the plugin logs what it was given.
    host = wat_host(
        """
      (import "env" "proxy_get_buffer_bytes"
        (func $get (param i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (global $heap (mut i32) (i32.const 1024))
      (func (export "malloc") (param i32) (result i32)
        (global.get $heap)
        (global.set $heap (i32.add (global.get $heap) (local.get 0))))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (if (i32.ne (call $get (i32.const 7) (i32.const 0) (local.get 1) (i32.const 16)
              (i32.const 20)) (i32.const 0)) (then (return (i32.const 0))))
        (drop (call $log (i32.const 2) (i32.load (i32.const 16)) (i32.load (i32.const 20))))
        (i32.const 1))""",
        plugin_config={"k": "v"},
        fuel=True,
    )
    assert host.logs == [LogRecord(2, encode_config_map({"k": "v"}).decode())]
    assert host.last_fuel is not None and host.last_fuel > 0


def test_fuel_runs_out_the_same_way(path: str) -> None:
    host = wat_host(
        """
      (func (export "proxy_decode_buffer_bytes") (param i32 i32 i32) (result i32)
        (loop $forever (br $forever)) (i32.const 0))""",
        fuel=True,
        fuel_limit=10_000,
    )
    with pytest.raises(PluginTrap) as info:
        host.decode(host.new_context(), b"a")
    assert info.value.trap_code == "OUT_OF_FUEL"
    assert host.last_fuel == 10_000


# ------------------------------------------------------------------ calls.prepare

CALLEES = """(module
  (func (export "sub") (param i32 i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "wrap") (param i64) (result i32) (i32.wrap_i64 (local.get 0)))
  (func (export "nothing"))
  (func (export "float") (param f32) (result f32) (local.get 0)))"""


@pytest.fixture
def callees() -> tuple[wasmtime.Store, dict[str, wasmtime.Func]]:
    store = wasmtime.Store()
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, CALLEES), [])
    funcs = {k: v for k, v in instance.exports(store).items() if isinstance(v, wasmtime.Func)}
    return store, funcs


def outcome(call: calls.GuestCall, store: wasmtime.Store, *args: Any) -> Any:
    try:
        return call(store, *args)
    except (TypeError, wasmtime.WasmtimeError) as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("sub", (1, 2, 3)),
        ("sub", (0, 1, 0)),  # -1 comes back signed
        ("sub", (2**32 - 1, 0, 0)),
        ("sub", (2**31, 0, 0)),
        ("sub", (2**40 + 7, 0, 0)),  # wrapped to 32 bits
        ("sub", (True, False, 0)),
        ("sub", (1, 2)),
        ("sub", (1, 2, 3, 4)),
        ("sub", (1.0, 2, 3)),
        ("sub", (None, 2, 3)),
        ("swap", (-1, 2**63)),
        ("swap", (2**70 + 3, 2**64 - 1)),
        ("wrap", (2**31,)),
        ("nothing", ()),
    ],
)
def test_prepared_call_matches_func_call(
    callees: tuple[wasmtime.Store, dict[str, wasmtime.Func]], name: str, args: tuple[Any, ...]
) -> None:
    store, funcs = callees
    prepared = calls.prepare(funcs[name], store)
    assert isinstance(prepared, calls.PreparedCall) == calls.FAST_PATH
    assert outcome(prepared, store, *args) == outcome(funcs[name], store, *args)


def test_prepare_falls_back_to_the_func(
    callees: tuple[wasmtime.Store, dict[str, wasmtime.Func]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, funcs = callees
    assert calls.prepare(funcs["float"], store) is funcs["float"]  # not an integer signature
    monkeypatch.setattr(calls, "FAST_PATH", False)
    assert calls.prepare(funcs["sub"], store) is funcs["sub"]


# ------------------------------------------------------------------ callbacks.define_func


class Boom(Exception):
    pass


def run_import(
    params: str, results: str, func: callbacks.HostFunc, body: str, args: tuple[int, ...] = ()
) -> Any:
    """Instantiate a module importing env.f with the given types and call its export run."""
    wat = f"""(module
      (import "env" "f" (func $f {params} {results}))
      (func (export "run") {body}))"""
    store = wasmtime.Store()
    linker = wasmtime.Linker(store.engine)
    module = wasmtime.Module(store.engine, wat)
    imported = module.imports[0].type
    assert isinstance(imported, wasmtime.FuncType)
    callbacks.define_func(linker, "env", "f", imported, func)
    run = linker.instantiate(store, module).exports(store)["run"]
    assert isinstance(run, wasmtime.Func)
    try:
        return run(store, *args)
    except Exception as exc:  # the exception itself is the outcome
        return exc


def test_callback_receives_signed_values_and_returns_many(path: str) -> None:
    seen: list[Any] = []

    def f(caller: wasmtime.Caller, a: int, b: int) -> list[int]:
        seen.append((type(caller), a, b))
        return [a + 1, -b]

    out = run_import(
        "(param i32 i64)", "(result i32 i64)", f,
        "(param i32 i64) (result i32 i64) (call $f (local.get 0) (local.get 1))",
        (-1, 2**63 - 1),
    )  # fmt: skip
    assert seen == [(wasmtime.Caller, -1, 2**63 - 1)]
    assert out == [0, -(2**63) + 1]


@pytest.mark.parametrize(
    ("results", "returned"),
    [
        ("(result i32)", None),
        ("(result i32)", 1.5),
        ("", 7),
        ("(result i32 i32)", [1]),
    ],
)
def test_callback_errors_are_reported_like_wasmtime_py(
    monkeypatch: pytest.MonkeyPatch, results: str, returned: Any
) -> None:
    body = "(call $f) drop" if results == "(result i32)" else "(call $f)"
    body = "(call $f) drop drop" if results == "(result i32 i32)" else body
    outcomes = []
    for path in PATHS:
        use_path(monkeypatch, path)
        exc = run_import("", results, lambda caller: returned, body)
        outcomes.append((type(exc), str(exc)))
    assert outcomes[0] == outcomes[1]
    assert issubclass(outcomes[0][0], TypeError | wasmtime.WasmtimeError)


def test_callback_exception_is_reraised_as_is(path: str) -> None:
    boom = Boom("from the host")

    def f(caller: wasmtime.Caller) -> int:
        raise boom

    assert run_import("", "(result i32)", f, "(call $f) drop") is boom


def test_callback_with_float_types_uses_the_public_path() -> None:
    def f(caller: wasmtime.Caller, x: float) -> float:
        return x * 2

    out = run_import("(param f32)", "(result f32)", f, "(result f32) (call $f (f32.const 1.5))")
    assert out == 3.0
