"""Native fuzzing of the generated plugin C (issue 6): fuzz/run.sh compiles the
same <name>.c the Wasm module is built from with clang and libFuzzer,
AddressSanitizer and UndefinedBehaviorSanitizer, and runs it for a short time
per spec. clang is installed by fuzz/run.sh when missing (CI runs as root);
these tests never skip for want of it. The long runs are in docs/reliability.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from protodsl.passes.pipeline import compile_file
from protodsl.testing.properties import wasm_ready
from tests.helpers import ROOT, SPECS

RUN = ROOT / "fuzz" / "run.sh"
SECONDS = 10
SPEC_FILES = sorted(SPECS.glob("*.proto-dsl"))
SUMMARY = re.compile(r"^fuzz: (\S+): (\d+) executions in (\d+) s, (\d+) crashes", re.M)


def run_fuzz(spec: Path, seconds: int, work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHON=sys.executable, FUZZ_WORK=str(work), FUZZ_EXAMPLES="30")
    return subprocess.run(["bash", str(RUN), str(spec), str(seconds), *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=1800, check=False)


def ensure_clang() -> None:
    result = subprocess.run(["bash", str(RUN), "--ensure-clang"], capture_output=True,
                            text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPEC_FILES, ids=[p.stem for p in SPEC_FILES])
def test_fuzz_each_spec_briefly(spec: Path, tmp_path: Path) -> None:
    if not wasm_ready(compile_file(spec)):
        pytest.skip(f"{spec.name}: no MOSN roles, no Wasm plugin")
    result = run_fuzz(spec, SECONDS, tmp_path)
    found = SUMMARY.search(result.stdout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert found, result.stdout[-2000:]
    name, executions, _, crashes = found.groups()
    assert crashes == "0"
    assert int(executions) > 10_000
    assert not list((tmp_path / name / "artifacts").iterdir())


@pytest.mark.slow
def test_the_harness_finds_a_planted_overread(tmp_path: Path) -> None:
    """A map length check off by one in the runtime header: the fuzzer finds it
    in seconds, so a clean run means something."""
    ensure_clang()
    src = tmp_path / "src"
    prepare = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "prepare.py"), str(SPECS / "bolt.proto-dsl"),
         str(tmp_path), "--examples", "20"], cwd=ROOT, capture_output=True, text=True,
        check=False)
    assert prepare.returncode == 0, prepare.stderr
    header = src / "protodsl_rt.h"
    text = header.read_text()
    check = "} else if (len > n - i) {"
    assert text.count(check) == 1, "the planted bug needs updating: the map walk changed"
    header.write_text(text.replace(check, "} else if (len > n - i + 1) {"))
    binary = tmp_path / "fuzz_bolt"
    subprocess.run(["clang", "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
                    f'-DPD_GENERATED="{src / "bolt.c"}"', str(ROOT / "fuzz" / "harness.c"),
                    "-o", str(binary)], check=True, capture_output=True)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    run = subprocess.run([str(binary), "-seed=1", "-max_total_time=60", "-max_len=4096",
                          f"-artifact_prefix={tmp_path}/", str(corpus), str(tmp_path / "seeds")],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode != 0
    # AddressSanitizer sees the overread (arguments in exact-size blocks), or the
    # harness sees the garbage it produced (arguments in the plugin's own blocks).
    assert ("AddressSanitizer: heap-buffer-overflow" in run.stderr
            or "harness: malformed DecodeData buffer" in run.stderr), run.stderr[-3000:]
    assert list(tmp_path.glob("crash-*"))
