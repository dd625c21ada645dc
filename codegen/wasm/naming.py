"""C names and literals for spec text, in one place.

Every identifier made from a spec name is `<category>_<name>`, where the
category is a fixed lowercase word without underscores (`f`, `fr`, `dec` ...).
The first underscore therefore separates category and name, so two different
(category, name) pairs never give the same identifier. No C keyword, libc or
runtime name starts with a category and an underscore (the runtime uses `pd_`,
which is no category), and names differing only by case stay distinct because
C is case-sensitive. Doc text goes into block comments with comment delimiters
and trigraph starts broken up; strings are escaped byte by byte.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# category -> what it names; the template and view use only these.
CATEGORIES = {
    "f": "a field value (struct member)",
    "fr": "a frame struct",
    "u": "a frame in the union of frames",
    "dec": "a frame decoder",
    "fin": "computes and checks a frame's fields before encoding",
    "wr": "writes a frame",
    "emit": "encodes a frame into the EncodeData buffer",
    "apply": "applies the host's encode arguments to a frame",
    "report": "writes the DecodeData buffer of a frame",
    "keep": "remembers a frame",
    "accept": "remembers and reports a decoded frame",
    "flag": "a frame's MOSN flag",
    "req": "copies a request frame's members into the struct builders read",
    "isok": "membership test of a closed enum",
    "n": "a decoded size",
    "d": "a discriminator value",
    "p": "a builder parameter",
    "build": "a builder",
    "lit": "a builder's literal bytes; a frame's kept literal payload (struct member)",
    "lst": "checks a section of records as decode reads a list",
    "enc": "re-encodes the records of a decoded list",
    "cnt": "counts the records of a decoded list",
    "m": "a record member (a local of its list's checker or encoder)",
    "hsz": "the bytes of a header list's entries as MOSN's header map",
    "hput": "writes a header list's entries as MOSN's header map",
    "hmrg": "merges MOSN's edited header map into a header list's entries",
    "hk": "a header list's entries as decoded, kept for the merge (struct member)",
    "dk": "a field a derived header writes back, as decoded (struct member)",
    "s": "a member of the connection's state (struct pd_state member)",
    "next": "the connection's state after a frame that sets some of it",
    "needs": "checks that the state members a frame reads are set",
}


def ident(category: str, name: str) -> str:
    """`<category>_<name>`; raises ValueError for a name that is not an identifier."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown C name category {category!r}")
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not an identifier")
    return f"{category}_{name}"


def c_string(text: str) -> str:
    """A C string literal of `text` as UTF-8; anything but plain characters is an
    octal escape, so quotes, backslashes, trigraphs and newlines cannot escape it."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in " _.,:;-+=/()[]{}<>!@#$%^&*'|~`"):
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_bytes(data: bytes) -> str:
    """A C string literal of exactly these bytes, each an octal escape."""
    return '"' + "".join(f"\\{byte:03o}" for byte in data) + '"'


def comment_lines(text: str | None) -> list[str]:
    """Doc text as lines safe inside a C block comment."""
    if not text:
        return []
    lines = []
    for line in text.splitlines():
        line = "".join(c if c.isprintable() else " " for c in line)
        line = line.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?")
        lines.append(line.rstrip())
    return lines


def comment_inline(text: str | None) -> str:
    """Doc text on one line, safe inside a C block comment."""
    return " ".join(line.strip() for line in comment_lines(text) if line.strip())
