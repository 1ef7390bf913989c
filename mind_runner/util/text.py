"""Small text helpers shared by the measuring code and the renderers."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from datetime import UTC, datetime

NO_MESSAGE = "(no message)"


def first_line(text: str | Iterable[str], *, skip_prefix: str | None = None) -> str:
    """The first non-blank line, stripped (a tool's one-line reason); lines that start
    with `skip_prefix` (valgrind's own `==pid==` lines) do not count."""
    lines = text.splitlines() if isinstance(text, str) else text
    for line in lines:
        if line.strip() and not (skip_prefix and line.startswith(skip_prefix)):
            return line.strip()
    return NO_MESSAGE


def format_date(js_timestamp: int | None) -> str:
    """asv's commit dates are JavaScript timestamps (milliseconds since the epoch)."""
    if js_timestamp is None:
        return "unknown date"
    return datetime.fromtimestamp(js_timestamp / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def param_from_repr(value: str) -> str:
    """asv stores parameter values as Python reprs: "'small_mlp'" -> small_mlp."""
    try:
        return str(ast.literal_eval(value))
    except (ValueError, SyntaxError):
        return value
