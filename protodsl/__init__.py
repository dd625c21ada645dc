"""protodsl: describe a binary RPC protocol once, get a Python codec and a MOSN Wasm plugin."""

__version__ = "0.1.0"
