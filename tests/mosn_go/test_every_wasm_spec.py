"""Every spec that builds for Wasm builds for mosn-go (issue 15): each spec of
specs/ and tests/*/specs/ the Wasm target accepts generates a Go package that
is gofmt-clean, vet-clean and builds: the Go target refuses none of them."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from protodsl.codegen.mosn_go import backend
from protodsl.codegen.mosn_go.toolchain import go_binary, run_go
from protodsl.codegen.wasm import backend as wasm

from protodsl.diagnostics import SpecError
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file

ROOT = Path(__file__).resolve().parents[2]
GO = go_binary()

# spec file stem: what the mosn-go target names when it refuses it (none today)


def _wasm_specs() -> list[tuple[Path, Protocol]]:
    out = []
    for path in sorted([*ROOT.glob("specs/*.proto-dsl"), *ROOT.glob("tests/specs/*.proto-dsl"),
                        *ROOT.glob("tests/*/specs/*.proto-dsl")]):
        try:
            protocol = compile_file(path)
        except SpecError:
            continue
        if not any(d.severity == "error" for d in wasm.check_target(protocol)):
            out.append((path, protocol))
    return out


WASM_SPECS = _wasm_specs()


def test_the_wasm_specs_are_found() -> None:
    names = {p.stem for p, _ in WASM_SPECS}
    assert {"bolt", "tagged-rpc", "lists", "rest", "sizes", "exotic", "state_version",
            "hostile_names"} <= names, names


@pytest.mark.slow
@pytest.mark.skipif(GO is None, reason="needs Go")
def test_every_wasm_spec_builds_for_mosn_go(tmp_path: Path) -> None:
    dirs: list[Path] = []
    for path, protocol in WASM_SPECS:
        out = tmp_path / f"{path.parent.parent.name}-{path.stem}"
        out.mkdir()
        for rel, text in backend.generate(protocol).items():  # a refusal fails the test here
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(text, encoding="utf-8")
        dirs.append(out)
    gofmt = shutil.which("gofmt") or str(Path(str(GO)).parent / "gofmt")
    listed = subprocess.run([gofmt, "-l", *map(str, dirs)], capture_output=True, text=True,
                            check=False)
    assert listed.returncode == 0 and listed.stdout == "", listed.stdout + listed.stderr

    def vet(out: Path) -> str:
        """`go vet` type-checks the package and its tests; `go build` links it."""
        for args in (["build", "./..."], ["vet", "./..."]):
            run = run_go(args, out)
            if run.returncode != 0:
                return f"{out.name}: go {args[0]}: {run.stdout}{run.stderr}"
        return ""

    with ThreadPoolExecutor(4) as pool:
        failures = [text for text in pool.map(vet, dirs) if text]
    assert not failures, "\n".join(failures)
