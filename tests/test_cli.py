"""The CLI's exact forms: check, gen, decode, encode."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from protodsl.cli import main
from tests.helpers import SPECS, load_vectors

BOLT = str(SPECS / "bolt.proto-dsl")
FRAMES = {f["name"]: f["hex"] for f in load_vectors("bolt-v1.json")["frames"]}


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", BOLT]) == 0
    assert "ok" in capsys.readouterr().out


def test_check_reports_errors_with_caret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "bad.proto-dsl"
    spec.write_text('protocol p "x" {\n  frame f when a == 1 {\n    a: u9\n  }\n}\n')
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err
    first, source, caret = err.splitlines()[:3]
    assert first == f"{spec}:3:8: error: unknown type 'u9'"
    assert source.endswith("    a: u9")
    assert caret.index("^") == source.index("u9")


MINI = ('protocol mini "{name}" {{\n'
        '  frame q when t == 1 {{ t: u8  id: u32  roles {{ kind = request  id = id }} }}\n'
        '}}\n')


@pytest.mark.parametrize("name", ["bolt", "boltv2", "dubbo", "dubbo-thrift", "tars", "Http1",
                                  "Http2", "Auto"])
def test_check_refuses_the_names_mosn_has_built_in(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MOSN keeps its own codec for these and skips a plugin of that name silently."""
    spec = tmp_path / "mini.proto-dsl"
    spec.write_text(MINI.format(name=name))
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err
    assert f"MOSN has a built-in protocol named '{name}'" in err
    assert f'choose another name, e.g. "x-{name}"' in err
    spec.write_text(MINI.format(name=f"x-{name}"))
    assert main(["check", str(spec)]) == 0


