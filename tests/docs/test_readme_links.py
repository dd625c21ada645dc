"""The README stays an index: its specs table lists every spec in specs/, and
every page it links to exists."""

from __future__ import annotations

import re

from tests.helpers import ROOT, SPECS

README = (ROOT / "README.md").read_text("utf-8")


def test_the_specs_table_lists_every_spec() -> None:
    table = README[README.index("## Specs\n"):]
    listed = set(re.findall(r"^\| `specs/([\w.-]+\.proto-dsl)` \|", table, re.M))
    assert listed == {p.name for p in SPECS.glob("*.proto-dsl")}


def test_every_linked_page_exists() -> None:
    links = re.findall(r"\]\(((?:docs|editors|specs)/[^)#]+)", README)
    assert links, "the README links into docs/"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing
