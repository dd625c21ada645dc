"""Host functions (plugin imports) defined without wasmtime-py's generic trampoline.

wasmtime-py's ``Linker.define_func`` routes every host call through a trampoline
that converts each parameter and result through ``Val``: about 16 us per call,
roughly a third of a decode, which calls ``proxy_set_buffer_bytes`` once. For
imports whose parameters and results are all i32/i64, :func:`define_func` uses
``wasmtime_linker_define_func_unchecked`` with a trampoline that reads and writes
the raw value array directly. Errors are reported the way wasmtime-py's own
trampoline does it (the exception is parked in ``wasmtime._func.LAST_EXCEPTION``
and the guest call that is unwound re-raises it), so callers see the same
exceptions. Those are private wasmtime-py internals: when any is missing,
:func:`define_func` falls back to the public ``Linker.define_func``.
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable
from typing import Any

import wasmtime

from protodsl.host.calls import raw_slots, takes_raw_values

__all__ = ["FAST_CALLBACKS", "HostFunc", "define_func"]

HostFunc = Callable[..., Any]
"""``func(caller, *args)``: a host function given the ``wasmtime.Caller`` first."""

try:
    from wasmtime import _ffi
    from wasmtime import _func as _wasmtime_func

    _define_unchecked = _ffi.wasmtime_linker_define_func_unchecked
    _CallbackType: Any = _ffi.wasmtime_func_unchecked_callback_t
    _ValRaw: Any = _ffi.wasmtime_val_raw_t
    _error_from_ptr = wasmtime.WasmtimeError._from_ptr
    _IMPORTED = True
except (ImportError, AttributeError):
    _IMPORTED = False

_HANDLERS: dict[int, tuple[HostFunc, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
"""Callback id -> (function, parameter slots, result slots, result type names)."""
_IDS = itertools.count(1)


def _store_results(values: Any, out: Any, results: tuple[str, ...], names: tuple[str, ...]) -> None:
    """Write a host function's return value the way wasmtime-py's trampoline converts it."""
    if not results:
        if out is not None:
            raise wasmtime.WasmtimeError("callback produced results when it shouldn't")
        return
    if len(results) == 1:
        outs = [out]
    else:
        outs = list(out)
        if len(outs) != len(results):
            raise wasmtime.WasmtimeError("callback produced wrong number of results")
    for i, value in enumerate(outs):
        if not isinstance(value, int):
            raise TypeError(f"don't know how to convert {value!r} to {names[i]}")
        setattr(values[i], results[i], value)


def _trampoline(env: int | None, caller_ptr: Any, values: Any, nvalues: int) -> int | None:
    """Run one host function on the raw argument/result array (see module docstring)."""
    caller = wasmtime.Caller(caller_ptr)
    try:
        func, params, results, names = _HANDLERS[env or 0]
        args = [getattr(values[i], field) for i, field in enumerate(params)]
        out = func(caller, *args)
        if len(results) == 1 and type(out) is int:
            setattr(values[0], results[0], out)
        else:
            _store_results(values, out, results, names)
        return 0
    except BaseException as exc:
        _wasmtime_func.LAST_EXCEPTION = exc  # type: ignore[assignment]  # as wasmtime-py does
        trap = wasmtime.Trap("python exception")._consume()
        return ctypes.cast(trap, ctypes.c_void_p).value
    finally:
        caller._invalidate()


def _finalize(env: int | None) -> None:
    """Forget a host function once wasmtime drops the last linker or store using it."""
    _HANDLERS.pop(env or 0, None)


def _fast_callbacks_available() -> bool:
    """Whether wasmtime-py still has the internals, in the shape used here."""
    if not _IMPORTED:
        return False
    hooks = hasattr(_wasmtime_func, "LAST_EXCEPTION") and hasattr(wasmtime.Trap, "_consume")
    # (linker, module, module_len, name, name_len, ty, cb, data, finalizer)
    return hooks and takes_raw_values(_define_unchecked, 9)


FAST_CALLBACKS: bool = _fast_callbacks_available()
"""Whether :func:`define_func` uses the unchecked trampoline; tests turn it off."""

if FAST_CALLBACKS:
    _TRAMPOLINE = _CallbackType(_trampoline)
    _FINALIZE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(_finalize)


def define_func(
    linker: wasmtime.Linker, module: str, name: str, ty: wasmtime.FuncType, func: HostFunc
) -> None:
    """Like ``linker.define_func(module, name, ty, func, access_caller=True)``, but cheaper."""
    params, results = raw_slots(ty.params), raw_slots(ty.results)
    if not FAST_CALLBACKS or params is None or results is None:
        linker.define_func(module, name, ty, func, access_caller=True)
        return
    env = next(_IDS)
    _HANDLERS[env] = (func, params, results, tuple(str(t) for t in ty.results))
    module_bytes = module.encode("utf-8")
    name_bytes = name.encode("utf-8")
    error = _define_unchecked(
        linker.ptr(),
        ctypes.create_string_buffer(module_bytes),
        len(module_bytes),
        ctypes.create_string_buffer(name_bytes),
        len(name_bytes),
        ty.ptr(),
        _TRAMPOLINE,
        env,
        _FINALIZE,
    )
    if error:
        _HANDLERS.pop(env, None)
        raise _error_from_ptr(error)
