"""The protocol's name in MOSN (`sub_protocol`): MOSN keeps its own codec for a
name it has built in and skips a plugin of that name without an error, so the
plugin would never run."""

from __future__ import annotations

from protodsl.diagnostics import Span
from protodsl.passes.problems import Problems

MOSN_BUILTIN_PROTOCOLS = ("Auto", "Http1", "Http2", "bolt", "boltv2", "dubbo", "dubbo-thrift",
                          "tars")
"""Protocol names a stock MOSN (v1.6, cmd/mosn/main) registers before it loads plugins."""


def check_mosn_name(name: str, span: Span, problems: Problems) -> None:
    if not name:
        problems.error(span, "the protocol's name in MOSN is empty")
    elif name in MOSN_BUILTIN_PROTOCOLS:
        builtin = ", ".join(MOSN_BUILTIN_PROTOCOLS)
        problems.error(
            span,
            f"MOSN has a built-in protocol named '{name}': it would keep its own codec and "
            f"skip this plugin without an error (built in: {builtin})",
            note=f"choose another name, e.g. \"x-{name}\"",
        )
