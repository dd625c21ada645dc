"""Prepared guest calls: call a Wasm export without wasmtime-py's per-call type work.

wasmtime-py's public ``Func.__call__`` fetches the function type and converts each
argument through ``Val`` on every call, about 25 us per call, which made it most of
a decode's cost in property runs. A :class:`PreparedCall` reads the type once and
calls through ``wasmtime_func_call_unchecked`` with a raw value array, inside
wasmtime-py's own ``enter_wasm`` so traps and exceptions raised by host callbacks
surface exactly as through ``Func.__call__``. Those are private wasmtime-py
internals: when any is missing, :func:`prepare` returns the ``Func`` itself.
"""

from __future__ import annotations

import ctypes
import inspect
from collections.abc import Callable
from typing import Any

import wasmtime

__all__ = ["FAST_PATH", "GuestCall", "PreparedCall", "prepare", "raw_slots", "takes_raw_values"]

GuestCall = Callable[..., Any]
"""``call(store_or_caller, *args)``, returning what ``Func.__call__`` would."""


try:
    from wasmtime import _ffi
    from wasmtime._func import enter_wasm as _enter_wasm

    _call_unchecked = _ffi.wasmtime_func_call_unchecked
    _ValRaw: Any = _ffi.wasmtime_val_raw_t
    _error_from_ptr = wasmtime.WasmtimeError._from_ptr
    _IMPORTED = True
except (ImportError, AttributeError):
    _IMPORTED = False


def takes_raw_values(ffi_func: Any, arity: int) -> bool:
    """Whether a private wasmtime-py ffi function still takes `arity` arguments and
    the raw value union still has i32 and i64 fields: the shape the fast paths use."""
    if not _IMPORTED:
        return False
    try:
        params = inspect.signature(ffi_func).parameters
        fields = {name for name, *_ in _ValRaw._fields_}
    except (AttributeError, TypeError, ValueError):
        return False
    return len(params) == arity and {"i32", "i64"} <= fields


# (store, func, args_and_results, args_and_results_len, trap)
FAST_PATH: bool = _IMPORTED and takes_raw_values(_call_unchecked, 5)
"""Whether :func:`prepare` uses the unchecked call; tests turn it off to cover the fallback."""

# wasmtime-py's ValType has no kind accessor; its str() is the wat name.
_RAW_FIELD_OF_TYPE = {"i32": "i32", "i64": "i64"}


def raw_slots(types: Any) -> tuple[str, ...] | None:
    """The `wasmtime_val_raw_t` field for each value type, or None unless all are i32/i64."""
    slots = tuple(_RAW_FIELD_OF_TYPE.get(str(t), "") for t in types)
    return None if "" in slots else slots


class PreparedCall:
    """One export with its parameter and result layout worked out at load time.

    Arguments are Python ints, wrapped to the slot width as ``Val.i32``/``Val.i64``
    do; i32 and i64 results come back signed, as from ``Func.__call__``.
    """

    __slots__ = ("_array", "_func", "_params", "_ref", "_results", "_slots")

    def __init__(self, func: wasmtime.Func, params: tuple[str, ...], results: tuple[str, ...]):
        self._func = func
        self._ref = ctypes.byref(func._func)
        self._params = params
        self._results = results
        self._slots = max(len(params), len(results), 1)
        self._array: Any = _ValRaw * self._slots

    def __call__(self, ctx: wasmtime.Store | wasmtime.Caller, *args: int) -> Any:
        params = self._params
        if len(args) != len(params):
            many = "many" if len(args) > len(params) else "few"
            raise wasmtime.WasmtimeError(
                f"too {many} parameters provided: given {len(args)}, expected {len(params)}"
            )
        buf = self._array()
        for i, field in enumerate(params):
            value = args[i]
            if not isinstance(value, int):
                raise TypeError(f"don't know how to convert {value!r} to {field}")
            setattr(buf[i], field, value)
        with _enter_wasm(ctx) as trap:
            error = _call_unchecked(ctx._context(), self._ref, buf, self._slots, trap)
            if error:
                raise _error_from_ptr(error)
        results = self._results
        if not results:
            return None
        if len(results) == 1:
            return getattr(buf[0], results[0])
        return [getattr(buf[i], field) for i, field in enumerate(results)]


def prepare(func: wasmtime.Func, store: wasmtime.Store) -> GuestCall:
    """A cheap equivalent of ``func(ctx, *args)``, or ``func`` itself when none can be made.

    Only functions whose parameters and results are all i32/i64 are prepared.
    """
    if not FAST_PATH or not hasattr(func, "_func"):
        return func
    ty = func.type(store)
    params, results = raw_slots(ty.params), raw_slots(ty.results)
    if params is None or results is None:
        return func
    return PreparedCall(func, params, results)
