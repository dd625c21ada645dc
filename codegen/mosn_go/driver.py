"""A small Go program over the generated package for `protodsl test --target
mosn-go`: it reads JSON lines on stdin and answers each with one line on
stdout, so one process serves every example of a run.

    {"op": "decode", "hex": "..."}
        {"frame": NAME, "consumed": N, "fields": {...}}   the struct, in the spec's names
        {"need_more": true, "have": N, "need": N}          need -1: not known yet
        {"error": KIND, "text": "..."}                     a *ProtocolError
    {"op": "encode", "frame": NAME, "fields": {...}}
        {"hex": "..."} or {"error": KIND, "text": "..."}
    a panic in the codec: {"panic": "..."}; a request it cannot read: {"bad_request": "..."}

`fields` is the struct as encoding/json shows it (bytes in base64, a map as
[{"Key", "Value"}]) under the spec's names, as the Python codec's decode JSON
names it: each member by its spec name, not its Go name (which may carry a `_`
the spec does not), an enum's value by its member's name (a number when no
member has it), a list's records alike. Encode reads the same shape.

For a spec with a state, a request may carry the connection's state, each
member by its spec name, null where unset ({"state": {"version": 2, "session":
null}}; without one, a new connection's), and a decoded frame's answer carries
the state after it, so the Python codec's `Decoded.state` is compared too."""

from __future__ import annotations

from pathlib import Path

from protodsl.codegen.mosn_go import backend, state
from protodsl.codegen.mosn_go.backend import struct_members
from protodsl.codegen.mosn_go.naming import go_names, go_string, members
from protodsl.codegen.mosn_go.records import free_members
from protodsl.codegen.mosn_go.toolchain import run_go

from protodsl.ir import Protocol
from protodsl.ir.model import Frame, IntField, ListField, Record

DIR = "driver"
BINARY = "protodsl-driver"


class BuildError(RuntimeError):
    """`go build` failed."""


def files(protocol: Protocol) -> dict[str, str]:
    """The generated package and the driver in its `driver/` directory."""
    return {**backend.generate(protocol), f"{DIR}/main.go": main(protocol)}


def build(out_dir: Path, protocol: Protocol) -> Path:
    """Build the driver of the package `files` wrote into out_dir."""
    result = run_go(["build", "-o", BINARY, f"./{DIR}"], out_dir)
    if result.returncode != 0:
        raise BuildError(f"go build of the {protocol.name} driver failed:\n"
                         f"{result.stderr.strip() or result.stdout.strip()}")
    return out_dir / BINARY


def main(protocol: Protocol) -> str:
    pkg = go_names(protocol)
    cases = "".join(f"\tcase {go_string(f.name)}:\n\t\treturn &codec.{pkg.frame(f.name)}{{}}, "
                    f"{_view(protocol, f)}\n" for f in protocol.frames)
    tables = "".join(f"var enum{i} = map[string]string{{{_enum(protocol, e.name)}}}\n"
                     for i, e in enumerate(protocol.enums))
    tables += "".join(f"var record{i} = {_view(protocol, r)}\n"
                      for i, r in enumerate(protocol.records))
    text = (_MAIN.replace("PACKAGE", protocol.name).replace("\t// CASES\n", cases)
            .replace("// TABLES\n", tables))
    if not protocol.state:
        return text
    for plain, stateful in _IN_STATE:
        assert plain in text
        text = text.replace(plain, stateful)
    go = state.names(protocol)
    rows = "".join(f"\t\t{{{go_string(m.name)}, &st.{go[m.name]}, "
                   f"{state.mask(protocol, m.name)}}},\n" for m in protocol.state)
    return text + _STATE.replace("\t\t// MEMBERS\n", rows).rstrip("\n") + "\n"


