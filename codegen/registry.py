"""Target name -> backend. A backend says what of a spec it cannot generate
(`check_target`: errors, and warnings of what the generated code does
differently) and turns the IR into {relative path: text}; only the CLI writes
files."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol as TypingProtocol

from protodsl.diagnostics import Diagnostic
from protodsl.ir import Protocol


class Backend(TypingProtocol):
    def check_target(self, protocol: Protocol) -> list[Diagnostic]: ...

    def generate(self, protocol: Protocol, out_dir: Path | None = None) -> dict[str, str]: ...


def backend(target: str) -> Backend:
    if target == "python":
        from protodsl.codegen.python import backend as python_backend

        return python_backend
    if target == "wasm":
        from protodsl.codegen.wasm import backend as wasm_backend

        return wasm_backend
    if target == "mosn-go":
        from protodsl.codegen.mosn_go import backend as mosn_go_backend

        return mosn_go_backend
    if target == "wireshark":
        from protodsl.codegen.wireshark import backend as wireshark_backend

        return wireshark_backend
    raise KeyError(target)


TARGETS = ("python", "wasm", "mosn-go", "wireshark")
