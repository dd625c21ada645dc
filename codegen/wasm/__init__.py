"""Wasm backend: C source for the MOSN ABI, built with zig cc."""