def _view(protocol: Protocol, scope: Frame | Record) -> str:
    """Go text of the view of a frame's or a record's struct: by each member's Go
    name, its spec name, its enum's table and its list's record's view."""
    enums = [e.name for e in protocol.enums]
    records = [r.name for r in protocol.records]
    go = members(scope)
    parts = []
    for name, enum, record in _members(scope):
        known = [f"spec: {go_string(name)}"]
        if enum is not None:
            known.append(f"enum: enum{enums.index(enum)}")
        if record is not None:
            known.append(f"items: record{records.index(record)}")
        parts.append(f"{go_string(go[name])}: {{{', '.join(known)}}}")
    return f"view{{{', '.join(parts)}}}"


def _members(scope: Frame | Record) -> list[tuple[str, str | None, str | None]]:
    """The struct's members: each one's spec name, enum and list's record."""
    if isinstance(scope, Record):
        return [(e.name, e.enum if isinstance(e, IntField) else None, None)
                for e in free_members(scope)]
    out: list[tuple[str, str | None, str | None]] = []
    for name, _ in struct_members(scope):
        node, el = scope.value(name), scope.element(name)
        out.append((name, node.enum if node is not None else None,
                    el.record if isinstance(el, ListField) else None))
    return out


def _enum(protocol: Protocol, name: str) -> str:
    """Go text of an enum's table: its members' names by value, as JSON numbers
    (the first member of a value)."""
    enum = protocol.enum(name)
    assert enum is not None, "a field's enum is declared"
    by_value: dict[str, str] = {}
    for m in enum.members:
        by_value.setdefault(str(m.value), m.name)
    return ", ".join(f"{go_string(v)}: {go_string(n)}" for v, n in by_value.items())


# What a stateful spec's driver does besides: the state from the request, and
# back in the answer.
_IN_STATE = (
    ("type request struct {\n",
     "type request struct {\n\tState map[string]*int64 `json:\"state\"`\n\n"),
    ("\tfr, n, err := codec.Decode(buf)\n",
     "\tst := stateOf(req)\n\tfr, n, err := codec.Decode(buf, &st)\n"),
    ('"fields": fields}', '"fields": fields, "state": shown(st)}'),
    ("codec.Encode(fr)", "codec.Encode(fr, stateOf(req))"),
)

_STATE = '''
type member struct {
	name  string
	value *int64
	bit   uint64
}

// members are the state's members in st, by spec name.
func members(st *codec.State) []member {
	return []member{
		// MEMBERS
	}
}

// stateOf is the state a request carries: a new connection's without one.
func stateOf(req request) codec.State {
	if req.State == nil {
		return codec.NewState()
	}
	var st codec.State
	for _, m := range members(&st) {
		if v := req.State[m.name]; v != nil {
			*m.value = *v
			st.Set |= m.bit
		}
	}
	return st
}

// shown is st as a request carries it: null where unset.
func shown(st codec.State) map[string]any {
	out := map[string]any{}
	for _, m := range members(&st) {
		out[m.name] = nil
		if st.Set&m.bit != 0 {
			out[m.name] = *m.value
		}
	}
	return out
}
'''


_MAIN = '''\
// Code generated by protodsl. DO NOT EDIT.

// Command driver answers JSON lines on stdin, one line each on stdout, with
// package PACKAGE's Decode and Encode: the Go side of `protodsl test --target
// mosn-go`.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	codec "PACKAGE"
)

type request struct {
	Op     string          `json:"op"`
	Hex    string          `json:"hex"`
	Frame  string          `json:"frame"`
	Fields json.RawMessage `json:"fields"`
}

type reply map[string]any

// field is how a struct member shows in the spec's JSON: its spec name, and
// the names of its enum's members (by value, as JSON numbers) or the view of
// its list's records.
type field struct {
	spec  string
	enum  map[string]string
	items view
}

// view is a frame's or a record's struct in the spec's names, by Go name.
type view map[string]field

// TABLES

// newFrame is an empty frame of the spec's name and its view.
func newFrame(name string) (codec.Frame, view) {
	switch name {
	// CASES
	}
	return nil, nil
}

// bySpec is a struct's JSON (encoding/json's, by Go name) in the spec's names.
func bySpec(raw json.RawMessage, v view) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(obj))
	for name, value := range obj {
		f, ok := v[name]
		if !ok {
			return nil, errors.New("no spec name for the member " + name)
		}
		switch {
		case f.items != nil:
			var items []json.RawMessage
			if err := json.Unmarshal(value, &items); err != nil {
				return nil, err
			}
			list := make([]map[string]json.RawMessage, len(items))
			for i, item := range items {
				entry, err := bySpec(item, f.items)
				if err != nil {
					return nil, err
				}
				list[i] = entry
			}
			var err error
			if value, err = json.Marshal(list); err != nil {
				return nil, err
			}
		case f.enum != nil:
			if member, ok := f.enum[string(value)]; ok {
				value, _ = json.Marshal(member)
			}
		}
		out[f.spec] = value
	}
	return out, nil
}

// byGo is a struct's JSON in the spec's names as encoding/json reads it.
func byGo(raw json.RawMessage, v view) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(obj))
	for name, f := range v {
		value, ok := obj[f.spec]
		if !ok {
			continue
		}
		delete(obj, f.spec)
		switch {
		case f.items != nil:
			var items []json.RawMessage
			if err := json.Unmarshal(value, &items); err != nil {
				return nil, err
			}
			for i, item := range items {
				entry, err := byGo(item, f.items)
				if err != nil {
					return nil, err
				}
				items[i] = entry
			}
			var err error
			if value, err = json.Marshal(items); err != nil {
				return nil, err
			}
		case f.enum != nil:
			var member string
			if json.Unmarshal(value, &member) == nil {
				number, ok := memberValue(f.enum, member)
				if !ok {
					return nil, errors.New(f.spec + ": no member " + member)
				}
				value = json.RawMessage(number)
			}
		}
		out[name] = value
	}
	for spec := range obj {
		return nil, errors.New("no member " + spec)
	}
	return json.Marshal(out)
}

func memberValue(enum map[string]string, member string) (string, bool) {
	for number, name := range enum {
		if name == member {
			return number, true
		}
	}
	return "", false
}

func failed(err error) reply {
	var pe *codec.ProtocolError
	if errors.As(err, &pe) {
		return reply{"error": pe.Kind, "text": err.Error()}
	}
	return reply{"error": fmt.Sprintf("%T", err), "text": err.Error()}
}

func decode(req request) reply {
	buf, err := hex.DecodeString(req.Hex)
	if err != nil {
		return reply{"bad_request": err.Error()}
	}
	fr, n, err := codec.Decode(buf)
	var nm *codec.NeedMoreError
	switch {
	case err == nil:
		raw, err := json.Marshal(fr)
		if err != nil {
			return reply{"bad_request": err.Error()}
		}
		_, v := newFrame(fr.FrameName())
		fields, err := bySpec(raw, v)
		if err != nil {
			return reply{"bad_request": err.Error()}
		}
		return reply{"frame": fr.FrameName(), "consumed": n, "fields": fields}
	case errors.Is(err, codec.ErrNeedMore) && errors.As(err, &nm):
		return reply{"need_more": true, "have": nm.Have, "need": nm.Need}
	}
	return failed(err)
}

func encode(req request) reply {
	fr, v := newFrame(req.Frame)
	if fr == nil {
		return reply{"bad_request": "no frame " + req.Frame}
	}
	fields, err := byGo(req.Fields, v)
	if err != nil {
		return reply{"bad_request": err.Error()}
	}
	if err := json.Unmarshal(fields, fr); err != nil {
		return reply{"bad_request": err.Error()}
	}
	out, err := codec.Encode(fr)
	if err != nil {
		return failed(err)
	}
	return reply{"hex": hex.EncodeToString(out)}
}

func answer(line []byte) (out reply) {
	defer func() {
		if r := recover(); r != nil {
			out = reply{"panic": fmt.Sprint(r)}
		}
	}()
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return reply{"bad_request": err.Error()}
	}
	switch req.Op {
	case "decode":
		return decode(req)
	case "encode":
		return encode(req)
	}
	return reply{"bad_request": "no op " + req.Op}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<30)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		if enc.Encode(answer(in.Bytes())) != nil || out.Flush() != nil {
			os.Exit(1)
		}
	}
}
'''
