"""The `protodsl` command: check, gen, decode, encode, test. The only writer of files."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from protodsl.diagnostics import SpecError
from protodsl.ir import Protocol
from protodsl.passes.pipeline import compile_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="protodsl", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="report a spec's errors (exit 1 if any)")
    check.add_argument("spec")
    check.add_argument("--json", action="store_true", help="diagnostics as JSON")
    check.set_defaults(run=_check)

    gen = sub.add_parser("gen", help="generate a codec")
    gen.add_argument("spec")
    gen.add_argument("--target", required=True, choices=("python", "wasm"))
    gen.add_argument("-o", "--out", default=".", help="output directory (default: .)")
    gen.add_argument("--no-build", action="store_true", help="wasm: write sources only")
    gen.set_defaults(run=_gen)

    decode = sub.add_parser("decode", help="decode frames to JSON lines")
    decode.add_argument("spec")
    decode.add_argument("--engine", choices=("python", "wasm"), default="python")
    decode.add_argument("--hex", help="the bytes, as hex")
    decode.add_argument("input", nargs="?", help="a file of raw bytes, or - for stdin")
    decode.set_defaults(run=_decode)

    encode = sub.add_parser("encode", help="encode a JSON frame; prints hex")
    encode.add_argument("spec")
    encode.add_argument("json", help="a JSON object as printed by decode, or - for stdin")
    encode.set_defaults(run=_encode)

    test = sub.add_parser("test", help="property tests: Python codec vs Wasm plugin")
    test.add_argument("spec")
    test.add_argument("--examples", type=int, default=None, help="examples per property")
    test.add_argument("--seed", type=int, default=None)
    test.add_argument("--wasm", help="test this plugin instead of generating one")
    test.add_argument("--jobs", "-j", type=int, default=None,
                      help="processes to run properties in (default: the CPUs available)")
    test.set_defaults(run=_test)
    return p


def _load(path: str) -> Protocol:
    if not Path(path).is_file():
        raise CliError(f"no such spec file: {path}")
    return compile_file(path)


def _check(args: argparse.Namespace) -> int:
    protocol = _load(args.spec)
    frames = ", ".join(f.name for f in protocol.frames)
    print(f"{args.spec}: ok: protocol {protocol.name} ({frames})")
    return 0


def _gen(args: argparse.Namespace) -> int:
    from protodsl.codegen.registry import backend

    protocol = _load(args.spec)
    out = Path(args.out)
    if args.target == "wasm":
        from protodsl.codegen.wasm import backend as wasm

        problems = wasm.check_target(protocol)
        source = Path(args.spec).read_text("utf-8")
        if any(p.severity == "error" for p in problems):
            raise SpecError(problems, source)
        for warning in problems:
            print(warning.render(source), file=sys.stderr)
    files = backend(args.target).generate(protocol, out)
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (out / rel).write_text(text, encoding="utf-8")
        print(out / rel)
    if args.target == "wasm" and not args.no_build:
        from protodsl.codegen.wasm import backend as wasm

        try:
            print(wasm.build(out, protocol))
        except RuntimeError as exc:
            raise CliError(str(exc)) from None
    return 0


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


def _decode(args: argparse.Namespace) -> int:
    protocol = _load(args.spec)
    data = _read_input(args)
    if args.engine == "python":
        objects = _decode_python(protocol, data)
    else:
        objects = _decode_wasm(protocol, data)
    for obj in objects:
        print(json.dumps(obj, ensure_ascii=False), flush=True)
    return 0


def _decode_python(protocol: Protocol, data: bytes) -> Iterator[dict[str, Any]]:
    from protodsl.codecs import load_python
    from protodsl.jsonview import frame_json

    codec = load_python(protocol)
    offset = 0
    while True:
        try:
            result = codec.decode(data[offset:])
        except codec.ProtocolError as exc:
            where = exc.offset + offset if exc.offset is not None else offset
            raise CliError(f"malformed frame at stream offset {offset}: field {exc.field!r} "
                           f"at stream offset {where}: {exc}") from None
        if isinstance(result, codec.NeedMore):
            if result.have:
                yield {"need_more": True, "have": result.have}
            return
        yield frame_json(codec, protocol, result.frame, result.consumed)
        offset += result.consumed


def _decode_wasm(protocol: Protocol, data: bytes) -> Iterator[dict[str, Any]]:
    from protodsl.codecs import build_wasm
    from protodsl.host import MosnHost
    from protodsl.jsonview import command_json

    host = MosnHost.from_file(build_wasm(protocol))
    ctx = host.new_context()
    offset = 0
    while True:
        result = host.decode(ctx, data[offset:])
        if result.status == 99:
            if len(data) > offset:
                yield {"need_more": True, "have": len(data) - offset}
            return
        if result.status != 0 or result.command is None:
            detail = "; ".join(r.message for r in host.logs) or f"status {result.status}"
            raise CliError(f"malformed frame at stream offset {offset}: {detail}")
        yield command_json(protocol, result.command)
        offset += result.command.drain_len


def _encode(args: argparse.Namespace) -> int:
    from protodsl.codecs import load_python
    from protodsl.jsonview import JsonFrameError, frame_from_json

    protocol = _load(args.spec)
    text = sys.stdin.read() if args.json == "-" else args.json
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"invalid JSON: {exc}") from None
    codec: ModuleType = load_python(protocol)
    try:
        frame = frame_from_json(codec, protocol, obj)
        print(codec.encode(frame).hex())
    except (JsonFrameError, codec.ProtocolError) as exc:
        raise CliError(str(exc)) from None
    return 0


def _test(args: argparse.Namespace) -> int:
    from protodsl.testing.runner import default_jobs, run_cli

    jobs = args.jobs if args.jobs is not None else default_jobs()
    if jobs < 1:
        raise CliError(f"--jobs must be at least 1, not {jobs}")
    return run_cli(_load(args.spec), args.spec, args.examples, args.seed, args.wasm, jobs=jobs)


if __name__ == "__main__":
    raise SystemExit(main())