def test_decode_stream_then_need_more(capsys: pytest.CaptureFixture[str]) -> None:
    data = FRAMES["request_unicode_header"] + FRAMES["heartbeat_response"] + "0100"
    assert main(["decode", BOLT, "--hex", data]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first, second, tail = lines
    assert first["frame"] == "request" and first["kind"] == "request"
    assert first["id"] == 42 and first["timeout"] == 3000 and not first["heartbeat"]
    assert first["headers"] == [["service", "com.alipay.demo.HelloService:1.0"],
                                ["user", "张三"]]
    assert first["consumed"] == 132
    assert first["fields"]["class"] == "com.alipay.sofa.rpc.core.request.SofaRequest"
    assert first["fields"]["class_len"] == 44 and first["fields"]["proto"] == 1
    assert second["kind"] == "response" and second["heartbeat"] and second["status"] == 0
    assert "timeout" not in second
    assert tail == {"need_more": True, "have": 2, "hex": "0100"}


def test_decode_from_file_and_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    raw = bytes.fromhex(FRAMES["oneway"])
    path = tmp_path / "frame.bin"
    path.write_bytes(raw)
    assert main(["decode", BOLT, str(path)]) == 0
    from_file = capsys.readouterr().out
    assert json.loads(from_file)["kind"] == "oneway"

    class Stdin:
        buffer = __import__("io").BytesIO(raw)

    monkeypatch.setattr(sys, "stdin", Stdin)
    assert main(["decode", BOLT, "-"]) == 0
    assert capsys.readouterr().out == from_file


def test_decode_malformed_names_field_and_offset(capsys: pytest.CaptureFixture[str]) -> None:
    good = FRAMES["heartbeat_request"]
    assert main(["decode", BOLT, "--hex", good + "0107000101"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["id"] == 11
    assert err == ("protodsl: error: malformed frame: no frame variant matches at stream "
                   "offset 22: type=7\n")
    assert main(["decode", BOLT, "--hex", good + "02" + good[2:]]) == 1
    assert capsys.readouterr().err == ("protodsl: error: malformed frame: request.proto at "
                                       "stream offset 22: expected 1, got 2\n")


def test_encode_inverts_decode(capsys: pytest.CaptureFixture[str]) -> None:
    for name, hexdata in FRAMES.items():
        assert main(["decode", BOLT, "--hex", hexdata]) == 0, name
        obj = capsys.readouterr().out
        assert main(["encode", BOLT, obj]) == 0, name
        assert capsys.readouterr().out.strip() == hexdata, name


def test_encode_takes_roles_only_when_they_agree_with_fields(
    capsys: pytest.CaptureFixture[str]
) -> None:
    obj = {"frame": "response", "id": 9, "status": 6, "headers": [["k", {"hex": "ff00"}]],
           "payload_hex": "abcd", "fields": {"type": "response", "cmd_code": "rpc_response",
                                             "codec": 1, "request_id": 9, "status": 6,
                                             "headers": [["k", {"hex": "ff00"}]],
                                             "content": {"hex": "abcd"}}}
    assert main(["encode", BOLT, json.dumps(obj)]) == 0
    wire = capsys.readouterr().out.strip()
    assert main(["decode", BOLT, "--hex", wire]) == 0
    back = json.loads(capsys.readouterr().out)
    assert (back["id"], back["status"], back["payload_hex"]) == (9, 6, "abcd")
    assert back["headers"] == [["k", {"hex": "ff00"}]]
    obj["fields"]["request_id"] = 10  # a role no longer agreeing with its field
    assert main(["encode", BOLT, json.dumps(obj)]) == 1
    assert capsys.readouterr().err == (
        "protodsl: error: the JSON: 'id' is 9, but fields.request_id makes it 10: top-level "
        "keys are output only; `fields` is what encode writes (leave 'id' out or make it "
        "agree)\n")
    assert main(["encode", BOLT, '{"frame": "nope"}']) == 1
    assert "must be one of request, response" in capsys.readouterr().err
    assert main(["encode", BOLT, '{"frame": "request", "fields": {"cmd_code": "zzz"}}']) == 1
    assert "not a member of CmdCode" in capsys.readouterr().err


def _decoded(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main(["decode", *argv]) == 0, capsys.readouterr().err
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _encode_error(capsys: pytest.CaptureFixture[str], spec: str, obj: Any) -> str:
    assert main(["encode", spec, json.dumps(obj)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("protodsl: error: ") and err.count("protodsl") == 1, err
    return err.removeprefix("protodsl: error: ").strip()


def test_an_edited_field_is_encoded(capsys: pytest.CaptureFixture[str]) -> None:
    """decode -> edit `fields` -> encode writes the edit: today the top-level `id`
    silently won. Left in place and contradicting, it is an error naming both."""
    (obj,) = _decoded(capsys, BOLT, "--hex", FRAMES["heartbeat_request"])
    obj["fields"]["request_id"] = 99
    assert _encode_error(capsys, BOLT, obj).startswith(
        "the JSON: 'id' is 11, but fields.request_id makes it 99")
    del obj["id"]
    assert main(["encode", BOLT, json.dumps(obj)]) == 0
    wire = bytes.fromhex(capsys.readouterr().out)
    assert wire == bytes.fromhex(FRAMES["heartbeat_request"]).replace(
        b"\x00\x00\x00\x0b", b"\x00\x00\x00\x63", 1)
    (back,) = _decoded(capsys, BOLT, "--hex", wire.hex())
    assert back["id"] == back["fields"]["request_id"] == 99
    obj["id"] = 99  # agreeing: fine
    assert main(["encode", BOLT, json.dumps(obj)]) == 0
    assert bytes.fromhex(capsys.readouterr().out) == wire


@pytest.mark.parametrize(("edit", "message"), [
    (lambda o: o.update(kind="response"),
     "'kind' is \"response\", but the fields make it \"request\""),
    (lambda o: o.update(heartbeat=False), "'heartbeat' is false, but the fields make it true"),
    (lambda o: o.update(timeout=5), "'timeout' is 5, but fields.timeout makes it -1"),
    (lambda o: o.update(headers=[["a", "b"]]), "'headers' is [[\"a\", \"b\"]], but "
                                               "fields.headers makes it []"),
    (lambda o: o.update(payload_hex="00"), "'payload_hex' is \"00\", but fields.content makes "
                                           "it \"\""),
    (lambda o: o.update(consumed=23), "'consumed' is 23, but the fields encode 22 bytes"),
    (lambda o: o.update(status=0), "'status' is not part of a 'request' frame"),
    (lambda o: o.update(extra=1), "unknown key 'extra' (a frame object has frame, kind, id"),
    (lambda o: o["fields"].update(bogus=1), "frame 'request' has no field 'bogus'"),
    (lambda o: o["fields"].update(proto=5), "fields.proto is 5, but 'proto' is the constant 1"),
    (lambda o: o["fields"].update(class_len=3),
     "fields.class_len is 3, but the other fields make it 0 (class_len = len(class), "
     "computed on encode"),
    (lambda o: o["fields"].update(content="x"),
     "3 keys contradict `fields` (leave them out or make them agree):\n"
     "  fields.content_len is 0, but the other fields make it 1 (content_len = len(content), "
     "computed on encode: leave it out or make it agree)\n"
     "  'payload_hex' is \"\", but fields.content makes it \"78\": top-level keys are output "
     "only; `fields` is what encode writes (leave 'payload_hex' out or make it agree)\n"
     "  'consumed' is 22, but the fields encode 23 bytes"),
    (lambda o: o["fields"].update(version=None),
     "fields.version is null, but 'version' is always in a 'request' frame"),
])
def test_encode_refuses_what_contradicts_fields(
    edit: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (obj,) = _decoded(capsys, BOLT, "--hex", FRAMES["heartbeat_request"])
    assert main(["encode", BOLT, json.dumps(obj)]) == 0  # as decoded: fine
    assert capsys.readouterr().out.strip() == FRAMES["heartbeat_request"]
    edit(obj)
    assert message in _encode_error(capsys, BOLT, obj)


def test_encode_reads_json_lines(capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """decode's output, several lines, read back from stdin: one hex line each."""
    stream = "".join(FRAMES.values())
    assert main(["decode", BOLT, "--hex", stream]) == 0
    lines = capsys.readouterr().out
    assert len(lines.splitlines()) == len(FRAMES)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode())))
    assert main(["encode", BOLT, "-"]) == 0
    assert capsys.readouterr().out.split() == list(FRAMES.values())
    pretty = "\n".join(json.dumps(json.loads(line), indent=2) for line in lines.splitlines())
    assert main(["encode", BOLT, pretty]) == 0  # whitespace of any kind between objects
    assert capsys.readouterr().out.split() == list(FRAMES.values())
    assert main(["encode", BOLT, lines.splitlines()[0] + "\n{oops"]) == 1
    assert capsys.readouterr().err.startswith("protodsl: error: line 2: invalid JSON")


def test_encode_raw_and_need_more(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    stream = FRAMES["oneway"] + FRAMES["response_ok"][:30]
    assert main(["decode", BOLT, "--hex", stream]) == 0
    lines = capsysbinary.readouterr().out.decode()
    assert json.loads(lines.splitlines()[-1]) == {
        "need_more": True, "have": 15, "hex": FRAMES["response_ok"][:30]}
    assert main(["encode", "--raw", BOLT, lines]) == 0
    assert capsysbinary.readouterr().out == bytes.fromhex(stream)
    reordered = "\n".join(reversed(lines.splitlines()))
    assert main(["encode", BOLT, reordered]) == 1
    assert b"a need_more object can only come last" in capsysbinary.readouterr().err
    whole = json.dumps({"need_more": True, "have": 20, "hex": FRAMES["heartbeat_response"]})
    assert main(["encode", BOLT, whole]) == 1
    assert b"the need_more bytes hold a whole frame" in capsysbinary.readouterr().err


def test_gen_python_writes_an_importable_module(tmp_path: Path) -> None:
    assert main(["gen", BOLT, "--target", "python", "-o", str(tmp_path)]) == 0
    out = subprocess.run(
        [sys.executable, "-c",
         f"import bolt; print(bolt.decode(bytes.fromhex({FRAMES['request_basic']!r})).consumed)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "122"
    source = (tmp_path / "bolt.py").read_text()
    assert "protodsl" not in source.split('"""', 2)[2]  # imports nothing from the compiler


def test_gen_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert main(["gen", BOLT, "--target", "python", "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / "a" / "bolt.py").read_bytes() == (tmp_path / "b" / "bolt.py").read_bytes()


@pytest.mark.slow
def test_pip_install_into_fresh_venv(tmp_path: Path) -> None:
    """`pip install .` (not editable) gives a working `protodsl` from any directory.
    Dependencies come from this environment's site-packages so the test runs offline."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "parent_env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    root = Path(__file__).resolve().parent.parent
    build = tmp_path / "src"
    subprocess.run(["git", "clone", "-q", str(root), str(build)], check=False)
    source = build if (build / "pyproject.toml").exists() else root
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps",
                    str(source)], check=True, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spec = elsewhere / "bolt.proto-dsl"
    spec.write_text((SPECS / "bolt.proto-dsl").read_text())
    run = subprocess.run([str(bindir / "protodsl"), "decode", "bolt.proto-dsl", "--hex",
                          FRAMES["heartbeat_request"]], cwd=elsewhere, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["heartbeat"] is True
    where = subprocess.run([str(py), "-c", "import protodsl; print(protodsl.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True).stdout
    assert str(venv) in where  # the installed copy, not the source tree


def test_wasm_engine_prints_the_same_roles(capsys: pytest.CaptureFixture[str]) -> None:
    """The plugin, through the host emulator, reports what the Python codec does;
    only `fields` (which the MOSN ABI does not carry) is Python's alone."""
    stream = "".join(FRAMES.values()) + FRAMES["oneway"][:30]
    assert main(["decode", BOLT, "--hex", stream]) == 0
    python = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["decode", BOLT, "--engine", "wasm", "--hex", stream]) == 0
    wasm = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(python) == len(FRAMES) + 1
    assert [{k: v for k, v in obj.items() if k != "fields"} for obj in python] == wasm
    assert main(["decode", BOLT, "--engine", "wasm", "--hex", "0107000101"]) == 1
    assert "no frame variant matches" in capsys.readouterr().err


def test_test_runs_in_processes_and_refuses_zero_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    # enough examples that every builder and hijack code is reached (the tester
    # fails a property that leaves one untested)
    assert main(["test", BOLT, "--examples", "100", "--seed", "3", "-j", "2"]) == 0
    out = capsys.readouterr().out
    summary = re.search(r"(\d+) passed, 0 failed; (\d+) examples in", out)
    assert summary and int(summary[2]) >= 100 * int(summary[1]) and "2 processes" in out
    assert main(["test", BOLT, "--examples", "20", "--jobs", "0"]) == 1
    assert "--jobs must be at least 1" in capsys.readouterr().err


def test_gen_wasm_into_a_relative_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command: `-o build/bolt`, relative to where it runs."""
    monkeypatch.chdir(tmp_path)
    assert main(["gen", str(Path(BOLT).resolve()), "--target", "wasm", "-o", "build/bolt"]) == 0, \
        capsys.readouterr().err
    wasm = tmp_path / "build" / "bolt" / "bolt.wasm"
    assert wasm.stat().st_size > 1000
    # MOSN resolves vm_config.path against its own working directory: absolute.
    config = json.loads((tmp_path / "build" / "bolt" / "mosn_config.json").read_text())
    assert config["wasm_global_plugins"][0]["vm_config"]["path"] == str(wasm.resolve())


# ---------------------------------------------------------------- absent roles and fields

DUBBO = str(SPECS / "dubbo.proto-dsl")
MEMCACHED = str(SPECS / "memcached.proto-dsl")
BOLTV2 = str(SPECS / "boltv2.proto-dsl")


@pytest.mark.parametrize(("spec", "vectors"), [(DUBBO, "dubbo.json"),
                                               (MEMCACHED, "memcached.json")])
def test_absent_roles_are_null_in_both_engines(
    spec: str, vectors: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dubbo's requests have no timeout role and no headers: null from both
    engines (the plugin's ABI always carries a number; it is not shown)."""
    stream = "".join(f["hex"] for f in load_vectors(vectors)["frames"])
    python = _decoded(capsys, spec, "--hex", stream)
    wasm = _decoded(capsys, spec, "--engine", "wasm", "--hex", stream)
    assert [{k: v for k, v in obj.items() if k != "fields"} for obj in python] == wasm
    requests = [obj for obj in wasm if obj["kind"] != "response"]
    assert requests and all(obj["timeout"] is None and obj["headers"] is None
                            for obj in requests)
    assert all(obj["headers"] is None for obj in wasm)
    assert all(isinstance(obj["payload_hex"], str) for obj in wasm)


def test_a_field_not_on_the_wire_is_null(capsys: pytest.CaptureFixture[str]) -> None:
    """boltv2's crc is there only with ver1 2 and switch bit 0: without it, decode
    prints null (not 0), and encode takes that back, or no key, but not a value."""
    obj = {"frame": "request", "fields": {"ver1": "v1", "type": "request",
                                          "cmd_code": "rpc_request", "request_id": 5,
                                          "content": "hi"}}
    assert main(["encode", BOLTV2, json.dumps(obj)]) == 0
    plain = capsys.readouterr().out.strip()
    (decoded,) = _decoded(capsys, BOLTV2, "--hex", plain)
    assert "crc" in decoded["fields"] and decoded["fields"]["crc"] is None
    assert main(["encode", BOLTV2, json.dumps(decoded)]) == 0
    assert capsys.readouterr().out.strip() == plain
    decoded["fields"]["crc"] = 0
    assert "fields.crc is 0, but 'crc' is not in this frame" in _encode_error(
        capsys, BOLTV2, decoded)
    obj["fields"] |= {"ver1": "v2", "switch": 1}
    assert main(["encode", BOLTV2, json.dumps(obj)]) == 0
    with_crc = capsys.readouterr().out.strip()
    (decoded,) = _decoded(capsys, BOLTV2, "--hex", with_crc)
    assert decoded["fields"]["crc"] == int(with_crc[-8:], 16)
    decoded["fields"]["crc"] = None
    assert _encode_error(capsys, BOLTV2, decoded) == (
        f"the JSON: fields.crc is null, but 'crc' is in this frame (its condition holds) and "
        f"encodes as {int(with_crc[-8:], 16)}")


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize("argv", [
    ["decode", BOLT, "--engine", "python", "FILE"],
    ["decode", BOLT, "--engine", "python", "-"],
    ["decode", "--engine", "python", BOLT, "FILE"],
    ["decode", "FILE_FIRST"],
    ["decode", BOLT, "FILE", "--engine", "wasm"],
    ["decode", "--engine=python", BOLT, "-"],
])
def test_options_and_positionals_in_any_order(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = bytes.fromhex(FRAMES["oneway"])
    (tmp_path / "frame.bin").write_bytes(raw)
    argv = [str(tmp_path / "frame.bin") if a == "FILE" else a for a in argv]
    if argv == ["decode", "FILE_FIRST"]:
        argv = ["decode", "--hex", FRAMES["oneway"], BOLT]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert main(argv) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["kind"] == "oneway"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from protodsl import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"protodsl {__version__}\n"


def test_help_says_what_every_argument_is(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from protodsl.cli import _parser

    top, commands = _parser()
    for parser in [top, *commands.values()]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (parser.prog, action.dest)
        assert parser.epilog and "examples:" in parser.epilog, parser.prog
    for argv in (["--help"], *([name, "--help"] for name in commands)):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "examples:" in out and "protodsl " in out
        # nothing of the module's docstring, which is for its readers
        assert "only writer of files" not in out and "intermixed" not in out


def test_gen_prints_every_path_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["gen", BOLT, "--target", "wasm", "-o", "out/bolt"]) == 0, \
        capsys.readouterr().err
    printed = capsys.readouterr().out.split()
    assert printed == ["out/bolt/bolt.c", "out/bolt/protodsl_rt.h", "out/bolt/Makefile",
                       "out/bolt/mosn_config.json", "out/bolt/bolt.wasm"]
    assert all((tmp_path / p).is_file() for p in printed)
    assert main(["gen", BOLT, "--target", "python", "-o", str(tmp_path / "py")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "py" / "bolt.py")]


def test_encode_names_a_field_the_frame_cannot_do_without(
    capsys: pytest.CaptureFixture[str]
) -> None:
    """A field that changes what the frame means has no silent default: the JSON
    must give it, and the error says which and what it may be."""
    assert _encode_error(capsys, BOLT, {"frame": "request", "fields": {"request_id": 3}}) == (
        "the JSON: a 'request' frame needs fields.cmd_code: one of heartbeat, rpc_request, "
        "rpc_response (the spec gives it no default)")
