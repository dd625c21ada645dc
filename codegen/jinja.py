"""One strict Jinja2 environment per backend: undefined names fail loudly and
whitespace control is the same everywhere, so output is stable and readable."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment(
    package: str, filters: tuple[tuple[str, Callable[..., Any]], ...] = ()
) -> Environment:
    env = Environment(
        loader=PackageLoader(package, "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(dict(filters))
    return env


def render(env: Environment, template: str, **context: Any) -> str:
    text = env.get_template(template).render(**context)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
