"""The `protodsl` command: check, gen, fmt, decode, encode, explain, test. The only writer
of files.

Each command's arguments may come in any order (argparse's intermixed parsing),
so the forms the README shows all work as written."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from protodsl import __version__
from protodsl.codegen.registry import TARGETS
from protodsl.diagnostics import SpecError
from protodsl.explain import command as explain_command
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file

DESCRIPTION = """\
Describe a binary RPC protocol's frames once, in a .proto-dsl spec, and get a
Python codec and a WebAssembly codec plugin for the MOSN service mesh from it;
decode and encode frames with them, and test that the two agree."""

EPILOG = """\
examples:
  protodsl check specs/bolt.proto-dsl
  protodsl gen specs/bolt.proto-dsl --target python -o build
  protodsl gen specs/bolt.proto-dsl --target wasm -o build/bolt
  protodsl decode specs/bolt.proto-dsl --hex 01010000010000000b01ffffffff0000000000000000
  protodsl decode specs/bolt.proto-dsl frames.bin > frames.jsonl
  protodsl encode specs/bolt.proto-dsl --raw - < frames.jsonl > again.bin
  protodsl test specs/bolt.proto-dsl --examples 200 --seed 1

Run `protodsl COMMAND --help` for a command's arguments."""

DECODE_EPILOG = """\
Prints one JSON object per line: each whole frame (its variant, MOSN roles,
`consumed` and every field; a role the frame does not declare, or a field whose
`if` condition does not hold, is null), then {"need_more": true, "have": N,
"hex": ...} for bytes after the last whole frame. A malformed frame stops the
stream: the error, with its offset in the input, goes to stderr and the exit
status is 1. A spec with a `state` threads it from frame to frame, starting
from a new connection's (the spec's initial values) with `--state` over them;
one that keeps state per side (HTTP/2's SETTINGS) needs `--side`, whose bytes
these are.

examples:
  protodsl decode specs/bolt.proto-dsl --hex 01010000010000000b01ffffffff0000000000000000
  protodsl decode specs/bolt.proto-dsl --engine wasm frames.bin
  cat frames.bin | protodsl decode specs/bolt.proto-dsl -
  protodsl decode specs/mqtt.proto-dsl --state level=5 server-to-client.bin
  protodsl decode specs/http2-frame.proto-dsl --side server \
      --state client.max_frame_size=65536 server-to-client.bin"""

