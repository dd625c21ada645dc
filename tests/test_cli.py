"""The CLI's exact forms: check, gen, decode, encode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

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
    assert tail == {"need_more": True, "have": 2}


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
    assert "field 'type' at stream offset 23" in err and "Traceback" not in err


def test_encode_inverts_decode(capsys: pytest.CaptureFixture[str]) -> None:
    for name, hexdata in FRAMES.items():
        assert main(["decode", BOLT, "--hex", hexdata]) == 0, name
        obj = capsys.readouterr().out
        assert main(["encode", BOLT, obj]) == 0, name
        assert capsys.readouterr().out.strip() == hexdata, name


def test_encode_roles_override_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    obj = {"frame": "response", "id": 9, "status": 6, "headers": [["k", {"hex": "ff00"}]],
           "payload_hex": "abcd", "fields": {"cmd_code": "rpc_response", "codec": 1}}
    assert main(["encode", BOLT, json.dumps(obj)]) == 0
    wire = capsys.readouterr().out.strip()
    assert main(["decode", BOLT, "--hex", wire]) == 0
    back = json.loads(capsys.readouterr().out)
    assert (back["id"], back["status"], back["payload_hex"]) == (9, 6, "abcd")
    assert back["headers"] == [["k", {"hex": "ff00"}]]
    assert main(["encode", BOLT, '{"frame": "nope"}']) == 1
    assert "must be one of request, response" in capsys.readouterr().err
    assert main(["encode", BOLT, '{"frame": "request", "fields": {"cmd_code": "zzz"}}']) == 1
    assert "not a member of CmdCode" in capsys.readouterr().err


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
    assert main(["test", BOLT, "--examples", "20", "--seed", "3", "-j", "2"]) == 0
    out = capsys.readouterr().out
    assert "9 passed, 0 failed; 180 examples in" in out and "2 processes" in out
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
