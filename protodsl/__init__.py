"""protodsl: describe a binary RPC protocol once, get a Python codec and a MOSN Wasm plugin."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The installed distribution's version: pyproject.toml is its one source.
    __version__ = version("protodsl")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
