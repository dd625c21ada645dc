"""Generated codecs, loaded in-process: the Python module from source text, the
Wasm plugin and the Go driver built once per distinct source and cached on disk."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
import tempfile
import types
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from protodsl.ir import Protocol


def python_source(protocol: Protocol) -> tuple[str, str, str]:
    """The Python codec's module name (unique to its source), source and file name:
    `import_source`'s arguments."""
    from protodsl.codegen.python import backend

    files = backend.generate(protocol)
    (filename, source), = files.items()
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    return f"protodsl_generated_{protocol.name}_{digest}", source, filename


def load_python(protocol: Protocol, name: str | None = None) -> ModuleType:
    """Generate the Python codec for `protocol` and import it (no file written)."""
    module_name, source, filename = python_source(protocol)
    return import_source(name or module_name, source, filename)


def import_source(module_name: str, source: str, filename: str) -> ModuleType:
    """Import `source` as `module_name`, once per process."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_loader(module_name, loader=None, origin=filename)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def bind_state(codec: ModuleType, state: Any) -> ModuleType:
    """`codec` with every call that takes a connection state given `state`: code
    that knows nothing of state (the JSON view, the properties) reads it as any
    codec."""
    bound = types.ModuleType(codec.__name__, codec.__doc__)
    bound.__dict__.update(codec.__dict__)
    for name in ("decode", "reference_decode", "encode", "reference_encode", "decode_all",
                 "field_values"):
        setattr(bound, name, partial(getattr(codec, name), state=state))
    bound.__dict__["BOUND_STATE"] = state
    return bound


def state_of(codec: ModuleType, state: Any = None) -> Any:
    """`state`, or by default the state `codec` is bound to, else a new connection's."""
    if state is not None:
        return state
    return getattr(codec, "BOUND_STATE", None) or codec.State()


def state_env(codec: ModuleType, state: Any = None) -> dict[str, int]:
    """The members of `state_of(codec, state)` that are set, as IR evaluation reads
    them: `state.NAME`, and for a member kept per side `state.sender.NAME` and
    `state.receiver.NAME` when the state says whose bytes these are."""
    state = state_of(codec, state)
    env = {f"state.{name}": value for name, attr in codec.STATE_ATTRS.items()
           if (value := getattr(state, attr)) is not None}
    side = getattr(state, "side", None)
    if side in _OTHER_SIDE:
        for whose, of in (("sender", side), ("receiver", _OTHER_SIDE[side])):
            env.update({f"state.{whose}.{key[len(of) + 7:]}": value
                        for key, value in list(env.items()) if key.startswith(f"state.{of}.")})
    return env


_OTHER_SIDE = {"client": "server", "server": "client"}


def build_wasm(protocol: Protocol, cache: Path | None = None) -> Path:
    """Generate and build the Wasm plugin, reusing an earlier build of the same C."""
    from protodsl.codegen.wasm import backend

    return _built_once(protocol, backend.generate(protocol), f"{protocol.name}.wasm",
                       lambda staging: backend.build(staging, protocol), cache)


def build_go_driver(protocol: Protocol, cache: Path | None = None) -> Path:
    """Generate the Go package and its JSON-lines driver (codegen/mosn_go/driver.py)
    and build the driver, reusing an earlier build of the same Go source."""
    from protodsl.codegen.mosn_go import driver

    return _built_once(protocol, driver.files(protocol), driver.BINARY,
                       lambda staging: driver.build(staging, protocol), cache)


def _built_once(protocol: Protocol, files: dict[str, str], artifact: str,
                build: Callable[[Path], object], cache: Path | None) -> Path:
    """`artifact` built from `files` by `build(dir)`, in a cache directory named by
    the files' hash; built in a staging directory renamed into place, so a reader
    never sees half a build."""
    digest = hashlib.sha256("".join(f"{k}\0{v}" for k, v in sorted(files.items())).encode())
    root = cache or Path(tempfile.gettempdir()) / "protodsl-cache"
    out = root / f"{protocol.name}-{digest.hexdigest()[:16]}"
    if (out / artifact).exists():
        return out / artifact
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{protocol.name}-", dir=root))
    for rel, text in files.items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_text(text, encoding="utf-8")
    build(staging)
    try:
        staging.rename(out)
    except OSError:  # another process built the same source first
        shutil.rmtree(staging, ignore_errors=True)
    return out / artifact