ENCODE_EPILOG = """\
Reads what `decode` prints: JSON objects, one per line (any whitespace between
them will do). `fields` is the frame: edit it and encode writes the edit. The
other keys (kind, id, timeout, headers, payload_hex, consumed ...) are decode's
output: they may stay, but one that contradicts `fields` is an error, as is an
unknown key or a constant field given another value. Enum values by name or
number, bytes as text or {"hex": ...}. A need_more object is written back as
its bytes, so decode | encode gives back the input byte for byte.

examples:
  protodsl encode bolt.proto-dsl '{"frame": "request",
      "fields": {"type": "request", "cmd_code": "rpc_request", "request_id": 7}}'
  protodsl decode bolt.proto-dsl in.bin | protodsl encode bolt.proto-dsl --raw - | cmp - in.bin
  protodsl decode bolt.proto-dsl in.bin | protodsl encode bolt.proto-dsl - | xxd -r -p"""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        code: int = args.run(args)
        return code
    except SpecError as exc:
        print(exc.to_json() if getattr(args, "json", False) else exc.render(), file=sys.stderr)
        return 1
    except CliError as exc:
        print(f"protodsl: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1


class CliError(Exception):
    """A usage or input problem, reported in one line."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The top-level options, then the command's arguments in any order: a
    command's parser reads them intermixed, options and positionals alike."""
    parser, commands = _parser()
    argv = list(argv)
    index = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if index is None or argv[index] not in commands:
        return parser.parse_args(argv)  # --help, --version, or a usage error
    if index:
        parser.parse_args(argv[:index + 1])  # options before the command: -h, --version
    args = commands[argv[index]].parse_intermixed_args(argv[index + 1:])
    args.command = argv[index]
    return args


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    p = argparse.ArgumentParser(prog="protodsl", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=_Formatter)
    p.add_argument("--version", action="version", version=f"protodsl {__version__}",
                   help="print protodsl's version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           title="commands")
    spec_help = "the protocol spec, a .proto-dsl file"

    def command(name: str, help: str, epilog: str | None = None) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                                epilog=epilog, formatter_class=_Formatter)
        parser.add_argument("spec", metavar="SPEC", help=spec_help)
        return parser

    check = command("check", "report a spec's errors (exit status 1 if it has any)",
                    "examples:\n  protodsl check specs/bolt.proto-dsl\n"
                    "  protodsl check --verbose specs/memcached.proto-dsl\n"
                    "  protodsl check --json specs/bolt.proto-dsl")
    check.add_argument("--json", action="store_true",
                       help="print the diagnostics as JSON instead of file:line:col text")
    check.add_argument("-v", "--verbose", action="store_true",
                       help="also list the discriminator values no frame claims (they "
                            "decode as malformed)")
    check.set_defaults(run=_check)

    gen = command("gen", "generate a codec from a spec and print each path written",
                  "examples:\n  protodsl gen specs/bolt.proto-dsl --target python -o build\n"
                  "  protodsl gen specs/bolt.proto-dsl --target wasm -o build/bolt")
    gen.add_argument("--target", required=True, choices=TARGETS,
                     help="python: one module needing only `construct`; wasm: the MOSN "
                          "plugin's C source, runtime header, Makefile, MOSN config and "
                          "the built .wasm; mosn-go: a Go package (Decode, Encode, a "
                          "struct per frame; MOSN's api.XProtocolCodec for a spec with "
                          "roles) and its go.mod and go.sum")
    gen.add_argument("-o", "--out", default=".", metavar="DIR",
                     help="the directory to write into, made if missing (default: .)")
    gen.add_argument("--no-build", action="store_true",
                     help="wasm: write the sources only, do not build the .wasm")
    gen.set_defaults(run=_gen)

    fmt = sub.add_parser("fmt", help="lay specs out the one canonical way, in place",
                         description="Lay specs out the one canonical way (aligned fields, "
                                     "comments kept), in place.", formatter_class=_Formatter,
                         epilog="examples:\n  protodsl fmt specs/*.proto-dsl\n"
                                "  protodsl fmt --check specs/*.proto-dsl\n"
                                "  protodsl fmt - < spec.proto-dsl")
    fmt.add_argument("specs", nargs="+", metavar="SPEC",
                     help="a .proto-dsl file to rewrite, or - to format stdin to stdout")
    fmt.add_argument("--check", action="store_true",
                     help="write nothing: print a diff of each file not formatted and exit "
                          "with status 1 if there is one")
    fmt.set_defaults(run=_fmt)

    decode = command("decode", "decode frames to JSON lines", DECODE_EPILOG)
    decode.add_argument("--engine", choices=("python", "wasm"), default="python",
                        help="the generated Python codec (default), or the Wasm plugin "
                             "run the way MOSN runs it (roles only: no `fields`)")
    decode.add_argument("--hex", metavar="HEX", help="the bytes to decode, as hex")
    decode.add_argument("input", nargs="?", metavar="FILE",
                        help="a file of raw bytes to decode, or - for stdin")
    decode.add_argument("--offsets", action="store_true",
                        help="python engine: add \"offsets\", each field's [offset, length] "
                             "from the frame's start, keyed as `fields` (a bit member: its "
                             "container's; not on the wire: null); a list's adds an object "
                             "per record, a map's an [offset, length] per pair")
    decode.set_defaults(run=_decode)


    encode = command("encode", "encode frames given as decode's JSON", ENCODE_EPILOG)
    encode.add_argument("json", metavar="JSON",
                        help="JSON objects as decode prints them, or - to read them from "
                             "stdin")
    encode.add_argument("--raw", action="store_true",
                        help="write the bytes themselves, not a line of hex per object")
    encode.set_defaults(run=_encode)
    explain = command("explain", "show frames as an annotated hex dump, field by field",
                      explain_command.EPILOG)
    explain_command.add_arguments(explain)
    explain.set_defaults(run=explain_command.run)
    for stream in (decode, encode, explain):
        stream.add_argument("--state", action="append", default=[], metavar="NAME=VALUE",
                         help="the connection's state before the first frame, over the "
                              "spec's initial values (repeatable; specs with a `state`; "
                              "a member kept per side is client.NAME or server.NAME)")
        stream.add_argument("--side", choices=("client", "server"),
                            help="whose bytes these are, for a spec that keeps state per "
                                 "side (HTTP/2's SETTINGS)")

    test = command("test", "property-test the Python codec against the Wasm plugin or "
                           "the Go codec",
                   "examples:\n  protodsl test specs/bolt.proto-dsl\n"
                   "  protodsl test specs/bolt.proto-dsl --examples 1000 --seed 7 -j 4\n"
                   "  protodsl test specs/bolt.proto-dsl --wasm build/other/bolt.wasm\n"
                   "  protodsl test specs/bolt.proto-dsl --target mosn-go")
    test.add_argument("--examples", type=int, default=None, metavar="N",
                      help="examples per property (default: 200)")
    test.add_argument("--seed", type=int, default=None, metavar="S",
                      help="the seed, to replay a run (default: a fresh one, printed)")
    test.add_argument("--wasm", metavar="PLUGIN.wasm",
                      help="test this plugin (built elsewhere) instead of generating one")
    test.add_argument("--target", choices=("wasm", "mosn-go"), default="wasm",
                      help="what to test against the Python codec: the Wasm plugin "
                           "(default), or the mosn-go package through a small Go driver "
                           "(needs Go; built once per distinct source)")
    test.add_argument("--jobs", "-j", type=int, default=None, metavar="JOBS",
                      help="processes to run properties in (default: the CPUs available)")
    test.set_defaults(run=_test)
    return p, dict(sub.choices)


def _load(path: str) -> Protocol:
    if not Path(path).is_file():
        raise CliError(f"no such spec file: {path}")
    return compile_file(path)


def _check(args: argparse.Namespace) -> int:
    from protodsl.codegen.wasm import backend as wasm

    protocol = _load(args.spec)
    frames = ", ".join(f.name for f in protocol.frames)
    print(f"{args.spec}: ok: protocol {protocol.name} ({frames})")
    plugin = wasm.check_target(protocol)
    if protocol.frames and not any(d.severity == "error" for d in plugin):
        source = Path(args.spec).read_text("utf-8")
        for warning in plugin:  # what a MOSN plugin of this spec would do differently
            print(warning.render(source), file=sys.stderr)
    if args.verbose:
        unclaimed = getattr(protocol, "unclaimed", ())
        print(f"{args.spec}: no frame claims (decodes as malformed): {'; '.join(unclaimed)}"
              if unclaimed else f"{args.spec}: no discriminator value is left unclaimed")
    return 0


def _gen(args: argparse.Namespace) -> int:
    """Writes the files, then prints each path as `-o DIR` joined with its name."""
    from protodsl.codegen.registry import backend

    protocol = _load(args.spec)
    out = Path(args.out)
    target = backend(args.target)
    problems = target.check_target(protocol)
    if problems:
        source = Path(args.spec).read_text("utf-8")
        if any(p.severity == "error" for p in problems):
            raise SpecError(problems, source)
        for warning in problems:
            print(warning.render(source), file=sys.stderr)
    files = target.generate(protocol, out)
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (out / rel).write_text(text, encoding="utf-8")
        print(out / rel)
    if args.target == "wasm" and not args.no_build:
        from protodsl.codegen.wasm import backend as wasm

        try:
            built = Path(wasm.build(out, protocol))
        except RuntimeError as exc:
            raise CliError(str(exc)) from None
        print(out / built.name)
    return 0


def _fmt(args: argparse.Namespace) -> int:
    from protodsl.fmt import diff, format_source

    unformatted = 0
    for path in args.specs:
        if path != "-" and not Path(path).is_file():
            raise CliError(f"no such spec file: {path}")
        try:
            source = _read_text("-") if path == "-" else Path(path).read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise CliError(f"{path} is not UTF-8 (byte {exc.start})") from None
        formatted = format_source(source, "<stdin>" if path == "-" else path)
        if args.check:
            unformatted += formatted != source
            print(diff(source, formatted, path), end="")
        elif path == "-":
            print(formatted, end="")
        elif formatted != source:
            Path(path).write_text(formatted, encoding="utf-8")
    return 1 if unformatted else 0


def _read_input(args: argparse.Namespace) -> bytes:
    if args.hex is not None:
        if args.input is not None:
            raise CliError("give --hex or an input file, not both")
        try:
            return bytes.fromhex(args.hex)
        except ValueError:
            raise CliError("--hex is not valid hex") from None
    if args.input in (None, "-"):
        return sys.stdin.buffer.read()
    try:
        return Path(args.input).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.input}: {exc.strerror}") from None


