"""`protodsl explain`: its arguments and what it does. The CLI registers it;
decode's input and state options are reused from there."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from protodsl.explain.frames import Malformed, explain_stream
from protodsl.explain.render import COLOURED, PLAIN, render

EPILOG = """\
Prints every frame in the input as an annotated hex dump, one after another
until the input ends: a line per field (its offset in the input, its bytes,
long ones cut, its name, its value with enum and flag names, its `///` doc
comment), records, map entries and bit members indented under theirs, fields
not on the wire left out. After each frame, its outcome: the bytes it consumed,
need-more (with the frame's size when the codec knows it), or malformed: the
error, the field and its offset, the field's line marked `<--`. A malformed
frame ends the stream, with exit status 1. State, as decode threads it:
`--state`, `--side`.

examples:
  protodsl explain specs/bolt.proto-dsl --hex 01010000010000000b01ffffffff0000000000000000
  protodsl explain specs/mqtt.proto-dsl --state level=5 --color always frames.bin | less -R
  protodsl explain specs/http2-frame.proto-dsl --side client -"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The input (as decode takes it) and --color; the CLI adds --state, --side."""
    parser.add_argument("--hex", metavar="HEX", help="the bytes to explain, as hex")
    parser.add_argument("input", nargs="?", metavar="FILE",
                        help="a file of raw bytes to explain, or - for stdin")
    parser.add_argument("--color", choices=("never", "always", "auto"), default="auto",
                        help="colour the dump: auto (default) when stdout is a terminal "
                             "and NO_COLOR is not set")


def colour(choice: str, out: TextIO) -> bool:
    """`always` and `never` say; `auto` colours a terminal unless NO_COLOR is set."""
    if choice != "auto":
        return choice == "always"
    return not os.environ.get("NO_COLOR") and out.isatty()


def run(args: argparse.Namespace) -> int:
    from protodsl.cli import _initial_state, _load, _read_input
    from protodsl.codecs import load_python

    protocol = _load(args.spec)
    data = _read_input(args)
    codec = load_python(protocol)
    state = _initial_state(protocol, codec, args.state, args.side)
    reports = list(explain_stream(protocol, codec, data, state))
    style = COLOURED if colour(args.color, sys.stdout) else PLAIN
    print(render(protocol, reports, style), flush=True)
    return 1 if reports and isinstance(reports[-1].outcome, Malformed) else 0
