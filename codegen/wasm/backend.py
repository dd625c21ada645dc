"""The Wasm backend: C source of a MOSN codec plugin, its Makefile and MOSN
config from the codec plan (view.py); `build` compiles it with zig cc into one
small module."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

from protodsl.codegen.jinja import environment, render
from protodsl.codegen.wasm.roles import DECODE_FIXED, ENCODE_PREFIX
from protodsl.codegen.wasm.view import build_view

from protodsl.diagnostics import Diagnostic, SpecError
from protodsl.ir import expr as ir
from protodsl.ir.model import IntField, Protocol, VarintField

RUNTIME_HEADER = "protodsl_rt.h"

# The one compile command; the Makefile spells the same flags.
CFLAGS = (
    "--target=wasm32-freestanding", "-O2", "-nostdlib", "-Wl,--no-entry", "-Wl,--strip-all",
    "-Wl,-z,stack-size=65536",
)


STATE_MEMBERS_MAX = 64
"""A state's members in the plugin: each has a bit in a 64-bit word of set bits."""


class BuildError(RuntimeError):
    """zig cc rejected the generated C; the message carries its stderr."""


def check_target(protocol: Protocol) -> list[Diagnostic]:
    """What keeps a spec from being a MOSN plugin: MOSN needs a request and a
    response frame variant with roles (id, kind ...) to route commands."""
    out: list[Diagnostic] = []
    with_roles = [f for f in protocol.frames if f.roles is not None]
    kinds = {f.roles.kind for f in with_roles if f.roles is not None}
    if not with_roles:
        out.append(Diagnostic(
            protocol.span,
            f"protocol '{protocol.name}' cannot be a MOSN plugin: no frame has roles; MOSN "
            f"needs the roles kind and id on a request and a response frame",
            note="give a request frame and a response frame a `roles { kind = ... id = ... }`"
                 " block",
        ))
        return out
    for kind in ("request", "response"):
        if kind not in kinds:
            out.append(Diagnostic(
                protocol.span,
                f"protocol '{protocol.name}' cannot be a MOSN plugin: no frame has roles with "
                f"kind = {kind}",
                note=f"MOSN needs both request and response frames; add `kind = {kind}` to the "
                     f"roles of a {kind} frame",
            ))
    if len(protocol.state) > STATE_MEMBERS_MAX:
        out.append(Diagnostic(
            protocol.state[STATE_MEMBERS_MAX].span,
            f"protocol '{protocol.name}' cannot be a MOSN plugin: its state has "
            f"{len(protocol.state)} members, the plugin keeps at most {STATE_MEMBERS_MAX}",
        ))
    setting = [f for f in protocol.frames if f.sets]
    if setting:
        names = ", ".join(f"'{f.name}'" for f in setting)
        out.append(Diagnostic(
            setting[0].sets[0].span,
            "MOSN gives a plugin a new context per frame (docs/mosn-abi.md): a state a "
            "frame sets does not reach the next frame through MOSN; frames decode in a new "
            "connection's state",
            note=f"frames that set state: {names}; the plugin keeps a state per context, "
                 f"which carries it only where one context decodes a whole stream "
                 f"(`protodsl decode --engine wasm`)",
            severity="warning",
        ))
    for frame in protocol.frames:
        if frame.roles is None:
            out.append(Diagnostic(
                frame.span,
                f"frame '{frame.name}' has no roles; the MOSN plugin rejects it as malformed",
                severity="warning",
            ))
    out += _beyond_the_plugin(protocol)
    return out


def _beyond_the_plugin(protocol: Protocol) -> list[Diagnostic]:
    """What the plugin does not read yet (the Python codec does): `more()`, some
    record members, state kept per side, `last()` and a `max_frame` limit."""
    out: list[Diagnostic] = []
    for member in protocol.state:
        if member.per_side:
            out.append(Diagnostic(
                member.span, f"state member '{member.name}' is kept per side, which the Wasm "
                f"plugin cannot do: MOSN does not tell a plugin whose bytes it decodes "
                f"(the Python codec keeps it)"))
    if protocol.frame_limit is not None:
        out.append(Diagnostic(
            protocol.frame_limit.span, "a max_frame limit the state sets, which the Wasm "
            "plugin does not check yet (the Python codec does)"))
    for frame in protocol.frames:
        for s in frame.sets:
            for node in ir.walk(s.value):
                if isinstance(node, ir.LastOf):
                    out.append(Diagnostic(
                        node.span, f"frame '{frame.name}': last() over a list, which the "
                        f"Wasm plugin does not compute yet (the Python codec does)"))
    for frame in protocol.frames:
        for e in frame.elements:
            if ir.reads_more(e.present):
                out.append(Diagnostic(
                    e.present.span, f"frame '{frame.name}': '{e.name}' is read while the frame "
                    f"has bytes left (more()), which the Wasm plugin does not read yet (the "
                    f"Python codec does)"))
    for record in protocol.records:
        for e in record.elements:
            enum = protocol.enum(e.enum) if isinstance(e, IntField) and e.enum else None
            what = ("a varint" if isinstance(e, VarintField) else
                    "a member with a condition" if e.present is not None else
                    "a member of a closed enum" if enum is not None and not enum.open else None)
            if what is not None:
                out.append(Diagnostic(
                    e.span, f"record '{record.name}': '{e.name}' is {what}, which the Wasm "
                    f"plugin does not read in a record yet (the Python codec does)"))
    return out