def _initial_state(protocol: Protocol, codec: ModuleType, given: list[str],
                   side: str | None) -> Any:
    """The connection's state before the first frame: the spec's initial values,
    with `--state NAME=VALUE` over them, and `--side` for one kept per side."""
    sides = any(m.per_side for m in protocol.state)
    if side is not None and not sides:
        raise CliError(f"--side {side}: {protocol.name} keeps no state per side")
    if side is None and sides:
        kept = ", ".join(m.name for m in protocol.state if m.per_side)
        raise CliError(f"{protocol.name} keeps state per side ({kept}): say whose bytes "
                       f"these are, --side client or --side server")
    values: dict[str, Any] = {"side": side} if sides else {}
    for item in given:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq:
            raise CliError(f"--state {item}: expected NAME=VALUE")
        member = protocol.state_member(name.partition(".")[2] or name)
        if member is None or name not in codec.STATE_ATTRS:
            known = ", ".join(codec.STATE_ATTRS) or "none"
            raise CliError(f"--state {item}: '{name}' is not a state member of "
                           f"{protocol.name} (it has: {known})")
        try:
            value = int(text.strip(), 0)
        except ValueError:
            raise CliError(f"--state {item}: '{text}' is not an integer") from None
        if not member.type.min <= value <= member.type.max:
            raise CliError(f"--state {item}: out of range for {member.type.name}")
        values[codec.STATE_ATTRS[name]] = value
    return codec.State(**values)


