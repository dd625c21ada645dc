"""The generated C and its companions: warning-free, deterministic, injection-proof,
a module of exactly the MOSN ABI's shape, a MOSN config whose names agree."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import wasmtime
from protodsl.codegen.wasm import backend
from protodsl.codegen.wasm.expr import c_int, to_c
from protodsl.codegen.wasm.naming import c_string, comment_lines, ident

from protodsl.diagnostics import SpecError
from protodsl.host import MosnHost, streams
from protodsl.host.streams import Connection
from protodsl.ir import Protocol
from protodsl.ir import expr as ir
from protodsl.passes.pipeline import compile_file, compile_source
from tests.helpers import SPECS
from tests.wasm.conftest import write_and_build

HOSTILE = Path(__file__).parent / "specs" / "hostile.proto-dsl"
ABI_EXPORTS = {
    "_start", "memory", "malloc", "proxy_on_memory_allocate", "proxy_abi_mosn_version_0_2_0",
    "proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", "proxy_on_done",
    "proxy_on_log", "proxy_on_delete", "proxy_decode_buffer_bytes",
    "proxy_encode_buffer_bytes", "proxy_keepalive_buffer_bytes",
    "proxy_reply_keepalive_buffer_bytes", "proxy_hijack_buffer_bytes",
}


def test_generated_c_compiles_without_warnings(bolt_dir: Path, tmp_path: Path) -> None:
    strict = ("-Wall", "-Wextra", "-Werror")
    command = backend.compile_command(bolt_dir / "bolt.c", tmp_path / "strict.wasm", strict)
    result = subprocess.run(command, cwd=bolt_dir, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_makefile_spells_the_same_command(bolt_dir: Path) -> None:
    makefile = (bolt_dir / "Makefile").read_text()
    assert "ZIGCC ?= python3 -m ziglang cc" in makefile
    assert f"CFLAGS = {' '.join(backend.CFLAGS)}" in makefile
    assert "$(ZIGCC) $(CFLAGS) -o $@ bolt.c" in makefile


def test_module_has_exactly_the_abi_exports_and_imports(bolt_wasm: Path) -> None:
    """`_start` (MOSN's wasmer engine refuses a module without it), `malloc`,
    `memory` and the ABI marker among them; imports only what MOSN provides."""
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(bolt_wasm))
    assert {e.name for e in module.exports} == ABI_EXPORTS
    kinds = {e.name: e.type for e in module.exports}
    assert isinstance(kinds["memory"], wasmtime.MemoryType)
    for name in ("_start", "malloc", "proxy_abi_mosn_version_0_2_0"):
        assert isinstance(kinds[name], wasmtime.FuncType), name
    start = kinds["_start"]
    assert isinstance(start, wasmtime.FuncType) and start.params == start.results == []
    assert {(i.module, i.name) for i in module.imports} == {
        ("env", "proxy_log"), ("env", "proxy_set_buffer_bytes")}


def test_module_is_small(bolt_wasm: Path) -> None:
    assert bolt_wasm.stat().st_size < 32 * 1024


def test_generation_is_deterministic(bolt_protocol: Protocol) -> None:
    first = backend.generate(bolt_protocol)
    again = backend.generate(compile_file(SPECS / "bolt.proto-dsl"))
    assert first == again
    assert set(first) == {"bolt.c", "protodsl_rt.h", "Makefile", "mosn_config.json"}


def test_mosn_config_names_agree(bolt_dir: Path, bolt_protocol: Protocol) -> None:
    config = json.loads((bolt_dir / "mosn_config.json").read_text())
    (plugin,) = config["wasm_global_plugins"]
    (codec,) = config["third_part_codec"]["codecs"]
    assert plugin["plugin_name"] == codec["config"]["from_wasm_plugin"] == "wasm-bolt"
    assert plugin["vm_config"] == {"engine": "wasmer",
                                   "path": str(bolt_dir.resolve() / "bolt.wasm")}
    assert Path(plugin["vm_config"]["path"]).is_file()
    assert codec["type"] == "wasm" and codec["enable"] is True
    assert codec["config"]["root_id"] == 1
    listeners = config["servers"][0]["listeners"]
    assert [x["address"] for x in listeners] == ["127.0.0.1:2046", "127.0.0.1:2045"]
    subs = {x["filter_chains"][0]["filters"][0]["config"]["extend_config"]["sub_protocol"]
            for x in listeners}
    assert subs == {codec["config"]["protocol"]} == {bolt_protocol.mosn_name}
    routers = {r["router_config_name"] for r in config["servers"][0]["routers"]}
    used = {x["filter_chains"][0]["filters"][0]["config"]["router_config_name"]
            for x in listeners}
    assert used == routers
    clusters = {c["name"] for c in config["cluster_manager"]["clusters"]}
    targets = {r["virtual_hosts"][0]["routers"][0]["route"]["cluster_name"]
               for r in config["servers"][0]["routers"]}
    assert targets == clusters


def test_hostile_names_build_and_work(tmp_path: Path) -> None:
    protocol = compile_file(HOSTILE)
    files = backend.generate(protocol)
    source = files["int.c"]
    assert "/* * / int injected(void) { return 0; } / * */" in source  # inert comment
    assert "*/ int injected" not in source and "??/" not in source
    wasm = write_and_build(tmp_path, protocol)
    strict = backend.compile_command(tmp_path / "int.c", tmp_path / "strict.wasm",
                                     ("-Wall", "-Wextra", "-Werror"))
    result = subprocess.run(strict, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    config = json.loads(files["mosn_config.json"])
    assert config["third_part_codec"]["codecs"][0]["config"]["protocol"] == protocol.mosn_name

    host = MosnHost.from_file(wasm)
    assert host.logs[0].message == (
        'int: protodsl plugin started, codec of "x-int */ /* ??/ evil"')
    header = bytes.fromhex("0001 61 0002 6869")  # one pair: "a" -> "hi"
    frame = (bytes([7, 1]) + (99).to_bytes(4, "big") + (-5).to_bytes(2, "big", signed=True)
             + bytes([3]) + len(header).to_bytes(2, "big") + (2).to_bytes(4, "big")
             + b"cls" + header + b"ok")
    (request, again) = Connection(host).feed(frame + frame)
    cmd = request.command
    assert (cmd.flag, cmd.id, cmd.timeout_or_status, cmd.headers, cmd.payload) == (
        0x5F, 99, 0xFFFFFFFB, [(b"a", b"hi")], b"ok")
    out = streams.send(host, request, 99)
    assert out.frame is not None and out.frame.frame == frame
    ping = streams.keepalive(host, 5)
    assert ping.frame is not None and ping.frame.frame[:6] == bytes([7, 1, 0, 0, 0, 5])
    hijacked = streams.hijack(host, again, 404)
    assert hijacked.frame is not None and hijacked.frame.frame[1] == 2
    assert hijacked.frame.frame[2:8] == (99).to_bytes(4, "big") + (404).to_bytes(2, "big")


def test_check_target_names_the_missing_roles() -> None:
    no_roles = compile_source('protocol p "x-p" { frame a when t == 1 { t: u8  id: u32 } }')
    (d,) = backend.check_target(no_roles)
    assert "no frame has roles" in d.message and d.severity == "error"
    only_requests = compile_source(
        'protocol p "x-p" { frame a when t == 1 { t: u8  id: u32 '
        'roles { kind = request  id = id } } }')
    (d,) = backend.check_target(only_requests)
    assert "kind = response" in d.message
    with pytest.raises(SpecError, match="kind = response"):
        backend.generate(only_requests)


def test_a_frame_without_roles_is_a_warning_and_malformed(tmp_path: Path) -> None:
    protocol = compile_source(
        'protocol p "x-p" {\n'
        '  frame q when t == 1 { t: u8  id: u32  roles { kind = request  id = id } }\n'
        '  frame r when t == 2 { t: u8  id: u32  roles { kind = response  id = id } }\n'
        '  frame hello when t == 3 { t: u8  n: u8 }\n'
        '}\n')
    (d,) = backend.check_target(protocol)
    assert d.severity == "warning" and "'hello'" in d.message
    host = MosnHost.from_file(write_and_build(tmp_path, protocol))
    host.clear_logs()
    assert streams.decode_one(host, b"\x03\x09") == (10, None)
    assert "hello" in host.logs[-1].message
    (request,) = Connection(host).feed(b"\x01\x00\x00\x00\x07")
    assert host.keepalive(request.ctx, 1) == 2  # no keepalive builder: BadArgument
    assert host.reply_keepalive(request.ctx) == 2
    # No hijack builder: hijack still returns 0 (MOSN would hang on anything
    # else), logs why, and MOSN's encode that follows writes nothing.
    answer = streams.hijack(host, request, 503)
    assert answer.status == 0 and answer.frame is not None and answer.frame.frame == b""
    assert "the spec declares no hijack" in " ".join(r.message for r in host.logs)


def test_fixed_width_bytes_must_be_exactly_that_wide(tmp_path: Path) -> None:
    """As in the Python codec: a built frame's empty `bytes[2]` cannot be encoded."""
    protocol = compile_source(
        'protocol p "x-p" {\n'
        '  frame q when t == 1 { t: u8  id: u32  tag: bytes[2]  '
        'roles { kind = request  id = id } }\n'
        '  frame r when t == 2 { t: u8  id: u32  roles { kind = response  id = id } }\n'
        '  keepalive q(id) { id = id }\n'
        '}\n')
    host = MosnHost.from_file(write_and_build(tmp_path, protocol))
    assert streams.keepalive(host, 3).status == 10
    assert "q.tag: not 2 bytes but 0" in host.logs[-1].message
    (request,) = Connection(host).feed(b"\x01\x00\x00\x00\x04ab")
    out = streams.send(host, request, 5, headers=[], payload=b"")
    assert out.frame is not None and out.frame.frame == b"\x01\x00\x00\x00\x05ab"


def test_build_reports_zig_errors(tmp_path: Path, bolt_protocol: Protocol) -> None:
    with pytest.raises(backend.BuildError, match="missing"):
        backend.build(tmp_path, bolt_protocol)
    for rel, text in backend.generate(bolt_protocol).items():
        (tmp_path / rel).write_text(text)
    (tmp_path / "bolt.c").write_text("int broken(void) { return }\n")
    with pytest.raises(backend.BuildError, match="(?s)zig cc failed.*expected expression"):
        backend.build(tmp_path, bolt_protocol)


# ---------------------------------------------------------------- naming


def test_identifiers_are_category_prefixed() -> None:
    assert ident("f", "int") == "f_int"
    assert ident("f", "Int") != ident("f", "int")
    assert ident("dec", "x") != ident("f", "dec_x")
    with pytest.raises(ValueError):
        ident("f", "a b")
    with pytest.raises(ValueError):
        ident("f", "x;system(1)")
    with pytest.raises(ValueError):
        ident("nosuch", "x")


def test_c_strings_escape_everything_but_plain_text() -> None:
    assert c_string("bolt") == '"bolt"'
    assert c_string('a"b\\c\n??/') == '"a\\042b\\134c\\012\\077\\077/"'
    assert c_string("é") == '"\\303\\251"'


def test_comments_cannot_close_early() -> None:
    assert comment_lines("a */ b /* c ??/\nline\x00two") == ["a * / b / * c ? ?/", "line two"]
    assert comment_lines(None) == []


# ---------------------------------------------------------------- expressions


class _Names:
    def field(self, name: str) -> str:
        return f"fr->f_{name}"

    def length(self, name: str) -> str:
        return f"(pd_i64)fr->f_{name}.len"

    def param(self, name: str) -> str:
        return f"p_{name}"

    def param_field(self, param: str, field: str) -> str:
        return f"p_{param}->f_{field}"


@pytest.mark.parametrize("value,text", [
    (0, "0"), (-1, "-1"), (2**31 - 1, "2147483647"), (-(2**31), "-2147483648LL"),
    (2**32, "4294967296LL"), (-(2**63), "(-9223372036854775807LL - 1)"),
    (2**64 - 1, "(pd_i64)0xffffffffffffffffULL"),
])
def test_integer_literals(value: int, text: str) -> None:
    assert c_int(value) == text


def test_expressions_translate_to_safe_c() -> None:
    span = compile_source('protocol p "x" { frame a when t == 1 { t: u8 } }').span
    f = ir.FieldValue("a", span)
    cases = [
        (ir.Binary("+", f, ir.LenOf("b", span), span), "pd_add(fr->f_a, (pd_i64)fr->f_b.len)"),
        (ir.Binary("/", f, ir.Const(0, span), span), "pd_div(fr->f_a, 0)"),
        (ir.Binary("<<", f, ir.Const(3, span), span), "pd_shl(fr->f_a, 3)"),
        (ir.Unary("-", f, span), "pd_neg(fr->f_a)"),
        (ir.Unary("not", f, span), "(!fr->f_a)"),
        (ir.Binary("and", f, ir.Binary("==", f, ir.Const(2, span), span), span),
         "(fr->f_a && (fr->f_a == 2))"),
        (ir.InSet(f, (1, 2), span), "(fr->f_a == 1 || fr->f_a == 2)"),
        (ir.EnumValue("E", "m", 4, span), "4 /* E.m */"),
        (ir.Match(ir.Param("code", span), ((200, ir.Const(0, span)),), ir.Const(3, span), span),
         "(p_code == 200 ? 0 : 3)"),
        (ir.ParamField("req", "id", span), "p_req->f_id"),
    ]
    for expr, text in cases:
        assert to_c(expr, _Names()) == text
