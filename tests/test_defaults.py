"""A field that decides what a frame means has no silent default: the frame's
condition pins it, the spec names one (`default EXPR`), or whoever makes a new
frame (constructor, builder) must give it."""

from __future__ import annotations

import pytest

from protodsl.codecs import load_python
from protodsl.diagnostics import SpecError
from protodsl.passes.pipeline import compile_source

SPEC = """protocol flags "x-flags" {
  enum Kind: u8 {
    call  = 1
    event = 2
    reply = 3
  }

  enum Tone: u8 {
    low  = 1
    high = 2
  }

  frame call when kind in {call, event} {
    kind:  Kind
    bits u8 {
      urgent: 1
      quiet:  1 default 1
      spare:  6
    }
    tone:  Tone
    level: Tone default high
    seq:   u32

    roles {
      kind = request
      id   = seq
    }
  }

  frame reply when kind == reply {
    kind: Kind
    seq:  u32

    roles {
      kind = response
      id   = seq
    }
  }
}
"""


def _error(source: str) -> str:
    with pytest.raises(SpecError) as caught:
        compile_source(source, "flags.proto-dsl")
    return str(caught.value)


def test_enum_flag_and_shared_discriminator_have_no_silent_default() -> None:
    codec = load_python(compile_source(SPEC, "flags.proto-dsl"))
    with pytest.raises(TypeError) as caught:
        codec.Call(seq=1)
    assert "'kind', 'urgent', and 'tone'" in str(caught.value)
    call = codec.Call(kind=codec.Kind.event, urgent=0, tone=codec.Tone.low, seq=1)
    assert (call.quiet, call.level, call.spare) == (1, codec.Tone.high, 0)
    assert codec.decode(codec.encode(call)).frame == call
    assert codec.Reply(seq=1).kind == codec.Kind.reply  # the condition pins it


@pytest.mark.parametrize(("old", "new", "message"), [
    ("level: Tone default high", "level: Tone = high default low",
     "flags.proto-dsl:21:32: error: 'level' is constant: a default serves only a field a "
     "frame is given"),
    ("level: Tone default high", "level: Tone default 9",
     "error: default 9 is no member of the closed enum 'Tone'"),
    ("quiet:  1 default 1", "quiet:  1 default 2",
     "error: default 2 does not fit 'quiet' (0..1)"),
    ("quiet:  1 default 1", "quiet:  1 default urgent",
     "error: the default of 'quiet' must be a constant"),
    ("kind:  Kind\n", "kind:  Kind default reply\n",
     "error: with its defaults (kind = 3) a new 'call' frame would decode as frame 'reply'"),
])
def test_a_default_that_cannot_serve_is_an_error(old: str, new: str, message: str) -> None:
    assert old in SPEC
    assert message in _error(SPEC.replace(old, new, 1))


def test_a_default_that_leaves_the_frame_unchosen_points_at_the_condition() -> None:
    text = _error(SPEC.replace("kind:  Kind\n", "kind:  Kind default reply\n", 1))
    assert text.startswith("flags.proto-dsl:14:25: error: with its defaults (kind = 3)")
    assert "flags.proto-dsl:13:19: note: 'call' is chosen when this holds" in text


def test_a_builder_must_give_what_has_no_default() -> None:
    source = SPEC.replace("\n}\n", """
  keepalive call(id) {
    kind = call
    seq  = id
  }
}
""")
    text = _error(source)
    assert ("error: keepalive must give 'urgent', 'tone' of frame 'call': they decide what "
            "the frame means and have no default") in text
    fixed = source.replace("    kind = call\n", "    kind = call\n    urgent = 0\n    tone = low\n")
    codec = load_python(compile_source(fixed, "flags.proto-dsl"))
    ping = codec.keepalive(5)
    assert (ping.kind, ping.urgent, ping.quiet, ping.tone, ping.level) == (1, 0, 1, 1, 2)


def test_record_fields_take_no_default() -> None:
    source = SPEC.replace("  frame call", "  record pair {\n    a: u8 default 1\n  }\n\n"
                          "  frame call", 1)
    assert ("error: 'a' is a field of record 'pair': `default` is not supported in a record"
            in _error(source))