def _decode(args: argparse.Namespace) -> int:
    protocol = _load(args.spec)
    data = _read_input(args)
    if args.engine == "python":
        objects = _decode_python(protocol, data, args.state, args.side, args.offsets)
    elif args.offsets:
        raise CliError("--offsets: the python engine's; a plugin reports no fields")
    elif args.state or args.side:
        raise CliError("--state, --side: a plugin's context starts in a new connection's "
                       "state; give them to the python engine")
    else:
        objects = _decode_wasm(protocol, data)
    for obj in objects:
        print(json.dumps(obj, ensure_ascii=False), flush=True)
    return 0


_AT_OFFSET = re.compile(r" at offset (\d+)")


def malformed(message: str, start: int) -> str:
    """A codec's decode error (the Python exception's text, the plugin's log line:
    the same words) for a frame starting at `start` in the input: its one offset
    becomes the offset in the input stream."""
    at = _AT_OFFSET.search(message)
    if at is None:
        return f"malformed frame at stream offset {start}: {message}"
    return (f"malformed frame: {message[:at.start()]} at stream offset "
            f"{start + int(at.group(1))}{message[at.end():]}")


def _decode_python(protocol: Protocol, data: bytes, given: list[str], side: str | None,
                   offsets: bool = False) -> Iterator[dict[str, Any]]:
    """Frame after frame, the connection's state threaded from one to the next."""
    from protodsl.codecs import load_python
    from protodsl.explain import Layout
    from protodsl.jsonview import frame_json, need_more_json

    codec = load_python(protocol)
    state = _initial_state(protocol, codec, given, side)
    layout = Layout(protocol, codec) if offsets else None
    offset = 0
    while True:
        try:
            result = codec.decode(data[offset:], state)
        except codec.ProtocolError as exc:
            raise CliError(malformed(str(exc), offset)) from None
        if isinstance(result, codec.NeedMore):
            if result.have:
                yield need_more_json(data[offset:])
            return
        obj = frame_json(codec, protocol, result.frame, result.consumed, state)
        if layout is not None:
            spans = layout.spans(result.frame, result.consumed, data[offset:], state)
            obj["offsets"] = layout.offsets(spans, list(obj["fields"]))
        yield obj
        offset += result.consumed
        state = result.state


