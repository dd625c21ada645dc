"""docs/benchmarks.md holds one section per benchmark script; each script
rewrites its own section and leaves the others as they are."""

from __future__ import annotations

from pathlib import Path

TITLE = "# Benchmarks\n\nSpeed is measured by these scripts, never asserted by tests.\n"


def replace_section(path: Path, name: str, text: str) -> None:
    """Put `text` between the markers of section `name` in `path`."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else TITLE
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = old.rstrip() + "\n\n" + block
    path.write_text(new, encoding="utf-8")