def generate(protocol: Protocol, out_dir: Path | None = None) -> dict[str, str]:
    """{relative path: text} for the plugin; raises SpecError if the spec cannot be one.
    With `out_dir` (where the files will be written) the MOSN config names the
    plugin by its absolute path: MOSN resolves it against its working directory."""
    errors = [d for d in check_target(protocol) if d.severity == "error"]
    if errors:
        raise SpecError(errors, None)
    env = environment("protodsl.codegen.wasm")
    name = protocol.name
    return {
        f"{name}.c": render(
            env,
            "plugin.c.j2",
            p=build_view(protocol),
            decode_fixed=DECODE_FIXED,
            encode_prefix=ENCODE_PREFIX,
        ),
        RUNTIME_HEADER: runtime_header(),
        "Makefile": render(env, "Makefile.j2", name=name, flags=" ".join(CFLAGS)),
        "mosn_config.json": mosn_config(
            protocol, str(out_dir.resolve() / f"{name}.wasm") if out_dir else f"{name}.wasm"
        ),
    }


def runtime_header() -> str:
    return (resources.files("protodsl.codegen.wasm") / "runtime" / RUNTIME_HEADER).read_text(
        encoding="utf-8"
    )


def compile_command(source: Path, output: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """zig cc through the running Python, so the ziglang wheel of this venv is used."""
    return [sys.executable, "-m", "ziglang", "cc", *CFLAGS, *extra, "-o", str(output), str(source)]


def build(out_dir: Path, protocol: Protocol) -> Path:
    """Compile the <name>.c already in out_dir (as `generate` wrote it, or as a
    user edited it) into <name>.wasm there."""
    out_dir = Path(out_dir).resolve()  # zig runs inside it: a relative path would miss
    source = out_dir / f"{protocol.name}.c"
    if not source.is_file() or not (out_dir / RUNTIME_HEADER).is_file():
        raise BuildError(f"{source} or its {RUNTIME_HEADER} is missing; write the files "
                         f"of generate() into {out_dir} first")
    wasm = out_dir / f"{protocol.name}.wasm"
    command = compile_command(source, wasm)
    result = subprocess.run(command, cwd=out_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(
            f"zig cc failed for {protocol.name}.c (exit {result.returncode}):\n"
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return wasm


ADMIN_PORT = 34901
"""MOSN's admin API port; the config binds it to loopback (MOSN's own binds 0.0.0.0)."""


def mosn_config(protocol: Protocol, plugin_path: str) -> str:
    """A MOSN config (layout of MOSN's configs/mosn_rpc_config_wasm.json) that
    loads the plugin: the plugin name, `from_wasm_plugin` and every listener's
    `sub_protocol` agree by construction. Every request is routed (an empty
    match); narrow a route with `"match": {"headers": [{"name": ..., "value":
    ...}]}`. Listeners and the admin API listen on loopback only."""
    plugin = f"wasm-{protocol.name}"

    def router(name: str, host: str, cluster: str) -> dict[str, object]:
        return {
            "router_config_name": name,
            "virtual_hosts": [{
                "name": host,
                "domains": ["*"],
                "routers": [{"match": {}, "route": {"cluster_name": cluster}}],
            }],
        }

    def listener(name: str, address: str, router_name: str) -> dict[str, object]:
        return {
            "name": name,
            "address": address,
            "bind_port": True,
            "filter_chains": [{
                "filters": [{
                    "type": "proxy",
                    "config": {
                        "downstream_protocol": "X",
                        "upstream_protocol": "X",
                        "router_config_name": router_name,
                        "extend_config": {"sub_protocol": protocol.mosn_name},
                    },
                }],
            }],
        }

    def cluster(name: str, address: str) -> dict[str, object]:
        return {
            "name": name,
            "type": "SIMPLE",
            "lb_type": "LB_RANDOM",
            "hosts": [{"address": address}],
        }

    config = {
        "servers": [{
            "default_log_path": "stdout",
            "routers": [
                router("server_router", "serverHost", "serverCluster"),
                router("client_router", "clientHost", "clientCluster"),
            ],
            "listeners": [
                listener("serverListener", "127.0.0.1:2046", "server_router"),
                listener("clientListener", "127.0.0.1:2045", "client_router"),
            ],
        }],
        "cluster_manager": {"clusters": [
            cluster("serverCluster", "127.0.0.1:12199"),
            cluster("clientCluster", "127.0.0.1:2046"),
        ]},
        "admin": {"address": {"socket_address": {
            "address": "127.0.0.1", "port_value": ADMIN_PORT,
        }}},
        "wasm_global_plugins": [{
            "plugin_name": plugin,
            "vm_config": {"engine": "wasmer", "path": plugin_path},
        }],
        "third_part_codec": {"codecs": [{
            "type": "wasm",
            "enable": True,
            "config": {"from_wasm_plugin": plugin, "protocol": protocol.mosn_name, "root_id": 1},
        }]},
    }
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"