def _decode_wasm(protocol: Protocol, data: bytes) -> Iterator[dict[str, Any]]:
    from protodsl.codecs import build_wasm
    from protodsl.host import MosnHost
    from protodsl.jsonview import command_json, need_more_json

    host = MosnHost.from_file(build_wasm(protocol))
    ctx = host.new_context()
    prefix = f"{protocol.name}: "
    offset = 0
    while True:
        host.clear_logs()
        result = host.decode(ctx, data[offset:])
        if result.status == 99:
            if len(data) > offset:
                yield need_more_json(data[offset:])
            return
        if result.status != 0 or result.command is None or result.command.drain_len <= 0:
            lines = [r.message.removeprefix(prefix) for r in host.logs]
            raise CliError(malformed("; ".join(lines) or f"status {result.status}", offset))
        yield command_json(protocol, result.command, data[offset:])
        offset += result.command.drain_len


def _json_objects(text: str) -> Iterator[tuple[int, Any]]:
    """(line, object) for each JSON value in `text`: JSON lines, or any
    whitespace between values (a pretty-printed object spans lines)."""
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos == len(text):
            return
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise CliError(f"line {exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})"
                           ) from None
        yield text.count("\n", 0, pos) + 1, obj
        pos = end


def _read_text(arg: str) -> str:
    if arg != "-":
        return arg
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return sys.stdin.read()
    try:
        return bytes(stream.read()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"stdin is not UTF-8 (byte {exc.start})") from None


def _encode(args: argparse.Namespace) -> int:
    from protodsl.codecs import bind_state, load_python
    from protodsl.jsonview import JsonFrameError, wire_from_json

    protocol = _load(args.spec)
    codec: ModuleType = load_python(protocol)
    state = _initial_state(protocol, codec, args.state, args.side)
    objects = list(_json_objects(_read_text(args.json)))
    chunks: list[bytes] = []
    for i, (line, obj) in enumerate(objects):
        where = f"line {line}" if len(objects) > 1 or line > 1 else "the JSON"
        if isinstance(obj, dict) and "need_more" in obj and i < len(objects) - 1:
            raise CliError(f"{where}: a need_more object can only come last (its bytes are "
                           f"not a whole frame)")
        try:
            data, frame = wire_from_json(bind_state(codec, state), protocol, obj)
            chunks.append(data)
            if frame is not None:
                state = codec.next_state(frame, state)
        except (JsonFrameError, codec.ProtocolError) as exc:
            raise CliError(f"{where}: {exc}") from None
    if args.raw:
        sys.stdout.flush()
        sys.stdout.buffer.write(b"".join(chunks))
        sys.stdout.buffer.flush()
    else:
        for chunk in chunks:
            print(chunk.hex())
    return 0


def _test(args: argparse.Namespace) -> int:
    from protodsl.codegen.mosn_go.driver import BuildError
    from protodsl.codegen.mosn_go.toolchain import GoMissing
    from protodsl.testing.runner import default_jobs, run_cli

    jobs = args.jobs if args.jobs is not None else default_jobs()
    if jobs < 1:
        raise CliError(f"--jobs must be at least 1, not {jobs}")
    if args.target == "mosn-go" and args.wasm is not None:
        raise CliError("--wasm tests a plugin: give it without --target mosn-go")
    protocol = _load(args.spec)
    try:
        return run_cli(protocol, args.spec, args.examples, args.seed, args.wasm, jobs=jobs,
                       target=args.target)
    except (GoMissing, BuildError) as exc:
        raise CliError(str(exc)) from None


if __name__ == "__main__":
    raise SystemExit(main())
