"""Python target: one module per protocol, importable with only construct."""

from __future__ import annotations

from pathlib import Path

from protodsl.codegen.jinja import environment, render
from protodsl.codegen.python.view import build_view

from protodsl.diagnostics import Diagnostic
from protodsl.ir import Protocol


def docstring(text: str) -> str:
    """Spec text made safe inside a triple-quoted docstring."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return text + " " if text.endswith('"') else text


def comment(text: str) -> str:
    """Spec text made safe as a one-line comment."""
    return " ".join(text.split())


def module_name(protocol: Protocol) -> str:
    return protocol.name.replace("-", "_")


def check_target(protocol: Protocol) -> list[Diagnostic]:
    """Every spec that compiles has a Python codec."""
    return []


def generate(protocol: Protocol, out_dir: Path | None = None) -> dict[str, str]:
    """{file name: text}: one module; where it goes does not change it."""
    source = protocol.span.file.rsplit("/", 1)[-1]
    view = build_view(protocol, source)
    env = environment("protodsl.codegen.python", (
        ("repr", repr), ("docstring", docstring), ("comment", comment),
    ))
    return {f"{module_name(protocol)}.py": render(env, "module.py.j2", m=view)}
